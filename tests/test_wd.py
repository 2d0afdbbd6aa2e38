"""The WD as an implementer reads it: requirement identifiers and clause coverage.

* Every requirement is one sentence with a fixed phrase (WD 4.6): "It is a requirement of
  codestream conformance that ... [R-NAME]." or "It is a requirement of parameter set
  conformance that ... [P-NAME]." The identifiers are what the conformance suite (WD
  Annex D) names its negative cases after, so they must exist, be well formed and be
  unique; :func:`requirements` extracts the list.
* Every clause of the decoding process (the leaf clauses of WD 8) is implemented: some
  function of ``refdec`` cites it in its docstring.
* The generated annexes (C.4 from ``docs/_ext/openlic_params.py``) render the shipped
  files, and the facts the text states about the data of ``refdec`` hold.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_docs import CITATION, FOLLOWING, LABEL

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"

PHRASES = {
    "codestream": "R",
    "parameter set": "P",
}
"""Kind of conformance in the fixed phrase -> prefix of its requirement identifiers."""

PHRASE = re.compile(
    r"It\s+is\s+a\s+requirement\s+of\s+(codestream|parameter\s+set)\s+conformance\s+that\b"
)
ANY_REQUIREMENT = re.compile(r"It\s+is\s+a\s+requirement\b")
ID_FORMAT = r"[RP]-[A-Z0-9]+(?:-[A-Z0-9]+)*"
# A tag defines a requirement; in ``literal`` text (4.6 explains the format) it does not.
TAG = re.compile(rf"(?<!`)\[({ID_FORMAT})\](?!`)")
LOOSE_TAG = re.compile(r"(?<!`)\[([RP]-[^\]\s]*)\](?!`)")
QUOTES = "\"'\u201c\u2018"


@dataclass(frozen=True)
class Requirement:
    """One requirement sentence of the WD."""

    id: str
    kind: str
    """"codestream" or "parameter set"."""
    clause: str
    """Label of the clause that states it, e.g. "5.2"."""
    file: str
    line: int
    sentence: str


def _paragraph_end(text: str, start: int) -> int:
    """End of the paragraph (blank line) that contains ``start``."""
    m = re.compile(r"\n[ \t]*\n").search(text, start)
    return m.start() if m else len(text)


def _clause_at(text: str, pos: int) -> str:
    labels = [m for m in LABEL.finditer(text) if m.start() < pos]
    return labels[-1].group(1) if labels else ""


def requirements() -> list[Requirement]:
    """Every requirement sentence of ``spec/*.rst``, in file order.

    A sentence runs from the fixed phrase to its identifier, within one paragraph and
    before the next fixed phrase; a phrase inside quotation marks is a mention (as in
    WD 4.6 and D.1), not a requirement. Raises AssertionError for a sentence without
    exactly one well-formed identifier of its kind at its end.
    """
    found: list[Requirement] = []
    problems: list[str] = []
    for path in sorted(SPEC.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        phrases = [
            m for m in PHRASE.finditer(text) if text[m.start() - 1 : m.start()] not in QUOTES
        ]
        for n, m in enumerate(phrases):
            end = _paragraph_end(text, m.start())
            if n + 1 < len(phrases):
                end = min(end, phrases[n + 1].start())
            region = text[m.start() : end]
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.name}:{line}"
            tags = list(TAG.finditer(region))
            if len(tags) != 1:
                problems.append(f"{where}: {len(tags)} identifiers in: {region[:80]!r}...")
                continue
            tag = tags[0]
            kind = re.sub(r"\s+", " ", m.group(1))
            if not tag.group(1).startswith(PHRASES[kind] + "-"):
                problems.append(f"{where}: {tag.group(1)} in a {kind} requirement")
            # The identifier closes the sentence: only a period (or ';') may follow.
            if not re.match(r"\)?[.;]", region[tag.end() :]):
                problems.append(f"{where}: {tag.group(1)} does not end its sentence")
            sentence = re.sub(r"\s+", " ", region[: tag.end()])
            found.append(
                Requirement(
                    tag.group(1), kind, _clause_at(text, m.start()), path.name, line, sentence
                )
            )
    assert not problems, "malformed requirement sentences:\n" + "\n".join(problems)
    return found


def test_requirements_exist() -> None:
    reqs = requirements()
    kinds = {r.kind for r in reqs}
    assert kinds == set(PHRASES), f"no requirement sentences of kind {set(PHRASES) - kinds}"


def test_requirement_ids_are_unique() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for r in requirements():
        where = f"{r.file}:{r.line}"
        if r.id in seen:
            duplicates.append(f"{r.id}: {seen[r.id]} and {where}")
        seen[r.id] = where
    assert not duplicates, "duplicate requirement identifiers:\n" + "\n".join(duplicates)


def test_every_tag_belongs_to_a_requirement_sentence() -> None:
    """A bracketed identifier outside a requirement sentence would look like one to a
    reader, and a malformed one would escape the extraction."""
    defined = {(r.file, r.id) for r in requirements()}
    stray = []
    for path in sorted(SPEC.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        for m in LOOSE_TAG.finditer(text):
            if not re.fullmatch(ID_FORMAT, m.group(1)) or (path.name, m.group(1)) not in defined:
                line = text.count("\n", 0, m.start()) + 1
                stray.append(f"{path.name}:{line}: [{m.group(1)}]")
    assert not stray, "identifiers outside requirement sentences or malformed:\n" + "\n".join(stray)


def test_requirements_use_the_fixed_phrase() -> None:
    """No requirement hides in another wording ("It is a requirement on ...")."""
    loose = []
    for path in sorted(SPEC.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        for m in ANY_REQUIREMENT.finditer(text):
            if text[m.start() - 1 : m.start()] in QUOTES or PHRASE.match(text, m.start()):
                continue
            line = text.count("\n", 0, m.start()) + 1
            loose.append(f"{path.name}:{line}: {text[m.start() : m.start() + 60]!r}")
    assert not loose, "requirements without the fixed phrase:\n" + "\n".join(loose)


def test_requirement_references_exist() -> None:
    """An identifier cited without brackets ("R-CRC") names a defined requirement."""
    ids = {r.id for r in requirements()}
    missing = []
    for path in sorted(SPEC.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(rf"(?<![\w\[-])({ID_FORMAT})(?![\w\]-])", text):
            if m.group(1) not in ids:
                line = text.count("\n", 0, m.start()) + 1
                missing.append(f"{path.name}:{line}: {m.group(1)}")
    assert not missing, "references to undefined requirements:\n" + "\n".join(missing)


# -- every clause of the decoding process is implemented ----------------------------------


def process_clauses() -> list[str]:
    """The leaf clauses of WD 8: each describes one process of the decoder."""
    text = (SPEC / "08-decoding.rst").read_text(encoding="utf-8")
    labels = [m.group(1) for m in LABEL.finditer(text)]
    return [
        c for c in labels if c.startswith("8.") and not any(o.startswith(c + ".") for o in labels)
    ]


def docstring_citations(package: str = "refdec") -> dict[str, list[str]]:
    """Clause -> the functions (file:line name) whose docstrings cite it."""
    cited: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            doc = ast.get_docstring(node) or ""
            for m in CITATION.finditer(doc):
                ids = [next(g for g in m.groups() if g)]
                end = m.end()
                while f := FOLLOWING.match(doc, end):
                    ids.append(f.group(1))
                    end = f.end()
                for cid in ids:
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    cited.setdefault(cid.rstrip(".").lower(), []).append(where)
    return cited


def test_process_clauses_found() -> None:
    clauses = process_clauses()
    assert "8.2.6" in clauses and "8.8" in clauses and "8.2" not in clauses, clauses


def test_every_process_clause_is_implemented() -> None:
    cited = docstring_citations()
    missing = [c for c in process_clauses() if c not in cited]
    assert not missing, (
        "clauses of the decoding process that no refdec function docstring cites "
        f"(unimplemented, or the implementation does not name its clause): {missing}"
    )


def test_docstring_citations_exist() -> None:
    from test_docs import clause_labels

    labels = clause_labels()
    missing = {c: w for c, w in docstring_citations().items() if c not in labels}
    assert not missing, f"refdec docstrings cite clauses that the WD lacks: {missing}"


# -- facts the text states about refdec's data ------------------------------------------


def test_annex_c_lists_every_scalar_record() -> None:
    params = pytest.importorskip("refdec.params")
    annex_c = (SPEC / "annex-c-parameter-sets.rst").read_text(encoding="utf-8")
    for key in params.SCALARS:
        assert f"``{key}``" in annex_c, key
    for record in (
        "z.table",
        "gain.mean",
        "gain.inverse",
        "gain.scale_offset",
        "hs.n.weight",
        "hs.n.bias",
        "hs.n.shift",
        "hs.n.config",
    ):
        assert f"``{record}``" in annex_c, record


def test_level_note_holds() -> None:
    """The note of WD A.2: the tile limit follows from the width and height limits."""
    levels = pytest.importorskip("refdec.levels")
    for lv in levels.LEVELS.values():
        tiles = -(-lv.max_width // 64) * -(-lv.max_height // 64)
        assert tiles <= lv.max_tiles


def test_shipped_parameter_sets_meet_the_upsampling_requirements() -> None:
    """P-HS-UPSAMPLING and P-GS-UPSAMPLING (WD C.3), which refdec does not check yet."""
    params = pytest.importorskip("refdec.params")
    for path in sorted(params.DATA_DIR.glob("*.olp")):
        ps = params.load_parameter_set(path.read_bytes())
        assert sum(layer.depth_to_space for layer in ps.hs) == 2, path.name
        assert sum(layer.depth_to_space for layer in ps.gs) == 4, path.name


# -- the directives of docs/_ext/openlic_params.py ---------------------------------------


def test_parameter_set_directive_renders_the_shipped_hashes(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    import hashlib
    import html

    from sphinx.cmd.build import build_main

    src = tmp_path / "src"
    src.mkdir()
    ext = ROOT / "docs" / "_ext"
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ext)!r})\nextensions = ['openlic_params']\n"
    )
    (src / "index.rst").write_text(
        "Data\n====\n\n.. parameter-sets::\n\n.. entropy-tables::\n   :caption: Tables\n"
    )
    out = tmp_path / "out"
    assert build_main(["-W", "-q", "-b", "html", str(src), str(out)]) == 0
    text = html.unescape(re.sub(r"<[^>]*>", "", (out / "index.html").read_text()))
    shipped = sorted((ROOT / "refdec" / "data").glob("*.olp"))
    assert shipped
    for path in shipped:
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text, path.name
        assert f"{path.stat().st_size:,}".replace(",", "\u00a0") in text
    assert "kMAC per picture position" in text and "hs.0" in text and "gs.0" in text
