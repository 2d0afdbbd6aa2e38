"""Sphinx extension: the WD tables generated from the reference decoder's data.

Directives:

``.. syntax-table:: PH``
    The syntax table of a structure of :mod:`refdec.syntax` (WD clause 6): columns
    Syntax element, Descriptor, Semantics. Keys: codestream, segment, PH, ZS, YS, COM,
    EOC.
``.. marker-table::``
    Table 1 of WD 5.2 with the order rules of WD 5.3.
``.. profile-table::`` and ``.. level-table::``
    The profiles (WD A.1) and levels (WD A.2) of :mod:`refdec.levels`.

Each takes the options ``:caption:`` (the table title; a default comes from the data)
and ``:name:`` (a reference target). Load it with ``sys.path.insert(0,
os.path.abspath("_ext"))`` and ``extensions = ["openlic_syntax"]`` in ``conf.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_ROOT = Path(__file__).resolve().parents[2]
# sphinx-build puts neither the repository root nor the working directory on sys.path.
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from refdec import levels, syntax  # noqa: E402

_NBSP = "\u00a0"

Row = tuple[str | nodes.Node, ...]


def _entry(content: str | nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    para = nodes.paragraph()
    para += nodes.Text(content) if isinstance(content, str) else content
    entry += para
    return entry


def table(caption: str, headers: Row, rows: list[Row], widths: tuple[int, ...]) -> nodes.table:
    """A docutils table with a title, a header row and body rows.

    ``widths`` are relative column widths. The HTML output sizes columns by itself; the
    PDF uses them for tables with literals (``_latex_tables`` in docs/conf.py).
    """
    table = nodes.table(classes=["openlic-table"])
    table += nodes.title(caption, caption)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    for section, body in ((nodes.thead(), [headers]), (nodes.tbody(), rows)):
        group += section
        for cells in body:
            row = nodes.row()
            row.extend(_entry(c) for c in cells)
            section += row
    return table


def _code(text: str, depth: int = 0) -> nodes.literal:
    """Syntax text, indented by nesting depth as in the syntax tables of WD 6.1."""
    text = _NBSP * 4 * depth + text
    return nodes.literal(text, text)


def syntax_rows(structure: syntax.Structure) -> list[Row]:
    """The rows of a syntax table: function header, elements with loops, closing brace."""
    rows: list[Row] = [(_code(f"{structure.function}( ) {{"), "", "")]

    def walk(elements: tuple[syntax.Element, ...], depth: int, loop_vars: tuple[str, ...]) -> None:
        for el in elements:
            if isinstance(el, syntax.Loop):
                if el.count is not None:
                    v = el.var
                    less = "<=" if el.inclusive else "<"
                    opening = f"for( {v} = 0; {v} {less} {el.count}; {v}++ ) {{"
                    closing = "}"
                else:
                    opening, closing = "do {", f"}} while( {el.condition} )"
                rows.append((_code(opening, depth), "", ""))
                walk(el.body, depth + 1, (*loop_vars, el.var))
                rows.append((_code(closing, depth), "", ""))
            elif isinstance(el, syntax.Call):
                called = syntax.STRUCTURES[el.structure]
                rows.append(
                    (
                        _code(f"{called.function}( )", depth),
                        "",
                        f"{called.title} ({called.syntax_clause}).",
                    )
                )
            else:
                name = el.name + "".join(f"[ {v} ]" for v in loop_vars)
                rows.append((_code(name, depth), _code(el.descriptor), el.semantics))

    walk(structure.elements, 1, ())
    rows.append((_code("}"), "", ""))
    return rows


class _TableDirective(SphinxDirective):
    """Common options; subclasses build the table."""

    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def table(self) -> nodes.table:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        # Rebuild the page when the data it is generated from changes.
        for module in (syntax, levels):
            self.env.note_dependency(str(Path(module.__file__ or "").resolve()))
        table = self.table()
        self.add_name(table)
        return [table]

    def caption(self, default: str) -> str:
        return self.options.get("caption") or default


class SyntaxTable(_TableDirective):
    """``.. syntax-table:: KEY``: the syntax table of ``refdec.syntax.STRUCTURES[KEY]``."""

    required_arguments = 1

    def table(self) -> nodes.table:
        key = self.arguments[0]
        if key not in syntax.STRUCTURES:
            raise self.error(
                f"unknown syntax structure {key!r}; known: {', '.join(syntax.STRUCTURES)}"
            )
        structure = syntax.STRUCTURES[key]
        return table(
            self.caption(f"{structure.title} syntax (semantics in {structure.semantics_clause})"),
            ("Syntax element", "Descriptor", "Semantics"),
            syntax_rows(structure),
            (41, 20, 39),
        )


class MarkerTable(_TableDirective):
    """``.. marker-table::``: the markers of WD 5.2 with the order rules of WD 5.3."""

    def table(self) -> nodes.table:
        rows: list[Row] = []
        for m in syntax.MARKERS:
            code = f"0x{m.first:04X}" + (f" .. 0x{m.last:04X}" if m.last != m.first else "")
            structure = syntax.STRUCTURES.get(m.structure or "")
            clauses = (
                f"{structure.syntax_clause}, {structure.semantics_clause}"
                if structure
                else "not specified"
            )
            rows.append(
                (
                    _code(code),
                    m.name,
                    m.title,
                    "optional" if m.optional else "if used" if m.omissible else "required",
                    m.order,
                    clauses,
                )
            )
        rows.append(("all others", "", "reserved", "", syntax.RESERVED_MARKERS, ""))
        return table(
            self.caption("Markers"),
            ("Marker", "Name", "Segment", "Presence", "Order (5.3)", "Syntax, semantics"),
            rows,
            (16, 8, 22, 10, 32, 12),
        )


def _number(value: int) -> str:
    return f"{value:,}".replace(",", _NBSP)


class LevelTable(_TableDirective):
    """``.. level-table::``: the limits of each level (WD A.2)."""

    def table(self) -> nodes.table:
        rows: list[Row] = [
            (
                str(lv.idc),
                _number(lv.max_width),
                _number(lv.max_height),
                _number(lv.max_samples),
                _number(lv.max_tiles),
            )
            for lv in sorted(levels.LEVELS.values(), key=lambda lv: lv.idc)
        ]
        return table(
            self.caption("Levels"),
            ("level_idc", "Max. width W", "Max. height H", "Max. samples W x H", "Max. num_tiles"),
            rows,
            (12, 18, 18, 26, 26),
        )


class ProfileTable(_TableDirective):
    """``.. profile-table::``: the field values each profile allows (WD A.1)."""

    def table(self) -> nodes.table:
        rows: list[Row] = [
            (
                str(p.idc),
                p.name,
                ", ".join(map(str, p.bit_depths)),
                ", ".join(map(str, p.matrix_coefficients)),
            )
            for p in sorted(levels.PROFILES.values(), key=lambda p: p.idc)
        ]
        return table(
            self.caption("Profiles"),
            ("profile_idc", "Profile", "bit_depth", "matrix_coefficients"),
            rows,
            (20, 20, 30, 30),
        )


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("syntax-table", SyntaxTable)
    app.add_directive("marker-table", MarkerTable)
    app.add_directive("level-table", LevelTable)
    app.add_directive("profile-table", ProfileTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
