"""Widen the hidden layers of a trained synthesis without changing what it computes.

Each hidden layer of ``g_s`` (WD 8.7) gets new units: random input weights (He
initialisation), a bias that puts the unit's ReLU input at its median over patches of
the training bank at every gain anchor (so the unit is on at half of the positions and
has a gradient from the first step), and zero weights in the next layer that reads it.
The widened model decodes every latent to the same picture as the old one; training
then grows the new units. A larger synthesis is a new parameter set (other widths in
clause C.2's records), so a widened model is shipped under its own name.

    python tools/widen_synthesis.py models/openlic-1/train.pt runs/wide.pt BANK.npy \\
        --widths 96 96 128

Nothing here is normative: it only chooses the starting weights of a training run.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from encoder.model import ModelConfig, OpenLICModel


@torch.no_grad()
def decoded_latents(model: OpenLICModel, x: torch.Tensor) -> torch.Tensor:
    """The synthesis input for the pictures ``x`` at every gain anchor, stacked."""
    y = model.analysis(x)
    mean, log_scale = model.hyper_synthesis(torch.round(model.h_a(y)))
    y_hats = []
    for k in range(len(model.cfg.lambdas)):
        gain, inv_gain = model.gains(torch.tensor([k]))
        *_, y_hat = model.quantise_groups(y, mean, log_scale, gain, inv_gain, torch.round)
        y_hats.append(y_hat)
    return torch.cat(y_hats)


@torch.no_grad()
def widen(
    old: OpenLICModel, widths: tuple[int, ...], patches: np.ndarray, seed: int
) -> OpenLICModel:
    """A copy of ``old`` whose hidden synthesis layers have ``widths`` units."""
    if len(widths) != len(old.cfg.synthesis_widths) or any(
        w < v for w, v in zip(widths, old.cfg.synthesis_widths)
    ):
        raise SystemExit(f"--widths {widths}: one width per hidden layer, none narrower")
    model = OpenLICModel(dataclasses.replace(old.cfg, synthesis_widths=tuple(widths)))
    own = model.state_dict()
    for name, value in old.state_dict().items():
        own[name][tuple(slice(0, n) for n in value.shape)] = value
    model.load_state_dict(own)
    # Layer by layer, so that each layer's new units are set from its inputs as widened;
    # the zeroed columns of the reading layer make the new units invisible to it.
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(patches, np.float32) / 255.0).permute(0, 3, 1, 2)
    inputs = decoded_latents(model, x)
    for i, layer in enumerate(model.g_s[:-1]):
        old_units = old.cfg.synthesis_widths[i]
        conv, reader = layer.conv, model.g_s[i + 1].conv
        if widths[i] > old_units:
            new_rows = slice(4 * old_units, conv.weight.shape[0])  # four phases per unit
            fan_in = conv.weight[0].numel()
            w = torch.randn(conv.weight[new_rows].shape, generator=gen) * (2.0 / fan_in) ** 0.5
            conv.weight[new_rows] = w
            response = F.conv2d(inputs, w, padding=conv.padding)
            conv.bias[new_rows] = -response.transpose(0, 1).flatten(1).median(dim=1).values
            reader.weight[:, old_units:] = 0.0
        inputs = F.relu(layer(inputs))
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("bank", type=Path, help="patch bank (.npy, N x 256 x 256 x 3 uint8)")
    ap.add_argument("--widths", type=int, nargs="+", required=True)
    ap.add_argument("--patches", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    old = OpenLICModel(ModelConfig.from_dict(ck["config"]))
    old.load_state_dict(ck.get("ema", ck["model"]))
    bank = np.load(args.bank, mmap_mode="r")
    pick = np.sort(np.random.default_rng(args.seed).choice(len(bank), args.patches, replace=False))
    model = widen(old, tuple(args.widths), bank[pick], args.seed)
    torch.save(
        {"config": model.cfg.to_dict(), "model": model.state_dict(), "step": ck["step"]}, args.out
    )
    print(f"synthesis {old.cfg.synthesis_widths} -> {model.cfg.synthesis_widths}: {args.out}")


if __name__ == "__main__":
    main()
