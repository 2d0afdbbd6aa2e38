"""BD-rate of the hyper-latent steps (WD 7.2, 8.3) against the step 1, with the default encoder.

    python tools/hyper_step_gain.py IMAGE... [--qualities 0 24 48 ...] [--below Q]
        [--params FILE.olp]

Encodes every picture at each quality index with the default encoder (latent
refinement, E.3.1) three ways: ``hyper_step_log2`` imposed 0 and 1, and chosen by the
encoder for the picture and quality index (:func:`encoder.pipeline.choose_hyper_step`).
Prints, per quality index, the mean whole-file bits per pixel and PSNR-RGB of the
decoded 8-bit picture (which the encoder knows exactly) and how many pictures the
encoder coded with the step 2; then the BD-rates against ``k = 0``: of the average
curves over all qualities and over those up to ``--below``, and the mean of the
pictures' own BD-rates. Tune and check the encoder on training or validation pictures,
never on the test set.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from encoder.pictures import read_image
from encoder.pipeline import Codec, load_codec
from openlic.bench.bdrate import bd_rate
from tools.encoder_bd import coded_point

MODES: dict[str, int | None] = {"k=0": 0, "k=1": 1, "chosen": None}
"""The ways of coding the hyper-latent: ``hyper_step_log2`` imposed, or the encoder's."""


def measure(codec: Codec, pictures: list[np.ndarray], qualities: list[int]) -> dict:
    """Per mode of :data:`MODES`: an array (pictures, qualities, 3) of bits per pixel,
    PSNR and the ``hyper_step_log2`` coded."""
    out = {m: np.zeros((len(pictures), len(qualities), 3)) for m in MODES}
    for p, img in enumerate(pictures):
        for i, q in enumerate(qualities):
            for mode, k in MODES.items():
                out[mode][p, i] = coded_point(codec, img, q, k)
    return out


def bd(base: np.ndarray, test: np.ndarray) -> float:
    """BD-rate of the (qualities, >= 2) curve ``test`` against ``base``."""
    return bd_rate(base[:, 0], base[:, 1], test[:, 0], test[:, 1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 24, 48, 72, 96, 128, 192])
    ap.add_argument("--below", type=int, default=96, help="also the BD-rates up to this quality")
    ap.add_argument("--params", type=Path, default=None, help="parameter set (default: shipped)")
    args = ap.parse_args()
    codec = load_codec(args.params)
    pictures = [read_image(p)[0] for p in args.images]
    if any(img.dtype != np.uint8 for img in pictures):
        ap.error("8-bit pictures only")
    res = measure(codec, pictures, args.qualities)
    print("quality  " + "  ".join(f"{m + ': bpp, PSNR':<20}" for m in MODES) + "  step 2 chosen")
    for i, q in enumerate(args.qualities):
        cells = [f"{r[:, i, 0].mean():.4f} {r[:, i, 1].mean():6.2f} dB" for r in res.values()]
        chosen = int(res["chosen"][:, i, 2].sum())
        print(f"{q:<8} " + "  ".join(f"{c:<20}" for c in cells) + f"  {chosen} of {len(pictures)}")
    low = [i for i, q in enumerate(args.qualities) if q <= args.below]
    base = res["k=0"]
    for mode in ("k=1", "chosen"):
        r = res[mode]
        whole = bd(base.mean(0), r.mean(0))
        below = bd(base[:, low].mean(0), r[:, low].mean(0)) if len(low) >= 2 else math.nan
        per = np.mean([bd(b, t) for b, t in zip(base, r, strict=True)])
        print(
            f"{mode} against k=0: {whole:+.2f} % (average curves), {below:+.2f} % (qualities "
            f"up to {args.below}), {per:+.2f} % (mean of the pictures)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
