"""Encoding pictures into OpenLIC codestreams (informative Annex E.3).

The analysis transforms run in floating point (they are not normative); everything
the decoder recomputes (hyper synthesis, table indices, means, reconstruction) is
computed with refdec's own integer functions, so the decoder's output is known to the
encoder exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.model import DECODER_SIDE, ModelConfig, OpenLICModel
from encoder.output_filter import design as design_output_filter
from encoder.rans import encode as rans_encode
from encoder.rdoq import DISTORTION_SCALE, quantise_rdo
from encoder.refine import REFINE_MAX_PIXELS, rd_cost, refine_latent
from encoder.writer import write_codestream
from refdec import syntax
from refdec.codestream import OutputFilter, PictureHeader
from refdec.context import context_prediction
from refdec.hyper import hyper_symbol_tables, hyper_synthesis
from refdec.latent import reconstruct as reconstruct_group
from refdec.latent import scale_indices, tile_grid, tile_symbol_tables
from refdec.levels import smallest_level
from refdec.output import to_samples
from refdec.output_filter import apply_output_filter
from refdec.params import DATA_DIR as PARAMS_DIR
from refdec.params import PARAMETER_SET_ID_BYTES, ParameterSet, load_parameter_set
from refdec.synthesis import synthesis

MODEL_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "openlic-1"
DEFAULT_QUALITY = 160
DEFAULT_REFINE = 8
"""Refinement steps (E.3.1) of an encoding that does not name a number, where the
encoder weights and the picture allow refinement. 12 steps took 4.4 and 6.1 s for a
Kodak picture on this project's 2 CPU cores in two runs of the results page (the
machine's speed varied by 1.4 times), against the 5 s an encoding may take; 8 keep
all but 0.3 % of their BD-rate gain and took 4.24 s on a day slower still, and 3.74 s
on a 2-core AMD EPYC with AVX2 (WD E.3.1 gives the measurements)."""
DEFAULT_TILE_LOG2 = 5
DEFAULT_GROUPS = 2
"""Channel groups of a codestream for a parameter set without context networks (with
them, the parameter set fixes the number, R-GROUPS-CONTEXT)."""
RESIDUAL_LIMIT = 30000
"""Largest residual magnitude the encoder writes (within the escape range of WD 8.2)."""


@dataclass(frozen=True)
class Codec:
    """A float model and the parameter set exported from it."""

    model: OpenLICModel
    params: ParameterSet
    params_sha256: bytes
    quality: dict[str, torch.Tensor] | None = None
    """Float gain, inverse gain and trade-off of each quality index, for the latent
    refinement (E.3.1); None for encoder weights without the decoder networks."""
    synthesis_energy: np.ndarray | None = None
    """The synthesis' response to each latent channel, for the rate-distortion optimised
    quantisation (E.3.2, :func:`encoder.rdoq.synthesis_energy`); None for encoder
    weights exported without it, which then round."""

    def default_refine(self, width: int, height: int) -> int:
        """The refinement steps of an encoding that does not name a number:
        :data:`DEFAULT_REFINE` where these weights carry the decoder networks and the
        picture is small enough (:data:`~encoder.refine.REFINE_MAX_PIXELS`), else 0."""
        if self.quality is None or width * height > REFINE_MAX_PIXELS:
            return 0
        return DEFAULT_REFINE

    def rdo_weights(self, quality: int) -> np.ndarray | None:
        """Per channel, the estimated rise of ``lambda * 255^2 * SSE / 3`` for a unit
        change of a residual at the quality index ``quality`` (E.3.2), or None."""
        if self.synthesis_energy is None or self.quality is None:
            return None
        lam = float(self.quality["lambda"][quality])
        inv_gain = self.quality["inverse_gain"][quality].double().numpy()
        return DISTORTION_SCALE * lam * 255.0**2 / 3.0 * self.synthesis_energy * inv_gain**2


def shipped_models() -> list[str]:
    """Names of the shipped models: parameter sets of refdec with encoder weights."""
    return sorted(
        p.stem for p in PARAMS_DIR.glob("*.olp") if (MODEL_DIR / f"{p.stem}.pt").is_file()
    )


def weights_path(params_path: Path | None = None) -> Path:
    """The encoder weights that go with a parameter file (see :func:`load_codec`)."""
    params_path = params_path or PARAMS_DIR / f"{DEFAULT_MODEL}.olp"
    if params_path.resolve().parent == PARAMS_DIR.resolve():
        return MODEL_DIR / f"{params_path.stem}.pt"
    return params_path.with_suffix(".pt")


@cache
def load_codec(params_path: Path | None = None, weights: Path | None = None) -> Codec:
    """Encoder weights and the parameter set they match.

    By default the shipped model :data:`DEFAULT_MODEL`; a shipped parameter set
    (``refdec/data/NAME.olp``) with its shipped weights (``encoder/weights/NAME.pt``);
    any other parameter file ``NAME.olp`` with the encoder weights ``NAME.pt`` beside
    it, as ``python -m encoder.export`` writes them; or the weights ``weights``.
    """
    params_path = params_path or PARAMS_DIR / f"{DEFAULT_MODEL}.olp"
    weights = weights or weights_path(params_path)
    if not weights.is_file():
        raise ValueError(f"encoder weights {weights} not found for {params_path}")
    data = params_path.read_bytes()
    state = torch.load(weights, map_location="cpu", weights_only=False)
    sha = hashlib.sha256(data).digest()
    if state.get("params_sha256") != sha.hex():
        raise ValueError(f"encoder weights {weights} do not match {params_path}")
    model = OpenLICModel(ModelConfig.from_dict(state["config"]))
    model.load_state_dict({k: v.float() for k, v in state["model"].items()}, strict=False)
    decoder = all(any(k.startswith(p) for k in state["model"]) for p in DECODER_SIDE)
    quality = state.get("quality") if decoder else None
    energy = state.get("synthesis_energy")
    # Channels-last weights make PyTorch's CPU convolutions faster in latent refinement
    # (E.3.1): 1.69 against 1.87 s an encoding of BSDS500 validation pictures 13-18 with 8
    # steps, at qualities 0 to 255 step 64, and a BD-rate of -0.003 % against the plain
    # layout (float rounding only; 7 December 2026, AMD EPYC, 2 cores).
    model = model.to(memory_format=torch.channels_last).eval()
    return Codec(model, load_parameter_set(data), sha, quality, energy)


@dataclass
class Analysis:
    """Quality-independent part of an encoding."""

    height: int
    width: int
    y: np.ndarray
    """Float latent (M, Hy, Wy), ungained."""
    z: np.ndarray
    """Float hyper-latent (MZ, Hz, Wz), before rounding."""
    hyper_step_log2: int
    """``k`` of the hyper-latent step ``2^k`` (WD 7.2, 8.3): ``z_hat`` codes ``z / 2^k``."""
    z_hat: np.ndarray
    """int32 (MZ, Hz, Wz): the coded values ``round(z / 2^k)``."""
    mean_fp: np.ndarray
    ls_fp: np.ndarray


ANALYSIS_TILE = 1024
"""Pictures above this many pixels squared run ``g_a`` in tiles (a multiple of 64)."""
ANALYSIS_OVERLAP = 128
"""Context around each analysis tile, in pixels (a multiple of 64; covers the
receptive field of ``g_a``, so tiles change the latent only by float rounding)."""


def tiled_analysis(
    analysis: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, m: int
) -> torch.Tensor:
    """``analysis(x)`` for a padded picture, in overlapping tiles when it is large.

    The float activations of the analysis on a whole 16k x 16k picture would take tens of
    gigabytes; tiles bound them. The analysis is not normative: the decoder's output
    is whatever latent the encoder chose, so tiling cannot break conformance.
    """
    h, w = x.shape[-2:]
    t, o = ANALYSIS_TILE, ANALYSIS_OVERLAP
    if h * w <= 2 * t * t:
        return analysis(x)
    y = torch.empty(1, m, h // 16, w // 16)
    for y0 in range(0, h, t):
        for x0 in range(0, w, t):
            y1, x1 = min(y0 + t, h), min(x0 + t, w)
            a0, b0 = max(0, y0 - o), max(0, x0 - o)
            out = analysis(x[..., a0 : min(h, y1 + o), b0 : min(w, x1 + o)])
            oy, ox = (y0 - a0) // 16, (x0 - b0) // 16
            y[..., y0 // 16 : y1 // 16, x0 // 16 : x1 // 16] = out[
                ..., oy : oy + (y1 - y0) // 16, ox : ox + (x1 - x0) // 16
            ]
    return y


def picture_tensor(image: np.ndarray, bit_depth: int) -> torch.Tensor:
    """The samples scaled to 0..1, as a (1, 3, H, W) tensor (E.3 step 1)."""
    x = torch.from_numpy(image.astype(np.float32) / ((1 << bit_depth) - 1))
    return x.permute(2, 0, 1)[None]


@torch.no_grad()
def latents(codec: Codec, image: np.ndarray, bit_depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The float latent ``y`` (M, Hy, Wy) and hyper-latent ``z`` (MZ, Hz, Wz) of the
    analysis transforms (E.3 steps 1 and 2), cropped to the sizes the codestream carries."""
    h, w = image.shape[:2]
    x = F.pad(picture_tensor(image, bit_depth), (0, -w % 64, 0, -h % 64), mode="replicate")
    hy, wy = math.ceil(h / 16), math.ceil(w / 16)
    hz, wz = math.ceil(hy / 4), math.ceil(wy / 4)
    model = codec.model
    y = tiled_analysis(model.analysis, x, model.cfg.m_latent)
    return y[0, :, :hy, :wy], model.h_a(y)[0, :, :hz, :wz]


