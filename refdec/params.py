"""Parameter sets (WD Annex C): the normative integers of a trained model.

A parameter set is a record container (C.2) holding the integer networks of the
decoder (hyper synthesis ``hs``, synthesis ``gs`` and, optionally, the context networks
``ctx.g`` of the channel groups), the gain tables that map the
quality index to quantisation and table-index offsets, the table of every hyper-latent
channel, and a few fixed-point constants. A codestream names its parameter set by the
SHA-256 of the file (7.2), so no decoder can silently use other weights.

Loading checks every requirement of C.3, among them the accumulator proof of WD 8.6.2:
a parameter set for which some layer's accumulator could leave the 32-bit range is
refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from refdec import syntax
from refdec.container import read_container
from refdec.errors import ParameterSetError
from refdec.network import ACC_MAX, IntLayer

PARAMS_MAGIC = b"OLPS"
NUM_SCALES = 64
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
DATA_DIR = Path(__file__).parent / "data"

HS_UPSAMPLING, GS_UPSAMPLING = 2, 4
"""Depth-to-space layers of each chain: ``hs`` maps 1/64 to 1/16, ``gs`` 1/16 to 1."""
MAX_RESIDUAL = 1564 + (1 << 16)
"""Largest residual magnitude WD 8.2.6 can decode: R_63 + 2^16."""

SCALARS = (
    "latent.f_mu",
    "latent.fg",
    "latent.fig",
    "latent.f_ls",
    "latent.in_max",
    "hyper.in_max",
    "output.f_out",
)
"""Fixed-point constants of WD 8.3 to 8.8, each a one-element int32 record."""


@dataclass(frozen=True)
class ParameterSet:
    """A loaded, validated parameter set (WD Annex C)."""

    sha256: bytes
    hs: tuple[IntLayer, ...]
    gs: tuple[IntLayer, ...]
    ctx: tuple[tuple[IntLayer, ...], ...]
    """The context networks ``ctx.1`` .. ``ctx.(G_C - 1)`` (WD 8.4.1); empty when
    ``G_C = 1``, so that ``ctx[g - 1]`` is the network of group ``g``."""
    z_table: np.ndarray
    """int32 (MZ,): entropy table index of each hyper-latent channel (WD 8.3.1)."""
    gain_mean: np.ndarray
    """int32 (Q, M): G[q][c] of WD 8.5."""
    gain_inverse: np.ndarray
    """int32 (Q, M): IG[q][c] of WD 8.5."""
    scale_offset: np.ndarray
    """int32 (Q, M): table-index offset of WD 8.4."""
    f_mu: int
    fg: int
    fig: int
    f_ls: int
    latent_in_max: int
    hyper_in_max: int
    f_out: int

    @property
    def m(self) -> int:
        """Number of latent channels M."""
        return int(self.gain_mean.shape[1])

    @property
    def context_groups(self) -> int:
        """``G_C`` of WD C.3: 1 without context networks."""
        return len(self.ctx) + 1

    @property
    def mz(self) -> int:
        """Number of hyper-latent channels MZ."""
        return int(self.z_table.shape[0])

    @property
    def num_qualities(self) -> int:
        return int(self.gain_mean.shape[0])

    def macs_per_input_sample(self, which: str) -> int:
        """Multiply-accumulates per sample of a chain's input grid (informative)."""
        layers = self.hs if which == "hs" else self.gs
        total, area = 0, 1
        for layer in layers:
            total += area * layer.weight.size
            if layer.depth_to_space:
                area *= 4
        return total


def _layers(rec: dict[str, np.ndarray], prefix: str) -> tuple[IntLayer, ...]:
    """The layer records ``PREFIX.N.*`` of WD C.3, in order, each checked on its own."""
    layers = []
    n = 0
    while f"{prefix}.{n}.weight" in rec:
        w = rec[f"{prefix}.{n}.weight"]
        b, s, cfg = (rec.get(f"{prefix}.{n}.{k}") for k in ("bias", "shift", "config"))
        name = f"{prefix}.{n}"
        if w.dtype != np.int16 or w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] % 2 == 0:
            raise ParameterSetError(f"{name}.weight must be int16 (O, I, K, K) with odd K")
        o = w.shape[0]
        for key, arr in (("bias", b), ("shift", s)):
            if arr is None or arr.dtype != np.int32 or arr.shape != (o,):
                raise ParameterSetError(f"{name}.{key} must be int32 of shape ({o},)")
        if cfg is None or cfg.dtype != np.int32 or cfg.shape != (3,):
            raise ParameterSetError(f"{name}.config must be int32 [depth_to_space, lo, hi]")
        d2s, lo, hi = (int(v) for v in cfg)
        if d2s not in (0, 1) or (d2s and o % 4):
            raise ParameterSetError(f"{name}: depth_to_space needs 4*C outputs")
        if not INT16_MIN <= lo <= hi <= INT16_MAX:
            raise ParameterSetError(f"{name}: clip bounds must lie in the int16 range")
        if s.min() < 0 or s.max() > 31:
            raise ParameterSetError(f"{name}: shifts must lie in 0..31")
        layers.append(IntLayer(w, b, s, bool(d2s), lo, hi))
        n += 1
    if not layers:
        raise ParameterSetError(f"parameter set has no {prefix} layers")
    return tuple(layers)


