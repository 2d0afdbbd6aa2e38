"""The decoder written from the WD alone (``crosscheck/``, see crosscheck/FINDINGS.md)
agrees with the conformance suite.

A handful of small cases of every kind is decoded in-process and compared with the
expected SHA-256 of the samples (WD D.3) or the expected rejection; the full suite is run
with the command in docs/conformance.rst (*Cross-check*). The decoder must stay
independent of the reference decoder: it imports none of the project's packages.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "conformance" / "suite"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("numba")
crosscheck = pytest.importorskip("crosscheck")

PICTURES = [
    "size-1x1", "size-2x3", "size-16x16", "size-17x33", "bd10-23x41", "quality-0",
    "escape-hyper", "escape-latent-all-prefixes", "groups-128", "tiles-log2-3",
    "hdr-reserved-255", "hdr-version-minor-1", "opt-between-ys",
]
PREFIXES = ["prefix-k0", "prefix-k2-in-optional", "prefix-k3-in-marker", "prefix-cut-in-zs"]
NEGATIVES = [
    "neg-empty", "neg-signature-short", "neg-crc-ys-payload", "neg-eoc-missing",
    "neg-ys-swapped", "neg-ys-no-tile-sizes", "neg-level1-samples", "neg-groups-3",
    "neg-unknown-parameter-set", "neg-escape-prefix-17", "neg-exhausted-in-escape-suffix",
    "neg-final-state", "neg-two-bad-tiles", "neg-zs-trailing-byte",
]


def samples_sha256(samples: np.ndarray, bit_depth: int) -> str:
    """SHA-256 of the samples in the order y, x, c, 1 or 2 bytes (big-endian) each (WD D.3)."""
    dtype = ">u1" if bit_depth == 8 else ">u2"
    return hashlib.sha256(np.ascontiguousarray(samples).astype(dtype).tobytes()).hexdigest()


def _case(case_id: str) -> tuple[dict, bytes]:
    desc = json.loads((SUITE / f"{case_id}.json").read_text(encoding="utf-8"))
    return desc, (SUITE / desc["codestream"]["file"]).read_bytes()


@pytest.mark.parametrize("case_id", PICTURES + PREFIXES + NEGATIVES)
def test_crosscheck_agrees_with_the_suite(case_id: str) -> None:
    desc, data = _case(case_id)
    expected = desc["expected"]
    if expected["result"] == "error":
        with pytest.raises(crosscheck.DecodeError):
            crosscheck.decode(data, prefix=desc["prefix"])
        return
    samples, bit_depth = crosscheck.decode(data, prefix=desc["prefix"])
    assert samples.shape == (expected["height"], expected["width"], 3)
    assert bit_depth == expected["bit_depth"]
    assert samples_sha256(samples, bit_depth) == expected["samples_sha256"]


def test_a_cut_codestream_is_rejected_unless_prefix_decoding_is_asked_for() -> None:
    """WD 5.5: prefix decoding is a mode; without it a prefix violates R-COMPLETE."""
    _, data = _case("prefix-k4-no-eoc")
    with pytest.raises(crosscheck.DecodeError, match="R-COMPLETE"):
        crosscheck.decode(data)


def test_crosscheck_imports_no_project_package() -> None:
    """The cross-check is evidence only while it stays independent of refdec/ and co."""
    forbidden = {"refdec", "encoder", "conformance", "openlic", "tools"}
    for path in sorted((ROOT / "crosscheck").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)


def test_crosscheck_cites_every_process_clause() -> None:
    """Every leaf clause of WD 8 is cited by a docstring of crosscheck, as for refdec."""
    from test_wd import docstring_citations, process_clauses

    cited = docstring_citations("crosscheck")
    missing = [c for c in process_clauses() if c not in cited]
    assert not missing, f"clauses of WD 8 that no crosscheck docstring cites: {missing}"