def analyse(codec: Codec, image: np.ndarray, bit_depth: int, hyper_step_log2: int = 0) -> Analysis:
    """Run the analysis transforms and the (integer) hyper synthesis, the hyper-latent
    coded with the step ``2^hyper_step_log2``."""
    y, z = latents(codec, image, bit_depth)
    return _with_hyper(codec, y, z, hyper_step_log2, image.shape[0], image.shape[1])


HYPER_STEP_CHOICES = (0, 1)
"""The hyper-latent steps ``2^k`` (WD 7.2) between which the encoder chooses for each
picture and quality index (:func:`choose_hyper_step`)."""


@torch.no_grad()
def hyper_step_costs(
    codec: Codec, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, quality: int
) -> dict[int, float]:
    """The rate-distortion cost ``J`` of E.3.1 of the unrefined latent for each ``k`` of
    :data:`HYPER_STEP_CHOICES` at the quality index ``quality``, for the picture ``x``
    (:func:`picture_tensor`) and its latents ``y`` and ``z`` (:func:`latents`): the
    float decoder networks code the picture once for each step. Empty for encoder
    weights without those networks."""
    if codec.quality is None:
        return {}
    gain, inv_gain = (
        codec.quality[k][quality][None, :, None, None] for k in ("gain", "inverse_gain")
    )
    lam = float(codec.quality["lambda"][quality])
    yg = y.float()[None] * gain

    def cost(k: int) -> float:
        step = float(1 << k)
        j = rd_cost(codec.model, x, yg, z[None] / step, gain, inv_gain, lam, None, step)[2]
        return j.item()

    return {k: cost(k) for k in HYPER_STEP_CHOICES}


