"""rANS entropy decoding (WD 8.2), compiled with numba.

The kernel decodes one rANS stream into a known number of values and returns an error
code instead of raising, so that the caller can name the violated requirement.
"""

from __future__ import annotations

import numba
import numpy as np

from .container import Tables

L = 1 << 23
"""Lower bound of the state (WD 8.2.1)."""

ERRORS = {
    1: "R-ANS-LENGTH (8.2.2): rANS stream shorter than 4 bytes",
    2: "R-ANS-INIT-STATE (8.2.2): initial state outside [2^23, 2^31)",
    3: "R-ANS-EXHAUSTED (8.2.4): rANS stream ends during renormalisation",
    4: "R-ANS-ESCAPE-PREFIX (8.2.6): Exp-Golomb prefix longer than 16",
    5: "R-ANS-FINAL-STATE (8.2.7): final state is not 2^23",
    6: "R-ANS-FINAL-POSITION (8.2.7): bytes left after the last value",
}


@numba.njit(cache=True, nogil=True)
def _decode(buf, table_idx, radius, start, cdf, out):  # pragma: no cover - compiled
    """DecodeStream of WD 8.2.1, with InitState, DecodeSymbol, Renormalise, DecodeBits,
    DecodeValue and Terminate of WD 8.2.2, 8.2.3, 8.2.4, 8.2.5, 8.2.6 and 8.2.7.

    Returns 0 or a key of ERRORS. The state and the read position are ``x`` and ``p``.
    """
    n = buf.shape[0]
    if n < 4:
        return 1
    x = (np.int64(buf[0]) << 24) | (np.int64(buf[1]) << 16) | (np.int64(buf[2]) << 8) | buf[3]
    p = 4
    if x < L or x >= (np.int64(1) << 31):
        return 2
    for k in range(table_idx.shape[0]):
        i = table_idx[k]
        r = radius[i]
        base = start[i]
        # DecodeSymbol (8.2.3) with cdf_i of S = 2R + 2 symbols, by bisection.
        slot = x & 0xFFFF
        lo_s, hi_s = 0, 2 * r + 2  # cdf[lo_s] <= slot < cdf[hi_s]
        while hi_s - lo_s > 1:
            mid = (lo_s + hi_s) >> 1
            if cdf[base + mid] <= slot:
                lo_s = mid
            else:
                hi_s = mid
        s = lo_s
        x = (cdf[base + s + 1] - cdf[base + s]) * (x >> 16) + slot - cdf[base + s]
        while x < L:  # Renormalise (8.2.4)
            if p >= n:
                return 3
            x = (x << 8) | buf[p]
            p += 1
        if s <= 2 * r:
            out[k] = s - r
            continue
        # Escape (8.2.6): Exp-Golomb prefix of bits(1), then bits(n).
        e = 0
        while True:
            bit = (x & 0xFFFF) >> 15  # DecodeBits(1) (8.2.5)
            x = (1 << 15) * (x >> 16) + (x & 0xFFFF) - bit * (1 << 15)
            while x < L:
                if p >= n:
                    return 3
                x = (x << 8) | buf[p]
                p += 1
            if bit == 0:
                break
            e += 1
            if e > 16:
                return 4
        m = 0
        if e > 0:  # DecodeBits(e)
            f = np.int64(1) << (16 - e)
            slot = x & 0xFFFF
            m = slot >> (16 - e)
            x = f * (x >> 16) + slot - m * f
            while x < L:
                if p >= n:
                    return 3
                x = (x << 8) | buf[p]
                p += 1
        u = (np.int64(1) << e) - 1 + m
        a = r + 1 + (u >> 1)
        out[k] = -a if (u & 1) == 1 else a
    if x != L:
        return 5
    if p != n:
        return 6
    return 0


class EntropyError(Exception):
    """A rANS stream that breaks a requirement R-ANS-... of WD 8.2."""


def decode_stream(buf: bytes, table_idx: np.ndarray, tables: Tables) -> np.ndarray:
    """Decode the rANS stream ``buf`` into ``len(table_idx)`` values (WD 8.2.1)."""
    out = np.zeros(table_idx.shape[0], dtype=np.int64)
    code = _decode(
        np.frombuffer(buf, dtype=np.uint8),
        table_idx.astype(np.int64),
        tables.radius,
        tables.start,
        tables.cdf,
        out,
    )
    if code:
        raise EntropyError(ERRORS[code])
    return out
