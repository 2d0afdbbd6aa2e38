"""Shared by the atheris harnesses of fuzz/ (see fuzz/README.md).

Nothing here imports refdec or numba: :func:`configure` must run first, because numba
reads its environment variables (``NUMBA_DISABLE_JIT``, ``NUMBA_BOUNDSCHECK``,
``NUMBA_CACHE_DIR``) when it is imported.
"""

from __future__ import annotations

import os
import random
import struct
import sys
import zlib
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
ROOT = FUZZ_DIR.parent
CORPUS_DIR = FUZZ_DIR / "corpus"
"""Seed corpora, one folder per harness, written by build_corpus.py (not committed)."""
TINY_PARAMS = FUZZ_DIR / "work" / "tiny.olp"
"""The tiny random model of tests/conftest.py, exported by build_corpus.py."""

SIGNATURE = b"\x89OLIC\r\n\x1a"
MARKER = 2  # marker u(16), then length leb128() (WD 4.4, 5.2)
CRC = 4
PH_MARKER, ZS_MARKER, YS_MARKER, EOC_MARKER, COM_MARKER = 0xFF01, 0xFF02, 0xFF03, 0xFF0F, 0xFF80

MAX_LEN = 4096
"""Longest input the harnesses are run with (``-max_len``); seeds are far shorter."""
MAX_SAMPLES = 128 * 128
"""Size cap of fuzz_decode: a codestream declaring a larger picture (any level) is only
parsed, not decoded, so that every input decodes in milliseconds. The level checks
themselves are exercised by every input (they run inside the parse)."""


def configure(*, jit: bool) -> None:
    """Set numba's environment before anything imports it.

    ``jit=False``: the numba kernels run as plain Python (identical results, a test pins
    it), so atheris can instrument them and every array access is bounds-checked by
    NumPy. ``jit=True``: the compiled kernels run, with numba's bounds checking on, and
    compile into a cache under /tmp so that the project's own cache is not touched.
    """
    os.environ["NUMBA_DISABLE_JIT"] = "0" if jit else "1"
    os.environ["NUMBA_NUM_THREADS"] = "1"
    if jit:
        os.environ["NUMBA_BOUNDSCHECK"] = "1"
        os.environ.setdefault("NUMBA_CACHE_DIR", "/tmp/openlic-fuzz/numba-cache")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def leb128(value: int) -> bytes:
    """``value`` as a ``leb128()`` of the fewest bytes (WD 4.4)."""
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value >> 7 else 0))
        value >>= 7
        if not value:
            return bytes(out)


def read_leb128(data: bytes, pos: int) -> tuple[int, int] | None:
    """``(value, bytes)`` of the ``leb128()`` at ``pos``, or None if it has no end within
    ``data`` and 5 bytes."""
    value = 0
    for i in range(min(5, len(data) - pos)):
        value |= (data[pos + i] & 0x7F) << (7 * i)
        if data[pos + i] < 0x80:
            return value, i + 1
    return None


def segments(data: bytes) -> list[tuple[int, int, int, int]]:
    """``(offset, marker, head bytes, payload length)`` of each complete segment frame
    after the signature, however wrong the markers, orders or CRCs are."""
    out = []
    pos = len(SIGNATURE)
    while pos + MARKER < len(data):
        leb = read_leb128(data, pos + MARKER)
        if leb is None:
            break
        length, head = leb[0], MARKER + leb[1]
        if pos + head + length + CRC > len(data):
            break
        out.append((pos, int.from_bytes(data[pos : pos + MARKER], "big"), head, length))
        pos += head + length + CRC
    return out


