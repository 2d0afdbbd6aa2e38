"""PSNR of prefix decoding (WD 8.1.2) against the fraction of the codestream read.

    python tools/progressive.py ../shared/data/kodak/kodim01.png --quality 200 --groups 4 \
        --figure docs/figures/progressive.png

Encodes the picture with ``--groups`` channel groups, then decodes every prefix that
ends at a segment boundary (and the whole codestream) and prints a reStructuredText
table: bytes, fraction of the file, channel groups decoded, PSNR-RGB. ``--table``
also writes the table, after a sentence that sums it up, to a file that
``docs/progressive.rst`` includes; ``--figure`` draws the decoded prefixes side by side
(the region ``--crop``, at full size). ``scripts/ship-model.sh`` runs both.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

import refdec
from encoder import encode, read_image
from openlic.bench.compare import draw_panels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("--quality", type=int, default=200)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--table", help="also write the table (reStructuredText) to this file")
    ap.add_argument("--figure", help="also write the decoded prefixes as a picture strip")
    ap.add_argument(
        "--crop",
        type=int,
        nargs=4,
        default=(0, 0, 256, 256),
        metavar=("X", "Y", "W", "H"),
        help="region of the picture the figure shows (default: the top left 256 x 256)",
    )
    args = ap.parse_args(argv)
    image, depth = read_image(args.image)
    data = encode(image, bit_depth=depth, quality=args.quality, channel_groups=args.groups)
    # Every prefix ending after a segment, from the ZS on (PH and ZS are required, 5.5).
    ends = [s["end"] for s in refdec.info(data)["segments"]][1:]
    print(f"{args.image}, quality {args.quality}, {len(data)} bytes, {args.groups} groups\n")
    rule = "=======  ========  ======  ========="
    table = [rule, "bytes    fraction  groups  PSNR (dB)", rule]
    panels, psnrs = [], {}  # PSNR by groups decoded, of the first prefix that has them
    for n in sorted(set(ends)):
        pic = refdec.decode(data, max_bytes=n)
        mse = np.mean((pic.samples.astype(np.float64) - image) ** 2)
        psnr = 10 * math.log10(255**2 / mse)
        table.append(f"{n:<7}  {n / len(data):<8.3f}  {pic.groups_decoded:<6}  {psnr:.2f}")
        psnrs.setdefault(pic.groups_decoded, (n, psnr))
        final = psnr  # of the whole codestream, the last prefix (with its OF segment)
        caption = f"{n:,} bytes ({n / len(data):.0%})\n{groups(pic.groups_decoded)}, {psnr:.2f} dB"
        if panels and np.array_equal(panels[-1][0], pic.samples):
            panels.pop()  # the file without its EOC segment decodes as the whole file
        panels.append((pic.samples, caption))
    table.append(rule)
    print("\n".join(table))
    if args.table:
        height, width = image.shape[:2]
        summary = (
            f"The picture is {width} x {height} and the whole codestream {len(data):,} bytes "
            f"({8 * len(data) / (width * height):.2f} bpp) at quality {args.quality}, in "
            f"{groups(args.groups)}"
        )
        if 1 in psnrs:
            n, first = psnrs[1]
            summary += (
                f"; the first {100 * n / len(data):.0f} % of the file, up to the end of the first "
                f"group, gives {first:.2f} dB of the final {final:.2f} dB"
            )
        Path(args.table).write_text(f"{summary}.\n\n" + "\n".join(table) + "\n")
    if args.figure:
        # One row: the distinct decodings, then the original.
        draw_panels([*panels, (image, "original")], args.crop, args.figure, columns=len(panels) + 1)
    return 0


def groups(n: int) -> str:
    return f"{n} group" if n == 1 else f"{n} groups"


if __name__ == "__main__":
    raise SystemExit(main())
