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

from encoder.model import ModelConfig, OpenLICModel
from encoder.rans import encode as rans_encode
from encoder.writer import write_codestream
from refdec.codestream import PictureHeader
from refdec.hyper import hyper_symbol_tables, hyper_synthesis
from refdec.latent import reconstruct_latent, scale_indices, tile_grid, tile_symbol_tables
from refdec.levels import smallest_level
from refdec.output import to_samples
from refdec.params import DATA_DIR as PARAMS_DIR
from refdec.params import ParameterSet, load_parameter_set
from refdec.synthesis import synthesis

MODEL_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "openlic-1"
DEFAULT_QUALITY = 160
DEFAULT_TILE_LOG2 = 5
DEFAULT_GROUPS = 2
RESIDUAL_LIMIT = 30000
"""Largest residual magnitude the encoder writes (within the escape range of WD 8.2)."""


@dataclass(frozen=True)
class Codec:
    """A float model and the parameter set exported from it."""

    model: OpenLICModel
    params: ParameterSet
    params_sha256: bytes


@cache
def load_codec(params_path: Path | None = None) -> Codec:
    """Encoder weights and the parameter set they match.

    By default the shipped model; otherwise the parameter file ``params_path``
    (``NAME.olp``) with its encoder weights ``NAME.pt`` beside it, as
    ``python -m encoder.export`` writes them.
    """
    if params_path is None:
        params_path = PARAMS_DIR / f"{DEFAULT_MODEL}.olp"
        weights = MODEL_DIR / f"{DEFAULT_MODEL}.pt"
    else:
        weights = params_path.with_suffix(".pt")
        if not weights.is_file():
            raise ValueError(f"encoder weights {weights} not found beside {params_path}")
    data = params_path.read_bytes()
    state = torch.load(weights, map_location="cpu", weights_only=False)
    sha = hashlib.sha256(data).digest()
    if state.get("params_sha256") != sha.hex():
        raise ValueError(f"encoder weights {weights} do not match {params_path}")
    model = OpenLICModel(ModelConfig.from_dict(state["config"]))
    model.load_state_dict({k: v.float() for k, v in state["model"].items()}, strict=False)
    return Codec(model.eval(), load_parameter_set(data), sha)


@dataclass
class Analysis:
    """Quality-independent part of an encoding."""

    height: int
    width: int
    y: np.ndarray
    """Float latent (M, Hy, Wy), ungained."""
    z_hat: np.ndarray
    """int32 (MZ, Hz, Wz)."""
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


@torch.no_grad()
def analyse(codec: Codec, image: np.ndarray, bit_depth: int) -> Analysis:
    """Run the analysis transforms and the (integer) hyper synthesis."""
    h, w = image.shape[:2]
    x = torch.from_numpy(image.astype(np.float32) / ((1 << bit_depth) - 1))
    x = x.permute(2, 0, 1)[None]
    x = F.pad(x, (0, -w % 64, 0, -h % 64), mode="replicate")
    hy, wy = math.ceil(h / 16), math.ceil(w / 16)
    hz, wz = math.ceil(hy / 4), math.ceil(wy / 4)
    model = codec.model
    y = tiled_analysis(model.analysis, x, model.cfg.m_latent)
    lim = codec.params.hyper_in_max
    z_hat = torch.round(model.h_a(y)).clamp(-lim, lim)[0, :, :hz, :wz]
    z_hat = z_hat.numpy().astype(np.int32)
    mean_fp, ls_fp = hyper_synthesis(z_hat, codec.params, hy, wy)
    return Analysis(h, w, y[0, :, :hy, :wy].double().numpy(), z_hat, mean_fp, ls_fp)


