"""Sphinx extension: the tables of WD Annex D generated from the conformance suite.

Directives (each reads ``conformance/suite/*.json``, so the annex always describes the
suite that is checked in):

``.. conformance-matrix::``
    WD clauses (rows) against the categories of cases (columns): the number of cases of
    each category that exercise each clause.
``.. conformance-requirements::``
    Every requirement of codestream conformance (by identifier) with the negative cases
    that violate it and the error the reference decoder reports.
``.. conformance-cases::``
    Every case: id, purpose, clauses, and the expected result.

Load it with ``extensions.append("openlic_conformance")`` in ``conf.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from openlic_syntax import table as _table  # noqa: E402 (docs/_ext is on sys.path)
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

SUITE = Path(__file__).resolve().parents[2] / "conformance" / "suite"

CATEGORIES = (
    ("picture-size", "size"),
    ("bit-depth", "bits"),
    ("quality", "qual."),
    ("picture-content", "cont."),
    ("escape", "esc."),
    ("tiles", "tiles"),
    ("channel-groups", "groups"),
    ("prefix", "prefix"),
    ("optional-segments", "opt."),
    ("header-fields", "hdr"),
    ("levels", "levels"),
    ("output-filter", "filter"),
    ("context-model", "ctx"),
    ("negative", "neg."),
)
"""Case categories (the schema's enum) and their column headings."""


def _load() -> tuple[dict, list[dict]]:
    index = json.loads((SUITE / "index.json").read_text(encoding="utf-8"))
    cases = [
        json.loads((SUITE / f"{cid}.json").read_text(encoding="utf-8")) for cid in index["cases"]
    ]
    return index, cases


def _clause_key(c: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in c.split("."))


def _lit(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def _expected(case: dict) -> str:
    e = case["expected"]
    if e["result"] == "picture":
        return f"{e['width']} x {e['height']}, {e['bit_depth']}-bit"
    return f"{e['error']} ({e['clause']})"


class _SuiteDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        if not (SUITE / "index.json").is_file():
            para = nodes.paragraph(
                text="The conformance suite has not been generated "
                "(python -m conformance.generate)."
            )
            return [nodes.note("", para)]
        for p in SUITE.glob("*.json"):
            self.env.note_dependency(str(p))
        index, cases = _load()
        return self.make(index, cases)

    def make(self, index: dict, cases: list[dict]) -> list[nodes.Node]:
        raise NotImplementedError


class ConformanceMatrix(_SuiteDirective):
    def make(self, index: dict, cases: list[dict]) -> list[nodes.Node]:
        clauses = sorted({c for case in cases for c in case["clauses"]}, key=_clause_key)
        rows = []
        for clause in clauses:
            row: list = [clause]
            for cat, _ in CATEGORIES:
                n = sum(clause in c["clauses"] and c["category"] == cat for c in cases)
                row.append(str(n) if n else "")
            row.append(str(sum(clause in c["clauses"] for c in cases)))
            rows.append(row)
        totals = (
            ["cases"]
            + [str(sum(c["category"] == cat for c in cases)) for cat, _ in CATEGORIES]
            + [str(len(cases))]
        )
        rows.append(totals)
        headers = ["clause"] + [h for _, h in CATEGORIES] + ["all"]
        caption = "Table D.1 — Conformance cases (by category) against the WD clauses they exercise"
        return [_table(caption, headers, rows, [8] + [5] * len(CATEGORIES) + [5])]


class ConformanceRequirements(_SuiteDirective):
    def make(self, index: dict, cases: list[dict]) -> list[nodes.Node]:
        by_id = {c["id"]: c for c in cases}
        rows = []
        for rid, r in index["requirements"].items():
            if r["cases"]:
                names = nodes.inline()
                for i, cid in enumerate(r["cases"]):
                    if i:
                        names += nodes.Text(", ")
                    names += _lit(cid)
                errors = sorted({_expected(by_id[c]) for c in r["cases"]})
                rows.append([_lit(rid), r["clause"], names, "; ".join(errors)])
            else:
                rows.append(
                    [
                        _lit(rid),
                        r["clause"],
                        "none",
                        f"cannot be violated alone: {r['not_violatable']}",
                    ]
                )
        caption = (
            "Table D.2 — Requirements of codestream conformance and the negative "
            "cases that violate them"
        )
        return [
            _table(
                caption,
                ["requirement", "clause", "cases", "expected result"],
                rows,
                [22, 8, 40, 30],
            )
        ]


class ConformanceCases(_SuiteDirective):
    def make(self, index: dict, cases: list[dict]) -> list[nodes.Node]:
        rows = []
        for c in cases:
            flags = []
            if c["prefix"]:
                flags.append("prefix")
            if not c["conforming"] and c["expected"]["result"] == "picture" and not c["prefix"]:
                flags.append("non-conforming, decodable")
            if c["heavy"]:
                flags.append("heavy")
            purpose = c["purpose"] + (f" [{', '.join(flags)}]" if flags else "")
            rows.append(
                [_lit(c["id"]), purpose, ", ".join(c["clauses"]), f"{c['level']}", _expected(c)]
            )
        caption = "Table D.3 — The cases of the conformance suite"
        return [
            _table(
                caption,
                ["case", "purpose", "clauses", "level", "expected result"],
                rows,
                [20, 44, 17, 7, 18],
            )
        ]


def setup(app: Sphinx) -> dict:
    app.add_directive("conformance-matrix", ConformanceMatrix)
    app.add_directive("conformance-requirements", ConformanceRequirements)
    app.add_directive("conformance-cases", ConformanceCases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
