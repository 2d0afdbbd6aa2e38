"""Entropy parameters, latent parsing and latent reconstruction (WD 8.4, 8.5)."""

from __future__ import annotations

import numpy as np

from refdec.params import NUM_SCALES, ParameterSet


def scale_indices(
    ls_fp: np.ndarray, quality: int, params: ParameterSet, first: int = 0
) -> np.ndarray:
    """WD 8.4.2: ``idx = Clip3(0, 63, (ls_fp + offset[q][c] + 2^(F_ls-1)) >> F_ls)``.

    ``ls_fp`` holds the channels ``first, first + 1, ...``. Computed one channel at a
    time (with int64 intermediates), so that the working memory stays a small multiple
    of one channel.
    """
    half = 1 << (params.f_ls - 1)
    idx = np.empty(ls_fp.shape, np.uint8)
    for c in range(ls_fp.shape[0]):
        off = int(params.scale_offset[quality, first + c])
        v = (ls_fp[c].astype(np.int64) + off + half) >> params.f_ls
        idx[c] = np.clip(v, 0, NUM_SCALES - 1)
    return idx


def tile_grid(hy: int, wy: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Tiles of WD 5.4 in raster order, as (y0, y1, x0, x1) in latent samples."""
    return [
        (y0, min(y0 + tile, hy), x0, min(x0 + tile, wy))
        for y0 in range(0, hy, tile)
        for x0 in range(0, wy, tile)
    ]


def tile_symbol_tables(
    a: np.ndarray, channels: range, rect: tuple[int, int, int, int]
) -> np.ndarray:
    """The entries of ``a`` (M, Hy, Wy) for one tile stream, in coding order (WD 8.4.3).

    Channels of the group in ascending order, then rows, then columns of the tile.
    Applied to the table indices it gives each symbol's table; to the residuals, the
    symbols themselves.
    """
    y0, y1, x0, x1 = rect
    return np.ascontiguousarray(a[channels.start : channels.stop, y0:y1, x0:x1]).ravel()


def reconstruct_latent(
    r: np.ndarray, mean_fp: np.ndarray, quality: int, params: ParameterSet
) -> np.ndarray:
    """WD 8.5: residuals and means -> synthesis input ``y_in``, channels-last int16.

    ``r`` and ``mean_fp`` are (M, Hy, Wy); see :func:`reconstruct` for the arithmetic,
    applied here one channel at a time to bound the int64 working memory.
    """
    m, hy, wy = r.shape
    y_in = np.empty((hy, wy, m), np.int16)
    for c in range(m):
        y_in[:, :, c : c + 1] = reconstruct(
            r[c : c + 1], mean_fp[c : c + 1], range(c, c + 1), quality, params
        )
    return y_in


def reconstruct(
    r: np.ndarray, mean_fp: np.ndarray, channels: range, quality: int, params: ParameterSet
) -> np.ndarray:
    """WD 8.5 for the latent channels ``channels`` of a rectangle: (C, h, w) -> (h, w, C).

    ``mu_g = (mean_fp * G + 2^(FG-1)) >> FG`` is the mean in gained units,
    ``yg = (r << F_mu) + mu_g`` the gained latent, and
    ``y_in = Clip3(-in_max, in_max, (yg * IG + 2^(SH-1)) >> SH)`` with
    ``SH = FIG + F_mu`` the input of the synthesis. Products need more than 32 bits, so the
    computation is carried out in int64, which P-LATENT-RANGE (Annex C.3) makes
    sufficient: the working memory is a few int64 copies of the rectangle. Each sample
    depends only on its own residual and mean, so the latent may be reconstructed in any
    pieces (the decoder does it tile by tile).
    """
    g = params.gain_mean[quality, channels.start : channels.stop].astype(np.int64)
    ig = params.gain_inverse[quality, channels.start : channels.stop].astype(np.int64)
    sh = params.fig + params.f_mu
    lim = params.latent_in_max
    mu_g = (mean_fp.astype(np.int64) * g[:, None, None] + (1 << (params.fg - 1))) >> params.fg
    yg = (r.astype(np.int64) << params.f_mu) + mu_g
    y_in = np.clip((yg * ig[:, None, None] + (1 << (sh - 1))) >> sh, -lim, lim)
    return y_in.astype(np.int16).transpose(1, 2, 0)
