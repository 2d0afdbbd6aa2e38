"""Containers (WD C.2), the entropy table file (WD B.2) and parameter sets (WD C.1, C.3).

Everything here is read from the bytes of the files, as the WD describes their format;
nothing is imported from the reference decoder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "refdec" / "data"
"""Where the files distributed with the WD lie (WD B.2, C.4): read as data only."""

TABLES_SHA256 = "276f9256da2bec1ed038c264c4124acd9b7cba66aed71514812edd961b8d3c48"
"""SHA-256 of gaussian_tables.olt (WD B.2)."""

_DTYPES = {1: "<i1", 2: "<i2", 3: "<i4"}


class ParameterSetError(Exception):
    """A container or parameter set that breaks a requirement P-... (WD C.1 to C.3)."""


def _need(cond: bool, req: str, what: str) -> None:
    if not cond:
        raise ParameterSetError(f"{req}: {what}")


@dataclass(frozen=True)
class Record:
    """One record of a container (WD C.2): its dtype code and its array."""

    dtype: int
    data: np.ndarray


def read_container(blob: bytes, magic: bytes) -> dict[str, Record]:
    """Read a container (WD C.2) and check P-MAGIC .. P-TRAILING."""
    _need(blob[:4] == magic, "P-MAGIC", f"magic is {blob[:4]!r}, not {magic!r}")
    _need(len(blob) >= 8, "P-COMPLETE", "file ends inside the header")
    _need(int.from_bytes(blob[4:6], "big") == 1, "P-VERSION", "version is not 1")
    count = int.from_bytes(blob[6:8], "big")
    pos, records = 8, {}

    def take(n: int) -> bytes:
        nonlocal pos
        _need(pos + n <= len(blob), "P-COMPLETE", f"file ends inside record {len(records)}")
        pos += n
        return blob[pos - n : pos]

    for _ in range(count):
        name_b = take(take(1)[0])
        _need(len(name_b) >= 1 and all(0x21 <= b <= 0x7E for b in name_b), "P-NAME", "bad name")
        name = name_b.decode("ascii")
        _need(name not in records, "P-NAME-UNIQUE", f"record {name} twice")
        dtype, ndim = take(1)[0], take(1)[0]
        _need(dtype in _DTYPES, "P-DTYPE", f"dtype {dtype} of {name}")
        _need(ndim <= 8, "P-NDIM", f"ndim {ndim} of {name}")
        dims = tuple(int.from_bytes(take(4), "big") for _ in range(ndim))
        count_el = int(np.prod(dims, dtype=object)) if dims else 1
        raw = take(count_el * (1 << (dtype - 1)))
        arr = np.frombuffer(raw, dtype=_DTYPES[dtype]).astype(np.int64).reshape(dims)
        records[name] = Record(dtype, arr)
    _need(pos == len(blob), "P-TRAILING", "bytes after the last record")
    return records


@dataclass(frozen=True)
class Tables:
    """The 64 entropy tables of Annex B: radius R_i and cdf_i, concatenated."""

    radius: np.ndarray  # int64[64]
    start: np.ndarray  # int64[64]: offset of cdf_i in ``cdf``
    cdf: np.ndarray  # int64: all cdf_i one after the other


@cache
def load_tables(path: Path = DATA_DIR / "gaussian_tables.olt") -> Tables:
    """Read the table file of WD B.2, after checking its SHA-256."""
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != TABLES_SHA256:
        raise ParameterSetError(f"{path}: not the table file of WD B.2 (SHA-256 differs)")
    rec = read_container(blob, b"OLTB")
    radius = rec["radius"].data
    parts = [rec[f"cdf.{i}"].data for i in range(64)]
    for i, (r, c) in enumerate(zip(radius, parts)):  # the properties of B.1
        _need(
            r >= 1
            and c.shape == (2 * r + 3,)
            and c[0] == 0
            and c[-1] == 1 << 16
            and bool(np.all(np.diff(c) >= 1)),
            "B.1",
            f"table {i}",
        )
    start = np.cumsum([0] + [len(c) for c in parts[:-1]]).astype(np.int64)
    return Tables(radius.astype(np.int64), start, np.concatenate(parts).astype(np.int64))


@dataclass(frozen=True)
class Layer:
    """One layer of WD 8.6.1: W[o][i][ky][kx], B[o], s[o], depth-to-space, lo, hi."""

    weight: np.ndarray
    bias: np.ndarray
    shift: np.ndarray
    d2s: int
    lo: int
    hi: int


@dataclass(frozen=True)
class ParameterSet:
    """The content of a parameter set that the decoding process uses (WD 8.1.1, C.3)."""

    sha256: str
    M: int
    MZ: int
    Q: int
    hs: list[Layer]
    gs: list[Layer]
    z_table: np.ndarray
    gain: np.ndarray  # G[q][c]
    inv_gain: np.ndarray  # IG[q][c]
    scale_offset: np.ndarray
    f_mu: int
    f_g: int
    f_ig: int
    f_ls: int
    f_out: int
    latent_in_max: int
    hyper_in_max: int
    G_C: int  # number of context groups, 1 without context networks (WD 8.1.1, C.3)
    ctx: dict[int, list[Layer]]  # the context network ctx.g for 1 <= g < G_C (WD 8.4.1)


def _chain(rec: dict[str, Record], prefix: str, n_in: int, a_max: int) -> list[Layer]:
    """Collect the layers "prefix.0", "prefix.1", ... (WD C.3) and check their requirements,
    with P-ACCUMULATOR and P-CHAIN-CHANNELS of WD 8.6.2 and 8.6.4. ``n_in`` is the number
    of channels of the chain's input and ``a_max`` the bound A of its first layer."""
    layers: list[Layer] = []
    while f"{prefix}.{len(layers)}.weight" in rec:
        n = f"{prefix}.{len(layers)}"
        w = rec[f"{n}.weight"]
        _need(w.dtype == 2 and w.data.ndim == 4, "P-LAYER-WEIGHT", n)
        o, i, k, k2 = w.data.shape
        _need(k == k2 and k % 2 == 1, "P-LAYER-WEIGHT", f"{n}: kernel {k}x{k2}")
        for part in ("bias", "shift"):
            r = rec.get(f"{n}.{part}")
            _need(r is not None and r.dtype == 3 and r.data.shape == (o,), "P-LAYER-BIAS-SHIFT", n)
        cfg = rec.get(f"{n}.config")
        _need(cfg is not None and cfg.dtype == 3 and cfg.data.shape == (3,), "P-LAYER-CONFIG", n)
        d2s, lo, hi = (int(v) for v in cfg.data)
        _need(d2s in (0, 1) and (d2s == 0 or o % 4 == 0), "P-LAYER-D2S", n)
        _need(-(1 << 15) <= lo <= hi <= (1 << 15) - 1, "P-LAYER-CLIP", n)
        shift = rec[f"{n}.shift"].data
        _need(bool(np.all((shift >= 0) & (shift <= 31))), "P-LAYER-SHIFT", n)
        _need(i == n_in, "P-CHAIN-CHANNELS", f"{n}: {i} inputs, {n_in} channels")
        bias = rec[f"{n}.bias"].data
        acc = np.abs(bias) + a_max * np.abs(w.data).reshape(o, -1).sum(axis=1)
        _need(int(acc.max()) <= (1 << 31) - 1, "P-ACCUMULATOR", n)
        layers.append(Layer(w.data, bias, shift, d2s, lo, hi))
        n_in, a_max = (o // 4 if d2s else o), max(abs(lo), abs(hi))
    _need(len(layers) >= 1, "P-CHAIN-NONEMPTY", f"no {prefix}.0.weight")
    return layers


def load_parameter_set(blob: bytes, tables: Tables) -> ParameterSet:
    """Read a parameter set (C.2, C.3) and check every requirement P-... of the WD."""
    rec = read_container(blob, b"OLPS")
    scalars = {}
    for name in (
        "latent.f_mu",
        "latent.fg",
        "latent.fig",
        "latent.f_ls",
        "latent.in_max",
        "hyper.in_max",
        "output.f_out",
    ):
        r = rec.get(name)
        _need(r is not None and r.dtype == 3 and r.data.shape == (1,), "P-SCALARS", name)
        scalars[name] = int(r.data[0])
    z = rec.get("z.table")
    _need(
        z is not None
        and z.dtype == 3
        and z.data.ndim == 1
        and z.data.size >= 1
        and bool(np.all((z.data >= 0) & (z.data <= 63))),
        "P-Z-TABLE",
        "z.table",
    )
    gains = [rec.get(f"gain.{n}") for n in ("mean", "inverse", "scale_offset")]
    _need(
        all(g is not None and g.dtype == 3 and g.data.ndim == 2 for g in gains)
        and len({g.data.shape for g in gains}) == 1,
        "P-GAIN-SHAPE",
        "gain records",
    )
    q, m = gains[0].data.shape
    _need(1 <= q <= 256 and m >= 1, "P-GAIN-SHAPE", f"Q={q}, M={m}")
    _need(bool(np.all(gains[0].data > 0) and np.all(gains[1].data > 0)), "P-GAIN-POSITIVE", "")
    f_mu, f_g, f_ig, f_ls, f_out = (
        scalars[n]
        for n in ("latent.f_mu", "latent.fg", "latent.fig", "latent.f_ls", "output.f_out")
    )
    lat_max, hyp_max = scalars["latent.in_max"], scalars["hyper.in_max"]
    _need(1 <= lat_max <= 32767 and 1 <= hyp_max <= 32767, "P-IN-MAX", "")
    _need(all(0 <= f <= 24 for f in (f_mu, f_g, f_ig, f_ls, f_out)), "P-PRECISION-RANGE", "")
    _need(f_g >= 1 and f_ls >= 1 and f_out >= 1 and f_ig + f_mu >= 1, "P-PRECISION-MIN", "")
    mz = int(z.data.size)
    hs = _chain(rec, "hs", mz, hyp_max)
    gs = _chain(rec, "gs", m, lat_max)
    last_out = [c[-1].weight.shape[0] >> (2 * c[-1].d2s) for c in (hs, gs)]  # after d2s
    _need(last_out[0] == 2 * m, "P-HS-OUTPUT", f"{last_out[0]} channels")
    _need(last_out[1] == 3, "P-GS-OUTPUT", f"{last_out[1]} channels")
    _need(sum(ly.d2s for ly in hs) == 2, "P-HS-UPSAMPLING", "")
    _need(sum(ly.d2s for ly in gs) == 4, "P-GS-UPSAMPLING", "")
    g_max, ig_max = int(gains[0].data.max()), int(gains[1].data.max())
    r63 = int(tables.radius[63])
    big = ((r63 + (1 << 16)) << f_mu) + (((g_max << 15) + (1 << (f_g - 1))) >> f_g)
    _need((g_max << 15) < 1 << 62 and big * ig_max < 1 << 62, "P-LATENT-RANGE", "")
    g_c, ctx = _context_networks(rec, m, lat_max)
    return ParameterSet(
        hashlib.sha256(blob).hexdigest(),
        m,
        mz,
        q,
        hs,
        gs,
        z.data,
        gains[0].data,
        gains[1].data,
        gains[2].data,
        f_mu,
        f_g,
        f_ig,
        f_ls,
        f_out,
        lat_max,
        hyp_max,
        g_c,
        ctx,
    )


def _context_networks(
    rec: dict[str, Record], m: int, lat_max: int
) -> tuple[int, dict[int, list[Layer]]]:
    """G_C (record "context.groups", 1 where it is absent) and the context networks ctx.g,
    1 <= g < G_C (WD C.3, 8.4.1), with P-CONTEXT-GROUPS, P-CTX-CHAINS, P-CTX-PLAIN and
    P-CTX-OUTPUT. The layers of ctx.g are checked as those of any chain: ctx.g reads the
    y_in of the g x M / G_C channels before group g (P-CHAIN-CHANNELS, WD 8.6.4), clipped
    to latent_in_max (the bound A of P-ACCUMULATOR, WD 8.6.2)."""
    r = rec.get("context.groups")
    if r is None:
        return 1, {}
    _need(r.dtype == 3 and r.data.shape == (1,), "P-CONTEXT-GROUPS", "record layout")
    g_c = int(r.data[0])
    _need(2 <= g_c <= 255 and m % g_c == 0, "P-CONTEXT-GROUPS", f"G_C = {g_c}, M = {m}")
    n = m // g_c  # channels per group
    ctx = {}
    for g in range(1, g_c):
        _need(f"ctx.{g}.0.weight" in rec, "P-CTX-CHAINS", f"no ctx.{g}.0.weight")
        ctx[g] = _chain(rec, f"ctx.{g}", g * n, lat_max)
        _need(all(ly.d2s == 0 for ly in ctx[g]), "P-CTX-PLAIN", f"ctx.{g}")
        out = ctx[g][-1].weight.shape[0]
        _need(out == 2 * n, "P-CTX-OUTPUT", f"ctx.{g}: {out} channels, not {2 * n}")
    return g_c, ctx
