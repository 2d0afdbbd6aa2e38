"""Fuzz the rANS decoder of WD 8.2 (refdec.entropy), pure Python.

    python fuzz/fuzz_entropy.py fuzz/corpus/entropy -max_len=4096 -timeout=10

Input format (big-endian)::

    u8   S - 1          number of streams S = 1 + (byte & 3)
    u8   K - 1          number of table indices K (1 to 256)
    u8   table[K]       table indices (each taken modulo 64)
    S times:
        u8   N          number of values of the stream
        u16  length     stream bytes (fewer if the input ends)
        u8   stream[length]

Value ``j`` of stream ``s`` uses ``table[(s + j) % K]``. One stream is decoded with
``decode_stream``, several with ``decode_streams`` (the tile decoder), and each of them
alone as well. Oracles: the only exception is EntropyError; ``decode_streams`` fails
exactly when some stream fails alone, and names the lowest such stream (``tile``) with
the offset it has alone; a stream that decodes re-encodes (encoder/rans.py) to exactly
its bytes, since rANS with these bounds is a bijection.

numba's JIT is disabled (``NUMBA_DISABLE_JIT=1``): the kernels run as plain Python,
which atheris can instrument (compiled kernels are opaque to coverage) and where every
array access is bounds-checked. The results are identical (tests/test_exactness.py).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.configure(jit=False)

import atheris  # noqa: E402
import numpy as np  # noqa: E402

with atheris.instrument_imports(include=["refdec"]):
    from refdec.entropy import decode_stream, decode_streams
    from refdec.errors import EntropyError

# encoder/rans.py alone, without the encoder package (which imports torch).
_spec = importlib.util.spec_from_file_location("_rans", common.ROOT / "encoder" / "rans.py")
rans = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rans)


def TestOneInput(data: bytes) -> None:
    parsed = common.parse_entropy_input(data)
    if parsed is None:
        return
    tables, streams = parsed
    alone = []  # per stream: values or the EntropyError
    idx_all = []
    for s, (n, stream) in enumerate(streams):
        idx = np.array([tables[(s + j) % len(tables)] for j in range(n)], np.int32)
        idx_all.append(idx)
        try:
            values = decode_stream(stream, idx, base_offset=1000, tile=s)
        except EntropyError as e:
            assert e.tile == s and 1000 <= e.offset <= 1000 + len(stream), e
            alone.append(e)
            continue
        assert values.shape == (n,) and values.dtype == np.int32
        assert rans.encode(values, idx) == stream, "a decodable stream is not canonical"
        alone.append(values)
    buf = b"".join(stream for _, stream in streams)
    lengths = np.array([len(stream) for _, stream in streams], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    counts = np.array([len(i) for i in idx_all], np.int64)
    symbol_offsets = np.concatenate([[0], np.cumsum(counts)])
    try:
        values = decode_streams(
            buf, offsets, lengths, np.concatenate(idx_all), symbol_offsets, base_offset=1000
        )
    except EntropyError as e:
        first = next(s for s, r in enumerate(alone) if isinstance(r, EntropyError))
        assert e.tile == first, (e, first)
        assert e.offset - 1000 - offsets[first] == alone[first].offset - 1000, e
        assert str(e).split(": ", 1)[1] == str(alone[first]).split(": ", 1)[1]
    else:
        assert not any(isinstance(r, EntropyError) for r in alone)
        assert np.array_equal(values, np.concatenate([np.asarray(r) for r in alone]))


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
