"""Replay corpora without atheris and count what their inputs do.

    python fuzz/corpus_stats.py /tmp/openlic-fuzz/corpus/decode [more folders]
    python fuzz/corpus_stats.py --entropy /tmp/openlic-fuzz/corpus/entropy

For codestreams: the outcome of parsing, ``refdec.info`` and ``refdec.decode`` (whole
and as the prefix the harnesses try, with the tiny model), counted by the error class
and WD clause of the whole decode. It shows how deep a corpus reaches: one whose
inputs all fail at the signature or the checksums tests little beyond WD 5.2. Inputs
declaring more than ``common.MAX_SAMPLES`` samples are parsed only, as in fuzz_decode.
With ``--entropy``: the outcome of each stream of fuzz_entropy inputs.

``--no-jit`` runs the numba kernels as plain Python, for line coverage of the corpora::

    NUMBA_DISABLE_JIT=1 coverage run --include='refdec/*' fuzz/corpus_stats.py --no-jit DIR
    coverage report
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def codestream_outcome(data: bytes) -> str:
    import refdec
    from refdec.codestream import parse_codestream
    from refdec.errors import DecodeError

    try:
        refdec.info(data)
    except DecodeError:
        pass
    try:
        hdr = parse_codestream(data, max_bytes=len(data)).header
    except DecodeError as e:
        return f"parse: {type(e).__name__} (WD {e.clause})"
    if hdr.width * hdr.height > common.MAX_SAMPLES:
        return "not decoded: above the size cap"
    try:
        refdec.decode(data, max_bytes=len(data) * data[-1] // 255, params_path=common.TINY_PARAMS)
    except DecodeError:
        pass
    try:
        refdec.decode(data, params_path=common.TINY_PARAMS)
    except DecodeError as e:
        return f"decode: {type(e).__name__} (WD {e.clause})"
    return "decoded"


def entropy_outcomes(data: bytes) -> list[str]:
    import numpy as np

    from refdec.entropy import decode_stream
    from refdec.errors import EntropyError

    parsed = common.parse_entropy_input(data)
    if parsed is None:
        return ["no stream"]
    tables, streams = parsed
    out = []
    for s, (n, stream) in enumerate(streams):
        idx = np.array([tables[(s + j) % len(tables)] for j in range(n)], np.int32)
        try:
            decode_stream(stream, idx)
        except EntropyError as e:
            out.append(f"EntropyError (WD {e.clause}): {e.message}")
        else:
            out.append(f"decoded ({'no values' if n == 0 else 'values'})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--entropy", action="store_true", help="fuzz_entropy inputs")
    ap.add_argument("--no-jit", action="store_true", help="numba kernels as plain Python")
    args = ap.parse_args()
    common.configure(jit=not args.no_jit)
    counts: collections.Counter[str] = collections.Counter()
    for folder in args.folders:
        for path in sorted(folder.iterdir()):
            data = path.read_bytes()
            if args.entropy:
                counts.update(entropy_outcomes(data))
            else:
                counts[codestream_outcome(data)] += 1
    total = sum(counts.values())
    for what, n in counts.most_common():
        print(f"{n:6d}  {100 * n / total:5.1f}%  {what}")
    print(f"{total:6d}  {'streams' if args.entropy else 'inputs'}")


if __name__ == "__main__":
    main()
