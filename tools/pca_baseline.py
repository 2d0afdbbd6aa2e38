"""Rate and PSNR of a plain linear block-transform codec, as a yardstick for training.

    python tools/pca_baseline.py --bank data/bank/bank-HASH.npy \
        $(ls ../shared/data/bsds500/val/*.jpg | head -12)

A PCA of 16x16 RGB blocks of training patches (the first 128 components, as many as
the model's latent channels per 16x16 block), uniform quantisation of the coefficients
with a few step sizes, and the rate as the empirical entropy of each coefficient over
the picture (an ideal adaptive coder, without side information: an optimistic rate).
A yardstick for the learned model, whose latent has as many values per 16x16 block
(see ``encoder/linear_init.py``). The last row is the PSNR of the unquantised
projection: the ceiling of a linear start with ``--components`` latent channels.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from PIL import Image


def blocks(x: np.ndarray) -> np.ndarray:
    """16x16 blocks of an (H, W, 3) picture as rows, in (row, column, channel) order."""
    h, w = (x.shape[0] // 16) * 16, (x.shape[1] // 16) * 16
    b = x[:h, :w].reshape(h // 16, 16, w // 16, 16, 3).transpose(0, 2, 1, 3, 4)
    return b.reshape(-1, 768).astype(np.float64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--bank", required=True, help="training patch bank (encoder.data)")
    ap.add_argument("--components", type=int, default=128)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    bank = np.load(args.bank, mmap_mode="r")
    train = np.concatenate(
        [
            blocks(np.asarray(bank[i]))[rng.choice(256, 40, replace=False)]
            for i in rng.choice(len(bank), 600, replace=False)
        ]
    )
    mu = train.mean(axis=0)
    basis = np.linalg.svd(train - mu, full_matrices=False)[2][: args.components]
    pictures = [blocks(np.asarray(Image.open(p).convert("RGB"))) for p in args.images]
    print("step (0..255)  bpp    PSNR (dB)")
    for step in (128, 64, 32, 16):
        bpp, psnr = [], []
        for b in pictures:
            q = np.round((b - mu) @ basis.T / step)
            bits = 0.0
            for col in q.T:
                _, n = np.unique(col, return_counts=True)
                bits += float(-(n * np.log2(n / n.sum())).sum())
            rec = q * step @ basis + mu
            bpp.append(bits / (len(b) * 256))
            psnr.append(10 * math.log10(255**2 / np.mean((rec - b) ** 2)))
        print(f"{step:<13}  {np.mean(bpp):.3f}  {np.mean(psnr):.2f}")
    # The projection itself, unquantised: the PSNR that a model whose latent holds only
    # these components cannot pass without its nonlinear layers.
    ceiling = [
        10 * math.log10(255**2 / np.mean(((b - mu) @ basis.T @ basis + mu - b) ** 2))
        for b in pictures
    ]
    print(f"{'unquantised':<13}  {'--':<5}  {np.mean(ceiling):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
