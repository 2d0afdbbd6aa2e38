"""Command line: ``python -m crosscheck IN.olic OUT.npy [--max-bytes N]``.

Writes the decoded samples as an H x W x 3 integer array (.npy). With ``--max-bytes N``
the first N bytes of IN are decoded as a prefix codestream (WD 5.5). A codestream that the
decoder rejects gives one line on standard error, no output file and exit status 1.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import DecodeError, decode


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m crosscheck", description=__doc__)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        help="decode the longest prefix codestream within the first N bytes",
    )
    args = ap.parse_args(argv)
    try:
        with open(args.input, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"crosscheck: cannot read {args.input}: {e.strerror}", file=sys.stderr)
        return 2
    prefix = args.max_bytes is not None
    if prefix:
        data = data[: args.max_bytes]
    try:
        samples, _ = decode(data, prefix=prefix)
    except DecodeError as e:
        print(f"crosscheck: rejected: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as f:  # np.save(path) would append ".npy"
        np.save(f, samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
