"""Rate and PSNR of a training checkpoint across the quality indices (float model).

    python tools/quality_range.py CKPT IMAGE... [--below 0 1 2] [--above 0 1]
                                               [--qualities 0 16 32]

For each value of ``--below`` and ``--above`` (anchor spacings under the first anchor
that quality 0 reaches and beyond the last that quality 255 reaches,
:data:`encoder.export.QUALITY_BELOW` and :data:`~encoder.export.QUALITY_ABOVE`), the
gains of the chosen quality indices are made as the export makes them
(:func:`encoder.export.quality_gains`), and the float model codes the pictures: rate
estimated from the likelihoods, PSNR of the 8-bit reconstruction. It chooses the two
constants on training or validation pictures (never on the test set) so that the
qualities span the rates the project asks for.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.export import (
    NUM_QUALITIES,
    QUALITY_ABOVE,
    QUALITY_BELOW,
    load_model,
    quality_gains,
)
from encoder.model import gaussian_likelihood, run_chain
from encoder.pictures import read_image
from encoder.pipeline import picture_tensor
from encoder.train import pad_to


@torch.no_grad()
def code(model, x: torch.Tensor, gain: torch.Tensor, inv_gain: torch.Tensor) -> tuple[float, float]:  # noqa: ANN001
    """(bpp, PSNR) of picture ``x`` (1, 3, H, W) in [0, 1] at the given gains."""
    h, w = x.shape[-2:]
    xp = pad_to(x)
    y = model.analysis(xp)
    z = torch.round(model.h_a(y))
    zs = model.log_z_scale.exp()[None, :, None, None].expand_as(z)
    bits = -torch.log2(gaussian_likelihood(z, zs)).sum()
    mean, log_scale = model.hyper_synthesis(z)
    g, ig = gain[None, :, None, None], inv_gain[None, :, None, None]
    r, scale, y_hat = model.quantise_groups(
        y,
        mean[..., : y.shape[2], : y.shape[3]],
        log_scale[..., : y.shape[2], : y.shape[3]],
        g,
        ig,
        torch.round,
    )
    bits += -torch.log2(gaussian_likelihood(torch.round(r), scale)).sum()
    x_hat = run_chain(model.g_s, y_hat)[..., :h, :w].clamp(0, 1)
    mse = F.mse_loss(torch.round(x_hat * 255), torch.round(x * 255)).item()
    return bits.item() / (h * w), 10 * math.log10(255**2 / max(mse, 1e-10))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--below", type=float, nargs="+", default=[QUALITY_BELOW])
    ap.add_argument("--above", type=float, nargs="+", default=[QUALITY_ABOVE])
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 16, 32, 64, 128, 255])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    pictures = [picture_tensor(*read_image(p)) for p in args.images]
    print("below  above  quality  bpp     PSNR (dB)")
    for below in args.below:
        for above in args.above:
            gains = quality_gains(model, NUM_QUALITIES, below, above)
            g, ig = (torch.from_numpy(a).float() for a in gains)
            for q in args.qualities:
                res = np.mean([code(model, x, g[q], ig[q]) for x in pictures], axis=0)
                print(f"{below:<6} {above:<6} {q:<8} {res[0]:.3f}   {res[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
