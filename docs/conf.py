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

# -- LaTeX / PDF: the Working Draft only ------------------------------------------------
# ``bash scripts/wd-pdf.sh`` (which also installs the Debian packages it needs) or
# ``sphinx-build -M latexpdf docs docs/_build`` writes docs/_build/latex/openlic-wd.pdf.
# The PDF holds the normative text alone, the toctree of docs/wd/index.rst: that is the
# document a standards body reviews, and it has its own clause numbers. The user guide
# (CLI, training, results) changes with the code and refers to the repository, so it
# stays HTML only. xelatex, because the WD has characters outside Latin-1 (×, ≥, —, σ in
# the generated tables, no-break spaces as digit separators); Sphinx's default fonts
# for xelatex, GNU FreeFont (Debian fonts-freefont-otf), have all of them.
latex_engine = "xelatex"
latex_documents = [
    ("wd/index", "openlic-wd.tex", "OpenLIC — Working Draft", author, "manual"),
]
latex_show_urls = "footnote"
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "10pt",
    "extraclassoptions": "openany,oneside",  # no blank pages before the clauses
    "sphinxsetup": "hmargin=20mm",  # 170 mm of text: room for the syntax tables
    "cmappkg": "",  # cmap is for pdflatex; xelatex writes Unicode text by itself
    "fncychap": "",  # plain chapter headings: the clause titles carry their numbers
    # No index: clause 3 defines the terms and the table of contents lists every
    # sub-clause.
    "makeindex": "",
    "printindex": "",
    "preamble": r"""
% The clause, sub-clause and annex headings carry their own numbers ("8.2.6 ...",
% "Annex B (normative) ...") and the tables theirs ("Table A.2 — Levels"): LaTeX adds
% none, so the PDF cites the same numbers as the HTML and the reference decoder.
\setcounter{secnumdepth}{-1}
\makeatletter
\long\def\@makecaption#1#2{% #1, "Table 3.1", left out
  \vskip\abovecaptionskip
  \sbox\@tempboxa{#2}%
  \ifdim\wd\@tempboxa>\hsize #2\par\else
    \global\@minipagefalse\hb@xt@\hsize{\hfil\box\@tempboxa\hfil}\fi
  \vskip\belowcaptionskip}
% The same for tables over several pages (longtable), which also repeat their title,
% "Table D.3 — ... (continued)", at the top of each further page.
\let\openlic@lastcaption\@empty
\def\LT@makecaption#1#2#3{%
  \noalign{\gdef\openlic@lastcaption{#3}}%
  \LT@mcol\LT@cols c{\hbox to\z@{\hss\parbox[t]\LTcapwidth{%
    \sbox\@tempboxa{#3}%
    \ifdim\wd\@tempboxa>\hsize #3\else\hbox to\hsize{\hfil\box\@tempboxa\hfil}\fi
    \endgraf\vskip\baselineskip}\hss}}}
\renewcommand*{\sphinxtablecontinued}[1]{\textsf{\openlic@continued#1\@nil}}
\def\openlic@continued#1#2\@nil{% #1 is \tablename in the head, not in the foot
  \ifx#1\tablename\ifx\openlic@lastcaption\@empty#1#2\else
  \openlic@lastcaption\ (continued)\fi\else#1#2\fi}
% Tables in 9 pt, so that the hashes, identifiers and the syntax descriptors fit their
% columns, with the cells set ragged right (justified, the narrow columns of identifiers
% stretch their spaces; every cell paragraph starts with \sphinxAtStartPar) and captions
% as wide as the text.
\def\openlic@tablesetup{\par\small
  \def\sphinxAtStartPar{\rightskip\z@ plus 1fil\relax\leavevmode\nobreak\hskip\z@skip}}
\setlength{\LTcapwidth}{\linewidth}
\let\openlic@atlongtablestart\sphinxatlongtablestart
\def\sphinxatlongtablestart{\global\let\openlic@lastcaption\@empty
  \openlic@tablesetup\openlic@atlongtablestart}
\let\openlic@attablestart\sphinxattablestart
\def\sphinxattablestart{\openlic@tablesetup\openlic@attablestart}
% Identifiers such as neg-truncated-in-ph may break after their hyphens (Sphinx keeps
% them whole), so that they fit the narrow columns of the tables of Annex D.
\protected\def\sphinxhyphenininlineliteral#1{\mbox{-}\allowbreak}
\makeatother
""",
}
latex_domain_indices = False


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


def _latex_tables(app, doctree, docname) -> None:
    """Column widths and page breaks of the tables in the PDF (LaTeX only, not HTML).

    Without the class ``colwidths-given`` the LaTeX writer sizes the columns with
    tabulary, from their contents, which suits text and numbers but squeezes columns of
    literals (syntax elements, descriptors, case names), which cannot wrap. Those tables
    of docs/_ext get the widths of their colspecs instead. A table with widths and more
    than a dozen rows may break across pages (class ``longtable``) rather than leave
    the rest of a page empty.
    """
    if app.builder.format != "latex":
        return
    for table in doctree.findall(nodes.table):
        classes = table["classes"]
        if (
            "openlic-table" in classes
            and "colwidths-given" not in classes
            and any(True for _ in table.findall(nodes.literal))
        ):
            classes.append("colwidths-given")
        rows = sum(len(body) for body in table.findall(nodes.tbody))
        if "colwidths-given" in classes and rows > 12 and "longtable" not in classes:
            classes.append("longtable")


def setup(app):
    app.connect("doctree-resolved", _latex_tables)
    if not HAVE_SYNTAX_EXT:
        for name in ("syntax-table", "marker-table", "profile-table", "level-table"):
            app.add_directive(name, _PendingTable)
    return {"parallel_read_safe": True}
