"""Quality metrics: PSNR on RGB, PSNR on YCbCr weighted 6:1:1, and MS-SSIM.

All metrics compare 8-bit pictures (H, W, 3) in R, G, B order.

* ``psnr_rgb``: PSNR of the mean squared error over all samples of the three RGB
  components, peak 255.
* ``psnr_ycbcr``: both pictures are converted to Y'CbCr with the BT.709 matrix, full
  range, in floating point (no rounding: :func:`rgb_to_ycbcr`); the PSNR of each
  component is taken with peak 255, and the three are combined as
  ``(6 * PSNR_Y + PSNR_Cb + PSNR_Cr) / 8`` (the weighting of the JPEG AI common test
  conditions).
* ``msssim``: MS-SSIM (Wang, Simoncelli, Bovik 2003) with the five scales and
  weights of the paper, a Gaussian window of 11 samples and sigma 1.5, computed on the
  RGB components (0..255) and averaged over them, by the maintained implementation of
  the ``pytorch-msssim`` package (the one CompressAI uses). ``msssim_db`` is
  ``-10 log10(1 - MS-SSIM)``, the scale on which its RD curves and BD-rates are given.

A PSNR of two identical pictures is reported as :data:`PSNR_CAP` dB instead of
infinity, so that averages stay finite.
"""

from __future__ import annotations

import math

import numpy as np

from openlic.bench import BenchError

PSNR_CAP = 100.0
"""PSNR reported for a zero error."""

MSSSIM_MIN_SIDE = 161
"""Smallest picture side MS-SSIM is defined for (5 scales, window 11: (11-1)*2^4 + 1)."""

# BT.709 luma coefficients (ITU-R BT.709-6, item 3.2).
KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB


def psnr_from_mse(mse: float, peak: float = 255.0) -> float:
    if mse <= 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(peak * peak / mse))


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ValueError(f"pictures differ in shape: {a.shape} and {b.shape}")
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr_rgb(ref: np.ndarray, rec: np.ndarray) -> float:
    """PSNR over all RGB samples (8-bit, peak 255)."""
    return psnr_from_mse(_mse(ref, rec))


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.709 full-range Y'CbCr of 8-bit R'G'B' samples, float64, not rounded.

    ``Y = KR R + KG G + KB B``, ``Cb = (B - Y) / (2 (1 - KB)) + 128``,
    ``Cr = (R - Y) / (2 (1 - KR)) + 128``.
    """
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / (2.0 * (1.0 - KB)) + 128.0
    cr = (r - y) / (2.0 * (1.0 - KR)) + 128.0
    return np.stack([y, cb, cr], axis=-1)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, float64, not rounded or clipped."""
    y = ycc[..., 0].astype(np.float64)
    cb = ycc[..., 1] - 128.0
    cr = ycc[..., 2] - 128.0
    r = y + 2.0 * (1.0 - KR) * cr
    b = y + 2.0 * (1.0 - KB) * cb
    g = (y - KR * r - KB * b) / KG
    return np.stack([r, g, b], axis=-1)


def psnr_ycbcr(ref: np.ndarray, rec: np.ndarray) -> float:
    """``(6 PSNR_Y + PSNR_Cb + PSNR_Cr) / 8`` on BT.709 full-range Y'CbCr."""
    a, b = rgb_to_ycbcr(ref), rgb_to_ycbcr(rec)
    p = [psnr_from_mse(_mse(a[..., c], b[..., c])) for c in range(3)]
    return (6.0 * p[0] + p[1] + p[2]) / 8.0


def msssim_available() -> str | None:
    """None if MS-SSIM can be computed here, otherwise why not."""
    try:
        import pytorch_msssim  # noqa: F401
    except ImportError:
        return "the package pytorch-msssim is not installed (pip install 'openlic[bench]')"
    return None


def msssim(ref: np.ndarray, rec: np.ndarray) -> float:
    """MS-SSIM on RGB (0..255, averaged over the components); NaN for small pictures."""
    if min(ref.shape[:2]) < MSSSIM_MIN_SIDE:
        return float("nan")
    why = msssim_available()
    if why:
        raise BenchError(f"cannot compute MS-SSIM: {why}")
    import torch
    from pytorch_msssim import ms_ssim

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, np.float32)).permute(2, 0, 1)[None]

    # One thread: the separable Gaussian filters are small convolutions that run no
    # faster on more threads, and far slower when other work shares the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return float(ms_ssim(t(ref), t(rec), data_range=255.0, size_average=True))
    finally:
        torch.set_num_threads(threads)


def msssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, ``-10 log10(1 - MS-SSIM)``; capped like PSNR."""
    if not math.isfinite(value):
        return float("nan")
    if value >= 1.0:
        return PSNR_CAP
    return min(PSNR_CAP, -10.0 * math.log10(1.0 - value))


def all_metrics(ref: np.ndarray, rec: np.ndarray, *, with_msssim: bool = True) -> dict:
    """Every metric of this module, as a dictionary of floats."""
    if ref.dtype != np.uint8 or rec.dtype != np.uint8:
        raise ValueError("the metrics compare 8-bit pictures")
    ms = msssim(ref, rec) if with_msssim else float("nan")
    return {
        "psnr_rgb": psnr_rgb(ref, rec),
        "psnr_ycbcr": psnr_ycbcr(ref, rec),
        "msssim": ms,
        "msssim_db": msssim_db(ms),
    }
