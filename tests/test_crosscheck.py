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
    "hdr-leb128-padded",
    "size-1x1",
    "size-2x3",
    "size-16x16",
    "size-17x33",
    "bd10-23x41",
    "quality-0",
    "escape-hyper",
    "escape-latent-all-prefixes",
    "groups-128",
    "tiles-log2-3",
    "hdr-hyper-step-1",
    "hdr-hyper-step-2",
    "hdr-version-minor-1",
    "opt-between-ys",
]
PREFIXES = [
    "prefix-k0",
    "prefix-k2-in-optional",
    "prefix-k2-in-length",
    "prefix-k3-in-marker",
    "prefix-cut-in-zs",
]
NEGATIVES = [
    "neg-empty",
    "neg-signature-short",
    "neg-crc-ys-payload",
    "neg-eoc-missing",
    "neg-ys-swapped",
    "neg-ys-no-tile-sizes",
    "neg-level1-samples",
    "neg-groups-3",
    "neg-unknown-parameter-set",
    "neg-escape-prefix-17",
    "neg-exhausted-in-escape-suffix",
    "neg-final-state",
    "neg-two-bad-tiles",
    "neg-zs-trailing-byte",
    "neg-hyper-step-3",
    # The leb128() framing (WD 4.4, 5.2, 7.4).
    "neg-truncated-in-length",
    "neg-leb128-length",
    "neg-leb128-tile-size",
    "neg-ys-ends-in-tile-size",
    "neg-ys-ends-before-tile-size",
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


# Context networks (WD 8.4.1, C.3). No shipped parameter set has them yet, so the
# requirements are tested on synthetic parameter sets: the records of the shipped one,
# written back per WD C.2 with a record "context.groups" and chains "ctx.g.n" added.

_DTYPES = {1: "<i1", 2: "<i2", 3: "<i4"}


def _container(records: dict[str, tuple[int, np.ndarray]], magic: bytes = b"OLPS") -> bytes:
    """Write records (name -> (dtype, array)) as a container of WD C.2."""
    out = bytearray(magic + (1).to_bytes(2, "big") + len(records).to_bytes(2, "big"))
    for name, (dtype, arr) in records.items():
        arr = np.asarray(arr)
        out += bytes([len(name)]) + name.encode("ascii") + bytes([dtype, arr.ndim])
        out += b"".join(d.to_bytes(4, "big") for d in arr.shape)
        out += arr.astype(_DTYPES[dtype]).tobytes()
    return bytes(out)


def _shipped_records() -> dict[str, tuple[int, np.ndarray]]:
    from crosscheck.container import DATA_DIR, read_container

    blob = (DATA_DIR / "openlic-1.olp").read_bytes()
    records = {n: (r.dtype, r.data) for n, r in read_container(blob, b"OLPS").items()}
    assert _container(records) == blob  # the writer above is the inverse of the reader
    return records


def _ctx_layer(name: str, o: int, i: int, d2s: int = 0, weight: int = 0, bias=0) -> dict:
    """Records of a 1 x 1 layer: O x I weights all ``weight``, biases ``bias``, shift 0,
    no clipping beyond 16 bits."""
    return {
        f"{name}.weight": (2, np.full((o, i, 1, 1), weight)),
        f"{name}.bias": (3, np.broadcast_to(np.asarray(bias), (o,))),
        f"{name}.shift": (3, np.zeros(o, dtype=np.int64)),
        f"{name}.config": (3, np.array([d2s, -(1 << 15), (1 << 15) - 1])),
    }


def _with_context(g_c: int, **layer_args) -> dict[str, tuple[int, np.ndarray]]:
    """The shipped records with G_C = g_c and, for 1 <= g < g_c, ctx.g a single plain
    layer from the g x N channels before group g to 2N corrections (N = M / G_C)."""
    records = _shipped_records()
    n = records["gain.mean"][1].shape[1] // g_c
    records["context.groups"] = (3, np.array([g_c]))
    for g in range(1, g_c):
        records.update(_ctx_layer(f"ctx.{g}.0", 2 * n, g * n, **layer_args))
    return records


def _load(records: dict) -> crosscheck.ParameterSet:
    from crosscheck.container import load_parameter_set, load_tables

    return load_parameter_set(_container(records), load_tables())


def _drop_ctx(g: int):
    def mutate(rec: dict) -> None:
        for part in ("weight", "bias", "shift", "config"):
            del rec[f"ctx.{g}.0.{part}"]

    return mutate


def _set(name: str, dtype: int, value):
    def mutate(rec: dict) -> None:
        rec[name] = (dtype, np.asarray(value))

    return mutate


def _layer(name: str, o: int, i: int, **kw):
    def mutate(rec: dict) -> None:
        rec.update(_ctx_layer(name, o, i, **kw))

    return mutate


N2 = 128  # channels per group of the shipped M = 256 with G_C = 2


@pytest.mark.parametrize(
    ("g_c", "mutate", "req"),
    [
        (2, _set("context.groups", 3, [1]), "P-CONTEXT-GROUPS"),
        (2, _set("context.groups", 3, [0]), "P-CONTEXT-GROUPS"),
        (2, _set("context.groups", 3, [-2]), "P-CONTEXT-GROUPS"),
        (2, _set("context.groups", 3, [3]), "P-CONTEXT-GROUPS"),  # does not divide M = 256
        (2, _set("context.groups", 3, [256]), "P-CONTEXT-GROUPS"),  # divides M, above 255
        (2, _set("context.groups", 2, [2]), "P-CONTEXT-GROUPS"),  # dtype
        (2, _set("context.groups", 3, [2, 2]), "P-CONTEXT-GROUPS"),  # dimension
        (2, _set("context.groups", 3, [[2]]), "P-CONTEXT-GROUPS"),  # ndim
        (2, _drop_ctx(1), "P-CTX-CHAINS"),
        (4, _drop_ctx(2), "P-CTX-CHAINS"),
        (2, _layer("ctx.1.0", 2 * N2, N2, d2s=1), "P-CTX-PLAIN"),
        (2, _layer("ctx.1.0", N2, N2), "P-CTX-OUTPUT"),
        (2, _layer("ctx.1.0", 2 * N2 + 1, N2), "P-CTX-OUTPUT"),
        (2, _layer("ctx.1.0", 2 * N2, N2 + 1), "P-CHAIN-CHANNELS"),
        (2, _layer("ctx.1.0", 2 * N2, 2 * N2), "P-CHAIN-CHANNELS"),  # M, not g x M / G_C
        (2, _layer("ctx.1.0", 2 * N2, N2, weight=1 << 14), "P-ACCUMULATOR"),
        (2, _set("ctx.1.0.config", 3, [0, 1, 0]), "P-LAYER-CLIP"),
    ],
)
def test_context_requirements_are_checked(g_c: int, mutate, req: str) -> None:
    """WD C.3 P-CONTEXT-GROUPS, P-CTX-CHAINS, P-CTX-PLAIN, P-CTX-OUTPUT; 8.6.2 and 8.6.4
    P-ACCUMULATOR (A = latent_in_max) and P-CHAIN-CHANNELS (g x M / G_C) for ctx.g."""
    records = _with_context(g_c)
    mutate(records)
    with pytest.raises(crosscheck.DecodeError, match=req):
        _load(records)


def test_context_networks_are_read() -> None:
    """G_C = 1 without "context.groups"; with it, ctx.g for 1 <= g < G_C and nothing else
    (further records such as ctx.0 or ctx.G_C are not used, C.3)."""
    plain = _load(_shipped_records())
    assert (plain.G_C, plain.ctx) == (1, {})
    records = _with_context(4)
    records.update(_ctx_layer("ctx.0.0", 1, 1, d2s=1))  # would break P-LAYER-D2S if read
    records.update(_ctx_layer("ctx.4.0", 1, 1, d2s=1))
    ps = _load(records)
    assert ps.G_C == 4 and sorted(ps.ctx) == [1, 2, 3]
    shapes = [ps.ctx[g][0].weight.shape for g in (1, 2, 3)]
    assert shapes == [(128, 64, 1, 1), (128, 128, 1, 1), (128, 192, 1, 1)]


def test_context_prediction_corrects_mean_and_log_scale() -> None:
    """WD 8.4.1: d = ctx.g(yIn of the groups before g); muFp += d[0 .. N - 1] and
    lsFp += d[N .. 2N - 1], each clipped to 16 bits."""
    from crosscheck.container import Layer
    from crosscheck.network import context_prediction

    n = 2  # M = 4, G_C = 2: ctx.1 maps the 2 channels of group 0 to 4 corrections
    w = np.zeros((4, 2, 1, 1), dtype=np.int64)
    w[0, 0] = w[1, 1] = 1  # mean corrections: y_in of channels 0 and 1
    w[2, 0] = w[3, 1] = -2  # log-scale corrections: -2 y_in
    lim = (-(1 << 15), (1 << 15) - 1)
    ly = Layer(w, np.array([0, 5, 0, 0]), np.zeros(4, dtype=np.int64), 0, *lim)
    ps = type("PS", (), {"ctx": {1: [ly]}})()
    rng = np.random.default_rng(1)
    y = rng.integers(-8191, 8192, size=(n, 3, 5))
    mu = rng.integers(-(1 << 15), 1 << 15, size=(n, 3, 5))
    ls = rng.integers(-(1 << 15), 1 << 15, size=(n, 3, 5))
    mu_c, ls_c = context_prediction(ps, 1, y, mu, ls)
    assert np.array_equal(mu_c, np.clip(mu + y + np.array([0, 5])[:, None, None], *lim))
    assert np.array_equal(ls_c, np.clip(ls - 2 * y, *lim))


@pytest.mark.parametrize("case_id", ["groups-4", "prefix-k1", "size-17x33"])
def test_zero_context_networks_leave_the_picture_unchanged(case_id: str, monkeypatch) -> None:
    """WD 8.1.1 step 5 with G_C = G and ctx.g giving d = 0: the group-by-group process with
    context prediction decodes the same picture as without context networks."""
    desc, data = _case(case_id)
    g = crosscheck.parse(data, prefix=desc["prefix"]).header.num_channel_groups
    ps = _load(_with_context(g))
    assert ps.G_C == g
    monkeypatch.setattr(crosscheck, "_parameter_set", lambda sha: ps)
    samples, bit_depth = crosscheck.decode(data, prefix=desc["prefix"])
    assert samples_sha256(samples, bit_depth) == desc["expected"]["samples_sha256"]


def test_context_corrections_reach_the_picture(monkeypatch) -> None:
    """A mean correction from ctx.g changes the reconstructed latent of the later groups."""
    desc, data = _case("groups-4")
    records = _with_context(4, bias=np.r_[np.full(64, 1 << 10), np.zeros(64)])
    ps = _load(records)
    monkeypatch.setattr(crosscheck, "_parameter_set", lambda sha: ps)
    samples, bit_depth = crosscheck.decode(data)
    assert samples_sha256(samples, bit_depth) != desc["expected"]["samples_sha256"]


def test_groups_must_equal_the_context_groups(monkeypatch) -> None:
    """WD 7.2 R-GROUPS-CONTEXT: with G_C >= 2, num_channel_groups equals G_C."""
    _, data = _case("size-17x33")  # num_channel_groups = 2
    ps = _load(_with_context(4))
    monkeypatch.setattr(crosscheck, "_parameter_set", lambda sha: ps)
    with pytest.raises(crosscheck.DecodeError, match="R-GROUPS-CONTEXT"):
        crosscheck.decode(data)
