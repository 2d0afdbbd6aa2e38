"""How often is each hidden ReLU unit of a float checkpoint's decoder networks on?

For every hidden layer of the hyper synthesis ``h_s`` and of the synthesis ``g_s``
(and of the context networks, if any), the fraction of positions where a unit's ReLU
input is positive, over the given pictures and, for ``g_s``, every gain anchor.
Units are counted as off (on at fewer than 1 % of the positions: they learn nothing
where they are off), sparse (1 to 5 %), always on (over 99 %: the ReLU passes them
unchanged, so the unit is linear) and mixed (the rest). A network whose units are all
off or always on is nearly linear, whatever its depth. Usage::

    python tools/unit_activity.py models/openlic-1/train.pt \\
        $(ls ../shared/data/bsds500/val/*.jpg | head -6)
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from encoder.export import load_model
from encoder.train import pad_to

CLASSES = (
    ("off", 0.0, 0.01),
    ("sparse", 0.01, 0.05),
    ("mixed", 0.05, 0.99),
    ("always", 0.99, 1.01),
)
"""(name, lowest, highest fraction of positions on) of the classes of units."""


@torch.no_grad()
def activity(model: torch.nn.Module, paths: list[Path]) -> dict[str, torch.Tensor]:
    """Layer name -> the fraction of positions where each of its units is on."""
    on: dict[str, list[torch.Tensor]] = defaultdict(list)

    def chain(prefix: str, layers: list[torch.nn.Module], t: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(layers[:-1]):
            t = layer(t)
            on[f"{prefix}.{i}"].append((t > 0).flatten(2).float().mean(2).mean(0))
            t = F.relu(t)
        return layers[-1](t)

    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
        x = pad_to(torch.from_numpy(rgb).permute(2, 0, 1)[None], 64)
        y = model.analysis(x)
        z_hat = torch.round(model.h_a(y))
        chain("h_s", [*model.h_s, model.h_s_out], z_hat)
        mean, log_scale = model.hyper_synthesis(z_hat)
        for k in range(len(model.cfg.lambdas)):
            gain, inv_gain = model.gains(torch.tensor([k]))
            *_, y_hat = model.quantise_groups(y, mean, log_scale, gain, inv_gain, torch.round)
            chain("g_s", list(model.g_s), y_hat)
            per = model.group_size
            for g, ctx in enumerate(model.ctx, start=1):
                chain(f"ctx.{g}", list(ctx), y_hat[:, : g * per])
    return {name: torch.stack(v).mean(0) for name, v in on.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("pictures", type=Path, nargs="+")
    args = ap.parse_args()
    model = load_model(args.checkpoint)
    print(f"{'layer':8} {'units':>5} " + " ".join(f"{c[0]:>6}" for c in CLASSES))
    for name, frac in activity(model, args.pictures).items():
        counts = [int(((frac >= lo) & (frac < hi)).sum()) for _, lo, hi in CLASSES]
        print(f"{name:8} {len(frac):5d} " + " ".join(f"{c:6d}" for c in counts))


if __name__ == "__main__":
    main()
