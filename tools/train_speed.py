"""Training steps per second of the shipped recipe's model, in each precision setting.

    python tools/train_speed.py [--device cuda] [--batch 4] [--crop 256] [--steps 6]

Times full training steps (forward, loss, backward, Adam) on random crops, with the
model and the crops in channels-last layout as ``openlic train`` keeps them, with the
nonlinear analysis in float32 and in bfloat16 (``--bf16-analysis``), the two settings
alternating in rounds in one process so that a busy machine slows both alike. It
also times the old contiguous float32 layout, as the baseline of the ratios. A
benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import torch

from encoder.model import ModelConfig, OpenLICModel, rate_distortion_loss
from encoder.train import RECIPE_MODEL

SETTINGS = {
    "float32, contiguous": (False, torch.contiguous_format),
    "float32, channels-last": (False, torch.channels_last),
    "bfloat16 analysis, channels-last": (True, torch.channels_last),
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per setting and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    cfg = ModelConfig.from_dict({**ModelConfig().to_dict(), **RECIPE_MODEL})
    model = OpenLICModel(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)
    x0 = torch.rand(args.batch, 3, args.crop, args.crop, device=device)
    k = torch.arange(args.batch, device=device) % len(cfg.lambdas)
    lam = torch.tensor(cfg.lambdas, device=device)[k]

    def step(bf16: bool, x: torch.Tensor) -> None:
        loss = rate_distortion_loss(model(x, k, bf16_analysis=bf16), x, lam)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, (bf16, layout) in SETTINGS.items():
            model.to(memory_format=layout)
            x = x0.contiguous(memory_format=layout)
            for _ in range(2):  # warm-up: oneDNN and cuDNN pick their kernels
                step(bf16, x)
            sync()
            t = time.perf_counter()
            for _ in range(args.steps):
                step(bf16, x)
            sync()
            times[name].append((time.perf_counter() - t) / args.steps)
    base = min(times["float32, contiguous"])
    print(f"{args.batch} crops of {args.crop} x {args.crop} on {device}, best of {args.rounds}:")
    for name, ts in times.items():
        print(f"  {name:34s} {min(ts):.3f} s/step  {base / min(ts):.2f} x")


if __name__ == "__main__":
    main()
