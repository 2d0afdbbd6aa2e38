"""The WD sources: clause labels, citations of clauses in the code, the docs wrappers.

The Sphinx build itself (with warnings as errors) is run by scripts/test.sh; these tests
check what the build cannot: that every clause the code cites exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"
CODE_DIRS = ("refdec", "encoder", "conformance", "openlic", "tools")

LABEL = re.compile(r"^\.\. _clause-([0-9A-Za-z.]+):\s*$", re.MULTILINE)

# "WD 8.2.6", "WD clause 8.2", "WD Annex C.2", "WD A"; "Annex B.2"; clause="8.6.2".
CLAUSE_ID = r"(?:[0-9]+(?:\.[0-9]+)*|[A-E](?:\.[0-9]+)*)(?![\w.]*\w)"
CITATION = re.compile(
    rf"\bWD\s+(?:clause\s+|Annex\s+)?({CLAUSE_ID})|\bAnnex\s+({CLAUSE_ID})"
    rf"|\bclause\s*=\s*[\"']({CLAUSE_ID})[\"']"
)
# A list continuing a citation: "WD 8.4, 8.5", "WD 8.2.3-8.2.4", "WD 7.2, C.1".
FOLLOWING = re.compile(rf"\s*(?:,|-|and|to)\s*({CLAUSE_ID})")


def clause_labels() -> set[str]:
    labels: set[str] = set()
    for path in SPEC.glob("*.rst"):
        labels.update(m.lower() for m in LABEL.findall(path.read_text(encoding="utf-8")))
    return labels


def cited_clauses() -> dict[str, list[str]]:
    """Clause -> the places (file:line) that cite it, over all Python code."""
    cited: dict[str, list[str]] = {}
    for d in CODE_DIRS:
        for path in sorted((ROOT / d).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for m in CITATION.finditer(text):
                ids = [next(g for g in m.groups() if g)]
                end = m.end()
                while f := FOLLOWING.match(text, end):
                    ids.append(f.group(1))
                    end = f.end()
                line = text.count("\n", 0, m.start()) + 1
                for cid in ids:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    cited.setdefault(cid.rstrip(".").lower(), []).append(where)
    return cited


def test_labels_follow_clause_headings() -> None:
    """Every label names the clause whose heading follows it ("8.2 Entropy ...")."""
    for path in SPEC.glob("*.rst"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = LABEL.match(line)
            if not m or m.group(1) in ("0", "bibliography"):
                continue
            heading = next(x for x in lines[i + 1 :] if x.strip())
            number = m.group(1)
            if len(number) == 1 and number.isalpha():
                assert heading.startswith(f"Annex {number} "), (path.name, line, heading)
            else:
                assert heading.startswith(f"{number} "), (path.name, line, heading)


def test_clause_labels_unique() -> None:
    seen: dict[str, str] = {}
    for path in sorted(SPEC.glob("*.rst")):
        for label in LABEL.findall(path.read_text(encoding="utf-8")):
            assert label.lower() not in seen, f"clause-{label} in {path.name} and {seen[label]}"
            seen[label.lower()] = path.name


def test_wd_has_the_clauses_of_design_md() -> None:
    labels = clause_labels()
    expected = ["1", "2", "3", "4", "5", "6", "7", "8", "a", "b", "c", "d", "e"]
    expected += [f"8.{i}" for i in range(1, 9)]
    assert not [c for c in expected if c not in labels]


def test_every_cited_clause_exists() -> None:
    labels = clause_labels()
    cited = cited_clauses()
    assert cited, "no WD citations found in the code: is the pattern broken?"
    missing = {c: places for c, places in cited.items() if c not in labels}
    assert not missing, "clauses cited in the code but absent from spec/*.rst:\n" + "\n".join(
        f"  WD {c}: {', '.join(places)}" for c, places in sorted(missing.items())
    )


def test_citation_pattern() -> None:
    text = (
        '"""WD 8.4, 8.5 and WD Annex C.2; see Annex B.2, WD A."""\n'
        'raise X("y", clause="8.6.2")  # WD 8.2.3-8.2.4; not WD 8.2.x nor 12.5 kg\n'
    )
    found = []
    for m in CITATION.finditer(text):
        found.append(next(g for g in m.groups() if g))
        end = m.end()
        while f := FOLLOWING.match(text, end):
            found.append(f.group(1))
            end = f.end()
    assert found == ["8.4", "8.5", "C.2", "B.2", "A", "8.6.2", "8.2.3", "8.2.4"]


def test_every_spec_file_is_in_the_docs() -> None:
    """docs/wd holds one wrapper per spec/*.rst, and the WD index lists each of them."""
    wrappers = {p.name for p in (ROOT / "docs" / "wd").glob("*.rst")} - {"index.rst"}
    assert wrappers == {p.name for p in SPEC.glob("*.rst")}
    index = (ROOT / "docs" / "wd" / "index.rst").read_text(encoding="utf-8")
    for name in wrappers:
        assert f"   {name[:-4]}\n" in index, name
        text = (ROOT / "docs" / "wd" / name).read_text(encoding="utf-8")
        assert f".. include:: ../../spec/{name}" in text


def test_table_hash_in_annex_b_matches_refdec() -> None:
    tables = pytest.importorskip("refdec.tables")
    annex_b = (SPEC / "annex-b-entropy-tables.rst").read_text(encoding="utf-8")
    assert tables.TABLES_SHA256 in annex_b


def test_decoding_diagram_cites_existing_clauses_and_is_current() -> None:
    """Figure 1 of the WD (8.1.1): its boxes cite clauses the WD has, the committed
    drawing shows the boxes' current text, and the WD includes it."""
    from tools.decoding_diagram import PROCESSES, label

    labels = clause_labels()
    cited = {c.lower() for box in PROCESSES.values() for c in box.clauses}
    assert not cited - labels, f"Figure 1 cites clauses the WD lacks: {cited - labels}"
    svg = (ROOT / "docs" / "figures" / "decoding-process.svg").read_text(encoding="utf-8")
    stale = [box.text for box in PROCESSES.values() if label(box).splitlines()[-1] not in svg]
    assert not stale, f"docs/figures/decoding-process.svg is stale (rerun the tool): {stale}"
    assert "/figures/decoding-process.*" in (SPEC / "08-decoding.rst").read_text(encoding="utf-8")