def cheapest_hyper_step(costs: dict[int, float]) -> int:
    """The ``k`` of least cost in ``costs`` (:func:`hyper_step_costs`); 0 if empty."""
    return min(costs, key=costs.__getitem__, default=0)


def choose_hyper_step(
    codec: Codec, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, quality: int
) -> int:
    """The ``k`` whose unrefined latent has the least cost ``J`` (:func:`hyper_step_costs`);
    0 for encoder weights without the float decoder networks."""
    return cheapest_hyper_step(hyper_step_costs(codec, x, y, z, quality))


def _with_hyper(codec: Codec, y: torch.Tensor, z: torch.Tensor, k: int, h: int, w: int) -> Analysis:
    """The analysis of latents ``y`` and ``z``: ``z / 2^k`` rounded (within the input
    bound of the hyper synthesis once scaled back), its integer hyper synthesis."""
    lim = codec.params.hyper_in_max >> k
    z_hat = torch.round(z / (1 << k)).clamp(-lim, lim).numpy().astype(np.int32)
    mean_fp, ls_fp = hyper_synthesis(z_hat, codec.params, y.shape[1], y.shape[2], k)
    return Analysis(h, w, y.double().numpy(), z.numpy(), k, z_hat, mean_fp, ls_fp)


def refine_analysis(
    codec: Codec,
    image: np.ndarray,
    bit_depth: int,
    y: torch.Tensor,
    z: torch.Tensor,
    hyper_step_log2: int,
    quality: int,
    iterations: int,
    progress: Callable[[int], None] | None = None,
    start_cost: float | None = None,
) -> Analysis:
    """The analysis of the latents ``y`` and ``z`` of ``image`` (:func:`latents`)
    refined for the quality index ``quality`` (E.3.1), the hyper-latent coded with the
    step ``2^hyper_step_log2``. ``start_cost``: the exact cost ``J`` of the unrefined
    latents with that step, where the caller has it (:func:`hyper_step_costs`), which
    saves the descent a pass of the float decoder networks."""
    if codec.quality is None:
        raise ValueError(
            "these encoder weights carry no decoder networks, which refinement needs: "
            "export them again with python -m encoder.export"
        )
    h, w = image.shape[:2]
    if w * h > REFINE_MAX_PIXELS:
        raise ValueError(
            f"refinement is limited to pictures of {REFINE_MAX_PIXELS} pixels "
            f"({w}x{h} has {w * h}); encode without it"
        )
    x = picture_tensor(image, bit_depth)
    gain, inv_gain = (
        codec.quality[k][quality][None, :, None, None] for k in ("gain", "inverse_gain")
    )
    y_r, z_r = refine_latent(
        codec.model,
        x,
        y.float()[None],
        z[None],
        gain,
        inv_gain,
        float(codec.quality["lambda"][quality]),
        iterations,
        progress,
        z_step=float(1 << hyper_step_log2),
        start_cost=start_cost,
    )
    return _with_hyper(codec, y_r[0].detach(), z_r[0].detach(), hyper_step_log2, h, w)


