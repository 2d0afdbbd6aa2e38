"""Sphinx extension: the facts of the shipped normative data files, computed at build time.

The WD must not quote by hand what changes whenever a model is re-exported (the SHA-256
of a parameter set, its layer shapes, its complexity), so these directives read the
files that ``refdec`` ships and render them:

``.. parameter-sets::``
    WD Annex C.4: for every ``refdec/data/*.olp`` (or the files matching the optional
    argument, a glob relative to the repository root): file name, size, SHA-256, the
    dimensions M, MZ and Q, the constants of WD 8.1.1, one row per layer (record prefix,
    weight shape, shifts, depth-to-space, clipping bounds, accumulator bound of WD
    8.6.2) and the decoder complexity in kMAC per picture sample. Each file is loaded
    with :func:`refdec.params.load_parameter_set`, so a parameter set that violates
    Annex C fails the build.
``.. entropy-tables::``
    WD Annex B.1: sigma_i, the radius R_i and the number of symbols of each of the 64
    tables of the shipped table file, which is first authenticated against
    :data:`refdec.tables.TABLES_SHA256` (a mismatch fails the build).

Both accept ``:caption:`` (for ``parameter-sets`` a prefix of the table titles) and
``:name:`` (a reference target for the first table). Load with
``extensions = [..., "openlic_params"]`` in ``conf.py``.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from openlic_syntax import table as _table  # noqa: E402 (docs/_ext is on sys.path)

from refdec import codestream, params, tables  # noqa: E402
from refdec.errors import DecodeError  # noqa: E402

_NBSP = "\u00a0"
DEFAULT_GLOB = "refdec/data/*.olp"


def _number(value: int) -> str:
    """Digits in groups of three separated by no-break spaces (ISO style)."""
    return f"{value:,}".replace(",", _NBSP)


def _literal(text: str) -> nodes.literal:
    return nodes.literal(text, text)


# -- parameter sets (Annex C.4) ---------------------------------------------------------

PIXELS_PER_LATENT = codestream.LATENT_STRIDE**2
"""Picture samples (per component) per latent position (WD 5.4)."""
PIXELS_PER_HYPER = (codestream.LATENT_STRIDE * codestream.HYPER_STRIDE) ** 2
"""Picture samples per hyper-latent position (WD 5.4)."""


@dataclass(frozen=True)
class LayerRow:
    """One layer of a chain as summarised in Annex C.4."""

    name: str
    weight_shape: tuple[int, ...]
    shifts: tuple[int, int]
    depth_to_space: bool
    clip: tuple[int, int]
    out_channels: int
    accumulator_bound: int
    macs_per_pixel: float


@dataclass(frozen=True)
class ParameterSetSummary:
    """What Annex C.4 states about one shipped parameter file."""

    path: Path
    size: int
    sha256: str
    m: int
    mz: int
    q: int
    constants: tuple[tuple[str, str, int], ...]
    """(record name, symbol of the WD, value)."""
    layers: tuple[LayerRow, ...]
    hs_kmac: float
    gs_kmac: float
    ctx_kmac: float
    """All context networks together (0 without them)."""
    context_groups: int
    latent_bits: int
    """Bits (sign included) of the largest intermediate value of WD 8.5."""

    @property
    def total_kmac(self) -> float:
        return self.hs_kmac + self.gs_kmac + self.ctx_kmac


SYMBOLS = {
    "latent.f_mu": "F_mu",
    "latent.fg": "F_G",
    "latent.fig": "F_IG",
    "latent.f_ls": "F_ls",
    "latent.in_max": "latent_in_max",
    "hyper.in_max": "hyper_in_max",
    "output.f_out": "F_out",
}
"""WD symbol of each scalar record of :data:`refdec.params.SCALARS`."""


def _chain_rows(
    layers: tuple, prefix: str, in_bound: int, pixels_per_input: int
) -> tuple[list[LayerRow], float]:
    rows: list[LayerRow] = []
    area, total = 1, 0.0
    for n, layer in enumerate(layers):
        macs = area * layer.weight.size / pixels_per_input
        total += macs
        rows.append(
            LayerRow(
                name=f"{prefix}.{n}",
                weight_shape=tuple(int(d) for d in layer.weight.shape),
                shifts=(int(layer.shift.min()), int(layer.shift.max())),
                depth_to_space=layer.depth_to_space,
                clip=(layer.clip_lo, layer.clip_hi),
                out_channels=layer.out_channels,
                accumulator_bound=layer.accumulator_bound(in_bound),
                macs_per_pixel=macs,
            )
        )
        in_bound = max(abs(layer.clip_lo), abs(layer.clip_hi))
        if layer.depth_to_space:
            area *= 4
    return rows, total / 1000


def latent_magnitude_bits(ps: params.ParameterSet) -> int:
    """Bits, sign included, of the largest magnitude an intermediate value of WD 8.5 can
    reach with this parameter set, over every codestream.

    The residual is at most ``R_63 + 2^16`` in magnitude (WD 8.2.6, the largest radius of
    Annex B), the mean at most the larger clipping bound of the last ``hs`` layer, or
    ``2^15`` with context networks (their corrections are clipped to 16 bits, WD 8.4.1).
    """
    t = tables.load_tables()
    r_max = int(t.radius.max()) + (1 << 16)
    last = ps.hs[-1]
    mu_max = max(abs(last.clip_lo), abs(last.clip_hi)) if not ps.ctx else 1 << 15
    g_max = int(ps.gain_mean.max())
    ig_max = int(ps.gain_inverse.max())
    product_mu = mu_max * g_max + (1 << (ps.fg - 1))
    mu_g = product_mu >> ps.fg
    y_g = (r_max << ps.f_mu) + mu_g
    sh = ps.fig + ps.f_mu
    product_y = y_g * ig_max + (1 << (sh - 1))
    return max(product_mu, product_y).bit_length() + 1


def summarise(path: Path) -> ParameterSetSummary:
    """Load and check a parameter file (Annex C) and compute what C.4 states about it."""
    data = path.read_bytes()
    ps = params.load_parameter_set(data)
    hs_rows, hs_kmac = _chain_rows(ps.hs, "hs", ps.hyper_in_max, PIXELS_PER_HYPER)
    gs_rows, gs_kmac = _chain_rows(ps.gs, "gs", ps.latent_in_max, PIXELS_PER_LATENT)
    ctx_rows, ctx_kmac = [], 0.0
    for g, chain in enumerate(ps.ctx, start=1):
        rows, kmac = _chain_rows(chain, f"ctx.{g}", ps.latent_in_max, PIXELS_PER_LATENT)
        ctx_rows += rows
        ctx_kmac += kmac
    constants = tuple(
        (key, SYMBOLS[key], int(getattr(ps, attr)))
        for key, attr in (
            ("latent.f_mu", "f_mu"),
            ("latent.fg", "fg"),
            ("latent.fig", "fig"),
            ("latent.f_ls", "f_ls"),
            ("latent.in_max", "latent_in_max"),
            ("hyper.in_max", "hyper_in_max"),
            ("output.f_out", "f_out"),
        )
    )
    assert {c[0] for c in constants} == set(params.SCALARS), "SCALARS changed: update C.4"
    return ParameterSetSummary(
        path=path,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        m=ps.m,
        mz=ps.mz,
        q=ps.num_qualities,
        constants=constants,
        layers=tuple(hs_rows + ctx_rows + gs_rows),
        hs_kmac=hs_kmac,
        gs_kmac=gs_kmac,
        ctx_kmac=ctx_kmac,
        context_groups=ps.context_groups,
        latent_bits=latent_magnitude_bits(ps),
    )


class ParameterSets(SphinxDirective):
    """``.. parameter-sets:: [GLOB]``: Annex C.4, computed from the shipped files."""

    optional_arguments = 1
    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        pattern = self.arguments[0] if self.arguments else DEFAULT_GLOB
        paths = sorted(ROOT.glob(pattern))
        if not paths:
            raise self.error(f"no parameter file matches {pattern!r}")
        self.env.note_dependency(str(Path(params.__file__ or "").resolve()))
        prefix = self.options.get("caption", "")
        out: list[nodes.Node] = []
        for path in paths:
            self.env.note_dependency(str(path))
            try:
                s = summarise(path)
            except DecodeError as exc:
                raise self.error(f"{path.name} is not a conforming parameter set: {exc}") from exc
            out.extend(self._render(s, prefix))
        if "name" in self.options and out:
            self.add_name(out[0])
        return out

    @staticmethod
    def _render(s: ParameterSetSummary, prefix: str) -> list[nodes.Node]:
        rel = s.path.relative_to(ROOT).as_posix()
        facts: list[tuple[str | nodes.Node, ...]] = [
            ("File", _literal(rel)),
            ("Size", f"{_number(s.size)} bytes"),
            ("SHA-256", _literal(s.sha256)),
            ("M, MZ, Q", f"{s.m}, {s.mz}, {s.q}"),
            (
                "Context groups G_C",
                f"{s.context_groups} (networks ctx.1 to ctx.{s.context_groups - 1})"
                if s.context_groups > 1
                else "1 (no context networks)",
            ),
        ]
        facts += [(sym, _literal(f"{key} = {value}")) for key, sym, value in s.constants]
        facts += [
            (
                "Decoder complexity",
                f"{s.total_kmac:.2f} kMAC per picture position "
                f"(hs {s.hs_kmac:.2f}, "
                + (f"ctx {s.ctx_kmac:.2f}, " if s.context_groups > 1 else "")
                + f"gs {s.gs_kmac:.2f})",
            ),
            ("Largest value of 8.5", f"fits a {s.latent_bits}-bit two's complement integer"),
        ]
        summary = _table(
            f"{prefix}Parameter set {s.path.name}", ("Property", "Value"), facts, (30, 70)
        )
        rows = [
            (
                _literal(layer.name),
                " × ".join(map(str, layer.weight_shape)),
                f"{layer.shifts[0]}"
                if layer.shifts[0] == layer.shifts[1]
                else f"{layer.shifts[0]} to {layer.shifts[1]}",
                "1" if layer.depth_to_space else "0",
                f"{layer.clip[0]}, {layer.clip[1]}",
                str(layer.out_channels),
                _number(layer.accumulator_bound),
                f"{layer.macs_per_pixel / 1000:.3f}",
            )
            for layer in s.layers
        ]
        layers = _table(
            f"{prefix}Layers of parameter set {s.path.name}",
            (
                "Layer",
                "weight O × I × K × K",
                "shift",
                "depth_to_space",
                "lo, hi",
                "Output channels",
                "Accumulator bound (8.6.2)",
                "kMAC per position",
            ),
            rows,
            (10, 18, 7, 16, 12, 10, 15, 12),
        )
        return [summary, layers]


# -- entropy tables (Annex B.1) ---------------------------------------------------------


def table_sigma(i: int) -> float:
    """sigma_i of WD Annex B.1 (informative: the file, not this formula, is normative)."""
    step = (math.log(256.0) - math.log(0.11)) / (tables.NUM_TABLES - 1)
    return math.exp(math.log(0.11) + i * step)


class EntropyTableList(SphinxDirective):
    """``.. entropy-tables::``: sigma_i, R_i and the symbol count of every table."""

    option_spec = {"caption": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(tables.TABLES_PATH))
        data = tables.TABLES_PATH.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != tables.TABLES_SHA256:
            raise self.error(
                f"{tables.TABLES_PATH.name} has SHA-256 {digest}, not {tables.TABLES_SHA256}"
            )
        t = tables.parse_tables(data)
        rows = [
            (str(i), f"{table_sigma(i):.4f}", str(int(t.radius[i])), str(int(t.cdf_len[i]) - 1))
            for i in range(tables.NUM_TABLES)
        ]
        table = _table(
            self.options.get("caption", "Entropy tables"),
            ("i", "σ_i (informative)", "R_i", "Symbols 2R_i + 2"),
            rows,
            (10, 30, 30, 30),
        )
        self.add_name(table)
        return [table]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("parameter-sets", ParameterSets)
    app.add_directive("entropy-tables", EntropyTableList)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
