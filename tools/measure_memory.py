"""Peak resident memory of decoding a large picture (issue: bounded decoder memory).

Builds a synthetic SIZE x SIZE codestream for the shipped parameter set (random
residuals, no analysis transform needed), then decodes it in a fresh process and
reports the peak resident set size against the size of the output sample buffer.

    python tools/measure_memory.py --size 8192
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_codestream(size: int, quality: int, seed: int) -> bytes:
    from encoder.pipeline import Analysis, _codestream, load_codec
    from refdec.hyper import hyper_synthesis

    codec = load_codec()
    p = codec.params
    hy = wy = math.ceil(size / 16)
    hz = wz = math.ceil(hy / 4)
    rng = np.random.default_rng(seed)
    z_hat = rng.integers(-2, 3, (p.mz, hz, wz)).astype(np.int32)
    mean_fp, ls_fp = hyper_synthesis(z_hat, p, hy, wy)
    y = rng.standard_normal((p.m, hy, wy))
    a = Analysis(size, size, y, z_hat, mean_fp, ls_fp)
    data, _ = _codestream(codec, a, quality, 8, 5, 2)
    return data


def peak_rss() -> int:
    """VmHWM of this process in bytes (reset by exec, unlike ru_maxrss, which a child
    inherits from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def decode_child(path: str) -> None:
    import refdec

    data = Path(path).read_bytes()
    t = time.perf_counter()
    pic = refdec.decode(data)
    dt = time.perf_counter() - t
    print(f"{pic.samples.nbytes} {peak_rss()} {dt:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--quality", type=int, default=128)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        decode_child(args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.olic"
        path.write_bytes(make_codestream(args.size, args.quality, 0))
        size = path.stat().st_size
        base = subprocess.run(
            [
                sys.executable,
                "-c",
                "import refdec, sys; sys.path.insert(0, sys.argv[1]); "
                "import measure_memory; print(measure_memory.peak_rss())",
                str(Path(__file__).parent),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    samples, peak, seconds = out.stdout.split()
    samples, peak, base_rss = int(samples), int(peak), int(base.stdout)
    mib = 2**20
    print(f"picture {args.size}x{args.size}, quality {args.quality}, {size} bytes")
    print(f"output sample buffer   {samples / mib:8.1f} MiB")
    print(
        f"peak RSS of the decode {peak / mib:8.1f} MiB (after importing refdec: "
        f"{base_rss / mib:.1f} MiB)"
    )
    print(
        f"bound 3 x samples + 256 MiB = {(3 * samples + 256 * mib) / mib:.1f} MiB: "
        f"{'met' if peak <= 3 * samples + 256 * mib else 'NOT met'}"
    )
    print(f"decode time {seconds} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