@dataclass
class Quantised:
    """A latent coded at one quality index: what the decoder derives, group by group."""

    residuals: np.ndarray
    """int32 (M, Hy, Wy)."""
    idx: np.ndarray
    """uint8 (M, Hy, Wy): the table index of every residual (WD 8.4.2)."""
    y_in: np.ndarray
    """int16 (Hy, Wy, M): the synthesis input (WD 8.5)."""


def quantise(
    a: Analysis,
    quality: int,
    params: ParameterSet,
    groups: int,
    residuals: np.ndarray | None = None,
    rdo_weights: np.ndarray | None = None,
) -> Quantised:
    """Step 5 of WD 8.1.1 as the encoder runs it: for each channel group in order, the
    context prediction (8.4.1) from the groups before, the residuals
    ``r = round(y * g - mu_g)``, their table indices (8.4.2) and the reconstruction
    (8.5), with refdec's integer functions. ``residuals`` replaces the rounding (to
    recompute the decoder's latent of given residuals); ``rdo_weights`` (per channel,
    :meth:`Codec.rdo_weights`) replaces it with the rate-distortion optimised choice of
    E.3.2."""
    mean_fp, ls_fp = a.mean_fp, a.ls_fp
    if params.ctx:  # the context prediction corrects them in place
        mean_fp, ls_fp = mean_fp.copy(), ls_fp.copy()
    m, hy, wy = mean_fp.shape
    r = np.empty((m, hy, wy), np.int32) if residuals is None else residuals
    idx = np.empty((m, hy, wy), np.uint8)
    y_in = np.empty((hy, wy, m), np.int16)
    per = m // groups
    for g in range(groups):
        c = range(g * per, (g + 1) * per)
        if g and params.ctx:  # corrects the group's rows of mean_fp and ls_fp in place
            context_prediction(y_in, mean_fp[c.start : c.stop], ls_fp[c.start : c.stop], g, params)
        idx[c.start : c.stop] = scale_indices(ls_fp[c.start : c.stop], quality, params, c.start)
        if residuals is None:
            gain = params.gain_mean[quality, c.start : c.stop].astype(np.int64)[:, None, None]
            mu_g = (mean_fp[c.start : c.stop] * gain + (1 << (params.fg - 1))) >> params.fg
            v = a.y[c.start : c.stop] * (gain / 2.0**params.fg) - mu_g / 2.0**params.f_mu
            v = np.clip(v, -RESIDUAL_LIMIT, RESIDUAL_LIMIT)
            if rdo_weights is None:
                r[c.start : c.stop] = np.round(v)
            else:
                weight = rdo_weights[c.start : c.stop, None, None]
                r[c.start : c.stop] = quantise_rdo(v, idx[c.start : c.stop], weight)
        y_in[:, :, c.start : c.stop] = reconstruct_group(
            r[c.start : c.stop], mean_fp[c.start : c.stop], c, quality, params
        )
    return Quantised(r, idx, y_in)


