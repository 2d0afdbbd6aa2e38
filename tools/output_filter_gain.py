"""BD-rate of the output filter (WD 8.9, E.3.3) against the same encodings without it.

    python tools/output_filter_gain.py IMAGE... [--qualities 0 32 ...] [--refine N]

Encodes every picture at each quality index with the default encoder, which adds an
OF segment where the filter pays (WD E.3.3), and compares the whole-file rate and the
PSNR-RGB of the decoded 8-bit picture with those of the same codestream without its OF
segment (the filter changes nothing else the encoder chooses). Prints, per quality,
the average rate and PSNR of both, how many pictures got a filter and with how many
classes, then the BD-rate of the average curves and the mean of the BD-rates picture
by picture. Tune and check the encoder on training or validation pictures, never on
the test set.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from encoder.output_filter import segment_bits
from encoder.pipeline import encode_detailed, load_codec, reconstruct
from openlic.bench.bdrate import bd_rate


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * math.log10(255**2 / max(mse, 1e-10))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 32, 64, 96, 128, 160, 192, 224])
    ap.add_argument("--refine", type=int, default=None, help="refinement steps")
    args = ap.parse_args()
    codec = load_codec()
    n, nq = len(args.images), len(args.qualities)
    # [picture, quality, without / with, (bpp, dB)]
    curves = np.zeros((n, nq, 2, 2))
    classes: list[Counter[int]] = [Counter() for _ in args.qualities]
    for i, path in enumerate(args.images):
        img = np.asarray(Image.open(path).convert("RGB"))
        pixels = img.shape[0] * img.shape[1]
        for j, q in enumerate(args.qualities):
            enc = encode_detailed(img, quality=q, codec=codec, refine_iterations=args.refine)
            of = enc.output_filter
            bits = 8 * len(enc.data)
            plain = reconstruct(enc.analysis, enc.residuals, q, codec.params, 8)
            filtered = reconstruct(enc.analysis, enc.residuals, q, codec.params, 8, of)
            without = bits - (segment_bits(of) if of else 0)
            curves[i, j, 0] = without / pixels, psnr(plain, img)
            curves[i, j, 1] = bits / pixels, psnr(filtered, img)
            classes[j][of.num_classes if of else 0] += 1
        print(f"{path.name} done", flush=True)
    mean = curves.mean(0)
    print("quality  without: bpp, dB     with: bpp, dB      classes (0: no filter)")
    for j, q in enumerate(args.qualities):
        (b0, p0), (b1, p1) = mean[j]
        counts = ", ".join(f"{k}: {c}" for k, c in sorted(classes[j].items()))
        print(f"{q:<8} {b0:.4f}, {p0:.3f}     {b1:.4f}, {p1:.3f}     {counts}")
    avg = bd_rate(mean[:, 0, 0], mean[:, 0, 1], mean[:, 1, 0], mean[:, 1, 1])
    per = [bd_rate(c[:, 0, 0], c[:, 0, 1], c[:, 1, 0], c[:, 1, 1]) for c in curves]
    print(f"BD-rate: average curves {avg:+.2f} %, picture by picture {np.mean(per):+.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
