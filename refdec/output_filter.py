"""Output filter (WD 8.9).

When a codestream carries an OF segment, each output sample of WD 8.8 is corrected by
a small linear filter of the samples around it: eight coefficients per component,
chosen by the encoder for the picture at hand, in one of up to eight sets (classes)
selected by the local activity of the picture. Positions outside the picture take the
value of the nearest sample of the picture (coordinates clamped, WD 8.9.1); every
filter reads the unfiltered samples.

The kernels are plain loops in numba, in the order of the clauses: activity
(8.9.1), class (8.9.2), filtered sample (8.9.3). Every intermediate fits in int32 (a
sample is below 2^10, the activity below 2^20 and the accumulator below 2^23): the
kernels read int32 samples, so that their Python form (``NUMBA_DISABLE_JIT=1``, the
coverage run of the conformance suite) computes as the compiled one, without the
wrap-around of 8-bit numpy scalars. The picture is filtered in bands of rows, each
read with the rows of context its activity and taps need, so that the working memory is
that of a band besides the filtered copy of the samples (the note of WD 8.1.1).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from refdec.codestream import OutputFilter
from refdec.syntax import OF_TAPS

TAP_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0))
"""The pairs ``(dy, dx)`` of taps 0 to 5 of WD 8.9.3: ``s(-dy, -dx) + s(dy, dx) - 2 s(0, 0)``."""
TAP_REACH = max(max(abs(dy), abs(dx)) for dy, dx in TAP_OFFSETS)
"""Rows and columns the taps of WD 8.9.3 reach on each side of a position (2)."""
ACTIVITY_RADIUS = 2
"""The activity of a position sums the gradients of the (2 r + 1)^2 positions around it
(WD 8.9.1)."""
CONTEXT_ROWS = max(ACTIVITY_RADIUS + 1, TAP_REACH)
"""Rows above and below a filtered row that it depends on: the gradient reads one row
beyond the activity window (8.9.1), the taps of 8.9.3 reach ``TAP_REACH``."""
BAND_ROWS = 64
"""Rows filtered at a time."""


@njit(cache=True, inline="always")
def _clamp(v: int, n: int) -> int:
    """Clip3(0, n - 1, v): the nearest coordinate inside the picture (WD 8.9.1)."""
    return min(max(v, 0), n - 1)


@njit(cache=True, parallel=True)
def _gradients(s):  # noqa: ANN001 - numba kernel
    """WD 8.9.1: ``D = |2L - L(left) - L(right)| + |2L - L(up) - L(down)|`` with
    ``L = S[0] + S[1] + S[2]``."""
    h, w, _ = s.shape
    d = np.empty((h, w), np.int32)
    for y in prange(h):
        for x in range(w):
            up, down = _clamp(y - 1, h), _clamp(y + 1, h)
            left, right = _clamp(x - 1, w), _clamp(x + 1, w)
            c = 0
            hor = 0
            ver = 0
            for k in range(3):
                c += s[y, x, k]
                hor += s[y, left, k] + s[y, right, k]
                ver += s[up, x, k] + s[down, x, k]
            d[y, x] = abs(2 * c - hor) + abs(2 * c - ver)
    return d


@njit(cache=True, parallel=True)
def _window_sums(d, radius):  # noqa: ANN001 - numba kernel
    """WD 8.9.1: the activity ``A``, the sum of ``D`` over the (2 r + 1)^2 window
    around each position."""
    h, w = d.shape
    a = np.empty((h, w), np.int32)
    for y in prange(h):
        for x in range(w):
            total = 0
            for dy in range(-radius, radius + 1):
                yy = _clamp(y + dy, h)
                for dx in range(-radius, radius + 1):
                    total += d[yy, _clamp(x + dx, w)]
            a[y, x] = total
    return a


@njit(cache=True, parallel=True)
def _classify(a, thresholds):  # noqa: ANN001 - numba kernel
    """WD 8.9.2: the class of a position is the number of thresholds below its activity."""
    h, w = a.shape
    cls = np.empty((h, w), np.uint8)
    for y in prange(h):
        for x in range(w):
            k = 0
            while k < thresholds.shape[0] and a[y, x] > thresholds[k]:
                k += 1
            cls[y, x] = k
    return cls


@njit(cache=True, parallel=True)
def _filter(s, cls, weights, shift, peak):  # noqa: ANN001 - numba kernel
    """WD 8.9.3: ``S'[c] = Clip3(0, peak, S[c] + ((sum_i W[k][c][i] f_i + 2^(P-1)) >> P))``."""
    h, w, _ = s.shape
    out = np.empty_like(s)
    half = 1 << (shift - 1)
    for y in prange(h):
        u1, d1 = _clamp(y - 1, h), _clamp(y + 1, h)
        u2, d2 = _clamp(y - 2, h), _clamp(y + 2, h)
        for x in range(w):
            l1, r1 = _clamp(x - 1, w), _clamp(x + 1, w)
            l2, r2 = _clamp(x - 2, w), _clamp(x + 2, w)
            wk = weights[cls[y, x]]
            for c in range(3):
                # The other two components, in increasing order (taps 6 and 7).
                o1 = 1 if c == 0 else 0
                o2 = 1 if c == 2 else 2
                two = 2 * s[y, x, c]
                acc = (
                    wk[c, 0] * (s[y, l1, c] + s[y, r1, c] - two)
                    + wk[c, 1] * (s[u1, x, c] + s[d1, x, c] - two)
                    + wk[c, 2] * (s[u1, l1, c] + s[d1, r1, c] - two)
                    + wk[c, 3] * (s[u1, r1, c] + s[d1, l1, c] - two)
                    + wk[c, 4] * (s[y, l2, c] + s[y, r2, c] - two)
                    + wk[c, 5] * (s[u2, x, c] + s[d2, x, c] - two)
                    + wk[c, 6] * (s[y, l1, o1] + s[y, r1, o1] + s[u1, x, o1] + s[d1, x, o1]
                                  - 4 * s[y, x, o1])
                    + wk[c, 7] * (s[y, l1, o2] + s[y, r1, o2] + s[u1, x, o2] + s[d1, x, o2]
                                  - 4 * s[y, x, o2])
                )
                v = s[y, x, c] + ((acc + half) >> shift)
                out[y, x, c] = min(max(v, 0), peak)
    return out