def _check_chain(layers: tuple[IntLayer, ...], name: str, c_in: int, in_bound: int) -> None:
    """Channel counts chain up and no accumulator can overflow (WD 8.6.2)."""
    for n, layer in enumerate(layers):
        if layer.in_channels != c_in:
            raise ParameterSetError(
                f"{name}.{n} takes {layer.in_channels} channels, previous gives {c_in}",
                clause="8.6.4",
            )
        bound = layer.accumulator_bound(in_bound)
        if bound > ACC_MAX:
            raise ParameterSetError(
                f"{name}.{n}: accumulator may reach {bound} > 2^31 - 1", clause="8.6.2"
            )
        c_in = layer.out_channels
        in_bound = max(abs(layer.clip_lo), abs(layer.clip_hi))


def _context_networks(rec: dict[str, np.ndarray], m: int, in_bound: int) -> tuple:
    """The chains ``ctx.g`` of WD C.3, checked [P-CONTEXT-GROUPS to P-CTX-OUTPUT]."""
    arr = rec.get("context.groups")
    if arr is None:
        return ()
    if arr.dtype != np.int32 or arr.shape != (1,):
        raise ParameterSetError("record context.groups must be one int32", clause="C.3")
    groups = int(arr[0])
    if not 2 <= groups <= 255 or m % groups:
        raise ParameterSetError(
            f"context.groups {groups} must lie in 2..255 and divide M = {m}", clause="C.3"
        )
    chains = []
    per = m // groups
    for g in range(1, groups):
        name = f"ctx.{g}"
        if f"{name}.0.weight" not in rec:
            raise ParameterSetError(f"parameter set has no {name} layers", clause="C.3")
        chain = _layers(rec, name)
        if any(layer.depth_to_space for layer in chain):
            raise ParameterSetError(f"{name} must have no depth-to-space layer", clause="C.3")
        _check_chain(chain, name, g * per, in_bound)
        if chain[-1].out_channels != 2 * per:
            raise ParameterSetError(f"{name} must end in 2M/G_C = {2 * per} channels", clause="C.3")
        chains.append(chain)
    return tuple(chains)


def _check_latent_range(g: np.ndarray, ig: np.ndarray, scalars: dict[str, int]) -> None:
    """WD 8.5 fits in 64-bit integers [P-LATENT-RANGE].

    The residual is at most ``R_63 + 2^16`` in magnitude (8.2.6) and the mean at most
    ``2^15`` (an int16 output of ``hs``), so ``yg * IG`` is bounded by the expression
    below; it and ``mean_fp * G`` must stay below ``2^62``.
    """
    f_mu, fg = scalars["latent.f_mu"], scalars["latent.fg"]
    g_max, ig_max = int(g.max()), int(ig.max())
    mu_g = ((1 << 15) * g_max + (1 << (fg - 1))) >> fg
    yg = ((MAX_RESIDUAL << f_mu) + mu_g) * ig_max
    if max((1 << 15) * g_max, yg) >= 1 << 62:
        raise ParameterSetError("latent reconstruction (WD 8.5) could exceed 62 bits", clause="C.3")


