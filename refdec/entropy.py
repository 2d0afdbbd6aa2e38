"""Entropy decoding: the rANS decoder of WD clause 8.2 (normative).

Subclauses of WD 8.2 and the function implementing each:

* 8.2.1 General -- a stream is a byte string decoded into a known number of values,
  each with a table index ``0..63`` (tables of Annex B, :mod:`refdec.tables`); the
  decoder state ``x`` is an integer with ``L <= x < 2**31`` between symbols, ``L = 2**23``
  (:func:`decode_stream_into`).
* 8.2.2 Initialisation -- ``x`` = first 4 bytes, big-endian; requires
  ``L <= x < 2**31`` (:func:`init_state`).
* 8.2.3 Table symbol -- ``slot = x & 0xFFFF``, ``s`` with ``cdf[s] <= slot < cdf[s+1]``,
  ``x = (cdf[s+1] - cdf[s]) * (x >> 16) + slot - cdf[s]`` (:func:`decode_table_symbol`).
* 8.2.4 Renormalisation -- while ``x < L``: ``x = (x << 8) | next byte``; running out
  of bytes is an error (:func:`renormalise`).
* 8.2.5 Uniform symbols ``bits(n)``, ``1 <= n <= 16`` -- a table symbol with
  ``cdf[k] = k * 2**(16-n)`` (:func:`decode_bits`).
* 8.2.6 Values and escape -- symbol ``s <= 2R`` is the value ``s - R``; symbol ``2R+1``
  is followed by an Exp-Golomb code of ``u`` (prefix of ``n <= 16`` one-bits and a zero
  bit, then ``bits(n)``), and ``|v| = R + 1 + (u >> 1)``, negative iff ``u`` is odd
  (:func:`decode_value`, :func:`decode_escape`).
* 8.2.7 Termination -- after the last value ``x == L`` and every byte is consumed
  (:func:`finish`).

Why ``x < 2**31`` at initialisation: the encoder's state always lies in
``[L, 2**31)``, and so does the decoder's between symbols once it starts there (8.2.3
maps it below ``freq * 2**15 <= 2**31``; 8.2.4 shifts only states below ``2**23``).
Rejecting ``x >= 2**31`` therefore refuses only streams no encoder can produce, and it
keeps every intermediate value below ``2**32`` (machine integers: int64 here).

The kernels are numba functions that return status codes (``OK`` or one of the
``ERR_*`` constants) and byte positions instead of raising; :func:`decode_stream` and
:func:`decode_streams` turn them into :class:`~refdec.errors.EntropyError`. All kernels
also run as plain Python (``NUMBA_DISABLE_JIT=1``) with identical results: every value
that meets the int32 tables or the uint8 bytes is first widened to int64, so no
arithmetic happens in a narrow NumPy type.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from refdec.errors import EntropyError
from refdec.tables import NUM_TABLES, load_tables

L = 1 << 23
"""Lower bound of the normalised decoder state (WD 8.2.1)."""
STATE_LIMIT = 1 << 31
"""Exclusive upper bound of the state (WD 8.2.1, 8.2.2)."""
PRECISION = 16
"""Frequencies sum to ``2**PRECISION``; the slot is the low ``PRECISION`` bits of x."""
SLOT_MASK = (1 << PRECISION) - 1
MAX_ESCAPE_PREFIX = 16
"""Largest Exp-Golomb prefix length ``n`` (WD 8.2.6)."""

BytesLike = bytes | bytearray | memoryview | np.ndarray
"""A stream: anything exposing its bytes through the buffer protocol."""

OK = 0
ERR_INIT_SHORT = 1
ERR_INIT_STATE = 2
ERR_EXHAUSTED = 3
ERR_ESCAPE_PREFIX = 4
ERR_FINAL_STATE = 5
ERR_TRAILING_BYTES = 6

MESSAGES = {
    ERR_INIT_SHORT: "stream shorter than the 4 bytes of the initial state (WD 8.2.2)",
    ERR_INIT_STATE: "initial state outside [2**23, 2**31) (WD 8.2.2)",
    ERR_EXHAUSTED: "stream ends during renormalisation (WD 8.2.4)",
    ERR_ESCAPE_PREFIX: "Exp-Golomb prefix longer than 16 (WD 8.2.6)",
    ERR_FINAL_STATE: "final state is not 2**23 (WD 8.2.7)",
    ERR_TRAILING_BYTES: "bytes left after the last symbol (WD 8.2.7)",
}
"""Message of each error status."""

CLAUSES = {
    ERR_INIT_SHORT: "8.2.2",
    ERR_INIT_STATE: "8.2.2",
    ERR_EXHAUSTED: "8.2.4",
    ERR_ESCAPE_PREFIX: "8.2.6",
    ERR_FINAL_STATE: "8.2.7",
    ERR_TRAILING_BYTES: "8.2.7",
}
"""Sub-clause whose requirement each error status violates."""


@njit(cache=True)
def init_state(buf: np.ndarray, pos: int, end: int) -> tuple[int, int, int]:
    """WD 8.2.2: read the initial state from ``buf[pos:pos+4]`` (big-endian).

    Returns ``(status, x, pos)``; on error ``pos`` is where the problem lies.
    """
    if end - pos < 4:
        return ERR_INIT_SHORT, np.int64(0), end
    x = np.int64(0)
    for i in range(4):
        x = (x << 8) | np.int64(buf[pos + i])
    if x < L or x >= STATE_LIMIT:
        return ERR_INIT_STATE, x, pos
    return OK, x, pos + 4


@njit(cache=True)
def renormalise(x: int, buf: np.ndarray, pos: int, end: int) -> tuple[int, int, int]:
    """WD 8.2.4: shift bytes into ``x`` until ``x >= L``. Returns ``(status, x, pos)``."""
    while x < L:
        if pos >= end:
            return ERR_EXHAUSTED, x, pos
        x = (x << 8) | np.int64(buf[pos])
        pos += 1
    return OK, x, pos


@njit(cache=True)
def find_symbol(cdf_flat: np.ndarray, start: int, length: int, slot: int) -> int:
    """WD 8.2.3: the ``s`` with ``cdf[s] <= slot < cdf[s+1]``, by bisection.

    ``cdf`` is ``cdf_flat[start:start+length]``; ``cdf[0] = 0 <= slot < 65536 =
    cdf[length-1]`` holds for every table, so the answer always exists.
    """
    lo = 0
    hi = length - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if np.int64(cdf_flat[start + mid]) <= slot:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def decode_table_symbol(x: int, cdf_flat: np.ndarray, start: int, length: int) -> tuple[int, int]:
    """WD 8.2.3: decode one symbol of a table; returns ``(s, x)`` before renormalisation."""
    slot = x & SLOT_MASK
    s = find_symbol(cdf_flat, start, length, slot)
    low = np.int64(cdf_flat[start + s])
    freq = np.int64(cdf_flat[start + s + 1]) - low
    return s, freq * (x >> PRECISION) + slot - low


@njit(cache=True)
def decode_bits(x: int, buf: np.ndarray, pos: int, end: int, n: int) -> tuple[int, int, int, int]:
    """WD 8.2.5: ``bits(n)``, a symbol of ``2**n`` values with frequency ``2**(16-n)`` each.

    Equal to 8.2.3 and 8.2.4 with ``cdf[k] = k * 2**(16-n)``, where the lookup is a
    shift. Returns ``(status, value, x, pos)``.
    """
    shift = PRECISION - n
    freq = np.int64(1) << shift
    slot = x & SLOT_MASK
    value = slot >> shift
    x = freq * (x >> PRECISION) + slot - value * freq
    status, x, pos = renormalise(x, buf, pos, end)
    return status, value, x, pos


@njit(cache=True)
def decode_escape(
    x: int, buf: np.ndarray, pos: int, end: int, radius: int
) -> tuple[int, int, int, int]:
    """WD 8.2.6: the Exp-Golomb code after an escape symbol, and the value it gives.

    Prefix: ``n`` one-bits ended by a zero-bit (each ``bits(1)``), ``n <= 16``; suffix
    ``bits(n)`` (absent for ``n = 0``); ``u = 2**n - 1 + suffix``. Returns
    ``(status, value, x, pos)``.
    """
    n = 0
    while True:
        status, bit, x, pos = decode_bits(x, buf, pos, end, 1)
        if status != OK:
            return status, np.int64(0), x, pos
        if bit == 0:
            break
        n += 1
        if n > MAX_ESCAPE_PREFIX:
            return ERR_ESCAPE_PREFIX, np.int64(0), x, pos
    suffix = np.int64(0)
    if n > 0:
        status, suffix, x, pos = decode_bits(x, buf, pos, end, n)
        if status != OK:
            return status, np.int64(0), x, pos
    u = (np.int64(1) << n) - 1 + suffix
    magnitude = radius + 1 + (u >> 1)
    return OK, -magnitude if u & 1 else magnitude, x, pos


@njit(cache=True)
def decode_value(
    x: int,
    buf: np.ndarray,
    pos: int,
    end: int,
    table: int,
    cdf_flat: np.ndarray,
    cdf_offset: np.ndarray,
    cdf_len: np.ndarray,
    radius: np.ndarray,
) -> tuple[int, int, int, int]:
    """WD 8.2.6: decode one value with table ``table``. Returns ``(status, v, x, pos)``."""
    r = np.int64(radius[table])
    s, x = decode_table_symbol(x, cdf_flat, np.int64(cdf_offset[table]), np.int64(cdf_len[table]))
    status, x, pos = renormalise(x, buf, pos, end)
    if status != OK:
        return status, np.int64(0), x, pos
    if s <= 2 * r:
        return OK, s - r, x, pos
    return decode_escape(x, buf, pos, end, r)


@njit(cache=True)
def finish(x: int, pos: int, end: int) -> tuple[int, int]:
    """WD 8.2.7: the stream must end in state ``L`` with all bytes consumed."""
    if x != L:
        return ERR_FINAL_STATE, pos
    if pos != end:
        return ERR_TRAILING_BYTES, pos
    return OK, pos


@njit(cache=True)
def decode_stream_into(
    buf: np.ndarray,
    start: int,
    end: int,
    table_idx: np.ndarray,
    first: int,
    last: int,
    out: np.ndarray,
    cdf_flat: np.ndarray,
    cdf_offset: np.ndarray,
    cdf_len: np.ndarray,
    radius: np.ndarray,
) -> tuple[int, int]:
    """WD 8.2.1: decode the stream ``buf[start:end]`` into ``out[first:last]``.

    Value ``i`` uses table ``table_idx[i]``. Returns ``(status, pos)`` with ``pos`` an
    index into ``buf`` (where decoding stopped on error, ``end`` on success).
    """
    status, x, pos = init_state(buf, start, end)
    if status != OK:
        return status, pos
    for i in range(first, last):
        status, value, x, pos = decode_value(
            x, buf, pos, end, table_idx[i], cdf_flat, cdf_offset, cdf_len, radius
        )
        if status != OK:
            return status, pos
        out[i] = value
    return finish(x, pos, end)


@njit(cache=True, parallel=True)
def decode_streams_into(
    buf: np.ndarray,
    stream_start: np.ndarray,
    stream_end: np.ndarray,
    table_idx: np.ndarray,
    symbol_offsets: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
    fail_pos: np.ndarray,
    cdf_flat: np.ndarray,
    cdf_offset: np.ndarray,
    cdf_len: np.ndarray,
    radius: np.ndarray,
) -> None:
    """WD 8.2.1 for independent streams (tiles), decoded in parallel.

    Stream ``t`` is ``buf[stream_start[t]:stream_end[t]]`` and decodes into
    ``out[symbol_offsets[t]:symbol_offsets[t+1]]``; its status and stop position go to
    ``status[t]`` and ``fail_pos[t]``. Streams share nothing, so the result does not
    depend on the number of threads.
    """
    for t in prange(len(stream_start)):
        status[t], fail_pos[t] = decode_stream_into(
            buf,
            stream_start[t],
            stream_end[t],
            table_idx,
            symbol_offsets[t],
            symbol_offsets[t + 1],
            out,
            cdf_flat,
            cdf_offset,
            cdf_len,
            radius,
        )


def _check_table_idx(table_idx: np.ndarray) -> np.ndarray:
    """Table indices as contiguous int32 in 0..63 (a caller bug otherwise, not a stream error)."""
    table_idx = np.asarray(table_idx)
    if table_idx.ndim != 1:
        raise ValueError("table_idx must be one-dimensional")
    # Checked before the int32 conversion, which would wrap larger integers.
    if table_idx.size and (table_idx.min() < 0 or table_idx.max() >= NUM_TABLES):
        raise ValueError(f"table indices must lie in 0..{NUM_TABLES - 1}")
    return np.ascontiguousarray(table_idx, dtype=np.int32)


def _as_buffer(data: BytesLike) -> np.ndarray:
    """View of the stream bytes as uint8, as the kernels take them."""
    return np.frombuffer(data, dtype=np.uint8)


def decode_stream(
    stream: BytesLike,
    table_idx: np.ndarray,
    *,
    base_offset: int = 0,
    tile: int | None = None,
) -> np.ndarray:
    """Decode one rANS stream (WD 8.2) into ``len(table_idx)`` values (int32).

    Raises :class:`EntropyError` if the stream does not conform; its ``offset`` is
    ``base_offset`` plus the position in ``stream`` where the problem was found, and
    ``tile`` is passed through for the message.
    """
    tables = load_tables()
    table_idx = _check_table_idx(table_idx)
    buf = _as_buffer(stream)
    out = np.zeros(len(table_idx), dtype=np.int32)
    status, pos = decode_stream_into(
        buf,
        0,
        len(buf),
        table_idx,
        0,
        len(table_idx),
        out,
        tables.cdf_flat,
        tables.cdf_offset,
        tables.cdf_len,
        tables.radius,
    )
    if status != OK:
        raise EntropyError(
            MESSAGES[status], offset=base_offset + int(pos), tile=tile, clause=CLAUSES[status]
        )
    return out


def decode_streams(
    buf: BytesLike,
    stream_offsets: np.ndarray,
    stream_lengths: np.ndarray,
    table_idx: np.ndarray,
    symbol_offsets: np.ndarray,
    *,
    base_offset: int = 0,
) -> np.ndarray:
    """Decode independent streams (tiles) in parallel (WD 8.2, 8.1).

    Stream ``t`` is ``buf[stream_offsets[t] : stream_offsets[t] + stream_lengths[t]]``;
    its values use the table indices ``table_idx[symbol_offsets[t]:symbol_offsets[t+1]]``
    (``symbol_offsets`` has one entry more than there are streams) and are returned at
    the same places of the flat int32 result. If streams fail, :class:`EntropyError` is
    raised for the lowest-numbered one (``tile = t``, ``offset = base_offset`` + its
    position in ``buf``), whatever the thread count.
    """
    tables = load_tables()
    table_idx = _check_table_idx(table_idx)
    data = _as_buffer(buf)
    start = np.ascontiguousarray(stream_offsets, dtype=np.int64)
    end = start + np.ascontiguousarray(stream_lengths, dtype=np.int64)
    sym = np.ascontiguousarray(symbol_offsets, dtype=np.int64)
    n = len(start)
    if start.shape != (n,) or end.shape != (n,) or sym.shape != (n + 1,):
        raise ValueError("need n stream offsets, n lengths and n + 1 symbol offsets")
    if n and (start.min() < 0 or (end < start).any() or end.max() > len(data)):
        raise ValueError("streams must lie inside buf")
    if sym[0] != 0 or sym[-1] != len(table_idx) or (np.diff(sym) < 0).any():
        raise ValueError("symbol_offsets must rise from 0 to len(table_idx)")
    out = np.zeros(len(table_idx), dtype=np.int32)
    status = np.zeros(n, dtype=np.int64)
    fail_pos = np.zeros(n, dtype=np.int64)
    decode_streams_into(
        data,
        start,
        end,
        table_idx,
        sym,
        out,
        status,
        fail_pos,
        tables.cdf_flat,
        tables.cdf_offset,
        tables.cdf_len,
        tables.radius,
    )
    failed = np.flatnonzero(status)
    if failed.size:
        t = int(failed[0])
        code = int(status[t])
        raise EntropyError(
            MESSAGES[code], offset=base_offset + int(fail_pos[t]), tile=t, clause=CLAUSES[code]
        )
    return out
