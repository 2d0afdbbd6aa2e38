"""BD-rate of parameter sets with the default encoder: whole files, decoded PSNR-RGB.

    python tools/encoder_bd.py IMAGE... --sets shipped OTHER.olp,OTHER-weights.pt
        [--qualities 0 32 ...]

Codes every picture at each quality index with the default encoder (refinement, the
chosen hyper-latent step, the output filter) for each parameter set (``shipped``, or
``PARAMS.olp,WEIGHTS.pt`` as ``python -m encoder.export`` writes them from a training
checkpoint), and prints per set the mean whole-file bits per pixel, PSNR-RGB of the
decoded 8-bit picture (which the encoder knows exactly) and how many pictures took the
hyper-latent step 2; then the BD-rate of each set against the first: of the average
curves, of those up to quality 128, and picture by picture. What the float model's
estimated rate (``tools/quality_range.py``) cannot show, such as a model trained with
the hyper-latent step, shows here. Validation pictures only, never the test set.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from encoder.pictures import read_image
from encoder.pipeline import Codec, encode_detailed, load_codec, reconstruct
from openlic.bench.bdrate import bd_rate
from openlic.bench.metrics import psnr_rgb


def codec_of(spec: str) -> Codec:
    """``shipped``, or ``PARAMS.olp,WEIGHTS.pt``."""
    if spec == "shipped":
        return load_codec()
    params, _, weights = spec.partition(",")
    if not weights:
        raise SystemExit(f"a parameter set is 'shipped' or PARAMS.olp,WEIGHTS.pt, got {spec!r}")
    return load_codec(Path(params), Path(weights))


def coded_point(
    codec: Codec, img: np.ndarray, quality: int, hyper_step_log2: int | None = None
) -> tuple[float, float, int]:
    """Whole-file bits per pixel, PSNR-RGB of the decoded 8-bit picture (which the
    encoder knows exactly) and the ``hyper_step_log2`` coded, of the default encoder
    at ``quality`` (the step imposed where given, else chosen)."""
    enc = encode_detailed(img, quality=quality, codec=codec, hyper_step_log2=hyper_step_log2)
    rec = reconstruct(enc.analysis, enc.residuals, quality, codec.params, 8, enc.output_filter)
    bpp = 8 * len(enc.data) / (img.shape[0] * img.shape[1])
    return bpp, psnr_rgb(img, rec), enc.analysis.hyper_step_log2


def curves(codec: Codec, pictures: list[np.ndarray], qualities: list[int]) -> np.ndarray:
    """(pictures, qualities, 3): the :func:`coded_point` of each picture and quality."""
    return np.array([[coded_point(codec, img, q) for q in qualities] for img in pictures])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--sets", nargs="+", required=True, help="shipped or PARAMS.olp,WEIGHTS.pt")
    ap.add_argument("--qualities", type=int, nargs="+", default=list(range(0, 255, 32)) + [255])
    args = ap.parse_args()
    pictures = [read_image(p)[0] for p in args.images]
    results = [curves(codec_of(s), pictures, args.qualities) for s in args.sets]
    for spec, res in zip(args.sets, results):
        print(spec)
        for q, (bpp, psnr, k) in zip(args.qualities, res.mean(0)):
            step2 = round(k * len(pictures))
            print(f"  quality {q:<4} {bpp:.4f} bpp  {psnr:.2f} dB  step 2: {step2}")
    low = [j for j, q in enumerate(args.qualities) if q <= 128]
    a = results[0]
    for spec, b in zip(args.sets[1:], results[1:]):
        ma, mb = a.mean(0), b.mean(0)
        whole = bd_rate(ma[:, 0], ma[:, 1], mb[:, 0], mb[:, 1])
        part = bd_rate(ma[low, 0], ma[low, 1], mb[low, 0], mb[low, 1]) if len(low) > 1 else math.nan
        per = np.mean([bd_rate(*a[i, :, :2].T, *b[i, :, :2].T) for i in range(len(a))])
        print(f"{spec} against {args.sets[0]}: average curves {whole:+.2f} %, "
              f"qualities up to 128 {part:+.2f} %, picture by picture {per:+.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
