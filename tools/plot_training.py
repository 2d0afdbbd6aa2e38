"""The validation curve of a training run, as a PNG figure.

    python tools/plot_training.py models/openlic-1/log.jsonl docs/training-validation.png

For each anchor that ``openlic train`` validates (the first, the middle and the last),
the rate-distortion loss of the validation pictures, ``bpp + lambda * 255^2 * MSE``
(rate estimated from the float model's likelihoods, MSE of the 8-bit output), against
the training step, relative to its value at the first validation (left) and, to show
the slow gains of a long run, over its second half only, relative to the first
validation of that half (right). The trade-offs
``lambda`` come from the checkpoint given with ``--checkpoint`` (by default the shipped
model's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from encoder.model import ModelConfig


def validation_losses(records: list[dict], lambdas: tuple[float, ...]) -> dict[int, list]:
    """Anchor -> [(step, loss)] over the records with a validation."""
    out: dict[int, list] = {}
    for r in records:
        for k, v in r.get("val", {}).items():
            mse = 10 ** (-v["psnr"] / 10)  # of samples in 0..1
            out.setdefault(int(k), []).append(
                (r["step"], v["bpp"] + lambdas[int(k)] * 255**2 * mse)
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", type=Path, help="log.jsonl of openlic train")
    ap.add_argument("out", type=Path, help="PNG file to write")
    ap.add_argument("--checkpoint", type=Path, default=Path("models/openlic-1/train.pt"))
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    lambdas = ModelConfig.from_dict(state["config"]).lambdas
    records = [json.loads(line) for line in args.log.read_text().splitlines()]
    losses = validation_losses(records, lambdas)
    half = max(s for points in losses.values() for s, _ in points) / 2
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), dpi=100)
    for ax, since in zip(axes, (0, half)):
        for k, points in sorted(losses.items()):
            points = [(s, j) for s, j in points if s >= since]
            first = points[0][1]
            ax.plot(
                [s for s, _ in points],
                [100 * (j / first - 1) for _, j in points],
                marker=".",
                label=f"anchor {k} (lambda {lambdas[k]:g})",
            )
        ax.set_xlabel("training step")
        ax.set_ylabel(f"% against the validation at step {points[0][0]:,}")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"{args.log.name}: validation loss, rate + lambda x MSE, of each validated anchor",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(args.out, metadata={"Software": None})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
