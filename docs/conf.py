"""Sphinx configuration: the OpenLIC Working Draft (spec/) and the user documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (``bash scripts/test.sh`` does
it with warnings treated as errors).
"""

from __future__ import annotations

import os
import sys

from docutils import nodes
from docutils.parsers.rst import Directive, directives

DOCS = os.path.abspath(os.path.dirname(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, os.path.join(DOCS, "_ext"))
sys.path.insert(0, ROOT)  # refdec: the syntax tables are generated from refdec/syntax.py

project = "OpenLIC"
author = "The OpenLIC authors"
copyright = "2026, The OpenLIC authors"
release = version = "0.1.0"

extensions = ["sphinx.ext.mathjax", "openlic_params", "openlic_conformance"]

# The syntax, marker and level tables of the WD are generated from refdec by the
# extension docs/_ext/openlic_syntax.py. Until that extension exists, the directives
# render a note saying so, so the build works either way.
HAVE_SYNTAX_EXT = os.path.exists(os.path.join(DOCS, "_ext", "openlic_syntax.py"))
if HAVE_SYNTAX_EXT:
    extensions.append("openlic_syntax")

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "furo"
html_title = f"OpenLIC {release}"
pygments_style = "sphinx"


class _PendingTable(Directive):
    """Stand-in for a table directive of openlic_syntax while it is not available."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = {"caption": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        what = f" {self.arguments[0]}" if self.arguments else ""
        para = nodes.paragraph(
            text=f"Pending: the {self.name}{what} is generated from refdec by the "
            "openlic_syntax extension (docs/_ext/openlic_syntax.py), not yet available."
        )
        return [nodes.note("", para)]


def setup(app):
    if not HAVE_SYNTAX_EXT:
        for name in ("syntax-table", "marker-table", "profile-table", "level-table"):
            app.add_directive(name, _PendingTable)
    return {"parallel_read_safe": True}
