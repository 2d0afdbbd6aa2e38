"""The Sphinx extension docs/_ext/openlic_syntax.py renders the WD tables (WD 6, Annex A)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
from sphinx.cmd.build import build_main  # noqa: E402

EXT = Path(__file__).resolve().parents[1] / "docs" / "_ext"

INDEX = """\
Tables
======

.. syntax-table:: PH
   :name: table-ph

.. syntax-table:: YS

.. syntax-table:: codestream

.. syntax-table:: EOC

.. syntax-table:: OF

.. marker-table::
   :caption: Table 1: Markers

.. level-table::

.. profile-table::

See :ref:`table-ph`.
"""


def _project(tmp_path: Path, index: str) -> tuple[Path, Path]:
    src = tmp_path / "src"
    src.mkdir()
    # As docs/conf.py loads it: the extension finds refdec by itself.
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = ['openlic_syntax']\n"
    )
    (src / "index.rst").write_text(index)
    return src, tmp_path / "out"


def test_tables_build_without_warnings(tmp_path: Path) -> None:
    src, out = _project(tmp_path, INDEX)
    assert build_main(["-W", "-q", "-b", "html", str(src), str(out)]) == 0
    # The HTML writer splits literals into spans: compare the text only.
    text = html.unescape(re.sub(r"<[^>]*>", "", (out / "index.html").read_text()))
    for expected in (
        "parameter_set_hash",
        "b(64)",
        "leb128()",  # length and tile_size (WD 4.4)
        "in the range 2 to 8",
        "tile_data[ t ]",
        "b(8*tile_size[t])",
        "0xFF01",
        "0xFF81 .. 0xFFFE",
        "Table 1: Markers",
        "268\u00a0435\u00a0456",
        "Main",
        "} while( marker != 0xFF0F )",
        # WD 6.7: the coefficients of N = filter_classes_minus1 + 1 classes, the
        # thresholds between them.
        "for( k = 0; k < filter_classes_minus1; k++ )",
        "for( k = 0; k <= filter_classes_minus1; k++ )",
        "if used",
    ):
        assert expected in text, expected


def test_unknown_structure_fails_the_build(tmp_path: Path) -> None:
    src, out = _project(tmp_path, "Tables\n======\n\n.. syntax-table:: XX\n")
    assert build_main(["-W", "-q", "-b", "html", str(src), str(out)]) != 0