def load_parameter_set(data: bytes) -> ParameterSet:
    """Parse and validate a parameter file (WD Annex C)."""
    rec = read_container(data, PARAMS_MAGIC)
    scalars = {}
    for key in SCALARS:
        arr = rec.get(key)
        if arr is None or arr.dtype != np.int32 or arr.shape != (1,):
            raise ParameterSetError(f"record {key} must be one int32")
        scalars[key] = int(arr[0])
    hs, gs = _layers(rec, "hs"), _layers(rec, "gs")
    z_table = rec.get("z.table")
    if z_table is None or z_table.dtype != np.int32 or z_table.ndim != 1:
        raise ParameterSetError("record z.table must be int32 (MZ,)")
    if z_table.size == 0 or z_table.min() < 0 or z_table.max() >= NUM_SCALES:
        raise ParameterSetError(f"z.table entries must lie in 0..{NUM_SCALES - 1}")
    gains = [rec.get(k) for k in ("gain.mean", "gain.inverse", "gain.scale_offset")]
    if any(g is None or g.dtype != np.int32 or g.ndim != 2 for g in gains):
        raise ParameterSetError("gain tables must be int32 (Q, M)")
    if len({g.shape for g in gains}) != 1 or not 1 <= gains[0].shape[0] <= 256:
        raise ParameterSetError("gain tables must share one shape (Q, M) with Q <= 256")
    if gains[0].shape[1] == 0:
        raise ParameterSetError("gain tables need at least one latent channel (M >= 1)")
    if gains[0].min() <= 0 or gains[1].min() <= 0:
        raise ParameterSetError("gains must be positive")
    m = gains[0].shape[1]
    if not all(0 < scalars[k] <= INT16_MAX for k in ("hyper.in_max", "latent.in_max")):
        raise ParameterSetError("input clip bounds must lie in 1..32767")
    if not all(
        0 <= scalars[k] <= 24
        for k in ("latent.f_mu", "latent.fg", "latent.fig", "latent.f_ls", "output.f_out")
    ):
        raise ParameterSetError("fixed-point precisions must lie in 0..24")
    if scalars["latent.f_ls"] < 1 or scalars["output.f_out"] < 1 or scalars["latent.fg"] < 1:
        raise ParameterSetError("f_ls, f_out and fg must be at least 1")
    if scalars["latent.fig"] + scalars["latent.f_mu"] < 1:
        raise ParameterSetError("fig + f_mu must be at least 1")
    _check_chain(hs, "hs", len(z_table), scalars["hyper.in_max"])
    _check_chain(gs, "gs", m, scalars["latent.in_max"])
    for name, chain, ups in (("hs", hs, HS_UPSAMPLING), ("gs", gs, GS_UPSAMPLING)):
        if sum(layer.depth_to_space for layer in chain) != ups:
            raise ParameterSetError(f"{name} must have exactly {ups} depth-to-space layers")
    _check_latent_range(gains[0], gains[1], scalars)
    if hs[-1].out_channels != 2 * m:
        raise ParameterSetError(f"hs must end in 2M = {2 * m} channels")
    if gs[-1].out_channels != 3:
        raise ParameterSetError("gs must end in 3 channels")
    ctx = _context_networks(rec, m, scalars["latent.in_max"])
    return ParameterSet(
        sha256=hashlib.sha256(data).digest(),
        hs=hs,
        gs=gs,
        ctx=ctx,
        z_table=z_table,
        gain_mean=gains[0],
        gain_inverse=gains[1],
        scale_offset=gains[2],
        f_mu=scalars["latent.f_mu"],
        fg=scalars["latent.fg"],
        fig=scalars["latent.fig"],
        f_ls=scalars["latent.f_ls"],
        latent_in_max=scalars["latent.in_max"],
        hyper_in_max=scalars["hyper.in_max"],
        f_out=scalars["output.f_out"],
    )


@cache
def shipped_parameter_sets() -> dict[bytes, Path]:
    """The parameter files shipped with refdec, keyed by their SHA-256."""
    return {hashlib.sha256(p.read_bytes()).digest(): p for p in sorted(DATA_DIR.glob("*.olp"))}


PARAMETER_SET_ID_BYTES = syntax.PH.field("parameter_set_hash").size or 0
"""Bytes of ``parameter_set_hash`` (WD 6.3): the first 8 bytes of a SHA-256."""


def parameter_set_id(data: bytes) -> bytes:
    """The ``parameter_set_hash`` that names the parameter file ``data`` (WD 7.2, C.1):
    the first 8 bytes of its SHA-256."""
    return hashlib.sha256(data).digest()[:PARAMETER_SET_ID_BYTES]


def _shipped_named(identifier: bytes) -> dict[bytes, Path]:
    """The shipped parameter files whose SHA-256 begins with ``identifier``, by hash."""
    return {
        sha: path
        for sha, path in shipped_parameter_sets().items()
        if sha[:PARAMETER_SET_ID_BYTES] == identifier
    }


def shipped_parameter_set(identifier: bytes) -> Path | None:
    """The shipped parameter file named by ``parameter_set_hash`` ``identifier``."""
    return next(iter(_shipped_named(identifier).values()), None)


@cache
def _load_path(path: Path) -> ParameterSet:
    return load_parameter_set(path.read_bytes())


def find_parameter_set(
    identifier: bytes, extra: Path | None = None, *, hash_offset: int | None = None
) -> ParameterSet:
    """The parameter set named by ``parameter_set_hash`` ``identifier``: the one whose
    file's SHA-256 begins with these 8 bytes (WD 7.2, C.1).

    ``extra`` is a parameter file supplied by the user, available besides the shipped
    ones; a file is used only if its hash begins with ``identifier``, so a codestream can
    never be decoded with other weights than it names. Raises :class:`ParameterSetError`
    at ``hash_offset``, the position of the hash in the codestream, when no available
    set matches or when sets with different hashes do (C.1 step 1: ambiguous).
    """
    matches: dict[bytes, bytes | Path] = {**_shipped_named(identifier)}
    if extra is not None:
        data = Path(extra).read_bytes()
        sha = hashlib.sha256(data).digest()
        if sha[:PARAMETER_SET_ID_BYTES] == identifier:
            matches[sha] = data
    if not matches:
        raise ParameterSetError(
            f"no parameter set whose SHA-256 begins with {identifier.hex()} is available",
            offset=hash_offset,
        )
    if len(matches) > 1:
        raise ParameterSetError(
            f"{len(matches)} parameter sets whose SHA-256 begins with {identifier.hex()} "
            "are available: the choice is ambiguous",
            offset=hash_offset,
        )
    (found,) = matches.values()
    return load_parameter_set(found) if isinstance(found, bytes) else _load_path(found)
