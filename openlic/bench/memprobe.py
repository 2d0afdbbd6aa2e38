"""Peak resident memory of decoding or encoding, measured in a fresh process.

``python -m openlic.bench.memprobe decode FILE.olic ...`` imports refdec only (no
PyTorch), notes the resident set size, decodes every file and prints one JSON line:
``{"baseline_mib": ..., "peak_mib": ..., "seconds": ...}``, the peak resident set
size after the imports and at the end, and the time of the decoding or encoding.
``... encode --quality Q PICTURE.png ...`` does the same for the encoder (with
PyTorch). Used by :mod:`openlic.bench.speed`.
The peak is Linux's ``VmHWM`` (``ru_maxrss`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def _peak_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's ``VmHWM`` belongs to the process's own memory map; ``ru_maxrss`` would
    also count the memory of the parent at the time it forked this process.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m openlic.bench.memprobe")
    ap.add_argument("what", choices=("decode", "encode"))
    ap.add_argument("files", nargs="+")
    ap.add_argument("--quality", type=int, default=None)
    ap.add_argument("--params", default=None)
    ap.add_argument("--refine", type=int, default=None, help="default: the encoder's")
    args = ap.parse_args(argv)
    if args.what == "decode":
        import refdec

        baseline = _peak_mib()
        start = time.perf_counter()
        kwargs = {"params_path": args.params} if args.params else {}
        for f in args.files:
            with open(f, "rb") as fh:
                refdec.decode(fh.read(), **kwargs)
    else:
        import encoder
        from encoder.pipeline import load_codec

        baseline = _peak_mib()
        start = time.perf_counter()
        codec = load_codec(None if args.params is None else Path(args.params))
        kwargs = {} if args.quality is None else {"quality": args.quality}
        if args.refine is not None:
            kwargs["refine_iterations"] = args.refine
        for f in args.files:
            image, bit_depth = encoder.read_image(f)
            encoder.encode_detailed(image, bit_depth=bit_depth, codec=codec, **kwargs)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "baseline_mib": round(baseline, 1),
                "peak_mib": round(_peak_mib(), 1),
                "seconds": round(seconds, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
