"""BD-rate of latent refinement (WD E.3.1) against the encoder without it.

    python tools/refine_gain.py IMAGE... [--steps 8 12 25] [--travel T] [--smallest S]
        [--final F] [--qualities 0 64 ...] [--params FILE.olp]

Encodes every picture at each quality index without refinement (``--refine 0``, the
residuals chosen as E.3.2 chooses them) and with each number of refinement steps, and
reports the BD-rate of each against the encoder without refinement (average curves of
whole-file bits per pixel and PSNR-RGB of the decoded 8-bit picture, which the encoder
knows exactly) and the seconds an encoding took on average. ``--travel``,
``--smallest`` and ``--final`` replace :data:`encoder.refine.TRAVEL`,
:data:`~encoder.refine.LEARNING_RATE` and :data:`~encoder.refine.FINAL_STEP` (``--final
1``: constant steps).
Tune and check the encoder on training or validation pictures, never on the test set.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

import encoder.refine
from encoder.pipeline import Codec, encode_detailed, load_codec, reconstruct
from openlic.bench.bdrate import bd_rate


def measure(
    codec: Codec, pictures: list[np.ndarray], qualities: list[int], runs: list[int]
) -> tuple[dict[int, np.ndarray], dict[int, float]]:
    """Per number of refinement steps: (bpp, PSNR) averaged over the pictures, one row
    per quality index, and the average seconds of one encoding."""
    curves = {n: np.zeros((len(qualities), 2)) for n in runs}
    seconds = dict.fromkeys(runs, 0.0)
    for i, q in enumerate(qualities):
        for img in pictures:
            for n in runs:
                start = time.perf_counter()
                enc = encode_detailed(img, quality=q, codec=codec, refine_iterations=n)
                seconds[n] += time.perf_counter() - start
                out = reconstruct(
                    enc.analysis, enc.residuals, q, codec.params, 8, enc.output_filter
                )
                mse = np.mean((out.astype(np.float64) - img) ** 2)
                bpp = 8 * len(enc.data) / (img.shape[0] * img.shape[1])
                curves[n][i] += (bpp, 10 * math.log10(255**2 / max(mse, 1e-10)))
    count = len(pictures) * len(qualities)
    return (
        {n: c / len(pictures) for n, c in curves.items()},
        {n: t / count for n, t in seconds.items()},
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--steps", type=int, nargs="+", default=[12])
    ap.add_argument("--travel", type=float, default=None, help="default: encoder.refine's")
    ap.add_argument("--smallest", type=float, default=None, help="default: encoder.refine's")
    ap.add_argument("--final", type=float, default=None, help="default: encoder.refine's")
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 64, 128, 192, 255])
    ap.add_argument("--params", type=Path, default=None, help="parameter set (default: shipped)")
    args = ap.parse_args()
    for name, value in (("TRAVEL", args.travel), ("LEARNING_RATE", args.smallest),
                        ("FINAL_STEP", args.final)):
        if value is not None:
            setattr(encoder.refine, name, value)
    codec = load_codec(args.params)
    pictures = [np.asarray(Image.open(p).convert("RGB")) for p in args.images]
    curves, seconds = measure(codec, pictures, args.qualities, [0, *args.steps])
    base = curves[0]
    r = encoder.refine
    print(f"first step max({r.LEARNING_RATE}, {r.TRAVEL} / steps), last {r.FINAL_STEP} of it")
    print("steps  BD-rate against --refine 0  seconds per encoding")
    for n, c in curves.items():
        bd = bd_rate(base[:, 0], base[:, 1], c[:, 0], c[:, 1])
        print(f"{n:<6} {bd:+.2f} %                      {seconds[n]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
