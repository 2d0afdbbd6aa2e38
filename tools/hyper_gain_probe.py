"""What would a gain on the hyper-latent save? A probe of a float checkpoint, no training.

The hyper-latent ``z`` of the shipped models has no gain: the hyper analysis reads the
ungained latent, so ``z`` costs the same bits at every quality index, a third of the
rate at the lowest ones. This probe codes the hyper-latent more coarsely with the
unchanged networks, in one of two ways, and measures the whole curve:

* ``--mode gain``: ``round(a z) / a`` goes into the hyper synthesis, and ``round(a z)``
  costs its bits under the Gaussian of scale ``a sigma`` (a decoder that knew a gain
  ``a`` per quality index: a change of the WD);
* ``--mode dead-zone``: ``sign(z) round(Max(0, |z| - a))`` goes in as it is (an encoder
  choice that any decoder of the WD decodes).

Rates are estimated from the float model's likelihoods, PSNR is that of the 8-bit
reconstruction, both averaged over the pictures, as ``tools/quality_range.py``
measures them; the BD-rate of each setting is taken against the first one listed.
Usage::

    python tools/hyper_gain_probe.py models/openlic-1/train.pt \\
        $(ls ../shared/data/bsds500/val/*.jpg | head -12) --factors 1 0.7 0.5
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.export import NUM_QUALITIES, QUALITY_ABOVE, QUALITY_BELOW, load_model, quality_gains
from encoder.model import OpenLICModel, gaussian_likelihood, run_chain
from encoder.pictures import read_image
from encoder.pipeline import picture_tensor
from encoder.train import pad_to
from openlic.bench.bdrate import bd_rate


def coarse_hyper_latent(z: torch.Tensor, a: float, mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the integers coded, the hyper synthesis input) of hyper-latent ``z``."""
    if mode == "gain":
        coded = torch.round(z * a)
        return coded, coded / a
    coded = torch.sign(z) * torch.round((z.abs() - a).clamp_min(0))
    return coded, coded


@torch.no_grad()
def probe(
    model: OpenLICModel,
    pictures: list[torch.Tensor],
    factors: list[float],
    qualities: list[int],
    mode: str = "gain",
) -> dict[tuple[float, int], tuple[float, float, float]]:
    """(bpp, bpp of z, PSNR) averaged over ``pictures`` for each (factor, quality)."""
    gains = quality_gains(model, NUM_QUALITIES, QUALITY_BELOW, QUALITY_ABOVE)
    gain, inv_gain = (torch.from_numpy(t).float() for t in gains)
    sums: dict[tuple[float, int], list[tuple[float, float, float]]] = {}
    for x in pictures:
        h, w = x.shape[-2:]
        y = model.analysis(pad_to(x))
        z = model.h_a(y)
        sigma = model.log_z_scale.exp()[None, :, None, None]
        for a in factors:
            coded, z_in = coarse_hyper_latent(z, a, mode)
            z_sigma = sigma * a if mode == "gain" else sigma
            bits_z = -torch.log2(gaussian_likelihood(coded, z_sigma.expand_as(coded))).sum()
            mean, log_scale = model.hyper_synthesis(z_in)
            mean, log_scale = (t[..., : y.shape[2], : y.shape[3]] for t in (mean, log_scale))
            for q in qualities:
                g, ig = gain[q][None, :, None, None], inv_gain[q][None, :, None, None]
                r, scale, y_hat = model.quantise_groups(y, mean, log_scale, g, ig, torch.round)
                bits_y = -torch.log2(gaussian_likelihood(torch.round(r), scale)).sum()
                x_hat = run_chain(model.g_s, y_hat)[..., :h, :w].clamp(0, 1)
                mse = F.mse_loss(torch.round(x_hat * 255), torch.round(x * 255)).item()
                entry = ((bits_y + bits_z).item() / (h * w), bits_z.item() / (h * w), mse)
                sums.setdefault((a, q), []).append(entry)
    out = {}
    for key, rows in sums.items():
        bpp, bpp_z, mse = np.mean(rows, axis=0)
        out[key] = (float(bpp), float(bpp_z), 10 * math.log10(255**2 / max(mse, 1e-10)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--mode", choices=("gain", "dead-zone"), default="gain")
    ap.add_argument("--factors", type=float, nargs="+", default=[1.0, 0.7, 0.5])
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 8, 16, 24, 32, 48, 64])
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    pictures = [picture_tensor(*read_image(p)) for p in args.images]
    res = probe(model, pictures, args.factors, args.qualities, args.mode)
    print(f"{args.mode:<10} quality  bpp     bpp of z  PSNR (dB)")
    for a in args.factors:
        for q in args.qualities:
            bpp, bpp_z, psnr = res[(a, q)]
            print(f"{a:<10} {q:<8} {bpp:.4f}  {bpp_z:.4f}    {psnr:.2f}")
    base = [res[(args.factors[0], q)] for q in args.qualities]
    for a in args.factors[1:]:
        test = [res[(a, q)] for q in args.qualities]
        bd = bd_rate(
            [b[0] for b in base], [b[2] for b in base], [t[0] for t in test], [t[2] for t in test]
        )
        shown = "no overlap" if bd is None else f"{bd:+.2f} %"
        print(f"BD-rate of {a} against {args.factors[0]}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