def filter_taps(samples: np.ndarray, c: int) -> np.ndarray:
    """The eight taps ``f_i`` of WD 8.9.3 for component ``c`` at every position, as an
    (H, W, 8) array of the type of ``samples`` (a signed or floating-point type;
    coordinates clamped as in WD 8.9). The numpy form, for encoders, which fit the
    coefficients to them, and for decoders in floating point; :func:`apply_output_filter`
    computes the same taps in its kernel."""
    h, w = samples.shape[:2]
    r = TAP_REACH
    s = np.pad(samples, ((r, r), (r, r), (0, 0)), mode="edge")
    out = np.empty((h, w, OF_TAPS), samples.dtype)

    def at(dy: int, dx: int, k: int) -> np.ndarray:
        return s[r + dy : r + dy + h, r + dx : r + dx + w, k]

    two = 2 * at(0, 0, c)
    for i, (dy, dx) in enumerate(TAP_OFFSETS):
        np.add(at(-dy, -dx, c), at(dy, dx, c), out=out[:, :, i])
        out[:, :, i] -= two
    # Taps 6 and 7: the Laplacians of the other two components, in increasing order.
    for i, o in enumerate((o for o in range(3) if o != c), start=len(TAP_OFFSETS)):
        lap = out[:, :, i]
        np.add(at(0, -1, o), at(0, 1, o), out=lap)
        lap += at(-1, 0, o)
        lap += at(1, 0, o)
        lap -= 4 * at(0, 0, o)
    return out


def activity(samples: np.ndarray) -> np.ndarray:
    """WD 8.9.1: the activity ``A`` (H, W) int32 of every position of ``samples``
    (H, W, 3)."""
    return _window_sums(_gradients(samples.astype(np.int32, copy=False)), ACTIVITY_RADIUS)


def filter_classes(a: np.ndarray, thresholds: tuple[int, ...]) -> np.ndarray:
    """WD 8.9.2: the class (uint8) of every position of the activity ``a``."""
    return _classify(a, np.asarray(thresholds, np.int64).reshape(-1))


def apply_output_filter(samples: np.ndarray, of: OutputFilter, bit_depth: int) -> np.ndarray:
    """WD 8.9: the filtered output samples, a new array of the shape and type of
    ``samples``, computed band by band (the same samples as on the whole picture: a
    band's context rows are those of the picture, clamped only at its edges)."""
    weights = np.asarray(of.coefficients, np.int64).reshape(of.num_classes, 3, OF_TAPS)
    out = np.empty_like(samples)
    h = samples.shape[0]
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(y0 + BAND_ROWS, h)
        a, b = max(0, y0 - CONTEXT_ROWS), min(h, y1 + CONTEXT_ROWS)
        band = samples[a:b].astype(np.int32)
        cls = filter_classes(activity(band), of.thresholds)
        filtered = _filter(band, cls, weights, of.shift, (1 << bit_depth) - 1)
        out[y0:y1] = filtered[y0 - a : y1 - a]
    return out
