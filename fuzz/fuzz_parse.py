"""Fuzz the codestream parser: signature, segment framing and CRCs, segment order,
picture header, profile and level, YS heads (WD 5 to 7, Annex A), and ``refdec.info``.

    python fuzz/fuzz_parse.py fuzz/corpus/parse -max_len=4096 -timeout=10

The input is a codestream. A custom mutator repairs the segment CRCs of most mutants
(fuzz/common.py), so that they reach the checks behind the checksums. Every input is
parsed whole, as a prefix (``max_bytes`` derived from its last byte) and by
``refdec.info``; the only exception allowed is DecodeError. Parsing never runs a numba
kernel, so numba's JIT is disabled and every refdec module is instrumented.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.configure(jit=False)

import atheris  # noqa: E402

with atheris.instrument_imports(include=["refdec"]):
    import refdec
    from refdec.codestream import parse_codestream, split_segments
    from refdec.errors import DecodeError


def prefix_length(data: bytes) -> int:
    """A prefix length derived from the input, so that crashes reproduce from the file."""
    return len(data) * data[-1] // 255 if data else 0


def TestOneInput(data: bytes) -> None:
    whole = None
    try:
        whole = parse_codestream(data)
    except DecodeError:
        pass
    try:
        split_segments(data, allow_prefix=True)
    except DecodeError:
        pass
    try:
        prefix = parse_codestream(data, max_bytes=prefix_length(data))
        # WD 5.5: a prefix holds the first groups of the whole codestream.
        if whole is not None:
            assert prefix.header == whole.header
            assert prefix.groups == whole.groups[: len(prefix.groups)]
    except DecodeError:
        pass
    try:
        refdec.info(data)
    except DecodeError:
        if whole is not None:
            raise
    else:
        assert whole is not None, "info accepted a codestream that the parser refuses"


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput, custom_mutator=common.codestream_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
