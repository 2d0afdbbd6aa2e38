"""rANS encoder matching the decoder of WD clause 8.2 (informative, Annex E).

Standard byte-wise rANS with 16-bit frequencies and state interval ``[L, 2**31)``,
``L = 2**23``. Symbols are encoded in reverse order so that the decoder reads them
forwards; bytes are emitted from the end of an output buffer towards its start:

* start in state ``x = L`` -- the decoder checks that it ends in ``L`` (WD 8.2.7);
* to encode a symbol ``(low, freq)``: while ``x >= ((L >> 16) << 8) * freq`` emit the
  low byte of ``x`` and shift it out (the inverse of WD 8.2.4), then
  ``x = (x // freq) * 2**16 + x % freq + low`` (the inverse of WD 8.2.3);
* finally emit the 4 bytes of ``x`` so that the stream starts with them big-endian
  (WD 8.2.2).

A value ``v`` with table radius ``R`` is the symbol ``v + R`` when ``|v| <= R``; otherwise
the escape symbol ``2R + 1`` followed by the Exp-Golomb code of
``u = 2 (|v| - R - 1) + (v < 0)`` (WD 8.2.6), whose prefix is limited to 16, so
``u <= 2**17 - 2``: the codable values of a table are ``-(R + 65535) .. R + 65536``.
An empty sequence encodes to the 4 bytes of ``L`` (``00 80 00 00``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from refdec.entropy import MAX_ESCAPE_PREFIX, PRECISION, L
from refdec.tables import NUM_TABLES, load_tables

MAX_ESCAPE_U = (1 << (MAX_ESCAPE_PREFIX + 1)) - 2
"""Largest Exp-Golomb argument ``u`` with a prefix of at most 16 (WD 8.2.6)."""
ESCAPE_EXTRA_SYMBOLS = MAX_ESCAPE_PREFIX + 2
"""Most symbols after an escape symbol: prefix one-bits, the stop bit, the suffix."""


@njit(cache=True)
def _put(x: int, buf: np.ndarray, pos: int, low: int, freq: int) -> tuple[int, int]:
    """Encode the symbol ``[low, low + freq)`` into state ``x`` (inverse of WD 8.2.3-8.2.4).

    Renormalising first keeps the new state below ``2**31``; ``pos`` moves backwards.
    """
    x_max = ((L >> PRECISION) << 8) * freq
    while x >= x_max:
        pos -= 1
        buf[pos] = x & 0xFF
        x >>= 8
    return ((x // freq) << PRECISION) + x % freq + low, pos


@njit(cache=True)
def _put_bits(x: int, buf: np.ndarray, pos: int, value: int, n: int) -> tuple[int, int]:
    """Encode ``bits(n)`` (WD 8.2.5): frequency ``2**(16-n)``, ``low = value * freq``."""
    freq = np.int64(1) << (PRECISION - n)
    return _put(x, buf, pos, value * freq, freq)


@njit(cache=True)
def _encode_kernel(
    values: np.ndarray,
    table_idx: np.ndarray,
    cdf_flat: np.ndarray,
    cdf_offset: np.ndarray,
    radius: np.ndarray,
    buf: np.ndarray,
) -> int:
    """Encode all values into the tail of ``buf``; returns the index of the first byte."""
    x = np.int64(L)
    pos = len(buf)
    for i in range(len(values) - 1, -1, -1):
        v = np.int64(values[i])
        t = table_idx[i]
        r = np.int64(radius[t])
        magnitude = abs(v)
        if magnitude <= r:
            s = v + r
        else:
            # The decoder reads escape, n one-bits, a zero-bit, bits(n): push in reverse.
            u = 2 * (magnitude - r - 1) + (1 if v < 0 else 0)
            n = 0
            while (u + 1) >> (n + 1):
                n += 1
            if n > 0:
                x, pos = _put_bits(x, buf, pos, u + 1 - (np.int64(1) << n), n)
            x, pos = _put_bits(x, buf, pos, np.int64(0), 1)
            for _ in range(n):
                x, pos = _put_bits(x, buf, pos, np.int64(1), 1)
            s = 2 * r + 1
        low = np.int64(cdf_flat[cdf_offset[t] + s])
        freq = np.int64(cdf_flat[cdf_offset[t] + s + 1]) - low
        x, pos = _put(x, buf, pos, low, freq)
    for _ in range(4):
        pos -= 1
        buf[pos] = x & 0xFF
        x >>= 8
    return pos


@njit(cache=True)
def _scan(values: np.ndarray, table_idx: np.ndarray, radius: np.ndarray) -> tuple[int, int]:
    """Count escaped values; returns ``(escapes, i)`` with ``i`` the first uncodable index.

    ``i = -1`` when every value lies in the escape range of its table (WD 8.2.6).
    """
    escapes = 0
    for i in range(len(values)):
        v = np.int64(values[i])
        r = np.int64(radius[table_idx[i]])
        if abs(v) > r:
            escapes += 1
            if 2 * (abs(v) - r - 1) + (1 if v < 0 else 0) > MAX_ESCAPE_U:
                return escapes, i
    return escapes, -1


def _checked(values: np.ndarray, table_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Inputs as contiguous int64 values and int32 table indices, and the escape count.

    Raises :class:`ValueError` for non-integer values, mismatched shapes, table indices
    outside 0..63 and values beyond the escape range of their table.
    """
    values, table_idx = np.asarray(values), np.asarray(table_idx)
    if values.ndim != 1 or values.shape != table_idx.shape:
        raise ValueError("values and table_idx must be 1-D arrays of equal length")
    if values.size:
        if not np.issubdtype(values.dtype, np.integer) or values.max() > np.iinfo(np.int64).max:
            raise ValueError("values must be integers representable in int64")
        if table_idx.min() < 0 or table_idx.max() >= NUM_TABLES:
            raise ValueError(f"table indices must lie in 0..{NUM_TABLES - 1}")
    values = np.ascontiguousarray(values, dtype=np.int64)
    table_idx = np.ascontiguousarray(table_idx, dtype=np.int32)
    escapes, bad = _scan(values, table_idx, load_tables().radius)
    if bad >= 0:
        raise ValueError(
            f"value {values[bad]} with table {table_idx[bad]} at index {bad} cannot be coded"
        )
    return values, table_idx, escapes


