"""The output filter (WD 8.9), on arrays of the whole picture.

The activity is computed on int64, the taps and their sum on int32: exact, as each tap
lies within +-4 (2^B - 1) and the sum with its rounding offset within +-2^23 (WD 8.9.3;
with |W| <= 128, 6 taps within +-2 (2^B - 1) and 2 within +-4 (2^B - 1), the sum is at
most 128 x 20 x 1023 < 2^22).

Every position outside the picture reads the sample of the nearest position inside it
(the clamped coordinates of WD 8.9), which is what padding with ``mode="edge"`` gives.
``>>`` on numpy integers is the arithmetic shift of WD 4.2.2 (Floor), also when negative.
"""

from __future__ import annotations

import numpy as np

from .codestream import OutputFilter

TAP_PAIRS = (
    ((0, -1), (0, 1)),
    ((-1, 0), (1, 0)),
    ((-1, -1), (1, 1)),
    ((-1, 1), (1, -1)),
    ((0, -2), (0, 2)),
    ((-2, 0), (2, 0)),
)
"""The two offsets (dy, dx) of the taps f_0 to f_5 of WD 8.9.3."""


def shifted(padded: np.ndarray, r: int, dy: int, dx: int) -> np.ndarray:
    """The plane(s) a[..., y + dy, x + dx] for y < H, x < W, of ``padded`` = a padded by
    ``r`` on each side of its last two axes."""
    h, w = padded.shape[-2] - 2 * r, padded.shape[-1] - 2 * r
    return padded[..., r + dy : r + dy + h, r + dx : r + dx + w]


def activity(s: np.ndarray) -> np.ndarray:
    """A[y][x] of WD 8.9.1 for the samples ``s`` (3 x H x W): the 5 x 5 sum, on clamped
    positions, of D = |2L - L[y][x-1] - L[y][x+1]| + |2L - L[y-1][x] - L[y+1][x]|, with
    L the sum of the three components on clamped positions."""
    lum = np.pad(s.sum(axis=0), 1, mode="edge")
    two = 2 * shifted(lum, 1, 0, 0)
    d = np.abs(two - shifted(lum, 1, 0, -1) - shifted(lum, 1, 0, 1)) + np.abs(
        two - shifted(lum, 1, -1, 0) - shifted(lum, 1, 1, 0)
    )
    dp = np.pad(d, 2, mode="edge")
    return sum(shifted(dp, 2, dy, dx) for dy in range(-2, 3) for dx in range(-2, 3))


def classes(a: np.ndarray, thresholds: list[int]) -> np.ndarray:
    """K[y][x] of WD 8.9.2: the number of k < N - 1 with A[y][x] > class_threshold[k]."""
    k = np.zeros(a.shape, dtype=np.int64)
    for t in thresholds:
        k += a > t
    return k


def output_filter(samples: np.ndarray, of: OutputFilter, bits: int) -> np.ndarray:
    """OutputFilter( ) of WD 8.9 and 8.9.3 on the H x W x 3 samples S of 8.8: every sample
    is read from S, none from the filtered ones. For component c the taps are f_0 to f_5
    of the pairs of TAP_PAIRS, s(a) + s(b) - 2 s(0, 0), and f_6, f_7 the 4-neighbour
    Laplacians of the other two components o_0 < o_1;
    S'[c] = Clip3(0, 2^B - 1, S[c] + ((sum_i W[K][c][i] f_i + 2^(P - 1)) >> P))."""
    s = samples.transpose(2, 0, 1).astype(np.int32)
    k = classes(activity(s), of.thresholds)
    p = np.pad(s, ((0, 0), (2, 2), (2, 2)), mode="edge")
    lap = sum(shifted(p, 2, dy, dx) for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0))) - 4 * s
    w = np.asarray(of.weights, dtype=np.int32)  # N x 3 x 8
    out = np.empty_like(s)
    for c in range(3):
        two = 2 * s[c]
        taps = [shifted(p[c], 2, *a) + shifted(p[c], 2, *b) - two for a, b in TAP_PAIRS]
        taps += [lap[o] for o in range(3) if o != c]  # f_6, f_7: o_0 < o_1
        acc = sum(w[:, c, i][k] * f for i, f in enumerate(taps))
        corr = (acc + (1 << (of.shift - 1))) >> of.shift
        out[c] = np.clip(s[c] + corr, 0, (1 << bits) - 1)
    return np.ascontiguousarray(out.transpose(1, 2, 0)).astype(np.uint16)
