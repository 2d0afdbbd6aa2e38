"""PSNR of prefix decoding (WD 8.1.2) against the fraction of the codestream read.

    python tools/progressive.py ../shared/data/kodak/kodim01.png --quality 200 --groups 4

Encodes the picture with ``--groups`` channel groups, then decodes every prefix that
ends at a segment boundary (and the whole codestream) and prints a reStructuredText
table: bytes, fraction of the file, channel groups decoded, PSNR-RGB.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import refdec
from encoder import encode, read_image


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("--quality", type=int, default=200)
    ap.add_argument("--groups", type=int, default=4)
    args = ap.parse_args()
    image, depth = read_image(args.image)
    data = encode(image, bit_depth=depth, quality=args.quality, channel_groups=args.groups)
    # Every prefix ending after a segment, from the ZS on (PH and ZS are required, 5.5).
    ends = [s["offset"] + s["length"] + 10 for s in refdec.info(data)["segments"]][1:]
    print(f"{args.image}, quality {args.quality}, {len(data)} bytes, {args.groups} groups\n")
    print("=======  ========  ======  =========")
    print("bytes    fraction  groups  PSNR (dB)")
    print("=======  ========  ======  =========")
    for n in sorted(set(ends)):
        pic = refdec.decode(data, max_bytes=n)
        mse = np.mean((pic.samples.astype(np.float64) - image) ** 2)
        psnr = 10 * math.log10(255**2 / mse)
        print(f"{n:<7}  {n / len(data):<8.3f}  {pic.groups_decoded:<6}  {psnr:.2f}")
    print("=======  ========  ======  =========")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