def quantise(a: Analysis, quality: int, params: ParameterSet) -> tuple[np.ndarray, np.ndarray]:
    """Residuals ``r = round(y * g - mu_g)`` and their table indices (WD 8.4, 8.5)."""
    g = params.gain_mean[quality].astype(np.int64)[:, None, None]
    mu_g = (a.mean_fp.astype(np.int64) * g + (1 << (params.fg - 1))) >> params.fg
    gain = g / 2.0**params.fg
    r = np.round(a.y * gain - mu_g / 2.0**params.f_mu)
    r = np.clip(r, -RESIDUAL_LIMIT, RESIDUAL_LIMIT).astype(np.int32)
    return r, scale_indices(a.ls_fp, quality, params)


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
    z_stream = rans_encode(a.z_hat.ravel(), hyper_symbol_tables(params, hz, wz))
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
    a: Analysis, r: np.ndarray, quality: int, params: ParameterSet, bit_depth: int
) -> np.ndarray:
    """The samples a conforming decoder outputs for this encoding."""
    y_in = reconstruct_latent(r, a.mean_fp, quality, params)
    x_fp = synthesis(y_in, list(params.gs), band_rows=8)
    return to_samples(x_fp, params.f_out, bit_depth, a.width, a.height)


def _codestream(
    codec: Codec, a: Analysis, quality: int, bit_depth: int, tile_log2: int, groups: int
) -> tuple[bytes, np.ndarray]:
    r, idx = quantise(a, quality, codec.params)
    z_stream, group_tiles = entropy_code(a, r, idx, codec.params, tile_log2, groups)
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
        reserved=0,
        parameter_set_hash=codec.params_sha256,
    )
    return write_codestream(header, z_stream, group_tiles), r


@dataclass
class Encoded:
    data: bytes
    quality: int
    residuals: np.ndarray
    analysis: Analysis


def encode_detailed(
    image: np.ndarray,
    *,
    bit_depth: int = 8,
    quality: int | None = None,
    bpp: float | None = None,
    tile_size_log2: int = DEFAULT_TILE_LOG2,
    channel_groups: int = DEFAULT_GROUPS,
    codec: Codec | None = None,
    params_path: Path | str | None = None,
) -> Encoded:
    """Encode an (H, W, 3) picture; see :func:`encode`."""
    codec = codec or load_codec(Path(params_path) if params_path else None)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) picture, got shape {image.shape}")
    if bit_depth not in (8, 10):
        raise ValueError(f"bit depth must be 8 or 10, got {bit_depth}")
    if quality is not None and bpp is not None:
        raise ValueError("give either quality or bpp, not both")
    smallest_level(image.shape[1], image.shape[0])  # refuse before any work is done
    a = analyse(codec, image, bit_depth)

    def at(q: int) -> tuple[bytes, np.ndarray]:
        return _codestream(codec, a, q, bit_depth, tile_size_log2, channel_groups)

    if bpp is None:
        q = DEFAULT_QUALITY if quality is None else quality
        if not 0 <= q < codec.params.num_qualities:
            raise ValueError(f"quality must lie in 0..{codec.params.num_qualities - 1}")
        data, r = at(q)
        return Encoded(data, q, r, a)
    q, (data, r) = search_quality(at, bpp * a.width * a.height / 8, codec.params.num_qualities)
    return Encoded(data, q, r, a)


def search_quality(at, target_bytes: float, num_qualities: int):  # noqa: ANN001
    """Quality whose codestream size is nearest to ``target_bytes`` (bisection).

    Sizes grow with the quality index; the search brackets the target and returns the
    closer of the two neighbours.
    """
    lo, hi = 0, num_qualities - 1
    cache_: dict[int, tuple[bytes, np.ndarray]] = {}

    def size(q: int) -> int:
        if q not in cache_:
            cache_[q] = at(q)
        return len(cache_[q][0])

    if size(lo) >= target_bytes:
        return lo, cache_[lo]
    if size(hi) <= target_bytes:
        return hi, cache_[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size(mid) <= target_bytes:
            lo = mid
        else:
            hi = mid
    best = min((lo, hi), key=lambda q: abs(size(q) - target_bytes))
    return best, cache_[best]


def encode(image: np.ndarray, **kwargs) -> bytes:  # noqa: ANN003
    """Encode an (H, W, 3) uint8 or uint16 picture to an OpenLIC codestream.

    ``bit_depth`` (8 or 10) gives the range of the samples; ``quality`` (0..255) sets
    the quality index directly, ``bpp`` searches the quality whose file, headers
    included, is closest to that many bits per pixel.
    """
    return encode_detailed(image, **kwargs).data
