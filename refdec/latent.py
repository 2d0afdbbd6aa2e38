"""Entropy parameters, latent parsing and latent reconstruction (WD 8.4, 8.5)."""

from __future__ import annotations

import numpy as np

from refdec.params import NUM_SCALES, ParameterSet


def scale_indices(ls_fp: np.ndarray, quality: int, params: ParameterSet) -> np.ndarray:
    """WD 8.4.1: ``idx = Clip3(0, 63, (ls_fp + offset[q][c] + 2^(F_ls-1)) >> F_ls)``."""
    off = params.scale_offset[quality].astype(np.int64)[:, None, None]
    half = 1 << (params.f_ls - 1)
    idx = (ls_fp.astype(np.int64) + off + half) >> params.f_ls
    return np.clip(idx, 0, NUM_SCALES - 1).astype(np.int32)


def tile_grid(hy: int, wy: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Tiles of WD 5.4 in raster order, as (y0, y1, x0, x1) in latent samples."""
    return [
        (y0, min(y0 + tile, hy), x0, min(x0 + tile, wy))
        for y0 in range(0, hy, tile)
        for x0 in range(0, wy, tile)
    ]


def tile_symbol_tables(
    idx: np.ndarray, channels: range, rect: tuple[int, int, int, int]
) -> np.ndarray:
    """Table index of every symbol of one tile stream, in coding order (WD 8.4.2).

    Channels of the group in ascending order, then rows, then columns of the tile.
    """
    y0, y1, x0, x1 = rect
    return np.ascontiguousarray(idx[channels.start : channels.stop, y0:y1, x0:x1]).ravel()


def reconstruct_latent(
    r: np.ndarray, mean_fp: np.ndarray, quality: int, params: ParameterSet
) -> np.ndarray:
    """WD 8.5: residuals and means -> synthesis input ``y_in``, channels-last int16.

    ``mu_g = (mean_fp * G + 2^(FG-1)) >> FG`` is the mean in gained units,
    ``yg = (r << F_mu) + mu_g`` the gained latent, and
    ``y_in = Clip3(-in_max, in_max, (yg * IG + 2^(SH-1)) >> SH)`` with
    ``SH = FIG + F_mu`` the input of the synthesis. Products need up to 48 bits, so the
    computation is carried out in int64.
    """
    g = params.gain_mean[quality].astype(np.int64)[:, None, None]
    ig = params.gain_inverse[quality].astype(np.int64)[:, None, None]
    mu_g = (mean_fp.astype(np.int64) * g + (1 << (params.fg - 1))) >> params.fg
    yg = (r.astype(np.int64) << params.f_mu) + mu_g
    sh = params.fig + params.f_mu
    y_in = (yg * ig + (1 << (sh - 1))) >> sh
    lim = params.latent_in_max
    return np.ascontiguousarray(np.clip(y_in, -lim, lim).astype(np.int16).transpose(1, 2, 0))
