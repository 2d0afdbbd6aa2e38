"""Bjontegaard delta rate and delta PSNR (VCEG-M33, with piecewise cubic interpolation).

Each curve is a set of (rate, quality) points. The log of the rate is interpolated as
a function of the quality (BD-rate) or the quality as a function of the log rate
(BD-PSNR) with the shape-preserving piecewise cubic Hermite interpolant (PCHIP,
:class:`scipy.interpolate.PchipInterpolator`, the interpolation of the later VCEG and
JVET practice, which unlike the original cubic polynomial fit cannot overshoot), and
the two interpolants are integrated exactly over the range where the curves overlap:

* BD-rate = ``exp(mean(log R_test - log R_anchor)) - 1`` over the overlapping quality
  range, in percent: the average rate difference of the test at equal quality
  (negative: the test needs fewer bits);
* BD-PSNR = ``mean(Q_test - Q_anchor)`` over the overlapping log-rate range, in the
  unit of the quality (dB for PSNR).

Before interpolation each curve is sorted by rate and points that do not improve the
quality over a cheaper point of the same curve are dropped (they are dominated), so
that both coordinates increase strictly. A curve needs at least two points; curves
that do not overlap have no BD value (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from openlic.bench import BenchError


def _pchip():  # noqa: ANN202
    try:
        from scipy.interpolate import PchipInterpolator
    except ImportError:
        raise BenchError(
            "BD-rate needs scipy, which is not installed (pip install 'openlic[bench]')"
        ) from None
    return PchipInterpolator


def monotone_curve(
    rate: Sequence[float], quality: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by rate, dominated ones dropped: both coordinates strictly rise."""
    r = np.asarray(rate, np.float64)
    q = np.asarray(quality, np.float64)
    ok = np.isfinite(r) & np.isfinite(q) & (r > 0)
    r, q = r[ok], q[ok]
    order = np.lexsort((-q, r))  # by rate; at equal rates the best quality first
    keep_r: list[float] = []
    keep_q: list[float] = []
    for ri, qi in zip(r[order], q[order]):
        if keep_q and (qi <= keep_q[-1] or ri <= keep_r[-1]):
            continue
        keep_r.append(float(ri))
        keep_q.append(float(qi))
    return np.array(keep_r), np.array(keep_q)


def _curves(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Both curves made monotone; None unless each keeps at least two points."""
    ra, qa = monotone_curve(rate_anchor, quality_anchor)
    rt, qt = monotone_curve(rate_test, quality_test)
    if len(ra) < 2 or len(rt) < 2:
        return None
    return ra, qa, rt, qt


def bd_rate(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
) -> float | None:
    """BD-rate of the test against the anchor, in percent; None without overlap."""
    curves = _curves(rate_anchor, quality_anchor, rate_test, quality_test)
    if curves is None:
        return None
    ra, qa, rt, qt = curves
    lo, hi = max(qa[0], qt[0]), min(qa[-1], qt[-1])
    if not hi > lo:
        return None
    pchip = _pchip()
    ia = pchip(qa, np.log(ra)).integrate(lo, hi)
    it = pchip(qt, np.log(rt)).integrate(lo, hi)
    return float((math.exp((it - ia) / (hi - lo)) - 1.0) * 100.0)


def bd_quality(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
) -> float | None:
    """BD-PSNR (or BD of any quality): mean quality gain of the test; None without overlap."""
    curves = _curves(rate_anchor, quality_anchor, rate_test, quality_test)
    if curves is None:
        return None
    ra, qa, rt, qt = curves
    la, lt = np.log(ra), np.log(rt)
    lo, hi = max(la[0], lt[0]), min(la[-1], lt[-1])
    if not hi > lo:
        return None
    pchip = _pchip()
    ia = pchip(la, qa).integrate(lo, hi)
    it = pchip(lt, qt).integrate(lo, hi)
    return float((it - ia) / (hi - lo))


def overlap(
    rate_anchor: Sequence[float],
    quality_anchor: Sequence[float],
    rate_test: Sequence[float],
    quality_test: Sequence[float],
) -> tuple[float, float] | None:
    """The quality range a BD-rate is averaged over; None where the curves do not overlap."""
    _, qa = monotone_curve(rate_anchor, quality_anchor)
    _, qt = monotone_curve(rate_test, quality_test)
    if len(qa) < 2 or len(qt) < 2:
        return None
    lo, hi = max(qa[0], qt[0]), min(qa[-1], qt[-1])
    return (float(lo), float(hi)) if hi > lo else None


END_TOLERANCE = 0.01
"""A target rate at most this fraction beyond a curve's end takes the end's quality."""


def quality_at_rate(rate: Sequence[float], quality: Sequence[float], target: float) -> float | None:
    """Quality of the curve at ``target`` rate (PCHIP in log rate); None outside it.

    A rate-controlled codec lands near, not on, its target: a target within
    :data:`END_TOLERANCE` (relative) beyond either end of the curve takes the quality
    of that end point; no further extrapolation is made.
    """
    r, q = monotone_curve(rate, quality)
    if len(r) == 0:
        return None
    if r[0] * (1 - END_TOLERANCE) <= target < r[0]:
        return float(q[0])
    if r[-1] < target <= r[-1] * (1 + END_TOLERANCE):
        return float(q[-1])
    if not r[0] <= target <= r[-1]:
        return None
    if len(r) == 1:
        return float(q[0])
    return float(_pchip()(np.log(r), q)(math.log(target)))
