"""Integer networks (WD 8.6) and the reconstruction steps that use them (WD 8.3.2 to 8.8).

Exactness. A layer is computed as one matrix product per band of rows (im2col), in binary64
floating point through BLAS. That is exact integer arithmetic here: every weight and every
input lies in [-2^15, 2^15] (P-LAYER-CLIP, P-IN-MAX; weights are int16), so each product is
an integer below 2^30 in magnitude, and by P-ACCUMULATOR (WD 8.6.2, checked when the
parameter set is loaded) every partial sum, in whatever order BLAS adds, is an integer of
magnitude at most 2^31 - 1 < 2^53, which binary64 represents exactly. The right shift, the
clipping and everything outside the layers are done on int64.
"""

from __future__ import annotations

import numpy as np

from .container import Layer, ParameterSet

_BAND_ELEMENTS = 1 << 23
"""Size of the im2col matrix of one band (elements of 8 bytes), which bounds memory."""


def depth_to_space(t: np.ndarray) -> np.ndarray:
    """u[c][2y + dy][2x + dx] = t[4c + 2dy + dx][y][x] (WD 8.6.3)."""
    c4, h, w = t.shape
    return t.reshape(c4 // 4, 2, 2, h, w).transpose(0, 3, 1, 4, 2).reshape(c4 // 4, 2 * h, 2 * w)


def layer(a: np.ndarray, ly: Layer) -> np.ndarray:
    """One layer of WD 8.6.1: zero-padded convolution, bias, right shift s[o], Clip3(lo, hi),
    then depth-to-space if its flag is 1. ``a`` holds I channels of Ha x Wa integers."""
    o, i, k, _ = ly.weight.shape
    _, ha, wa = a.shape
    pad = k >> 1
    padded = np.zeros((i, ha + 2 * pad, wa + 2 * pad), dtype=np.int32)
    padded[:, pad : pad + ha, pad : pad + wa] = a
    w = ly.weight.reshape(o, i * k * k).astype(np.float64)
    bias = ly.bias.astype(np.float64)[:, None]
    shift = ly.shift[:, None]
    out = np.empty((o, ha, wa), dtype=np.int32)
    rows = max(1, _BAND_ELEMENTS // (i * k * k * wa))
    for r0 in range(0, ha, rows):
        r1 = min(ha, r0 + rows)
        cols = np.empty((i, k, k, r1 - r0, wa), dtype=np.float64)
        for ky in range(k):
            for kx in range(k):
                cols[:, ky, kx] = padded[:, r0 + ky : r1 + ky, kx : kx + wa]
        acc = w @ cols.reshape(i * k * k, -1) + bias  # exact, see the module docstring
        t = np.clip(acc.astype(np.int64) >> shift, ly.lo, ly.hi)
        out[:, r0:r1] = t.reshape(o, r1 - r0, wa)
    return depth_to_space(out) if ly.d2s else out


def chain(layers: list[Layer], a: np.ndarray) -> np.ndarray:
    """Chain( layers, a ) of WD 8.6.4."""
    for ly in layers:
        a = layer(a, ly)
    return a


def hyper_synthesis(
    ps: ParameterSet, z_hat: np.ndarray, k: int, hy: int, wy: int
) -> tuple[np.ndarray, np.ndarray]:
    """WD 8.3.2: scale the hyper-latent by 2^k and clip it, run "hs", crop to Hy x Wy;
    returns (muFp, lsFp)."""
    a = np.clip(z_hat.astype(np.int64) * (1 << k), -ps.hyper_in_max, ps.hyper_in_max)
    h = chain(ps.hs, a).astype(np.int64)
    return h[: ps.M, :hy, :wy], h[ps.M : 2 * ps.M, :hy, :wy]


def context_prediction(
    ps: ParameterSet, g: int, y_before: np.ndarray, mu_fp: np.ndarray, ls_fp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ContextPrediction( g ) of WD 8.4.1: ``y_before`` is y_in of the channels c < c0 (the
    groups before g), ``mu_fp`` and ``ls_fp`` are those of the N channels of group g. The
    chain ctx.g applied to ``y_before`` gives d (2N channels, Hy x Wy: no depth-to-space,
    P-CTX-PLAIN); returns Clip3(-2^15, 2^15 - 1, muFp + d[c - c0]) and
    Clip3(-2^15, 2^15 - 1, lsFp + d[N + c - c0])."""
    n = mu_fp.shape[0]
    d = chain(ps.ctx[g], y_before).astype(np.int64)
    lo, hi = -(1 << 15), (1 << 15) - 1
    return np.clip(mu_fp + d[:n], lo, hi), np.clip(ls_fp + d[n:], lo, hi)


def scale_indices(ps: ParameterSet, ls_fp: np.ndarray, q: int, c: slice) -> np.ndarray:
    """ScaleIndices( g ) of WD 8.4.2 for the channels ``c`` of a group (``ls_fp`` holds
    those channels, corrected by 8.4.1 where it applies):
    idx = Clip3(0, 63, (lsFp + scale_offset[q][c] + 2^(F_ls - 1)) >> F_ls)."""
    off = ps.scale_offset[q][c, None, None]
    return np.clip((ls_fp + off + (1 << (ps.f_ls - 1))) >> ps.f_ls, 0, 63)


def reconstruct_latent(
    ps: ParameterSet, mu_fp: np.ndarray, r: np.ndarray, q: int, c: slice
) -> np.ndarray:
    """ReconstructLatent( g ) of WD 8.5 for the channels ``c`` of group g (``mu_fp`` and
    ``r`` hold those channels); int64 suffices by P-LATENT-RANGE."""
    g = ps.gain[q][c, None, None]
    ig = ps.inv_gain[q][c, None, None]
    sh = ps.f_ig + ps.f_mu
    mu_g = (mu_fp * g + (1 << (ps.f_g - 1))) >> ps.f_g
    y_g = (r << ps.f_mu) + mu_g
    y_in = (y_g * ig + (1 << (sh - 1))) >> sh
    return np.clip(y_in, -ps.latent_in_max, ps.latent_in_max)


def output_samples(
    ps: ParameterSet, y_in: np.ndarray, width: int, height: int, bits: int
) -> np.ndarray:
    """Synthesis (WD 8.7) and output conversion and cropping (WD 8.8); returns H x W x 3."""
    x_fp = chain(ps.gs, y_in)[:, :height, :width].astype(np.int64)
    peak = (1 << bits) - 1
    s = np.clip((x_fp * peak + (1 << (ps.f_out - 1))) >> ps.f_out, 0, peak)
    return np.ascontiguousarray(s.transpose(1, 2, 0)).astype(np.uint16)
