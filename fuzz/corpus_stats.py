"""What the inputs of a codestream corpus do: the outcome of ``refdec.decode`` (with the
tiny model) for each, counted by error class, and the WD clauses reached.

    python fuzz/corpus_stats.py /tmp/openlic-fuzz/corpus/decode [more folders]

It shows how deep a corpus reaches: a corpus whose inputs all fail at the signature
or the checksums tests little beyond WD 5.2. Inputs declaring more than
``common.MAX_SAMPLES`` samples are counted apart (fuzz_decode does not decode them).
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.configure(jit=True)

import refdec  # noqa: E402
from refdec.codestream import parse_codestream  # noqa: E402
from refdec.errors import DecodeError  # noqa: E402


def outcome(data: bytes) -> str:
    try:
        hdr = parse_codestream(data, max_bytes=len(data)).header
    except DecodeError as e:
        return f"parse: {type(e).__name__} (WD {e.clause})"
    if hdr.width * hdr.height > common.MAX_SAMPLES:
        return "not decoded: above the size cap"
    try:
        refdec.decode(data, params_path=common.TINY_PARAMS)
    except DecodeError as e:
        return f"decode: {type(e).__name__} (WD {e.clause})"
    return "decoded"


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    for folder in sys.argv[1:]:
        for path in sorted(Path(folder).iterdir()):
            counts[outcome(path.read_bytes())] += 1
    total = sum(counts.values())
    for what, n in counts.most_common():
        print(f"{n:6d}  {100 * n / total:5.1f}%  {what}")
    print(f"{total:6d}  inputs")


if __name__ == "__main__":
    main()