def fix_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every complete segment frame recomputed (WD 5.2), so
    that mutations reach the checks behind the checksum."""
    out = bytearray(data)
    for pos, _, head, length in segments(data):
        end = pos + head + length
        struct.pack_into(">I", out, end, zlib.crc32(out[pos:end]))
    return bytes(out)


def segment(marker: int, payload: bytes) -> bytes:
    body = struct.pack(">H", marker) + leb128(len(payload)) + payload
    return body + struct.pack(">I", zlib.crc32(body))


_PH_FIELDS = (  # (offset in the PH payload, size, interesting values)
    (0, 1, (0, 1, 2, 255)),  # version_major
    (1, 1, (0, 1, 255)),  # version_minor
    (2, 1, (0, 1, 2, 255)),  # profile_idc
    (3, 1, (0, 1, 2, 3, 4, 255)),  # level_idc
    (4, 2, (0, 1, 15, 16, 63, 64, 127, 4095, 4096, 8191, 16383, 65535)),  # width_minus1
    (6, 2, (0, 1, 15, 16, 63, 64, 127, 4095, 4096, 8191, 16383, 65535)),  # height_minus1
    (8, 1, (0, 7, 8, 9, 10, 16, 255)),  # bit_depth
    (11, 1, (0, 1, 255)),  # matrix_coefficients
    (12, 1, (0, 1, 2, 127, 255)),  # quality
    (13, 1, (0, 1, 2, 3, 8, 9, 255)),  # tile_size_log2
    (14, 1, (0, 1, 2, 3, 4, 8, 16, 128, 255)),  # num_channel_groups
    (15, 1, (0, 1, 2, 3, 255)),  # hyper_step_log2
)


def structured_mutation(data: bytes, rng: random.Random) -> bytes:
    """One codestream-aware mutation: drop, duplicate, swap or insert a segment, set a
    picture header field to a boundary value, or change a YS tile_size."""
    segs = segments(data)
    if not segs:
        return data
    pieces = [data[p : p + h + n + CRC] for p, _, h, n in segs]
    tail = data[segs[-1][0] + segs[-1][2] + segs[-1][3] + CRC :]
    op = rng.randrange(7)
    i = rng.randrange(len(pieces))
    if op == 0 and len(pieces) > 1:
        del pieces[i]
    elif op == 1:
        pieces.insert(rng.randrange(len(pieces) + 1), pieces[i])
    elif op == 2:
        j = rng.randrange(len(pieces))
        pieces[i], pieces[j] = pieces[j], pieces[i]
    elif op == 3:
        marker = rng.choice((COM_MARKER, 0xFFAB, 0xFFFE, 0xFF00, 0xFF04, 0xFFFF, EOC_MARKER))
        new = segment(marker, rng.randbytes(rng.randrange(8)))
        pieces.insert(rng.randrange(len(pieces) + 1), new)
    elif op in (4, 5):
        ph = [k for k, (_, m, _, n) in enumerate(segs) if m == PH_MARKER and n >= 16]
        if ph:
            k = ph[0]
            head = segs[k][2]
            off, size, values = rng.choice(_PH_FIELDS)
            piece = bytearray(pieces[k])
            piece[head + off : head + off + size] = rng.choice(values).to_bytes(size, "big")
            pieces[k] = bytes(piece)
    else:
        ys = [k for k, (_, m, _, n) in enumerate(segs) if m == YS_MARKER and n >= 2]
        if ys:
            # Replace one of the first tile_size fields (leb128(), WD 6.5) by a boundary
            # value, or by an element of 5 bytes whose fifth byte is out of range.
            k = rng.choice(ys)
            _, marker, head, _ = segs[k]
            payload = bytearray(pieces[k][head:-CRC])
            at = 1
            for _ in range(rng.randrange(16)):
                leb = read_leb128(payload, at)
                if leb is None or at + leb[1] >= len(payload):
                    break
                at += leb[1]
            leb = read_leb128(payload, at)
            if leb is not None:
                old = leb[0]
                new = rng.choice((0, 1, 3, 4, old - 1, old + 1, 0xFFFFFFFF)) & 0xFFFFFFFF
                value = rng.choice((leb128(new), b"\x80\x80\x80\x80\x10"))
                payload[at : at + leb[1]] = value
                pieces[k] = segment(marker, bytes(payload))
    return data[: len(SIGNATURE)] + b"".join(pieces) + tail


def codestream_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """atheris custom mutator: libFuzzer's byte mutations or a structured one, then
    (seven times in eight) the CRCs repaired, so that most inputs pass the checksums
    and reach the checks of WD 5.3 to 8; the rest keep testing the checksums."""
    import atheris

    rng = random.Random(seed)
    if rng.randrange(4) == 0:
        data = structured_mutation(data, rng)
    else:
        data = atheris.Mutate(data, max_size)
    if rng.randrange(8):
        data = fix_crcs(data)
    return data[:max_size]


def parse_entropy_input(data: bytes) -> tuple[list[int], list[tuple[int, bytes]]] | None:
    """The table indices and ``(number of values, stream)`` pairs of an input of
    fuzz_entropy.py (format in its docstring); None if it has none."""
    if len(data) < 2:
        return None
    n_streams, n_tables = 1 + (data[0] & 3), 1 + data[1]
    tables = [t % 64 for t in data[2 : 2 + n_tables]]
    if not tables:
        return None
    pos = 2 + n_tables
    streams = []
    for _ in range(n_streams):
        if pos + 3 > len(data):
            break
        n, length = struct.unpack_from(">BH", data, pos)
        pos += 3
        streams.append((n, data[pos : pos + length]))
        pos += length
    return (tables, streams) if streams else None