def entropy_code(
    a: Analysis,
    r: np.ndarray,
    idx: np.ndarray,
    params: ParameterSet,
    tile_log2: int,
    groups: int,
) -> tuple[bytes, list[list[bytes]]]:
    """The ZS stream and, per channel group, the tile streams (WD 8.2 order)."""
    hz, wz = a.z_hat.shape[1:]
    z_stream = rans_encode(a.z_hat.ravel(), hyper_symbol_tables(params, hz, wz, a.hyper_step_log2))
    per_group = params.m // groups
    tiles = tile_grid(r.shape[1], r.shape[2], 1 << tile_log2)
    group_tiles = []
    for g in range(groups):
        channels = range(g * per_group, (g + 1) * per_group)
        group_tiles.append(
            [
                rans_encode(
                    tile_symbol_tables(r, channels, rect), tile_symbol_tables(idx, channels, rect)
                )
                for rect in tiles
            ]
        )
    return z_stream, group_tiles


def reconstruct(
    a: Analysis,
    r: np.ndarray,
    quality: int,
    params: ParameterSet,
    bit_depth: int,
    output_filter: OutputFilter | None = None,
) -> np.ndarray:
    """The samples a conforming decoder outputs for the residuals ``r`` of ``a`` and
    the OF segment of ``output_filter`` (WD 8.9), if any.

    Without context networks the grouping does not change the latent (WD 8.5 works
    element by element), so one group stands for any; with them it is ``G_C``.
    """
    y_in = quantise(a, quality, params, params.context_groups, r).y_in
    out = samples(a, y_in, params, bit_depth)
    return out if output_filter is None else apply_output_filter(out, output_filter, bit_depth)


def samples(a: Analysis, y_in: np.ndarray, params: ParameterSet, bit_depth: int) -> np.ndarray:
    """The output samples of the synthesis input ``y_in`` (WD 8.7, 8.8)."""
    x_fp = synthesis(y_in, list(params.gs), band_rows=8)
    return to_samples(x_fp, params.f_out, bit_depth, a.width, a.height)


def _codestream(
    codec: Codec,
    a: Analysis,
    quality: int,
    bit_depth: int,
    tile_log2: int,
    groups: int,
    rdo: bool = True,
    original: np.ndarray | None = None,
) -> tuple[bytes, np.ndarray, OutputFilter | None]:
    """The codestream of ``a`` at ``quality``, its residuals and its output filter:
    with the ``original`` picture, the filter of WD E.3.3 (None where none pays or the
    codec has no trade-offs), without it none."""
    weights = codec.rdo_weights(quality) if rdo else None
    qa = quantise(a, quality, codec.params, groups, rdo_weights=weights)
    of = None
    # The filter's choice weighs bits against distortion with the quality's trade-off,
    # which encoder weights without the decoder networks lack.
    if original is not None and codec.quality is not None:
        decoded = samples(a, qa.y_in, codec.params, bit_depth)
        of = design_output_filter(
            original, decoded, bit_depth, float(codec.quality["lambda"][quality])
        )
    z_stream, group_tiles = entropy_code(a, qa.residuals, qa.idx, codec.params, tile_log2, groups)
    header = PictureHeader(
        version_major=1,
        version_minor=0,
        profile_idc=1,
        level_idc=smallest_level(a.width, a.height),
        width_minus1=a.width - 1,
        height_minus1=a.height - 1,
        bit_depth=bit_depth,
        colour_primaries=1,
        transfer_characteristics=13,
        matrix_coefficients=0,
        quality=quality,
        tile_size_log2=tile_log2,
        num_channel_groups=groups,
        hyper_step_log2=a.hyper_step_log2,
        parameter_set_hash=codec.params_sha256[:PARAMETER_SET_ID_BYTES],
    )
    return write_codestream(header, z_stream, group_tiles, output_filter=of), qa.residuals, of


