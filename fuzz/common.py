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
HEAD = 6  # marker u(16) + length u(32)
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


def segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(offset, marker, payload length)`` of each complete segment frame after the
    signature, however wrong the markers, orders or CRCs are."""
    out = []
    pos = len(SIGNATURE)
    while pos + HEAD + CRC <= len(data):
        marker, length = struct.unpack_from(">HI", data, pos)
        if pos + HEAD + length + CRC > len(data):
            break
        out.append((pos, marker, length))
        pos += HEAD + length + CRC
    return out


def fix_crcs(data: bytes) -> bytes:
    """``data`` with the CRC of every complete segment frame recomputed (WD 5.2), so
    that mutations reach the checks behind the checksum."""
    out = bytearray(data)
    for pos, _, length in segments(data):
        end = pos + HEAD + length
        struct.pack_into(">I", out, end, zlib.crc32(out[pos:end]))
    return bytes(out)


def segment(marker: int, payload: bytes) -> bytes:
    body = struct.pack(">HI", marker, len(payload)) + payload
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
    pieces = [data[p : p + HEAD + n + CRC] for p, _, n in segs]
    tail = data[segs[-1][0] + HEAD + segs[-1][2] + CRC :]
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
        ph = [k for k, (_, m, n) in enumerate(segs) if m == PH_MARKER and n >= 16]
        if ph:
            k = ph[0]
            off, size, values = rng.choice(_PH_FIELDS)
            piece = bytearray(pieces[k])
            piece[HEAD + off : HEAD + off + size] = rng.choice(values).to_bytes(size, "big")
            pieces[k] = bytes(piece)
    else:
        ys = [k for k, (_, m, n) in enumerate(segs) if m == YS_MARKER and n >= 5]
        if ys:
            k = rng.choice(ys)
            piece = bytearray(pieces[k])
            n_words = (len(piece) - HEAD - CRC - 1) // 4
            at = HEAD + 1 + 4 * rng.randrange(max(1, min(n_words, 16)))
            old = int.from_bytes(piece[at : at + 4], "big")
            new = rng.choice((0, 1, 3, 4, old - 1, old + 1, 0xFFFFFFFF)) & 0xFFFFFFFF
            piece[at : at + 4] = new.to_bytes(4, "big")
            pieces[k] = bytes(piece)
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