def encode(values: np.ndarray, table_idx: np.ndarray) -> bytes:
    """Encode ``values[i]`` with table ``table_idx[i]`` into one rANS stream (WD 8.2).

    The decoder :func:`refdec.entropy.decode_stream` with the same ``table_idx`` returns
    ``values``. Raises :class:`ValueError` for values that cannot be coded.
    """
    values, table_idx, escapes = _checked(values, table_idx)
    # Each symbol emits at most 2 bytes (x < 2**31 and x_max >= 2**15), plus the flush.
    capacity = 4 + 2 * (len(values) + ESCAPE_EXTRA_SYMBOLS * escapes)
    buf = np.empty(capacity, dtype=np.uint8)
    tables = load_tables()
    start = _encode_kernel(
        values, table_idx, tables.cdf_flat, tables.cdf_offset, tables.radius, buf
    )
    return buf[start:].tobytes()


def value_bits(values: np.ndarray, table_idx: np.ndarray) -> np.ndarray:
    """Bits that coding each value with its table takes, element by element (any
    shape): ``-log2(freq / 65536)`` of its symbol under the quantised tables (Annex B),
    and for an escaped value the ``2 n + 1`` bits of its Exp-Golomb code (``n`` prefix
    one-bits, the stop bit, ``n`` suffix bits; WD 8.2.6)."""
    values = values.astype(np.int64)
    tables = load_tables()
    r = tables.radius[table_idx].astype(np.int64)
    escaped = np.abs(values) > r
    u = np.where(escaped, 2 * (np.abs(values) - r - 1) + (values < 0), 0)
    s = np.where(escaped, 2 * r + 1, values + r)
    at = tables.cdf_offset[table_idx].astype(np.int64) + s
    freq = tables.cdf_flat[at + 1].astype(np.int64) - tables.cdf_flat[at]
    n = np.floor(np.log2(u + 1.0))
    return PRECISION - np.log2(freq) + np.where(escaped, 2 * n + 1, 0.0)


def code_length_bits(values: np.ndarray, table_idx: np.ndarray) -> float:
    """Information content of ``values`` in bits under the quantised tables (Annex B).

    The sum of :func:`value_bits`; the stream of :func:`encode` is about 32 bits (the
    final state) longer.
    """
    values, table_idx, _ = _checked(values, table_idx)
    return float(value_bits(values, table_idx).sum())