@dataclass
class Encoded:
    data: bytes
    quality: int
    residuals: np.ndarray
    analysis: Analysis
    output_filter: OutputFilter | None = None
    """The filter of the codestream's OF segment (WD E.3.3), if it has one."""


def groups_for(params: ParameterSet, groups: int | None) -> int:
    """The number of channel groups to code with: ``groups``, checked against the
    parameter set (R-GROUPS-DIVIDE-M, R-GROUPS-CONTEXT), or its default."""
    if params.ctx:
        if groups not in (None, params.context_groups):
            raise ValueError(
                f"this parameter set's context networks need {params.context_groups} "
                f"channel groups, not {groups}"
            )
        return params.context_groups
    if groups is None:
        return DEFAULT_GROUPS
    if groups < 1 or params.m % groups:
        raise ValueError(f"channel groups must divide the {params.m} latent channels")
    return groups


def encode_detailed(
    image: np.ndarray,
    *,
    bit_depth: int = 8,
    quality: int | None = None,
    bpp: float | None = None,
    refine_iterations: int | None = None,
    rdo: bool = True,
    tile_size_log2: int = DEFAULT_TILE_LOG2,
    channel_groups: int | None = None,
    hyper_step_log2: int | None = None,
    output_filter: bool = True,
    codec: Codec | None = None,
    params_path: Path | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Encoded:
    """Encode an (H, W, 3) picture; see :func:`encode`.

    ``progress`` is called with the number of refinement iterations done since its last
    call (for a progress bar; a search for ``bpp`` refines more than once).
    """
    codec = codec or load_codec(Path(params_path) if params_path else None)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) picture, got shape {image.shape}")
    if bit_depth not in (8, 10):
        raise ValueError(f"bit depth must be 8 or 10, got {bit_depth}")
    if quality is not None and bpp is not None:
        raise ValueError("give either quality or bpp, not both")
    if refine_iterations is None:
        refine_iterations = codec.default_refine(image.shape[1], image.shape[0])
    if refine_iterations < 0:
        raise ValueError(f"refinement iterations must be 0 or more, got {refine_iterations}")
    step = syntax.PH.field("hyper_step_log2")
    if hyper_step_log2 is not None and not step.admits(hyper_step_log2):
        raise ValueError(
            f"hyper_step_log2 must be {syntax.describe_values(step.allowed)}, got {hyper_step_log2}"
        )
    channel_groups = groups_for(codec.params, channel_groups)
    smallest_level(image.shape[1], image.shape[0])  # refuse before any work is done
    h, w = image.shape[:2]
    y, z = latents(codec, image, bit_depth)
    stepped = cache(lambda k: _with_hyper(codec, y, z, k, h, w))
    # The step of each quality index: the one asked for, else the encoder's choice for
    # this picture where the picture is small enough for the float decoder networks.
    if hyper_step_log2 is None and w * h > REFINE_MAX_PIXELS:
        hyper_step_log2 = 0
    if hyper_step_log2 is None:
        x = picture_tensor(image, bit_depth)
        costs_of = cache(lambda q: hyper_step_costs(codec, x, y, z, q))
        step_of = lambda q: cheapest_hyper_step(costs_of(q))  # noqa: E731
    else:
        costs_of = lambda q: {}  # noqa: E731
        step_of = lambda q: hyper_step_log2  # noqa: E731
    nq = codec.params.num_qualities
    if bpp is None and quality is None:
        quality = DEFAULT_QUALITY
    if quality is not None and not 0 <= quality < nq:
        raise ValueError(f"quality must lie in 0..{nq - 1}")

    def at(q: int, refined: bool = False) -> Encoded:
        k = step_of(q)
        if refined:  # no integer hyper synthesis of the unrefined hyper-latent needed
            start = costs_of(q).get(k)
            aq = refine_analysis(
                codec, image, bit_depth, y, z, k, q, refine_iterations, progress, start
            )
        else:
            aq = stepped(k)
        # A refined latent keeps the rounding its descent chose by the exact cost.
        rdo_q = rdo and not refined
        original = image if output_filter else None
        data, r, of = _codestream(
            codec, aq, q, bit_depth, tile_size_log2, channel_groups, rdo_q, original
        )
        return Encoded(data, q, r, aq, of)

    if quality is not None:
        return at(quality, refined=refine_iterations > 0)
    target = bpp * w * h / 8
    plain = cache(at)
    q = search_quality(lambda q: len(plain(q).data), target, nq)
    if refine_iterations == 0:
        return plain(q)
    # The refined codestream of a quality index is smaller than the plain one: search
    # again from q, with refinement at every probe, along the plain log-size slope.
    near = [max(0, q - 8), min(nq - 1, q + 8)]
    slope = math.log(len(plain(near[1]).data) / len(plain(near[0]).data)) / (near[1] - near[0])
    return search_refined(lambda q: at(q, refined=True), target, q, slope, nq)


