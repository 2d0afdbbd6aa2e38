"""Would reconstruction offsets pay? A probe of a float checkpoint, no training.

The decoder reconstructs a gained residual ``k`` as the integer itself (WD 8.5). Under
the Gaussian the hyperprior predicts, the latent that rounds to ``k != 0`` lies nearer
the mean on average, the more so the smaller the scale: a decoder could reconstruct
``k - sign(k) delta``, with ``delta`` from a table indexed by the scale (a change of the
WD). This probe measures, on pictures outside the training run's validation set:

* ``delta``: the mean of ``sign(k) (k - r)`` over the residuals ``r`` that round to
  ``k``, per bin of the entropy scale and for ``|k| = 1`` and ``|k| > 1``, fitted on the
  first half of the pictures;
* the PSNR of the second half decoded with and without those offsets (the rate does
  not change: the same integers are coded).

Usage::

    python tools/dequant_offset_probe.py models/openlic-1/train.pt \\
        $(ls ../shared/data/bsds500/val/*.jpg | sed -n 13,20p)
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.export import NUM_QUALITIES, QUALITY_ABOVE, QUALITY_BELOW, load_model, quality_gains
from encoder.model import OpenLICModel, run_chain
from encoder.pictures import read_image
from encoder.pipeline import picture_tensor
from encoder.train import pad_to

SCALE_EDGES = np.array([0.0, 0.15, 0.25, 0.35, 0.5, 0.7, 1.0, 1.5, 2.5, np.inf])
"""Bins of the entropy scale (in gained units, the quantisation step being 1)."""


class Coded:
    """A picture at one quality: its gained residuals, their scales and integers."""

    @torch.no_grad()
    def __init__(self, model: OpenLICModel, x: torch.Tensor, gain: torch.Tensor,
                 inv_gain: torch.Tensor) -> None:
        y = model.analysis(pad_to(x))
        mean, log_scale = model.hyper_synthesis(torch.round(model.h_a(y)))
        mean, log_scale = (t[..., : y.shape[2], : y.shape[3]] for t in (mean, log_scale))
        self.x, self.gain, self.inv_gain = x, gain, inv_gain
        self.mean = mean
        self.r, self.scale, _ = model.quantise_groups(
            y, mean, log_scale, gain, inv_gain, torch.round
        )
        self.k = torch.round(self.r)

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(scale bin, 1 if |k| > 1) of every element."""
        b = np.digitize(self.scale.numpy(), SCALE_EDGES) - 1
        return b, (self.k.abs() > 1).numpy().astype(int)

    @torch.no_grad()
    def psnr(self, model: OpenLICModel, k: torch.Tensor) -> float:
        """PSNR (8-bit RGB) of the picture decoded from the gained integers ``k``."""
        h, w = self.x.shape[-2:]
        y_hat = (k + self.mean * self.gain) * self.inv_gain
        x_hat = run_chain(model.g_s, y_hat)[..., :h, :w].clamp(0, 1)
        mse = F.mse_loss(torch.round(x_hat * 255), torch.round(self.x * 255)).item()
        return 10 * math.log10(255**2 / max(mse, 1e-10))


def fit_offsets(coded: list[Coded]) -> np.ndarray:
    """Mean ``sign(k) (k - r)`` over the nonzero ``k``, per (scale bin, |k| > 1)."""
    sums = np.zeros((len(SCALE_EDGES) - 1, 2))
    counts = np.zeros_like(sums)
    for c in coded:
        nz = (c.k != 0).numpy()
        b, big = c.cells()
        d = (torch.sign(c.k) * (c.k - c.r)).numpy()
        np.add.at(sums, (b[nz], big[nz]), d[nz])
        np.add.at(counts, (b[nz], big[nz]), 1)
    return sums / np.maximum(counts, 1)


def with_offsets(c: Coded, delta: np.ndarray) -> torch.Tensor:
    """The reconstruction ``k - sign(k) delta`` of the integers of ``c``."""
    b, big = c.cells()
    return c.k - torch.sign(c.k) * torch.from_numpy(delta[b, big]).float()


@torch.no_grad()
def probe(
    model: OpenLICModel, pictures: list[torch.Tensor], qualities: list[int]
) -> dict[int, tuple[np.ndarray, float, float]]:
    """(offsets, PSNR without, PSNR with) per quality; offsets fitted on the first
    half of ``pictures``, PSNR averaged over the second."""
    g, ig = (torch.from_numpy(t).float()
             for t in quality_gains(model, NUM_QUALITIES, QUALITY_BELOW, QUALITY_ABOVE))
    half = len(pictures) // 2
    out = {}
    for q in qualities:
        gq, igq = g[q][None, :, None, None], ig[q][None, :, None, None]
        delta = fit_offsets([Coded(model, x, gq, igq) for x in pictures[:half]])
        plain, shifted = [], []
        for x in pictures[half:]:
            c = Coded(model, x, gq, igq)
            plain.append(c.psnr(model, c.k))
            shifted.append(c.psnr(model, with_offsets(c, delta)))
        out[q] = (delta, float(np.mean(plain)), float(np.mean(shifted)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("images", nargs="+", type=Path, help="at least two pictures")
    ap.add_argument("--qualities", type=int, nargs="+", default=[0, 64, 128, 192, 255])
    args = ap.parse_args()
    if len(args.images) < 2:
        ap.error("give at least two pictures: the first half fits, the second measures")
    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    pictures = [picture_tensor(*read_image(p)) for p in args.images]
    print("scale bins:", " ".join(f"{e:g}" for e in SCALE_EDGES[1:-1]))
    for q, (delta, plain, shifted) in probe(model, pictures, args.qualities).items():
        print(f"quality {q}: offsets |k| = 1: {np.round(delta[:, 0], 3)}")
        print(f"           offsets |k| > 1: {np.round(delta[:, 1], 3)}")
        print(f"           PSNR {plain:.3f} dB without, {shifted:.3f} dB with "
              f"({shifted - plain:+.3f} dB at the same rate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
