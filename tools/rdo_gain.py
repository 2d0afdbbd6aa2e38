"""BD-rate of the rate-distortion optimised quantisation (WD E.3.2) against rounding.

    python tools/rdo_gain.py IMAGE... [--qualities 0 32 64 ...] [--params FILE.olp]

Encodes every picture at each quality index twice, without latent refinement (E.3.1),
with the residuals rounded and as E.3.2 chooses them, and reports the two average
curves (whole-file bits per pixel, PSNR-RGB of the decoded 8-bit picture, which the
encoder knows exactly) and the BD-rate between them. Tune and check the encoder on
training or validation pictures, never on the test set.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

from encoder.pipeline import encode_detailed, load_codec, reconstruct
from openlic.bench.bdrate import bd_rate


def curve(codec, pictures: list[np.ndarray], qualities: list[int], rdo: bool) -> np.ndarray:  # noqa: ANN001
    """(bpp, PSNR) averaged over the pictures, one row per quality index."""
    rows = []
    for q in qualities:
        bpp, psnr = [], []
        for img in pictures:
            enc = encode_detailed(img, quality=q, codec=codec, rdo=rdo, refine_iterations=0)
            out = reconstruct(enc.analysis, enc.residuals, q, codec.params, 8, enc.output_filter)
            mse = np.mean((out.astype(np.float64) - img) ** 2)
            bpp.append(8 * len(enc.data) / (img.shape[0] * img.shape[1]))
            psnr.append(10 * math.log10(255**2 / max(mse, 1e-10)))
        rows.append((np.mean(bpp), np.mean(psnr)))
    return np.array(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--qualities", type=int, nargs="+", default=list(range(0, 256, 32)) + [255])
    ap.add_argument("--params", type=Path, default=None, help="parameter set (default: shipped)")
    args = ap.parse_args()
    codec = load_codec(args.params)
    if codec.synthesis_energy is None:
        raise SystemExit("these encoder weights carry no synthesis energies: export them again")
    pictures = [np.asarray(Image.open(p).convert("RGB")) for p in args.images]
    rounded, rdo = (curve(codec, pictures, args.qualities, r) for r in (False, True))
    print("quality  rounded (bpp, dB)   E.3.2 (bpp, dB)")
    for q, a, b in zip(args.qualities, rounded, rdo):
        print(f"{q:<8} {a[0]:.4f} {a[1]:.3f}     {b[0]:.4f} {b[1]:.3f}")
    bd = bd_rate(rounded[:, 0], rounded[:, 1], rdo[:, 0], rdo[:, 1])
    print(f"BD-rate of E.3.2 against rounding: {bd:+.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
