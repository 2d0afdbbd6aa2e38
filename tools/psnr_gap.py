"""Where a curve wins and loses against an anchor: the quality gap at the anchor's rates.

    python tools/psnr_gap.py [RD_JSON] [--test openlic] [--anchor jpeg2000]
        [--metric psnr_rgb] [--pictures]

For every picture of an ``openlic bench rd`` result (default ``docs/results/rd.json``)
and every point of the anchor's curve on that picture, the test curve's quality at the
same rate (PCHIP in log rate on the picture's own test curve,
:func:`openlic.bench.bdrate.quality_at_rate`) minus the anchor's: positive where the
test curve is better. Prints, per parameter of the anchor, the mean gap over the
pictures whose test curve reaches that rate, and the worst and best picture; with
``--pictures``, each picture's mean gap over its rates. A BD-rate summarises the whole
curve in one number; this shows at which rates and on which pictures it is won or lost.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from openlic.bench.bdrate import quality_at_rate

METRICS = ("psnr_rgb", "psnr_ycbcr", "msssim")


def gaps(rd: dict, test: str, anchor: str, metric: str) -> dict[str, dict[float, float]]:
    """Per picture: anchor parameter -> test quality minus anchor quality at the
    anchor's rate on that picture (absent where the test curve does not reach it)."""
    col = rd["per_image_columns"].index(metric)
    pixels = {p["name"]: p["width"] * p["height"] for p in rd["pictures"]}
    out: dict[str, dict[float, float]] = {}
    for name, rows in rd["per_image"][anchor].items():
        t = rd["per_image"][test][name]
        rates, quality = [r[1] / pixels[name] for r in t], [r[col] for r in t]
        out[name] = {}
        for row in rows:
            q = quality_at_rate(rates, quality, row[1] / pixels[name])
            if q is not None:
                out[name][row[0]] = q - row[col]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("rd_json", nargs="?", type=Path, default=Path("docs/results/rd.json"))
    ap.add_argument("--test", default="openlic", help="test curve (default openlic)")
    ap.add_argument("--anchor", default="jpeg2000", help="anchor curve (default jpeg2000)")
    ap.add_argument("--metric", default="psnr_rgb", choices=METRICS)
    ap.add_argument("--pictures", action="store_true", help="also each picture's mean gap")
    args = ap.parse_args()
    rd = json.loads(args.rd_json.read_text())
    for curve in (args.test, args.anchor):
        if curve not in rd["per_image"]:
            ap.error(f"no curve '{curve}' in {args.rd_json} ({', '.join(rd['per_image'])})")
    g = gaps(rd, args.test, args.anchor, args.metric)
    label = rd["codecs"].get(args.anchor, {}).get("param_name", "parameter")
    print(f"{args.test} minus {args.anchor}, {args.metric}, at the anchor's rates")
    print(f"{label:>12} {'pictures':>8} {'mean':>7} {'worst':>22} {'best':>22}")
    params = sorted({p for per in g.values() for p in per})
    for p in params:
        at = {name: per[p] for name, per in g.items() if p in per}
        worst, best = min(at, key=at.get), max(at, key=at.get)
        print(
            f"{p:>12g} {len(at):>8} {np.mean(list(at.values())):>+7.2f} "
            f"{worst:>14} {at[worst]:>+7.2f} {best:>14} {at[best]:>+7.2f}"
        )
    if args.pictures:
        for name in sorted(g, key=lambda n: np.mean(list(g[n].values()))):
            print(f"{name:>14} {np.mean(list(g[name].values())):>+7.2f} over {len(g[name])} rates")


if __name__ == "__main__":
    main()