REFINED_RATE_TOLERANCE = 0.02
"""A refined search for a target rate stops within this fraction of the target."""
REFINED_PROBES = 5
"""At most this many refined encodings in a search for a target rate."""


def search_refined(
    at: Callable[[int], Encoded], target_bytes: float, q: int, slope: float, num_qualities: int
) -> Encoded:
    """The refined encoding nearest ``target_bytes``, by secant steps from ``q``.

    The logarithm of the size is close to linear in the quality index; ``slope`` is its
    first estimate, which the last two probes replace once they differ.
    """
    probes: dict[int, Encoded] = {}
    prev: tuple[int, float] | None = None
    while q not in probes and len(probes) < REFINED_PROBES:
        probes[q] = enc = at(q)
        size = len(enc.data)
        if abs(size - target_bytes) <= REFINED_RATE_TOLERANCE * target_bytes:
            break
        if prev is not None and prev[0] != q and math.log(size / prev[1]) / (q - prev[0]) > 0:
            slope = math.log(size / prev[1]) / (q - prev[0])
        prev = (q, size)
        step = math.log(target_bytes / size) / max(slope, 1e-6)
        q = min(num_qualities - 1, max(0, q + round(step)))
    return min(probes.values(), key=lambda e: abs(len(e.data) - target_bytes))


def search_quality(size: Callable[[int], int], target_bytes: float, num_qualities: int) -> int:
    """Quality whose codestream size is nearest to ``target_bytes`` (bisection).

    Sizes grow with the quality index; the search brackets the target and returns the
    closer of the two neighbours.
    """
    size = cache(size)
    lo, hi = 0, num_qualities - 1
    if size(lo) >= target_bytes:
        return lo
    if size(hi) <= target_bytes:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size(mid) <= target_bytes:
            lo = mid
        else:
            hi = mid
    return min((lo, hi), key=lambda q: abs(size(q) - target_bytes))


def encode(image: np.ndarray, **kwargs) -> bytes:  # noqa: ANN003
    """Encode an (H, W, 3) uint8 or uint16 picture to an OpenLIC codestream.

    ``bit_depth`` (8 or 10) gives the range of the samples; ``quality`` (0..255) sets
    the quality index directly, ``bpp`` searches the quality whose file, headers
    included, is closest to that many bits per pixel. ``refine_iterations`` refines the
    latent for the quality (E.3.1) with that many descent steps of the float decoder
    per encoding: smaller files at the same PSNR, slower. By default (None) it takes
    :data:`DEFAULT_REFINE` steps where the encoder weights and the picture's size allow
    refinement (:meth:`Codec.default_refine`); 0 turns it off, and the residuals are
    then chosen by rate-distortion optimised quantisation (E.3.2) where the encoder
    weights allow it; ``rdo=False`` rounds them. ``hyper_step_log2`` (0, 1 or 2) codes
    the hyper-latent with the step ``2^k`` (WD 8.3): coarser, fewer bits for the
    hyper-latent, less precise means and scales; by default (None) the encoder chooses
    ``k`` = 0 or 1 for each picture and quality index by its rate-distortion cost
    (:func:`choose_hyper_step`; 0 where the weights or the picture's size do not allow
    the float decoder networks). ``output_filter`` (True by default) adds the output
    filter of WD 8.9 where it pays (E.3.3); False leaves it out.
    """
    return encode_detailed(image, **kwargs).data
