"""Design of the output filter an encoder signals in the OF segment (WD E.3.3).

The decoder filters its output samples with the coefficients of the OF segment (WD
8.9). The encoder knows the original picture and, exactly, the samples the decoder
will output before the filter, so it can fit the filter that brings those samples
closest to the original (a Wiener filter, as the adaptive loop filter of VVC): for each
activity class and component, the least-squares coefficients of the eight filter taps
of WD 8.9.3. It tries a few numbers of classes, with thresholds at quantiles of the
activity, and keeps the filter of least rate-distortion cost ``bits + lambda * D``
(the cost of WD E.3.1, with the segment's bits) -- or no filter, where none pays.
"""

from __future__ import annotations

import numpy as np

from encoder.writer import encode_segment, output_filter_payload
from refdec import syntax
from refdec.codestream import OutputFilter
from refdec.output_filter import (
    TAP_REACH,
    activity,
    apply_output_filter,
    filter_classes,
    filter_taps,
)

CLASS_CHOICES = (1, 2, 4, 8)
"""Numbers of activity classes the encoder tries."""
_COEFF_MAX = (1 << 7) - 1
"""Largest magnitude of a coefficient (``filter_coeff`` is a byte with offset 128)."""
_SHIFT_MAX = max(hi for _, hi in syntax.OF.field("filter_shift").allowed or ())
BAND_PIXELS = 1 << 20
"""Positions whose taps are held at a time (128 bytes each): the sums of least squares
and the squared errors are gathered in bands of rows of about this many positions, so
that the memory of the design does not grow with the picture beyond its samples."""


def _bands(height: int, width: int) -> list[tuple[int, int]]:
    rows = max(1, BAND_PIXELS // width)
    return [(y0, min(y0 + rows, height)) for y0 in range(0, height, rows)]


def quantile_thresholds(a: np.ndarray, classes: int) -> tuple[int, ...]:
    """Thresholds that split the activity ``a`` into ``classes`` classes of about equal
    size; fewer where equal activities leave no strictly increasing choice."""
    values = np.quantile(a, np.arange(1, classes) / classes, method="lower")
    return tuple(sorted({int(v) for v in values}))


def normal_equations(
    original: np.ndarray, decoded: np.ndarray, classes: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class ``k`` and component ``c``, the sums that least squares needs for the
    correction ``t = original - decoded`` from the taps ``X`` of ``decoded``:
    ``X'X`` (N, 3, 8, 8), ``X't`` (N, 3, 8) and ``t't`` (N, 3)."""
    taps = syntax.OF_TAPS
    xx = np.zeros((num_classes, 3, taps, taps))
    xt = np.zeros((num_classes, 3, taps))
    tt = np.zeros((num_classes, 3))
    h, w = classes.shape
    for y0, y1 in _bands(h, w):
        a, b = max(0, y0 - TAP_REACH), min(h, y1 + TAP_REACH)  # rows the taps read
        cls = classes[y0:y1].reshape(-1)
        order = np.argsort(cls, kind="stable")
        bounds = np.searchsorted(cls[order], np.arange(num_classes + 1))
        for c in range(3):
            x = filter_taps(decoded[a:b].astype(np.float64), c)[y0 - a : y1 - a]
            x = x.reshape(-1, taps)[order]
            t = original[y0:y1, :, c].astype(np.float64) - decoded[y0:y1, :, c]
            t = t.reshape(-1)[order]
            for k in range(num_classes):
                xk, tk = x[bounds[k] : bounds[k + 1]], t[bounds[k] : bounds[k + 1]]
                xx[k, c] += xk.T @ xk
                xt[k, c] += xk.T @ tk
                tt[k, c] += tk @ tk
    return xx, xt, tt


def solve(xx: np.ndarray, xt: np.ndarray) -> np.ndarray:
    """Least-squares coefficients from the sums of :func:`normal_equations` (any leading
    shape); a small ridge keeps a flat class (all taps 0) solvable."""
    trace = np.trace(xx, axis1=-2, axis2=-1)[..., None, None]
    ridge = np.eye(xx.shape[-1]) * (1e-6 * trace / xx.shape[-1] + 1e-9)
    return np.linalg.solve(xx + ridge, xt[..., None])[..., 0]


def quantise_weights(weights: np.ndarray) -> tuple[int, np.ndarray]:
    """The largest shift P of WD 7.7 at which every coefficient rounds into a byte, and
    the coefficients rounded at it."""
    largest = float(np.abs(weights).max())
    shift = _SHIFT_MAX
    while shift > 1 and round(largest * (1 << shift)) > _COEFF_MAX:
        shift -= 1
    q = np.clip(np.round(weights * (1 << shift)), -_COEFF_MAX, _COEFF_MAX).astype(int)
    return shift, q


def segment_bits(of: OutputFilter) -> int:
    """Bits of the OF segment carrying ``of``, framing included (WD 5.2, 6.7)."""
    return 8 * len(encode_segment(syntax.MARKER_OF, output_filter_payload(of)))


def design(
    original: np.ndarray, decoded: np.ndarray, bit_depth: int, lam: float
) -> OutputFilter | None:
    """The output filter of least cost for ``decoded`` (the samples of WD 8.8), or None
    if no filter lowers ``bits + lam * 255^2 * W * H * MSE`` (MSE of samples scaled to
    0..1, as the cost of WD E.3.1).

    The thresholds of every number of classes tried are quantiles of the activity, so
    those of fewer classes are among those of the most: the sums of least squares are
    gathered once, for the finest classes, and added up for the coarser ones. The
    squared error of each candidate is that of its rounded coefficients before the
    decoder's rounding and clipping; the best candidate is then applied exactly and
    kept only if its exact cost beats no filter.
    """
    peak = (1 << bit_depth) - 1
    scale = lam * 255.0**2 / (3 * peak**2)  # per unit of squared sample error, summed
    a = activity(decoded)
    finest = quantile_thresholds(a, max(CLASS_CHOICES))
    xx, xt, tt = normal_equations(original, decoded, filter_classes(a, finest), len(finest) + 1)
    upper = np.array([*finest, np.iinfo(np.int64).max])  # of each finest class
    candidates = []
    for n in CLASS_CHOICES:
        thresholds = quantile_thresholds(a, n)
        if len(thresholds) != n - 1:
            continue
        group = np.searchsorted(np.array(thresholds, np.int64), upper, side="left")
        sums = [np.zeros((n, *m.shape[1:])) for m in (xx, xt, tt)]
        for j, k in enumerate(group):
            for total, m in zip(sums, (xx, xt, tt)):
                total[k] += m[j]
        shift, q = quantise_weights(solve(sums[0], sums[1]))
        w = q / (1 << shift)
        sse = np.sum(sums[2]) - 2 * np.sum(w * sums[1]) + np.einsum("kci,kcij,kcj->", w, sums[0], w)
        of = OutputFilter(shift, thresholds, tuple(tuple(map(tuple, k)) for k in q.tolist()))
        candidates.append((segment_bits(of) + scale * sse, of))
    if not candidates:
        return None
    _, best = min(candidates, key=lambda c: c[0])

    def distortion(samples: np.ndarray) -> float:
        total = 0
        for y0, y1 in _bands(*samples.shape[:2]):
            diff = samples[y0:y1].astype(np.int64) - original[y0:y1]
            total += int(np.sum(diff * diff))
        return scale * total

    filtered = apply_output_filter(decoded, best, bit_depth)
    return best if segment_bits(best) + distortion(filtered) < distortion(decoded) else None
