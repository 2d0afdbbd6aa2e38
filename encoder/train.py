"""Training of the OpenLIC model (``openlic train`` / ``python -m encoder.train``).

One run trains every rate: each sample of a batch draws one of the gain anchors and
its rate-distortion trade-off. Runs on CPU or CUDA; under ``torchrun`` it trains with
DistributedDataParallel (gloo on CPU, NCCL on CUDA), each process drawing its own
crops. The defaults are the recipe of the shipped model (:data:`RECIPE_MODEL`: a
linear start with M = 256, its transforms frozen for :data:`RECIPE_FREEZE` steps, the
synthesis at :data:`RECIPE_SLOW_LR` of the learning rate). Tensors are channels-last,
and the nonlinear analysis runs in bfloat16 where the device computes it natively
(:func:`native_bf16`; ``docs/training.rst`` gives the measurements behind both).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from encoder.data import bank_key, build_patch_bank, find_images, random_crops
from encoder.export import calibrate, reorder_latent_channels
from encoder.linear_init import linear_init
from encoder.model import (
    ModelConfig,
    OpenLICModel,
    gaussian_likelihood,
    rate_distortion_loss,
    run_chain,
)
from encoder.pipeline import HYPER_STEP_CHOICES

RECIPE_MODEL = {"linear_analysis": True, "m_latent": 256}
"""The model of the shipped recipe (models/README.md, WD E.2): a fresh run trains it
unless --model-config says otherwise."""
RECIPE_FREEZE = 2000
"""Steps a fresh linear start trains with its transforms frozen (the shipped recipe)."""
RECIPE_SLOW_LR = 0.1
"""Learning rate of the synthesis and the linear shortcut relative to --lr, for a model
with the linear shortcut (the shipped recipe)."""


def pad_to(x: torch.Tensor, multiple: int = 64) -> torch.Tensor:
    """Replicate the last row and column up to a multiple of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


@torch.no_grad()
def evaluate(model: OpenLICModel, images: list[np.ndarray], anchors: list[int]) -> dict:
    """Estimated bpp (from likelihoods of rounded latents) and PSNR per anchor."""
    model.eval()
    device = next(model.parameters()).device
    res = {}
    for k in anchors:
        bpps, psnrs = [], []
        for img in images:
            x = torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].to(device) / 255.0
            h, w = x.shape[-2:]
            xp = pad_to(x)
            y = model.analysis(xp)
            z = torch.round(model.h_a(y))
            zs = model.log_z_scale.exp()[None, :, None, None].expand_as(z)
            bits = -torch.log2(gaussian_likelihood(z, zs)).sum()
            mean, log_scale = model.hyper_synthesis(z)
            gain, inv_gain = model.gains(torch.tensor([k], device=device))
            r, scale, y_hat = model.quantise_groups(
                y,
                mean[..., : y.shape[2], : y.shape[3]],
                log_scale[..., : y.shape[2], : y.shape[3]],
                gain,
                inv_gain,
                torch.round,
            )
            bits += -torch.log2(gaussian_likelihood(torch.round(r), scale)).sum()
            x_hat = run_chain(model.g_s, y_hat)
            x_hat = x_hat[..., :h, :w].clamp(0, 1)
            mse = F.mse_loss(torch.round(x_hat * 255), torch.round(x * 255)).item()
            bpps.append(bits.item() / (h * w))
            psnrs.append(10 * math.log10(255**2 / max(mse, 1e-10)))
        res[k] = {"bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))}
    model.train()
    return res


def curriculum(
    cfg: ModelConfig, *, fresh: bool, distributed: bool, freeze: int | None, slow: float | None
) -> tuple[int, float]:
    """``--freeze-transforms`` and ``--transform-lr-scale``, the shipped recipe's where
    not given: a fresh linear start freezes its transforms for :data:`RECIPE_FREEZE`
    steps (not under torchrun, which cannot), and a model with the linear shortcut
    trains its synthesis at :data:`RECIPE_SLOW_LR` of the learning rate."""
    if freeze is None:
        freeze = RECIPE_FREEZE if cfg.linear_analysis and fresh and not distributed else 0
    if slow is None:
        slow = RECIPE_SLOW_LR if cfg.linear_analysis else 1.0
    return freeze, slow


def decayed(lr: float, lr_final: float, into: int, steps: int) -> float:
    """The learning rate ``into`` steps into a decay of ``steps`` steps (``--decay-steps``):
    ``lr`` before it, a half cosine down to ``lr_final`` during it, ``lr_final`` after."""
    if steps <= 0 or into < 0:
        return lr
    t = min(1.0, into / steps)
    return lr_final + (lr - lr_final) * 0.5 * (1.0 + math.cos(math.pi * t))


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions natively (``--bf16-analysis
    auto``): elsewhere they are emulated, and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # Intel AMX (Sapphire Rapids and later), which oneDNN uses for bfloat16.
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return device.type == "cpu" and amx is not None and amx()


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def build_parser() -> argparse.ArgumentParser:
    """The options of ``openlic train``."""
    ap = argparse.ArgumentParser(prog="openlic train", description=__doc__)
    ap.add_argument("--data", nargs="+", default=[], help="folders of training images")
    ap.add_argument(
        "--bank",
        type=Path,
        default=None,
        help="a ready patch bank (.npy, N x 256 x 256 x 3 uint8) to train on instead of "
        "cutting one from --data (tools/bank_pack.py carries one to another machine)",
    )
    ap.add_argument("--val", nargs="*", default=[], help="validation images (excluded)")
    ap.add_argument("--out", type=Path, default=Path("runs/openlic"), help="run folder")
    ap.add_argument("--bank-dir", type=Path, default=None, help="where patch banks live")
    ap.add_argument("--resume", type=Path, default=None, help="checkpoint to resume")
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="checkpoint whose weights (its moving average, if it has one) start a new run",
    )
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop after this many minutes of training, with a checkpoint (a time slot)",
    )
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument(
        "--crop",
        type=int,
        default=256,
        help="side of the training crops (smaller crops, whose borders dominate the "
        "hyperprior's few positions, drift away from whole pictures: WD E.2)",
    )
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument(
        "--decay-steps",
        type=int,
        default=0,
        help="lower the learning rate over the last N steps before --steps, on a half "
        "cosine from --lr to --lr-final (0: constant)",
    )
    ap.add_argument("--lr-final", type=float, default=1e-5, help="see --decay-steps")
    ap.add_argument(
        "--gain-lr-scale",
        type=float,
        default=10.0,
        help="learning rate of the gain vectors relative to --lr",
    )
    ap.add_argument(
        "--context-lr-scale",
        type=float,
        default=1.0,
        help="learning rate of the context networks relative to --lr",
    )
    ap.add_argument(
        "--freeze-transforms",
        type=int,
        default=None,
        metavar="STEPS",
        help="train only the hyperprior and the gain vectors for the first STEPS steps "
        "of the run (the curriculum of a linear start, encoder.linear_init; default: "
        f"{RECIPE_FREEZE} for a fresh linear start on one process, else 0)",
    )
    ap.add_argument(
        "--transform-lr-scale",
        type=float,
        default=None,
        help="learning rate of the synthesis and of the linear analysis shortcut "
        "relative to --lr (a linear start needs small steps there; default: "
        f"{RECIPE_SLOW_LR} for a model with the linear shortcut, else 1)",
    )
    ap.add_argument(
        "--decoder-only",
        action="store_true",
        help="train only the synthesis and the inverse gains, the rest of the model "
        "frozen: the latents and their rates stay as they are and the synthesis fits "
        "the pictures to them (a model with context networks keeps its inverse gains, "
        "which the context networks read)",
    )
    ap.add_argument(
        "--relative-lr",
        action="store_true",
        help="make --lr a relative step: each parameter tensor learns at --lr times its "
        "root-mean-square value at the start of the run (encoder.train.scale_by_size)",
    )
    ap.add_argument(
        "--hyper-step-anchors",
        type=int,
        default=0,
        metavar="A",
        help="samples of the A lowest anchors code their hyper-latent with a step drawn "
        "from the encoder's choices (encoder.pipeline.HYPER_STEP_CHOICES, WD 8.3.1), "
        "so that the hyper synthesis learns the inputs the encoder gives it at low "
        "rates (0: the step 1 everywhere)",
    )
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip")
    ap.add_argument(
        "--ema",
        type=float,
        default=0.999,
        help="decay of the exponential moving average of the weights, which validation "
        "and export use (0: none)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=2000)
    ap.add_argument("--ckpt-minutes", type=float, default=10.0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument(
        "--model-config",
        type=json.loads,
        default={},
        help="JSON overrides of the model of a fresh run: encoder.model.ModelConfig with "
        f"{json.dumps(RECIPE_MODEL)} (the shipped recipe), e.g. '{{\"m_latent\": 64}}'",
    )
    ap.add_argument(
        "--bf16-analysis",
        choices=("auto", "on", "off"),
        default="auto",
        help="run the nonlinear analysis layers in bfloat16 (auto: where the device "
        "computes it natively, a CPU with AMX or a CUDA GPU with bfloat16; its steps "
        "are 1.6 times faster on this project's CPUs: tools/train_speed.py)",
    )
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads of PyTorch (default: its own choice; 1 on a busy machine, "
        "where waiting threads stall each other)",
    )
    return ap


def _processes(args: argparse.Namespace, ap: argparse.ArgumentParser) -> tuple[torch.device, int]:
    """Threads, the device and, under ``torchrun``, the process group: (device, rank)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: pick the fastest kernels
    if not _distributed():
        return device, 0
    if args.freeze_transforms:
        # DistributedDataParallel fixes the set of trained parameters when it wraps
        # the model; a frozen start would need a second wrapper after unfreezing.
        ap.error("--freeze-transforms is not supported under torchrun")
    if args.minutes is not None:
        # Each process would see its own clock run out at a different step.
        ap.error("--minutes is not supported under torchrun")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    return device, dist.get_rank()


def _distributed() -> bool:
    return "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def _patch_bank(
    args: argparse.Namespace, ap: argparse.ArgumentParser, rank: int, val_paths: list[Path]
) -> np.ndarray:
    """``--bank``, or the bank of ``--data`` (less the validation pictures), cut on first
    use by the first process."""
    if args.bank is not None:
        if not args.bank.is_file():
            ap.error(f"--bank {args.bank}: no such file")
        return np.load(args.bank, mmap_mode="r")
    images = [p for p in find_images(args.data) if p.resolve() not in val_paths]
    bank_dir = args.bank_dir or args.out / "bank"
    path = bank_dir / f"bank-{bank_key(images, args.seed)}.npy"
    if rank == 0 and not path.exists():
        build_patch_bank(images, path, seed=args.seed, progress=not args.no_progress)
    # Every process waits, whatever it saw: one that found the bank already cut and
    # skipped the barrier would leave the others waiting in it for ever.
    if _distributed():
        dist.barrier()
    return np.load(path, mmap_mode="r")


GAIN_PARAMETERS = {"log_gain", "log_inv_gain", "log_z_scale"}
"""The gain vectors (and the scale of ``z``): they set the quantisation step of each
anchor, and at the common learning rate they barely leave their initial spread in
thousands of steps, so they learn ``--gain-lr-scale`` times faster."""
SLOW_PREFIXES = ("g_s.", "g_a_linear.")
"""The synthesis and the linear shortcut, at ``--transform-lr-scale``: a linear start
(encoder.linear_init) carries its signal on positive offsets through the synthesis,
and Adam's equal-sized steps on every tap shift those sums coherently."""


def parameter_group(name: str) -> str:
    """The optimiser group of a parameter: gain, slow (see :data:`SLOW_PREFIXES`),
    analysis (``g_a``, frozen with the slow group at the start), context (the context
    networks, at ``--context-lr-scale``) or hyper."""
    if name in GAIN_PARAMETERS:
        return "gain"
    if name.startswith("ctx."):
        return "context"
    if name.startswith(SLOW_PREFIXES):
        return "slow"
    return "analysis" if name.startswith("g_a.") else "hyper"


def decoder_parameter(name: str, cfg: ModelConfig) -> bool:
    """Whether ``--decoder-only`` trains the parameter ``name``: the synthesis, and the
    inverse gains where nothing but the synthesis reads them (no context networks)."""
    return name.startswith("g_s.") or (name == "log_inv_gain" and not cfg.context_groups)


def make_optimizer(model: OpenLICModel, args: argparse.Namespace) -> torch.optim.Adam:
    """Adam with one parameter group per :func:`parameter_group`, each with its
    ``lr_scale`` relative to ``--lr``; with ``--relative-lr`` one group per tensor, whose
    scale :func:`scale_by_size` sets once the weights are in place."""
    groups: dict[str, list] = {"hyper": [], "analysis": [], "gain": [], "slow": [], "context": []}
    for name, p in model.named_parameters():
        groups[parameter_group(name)].append(p)
    scales = {
        "gain": args.gain_lr_scale,
        "slow": args.transform_lr_scale,
        "context": args.context_lr_scale,
    }
    return torch.optim.Adam(
        [
            {"params": chunk, "name": g, "lr_scale": scales.get(g, 1.0)}
            for g, ps in groups.items()
            for chunk in ([[p] for p in ps] if args.relative_lr else [ps])
        ],
        lr=args.lr,
        fused=True,  # one kernel for all parameters: 2 to 3 times faster than the loop
    )


RMS_FLOOR = 1e-4
"""Smallest size :func:`scale_by_size` gives a tensor (a tensor that starts at zero,
such as the last layer of a fresh context network, still learns)."""


@torch.no_grad()
def scale_by_size(opt: torch.optim.Adam) -> None:
    """``--relative-lr``: multiply the ``lr_scale`` of each one-tensor group by the
    root-mean-square of its tensor, so that a step of Adam (whose updates have about
    the size of the learning rate whatever the gradient) moves every tensor by about
    the same fraction of its size. The shipped model's weight tensors differ in size
    by a factor of 50 (root-mean-square 0.003 in the first synthesis layer, 0.02 to
    0.14 in the others): at one learning rate the first layer is torn apart while the
    others stay where the linear start put them."""
    for g in opt.param_groups:
        (p,) = g["params"]
        g["lr_scale"] *= max(p.pow(2).mean().sqrt().item(), RMS_FLOOR)


class TrainingLog:
    """``log.jsonl``: running means of the loss, rate and MSE, and per-anchor means of
    the rate and PSNR of the training crops since the last record (which trade-offs
    improve, and which are stuck)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.avg: dict[str, float] = {}
        self.per_anchor: dict[int, list] = {}  # anchor -> [sum of bpp, sum of MSE, samples]

    def add(self, losses: dict[str, torch.Tensor], k: torch.Tensor) -> None:
        for key in ("loss", "bpp", "mse"):
            v = losses[key].item()
            self.avg[key] = 0.98 * self.avg.get(key, v) + 0.02 * v
        bpps, mses = losses["bpp_each"].tolist(), losses["mse_each"].tolist()
        for kk, b, e in zip(k.tolist(), bpps, mses):
            a = self.per_anchor.setdefault(kk, [0.0, 0.0, 0])
            a[0], a[1], a[2] = a[0] + b, a[1] + e, a[2] + 1

    def write(self, step: int, lr: float, val: dict | None) -> None:
        record: dict = {"val": val} if val is not None else {}
        record.update(step=step, time=time.time(), lr=lr, **self.avg)
        if self.per_anchor:
            record["anchors"] = {
                str(kk): {"bpp": a[0] / a[2], "psnr": 10 * math.log10(a[2] / max(a[1], 1e-12))}
                for kk, a in sorted(self.per_anchor.items())
            }
            self.per_anchor.clear()
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.data and args.bank is None:
        ap.error("give --data folders or a --bank")
    device, rank = _processes(args, ap)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng([args.seed, rank])
    val_paths = [Path(p).resolve() for p in args.val]
    bank = _patch_bank(args, ap, rank, val_paths)
    val_imgs = [np.asarray(Image.open(p).convert("RGB")) for p in val_paths]

    cfg = ModelConfig.from_dict({**ModelConfig().to_dict(), **RECIPE_MODEL, **args.model_config})
    state = None
    if args.resume:
        state = torch.load(args.resume, map_location="cpu", weights_only=False)
        cfg = ModelConfig.from_dict(state["config"])
    args.freeze_transforms, args.transform_lr_scale = curriculum(
        cfg,
        fresh=state is None and not args.init,
        distributed=_distributed(),
        freeze=args.freeze_transforms,
        slow=args.transform_lr_scale,
    )
    # Channels-last tensors take oneDNN's and cuDNN's fastest convolutions: here a
    # float32 step is 10 % faster than in the contiguous layout, and the bfloat16
    # analysis (forward and backward) 1.4 times.
    model = OpenLICModel(cfg).to(device, memory_format=torch.channels_last)
    bf16 = args.bf16_analysis == "on" or (args.bf16_analysis == "auto" and native_bf16(device))
    opt = make_optimizer(model, args)
    frozen = set()
    if args.decoder_only:
        # Without a gradient the frozen parameters keep their values (Adam skips them),
        # and autograd records nothing of the analysis and the hyperprior.
        frozen = {id(p) for n, p in model.named_parameters() if not decoder_parameter(n, cfg)}
        for p in model.parameters():
            p.requires_grad_(id(p) not in frozen)
    transforms = [
        p
        for g in opt.param_groups
        if g["name"] in ("analysis", "slow")
        for p in g["params"]
        if id(p) not in frozen
    ]
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        if "optimizer" in state and len(state["optimizer"]["param_groups"]) == len(
            opt.param_groups
        ):
            # With --relative-lr the groups keep the scales of the run's start.
            opt.load_state_dict(state["optimizer"])
        else:
            state.pop("optimizer", None)  # another optimiser layout: start it afresh
        step = state["step"]
    elif args.init:
        # The moving average of the weights when the checkpoint has one.
        init = torch.load(args.init, map_location="cpu", weights_only=False)
        missing, unexpected = model.load_state_dict(init.get("ema", init["model"]), strict=False)
        # A model with context networks may start from one without: those start at zero.
        if unexpected or any(not k.startswith("ctx.") for k in missing):
            raise SystemExit(
                f"--init {args.init}: not a checkpoint of this model "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        if missing:
            # The context groups are fixed ranges of channels: order the channels by
            # decreasing rate first (as the export orders those of a model without
            # context), so that the first groups carry the most information, both for
            # the context networks of the later groups and for progressive decoding.
            pick = np.sort(rng.choice(len(bank), min(len(bank), 128), replace=False))
            bits = calibrate(model, np.asarray(bank[pick]))["bits"]
            reorder_latent_channels(model, torch.from_numpy(np.argsort(-bits, kind="stable")))
    elif cfg.linear_analysis:
        # A fresh model starts as a linear block-transform codec (encoder.linear_init).
        pick = np.sort(rng.choice(len(bank), min(len(bank), 200), replace=False))
        offsets = linear_init(model, np.asarray(bank[pick]), seed=args.seed)
        if rank == 0:
            print(f"linear initialisation from {len(pick)} patches: {offsets}")
    # The moving average of the weights smooths the noise of small-batch steps: it is
    # what validation sees and what the export quantises (checkpoint key "ema").
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema)) if args.ema else None
    if ema is not None and state is not None and "ema" in state:
        ema.module.load_state_dict(state["ema"])
        ema.n_averaged.fill_(1)
    warm = state is None or "optimizer" not in state
    if args.relative_lr and warm:
        scale_by_size(opt)
    net = torch.nn.parallel.DistributedDataParallel(model) if _distributed() else model
    lambdas = torch.tensor(cfg.lambdas, device=device)
    args.out.mkdir(parents=True, exist_ok=True)
    log = TrainingLog(args.out / "log.jsonl")
    batches = random_crops(bank, args.crop, args.batch, rng)
    last_ckpt = time.monotonic()
    bar = tqdm(total=args.steps, initial=step, disable=args.no_progress or rank != 0, desc="train")

    def checkpoint(step: int) -> dict:
        return {
            "config": cfg.to_dict(),
            "model": model.state_dict(),
            **({"ema": ema.module.state_dict()} if ema is not None else {}),
            "optimizer": opt.state_dict(),
            "step": step,
        }

    def hyper_steps(k: torch.Tensor) -> torch.Tensor | None:
        """``--hyper-step-anchors``: the hyper-latent step (log2) of each sample."""
        if not args.hyper_step_anchors:
            return None
        drawn = rng.choice(HYPER_STEP_CHOICES, size=len(k))
        return torch.from_numpy(drawn).to(device) * (k < args.hyper_step_anchors)

    first_step = step
    batch = next(batches)
    deadline = time.monotonic() + 60 * args.minutes if args.minutes is not None else math.inf
    while step < args.steps:
        # Curriculum: the transforms wait while the entropy model and the gains adapt
        # to them (no gradients at all, which also saves the backward pass of g_a).
        since_thaw = step - first_step - args.freeze_transforms
        for p in transforms:
            p.requires_grad_(since_thaw >= 0)
        # The schedule of --decay-steps, warmed up from a fresh start and after resuming
        # from weights without optimiser state (the shipped checkpoints keep only the
        # weights, to stay small).
        into_decay = step - (args.steps - args.decay_steps)
        lr = decayed(args.lr, args.lr_final, into_decay, args.decay_steps)
        lr *= min(1.0, (step - first_step + 1) / args.warmup) if warm else 1.0
        # Thawed transforms warm up again: Adam's first steps have full size whatever
        # the gradient, which would throw a good start away.
        thaw = min(1.0, (since_thaw + 1) / args.warmup) if args.freeze_transforms else 1.0
        for g in opt.param_groups:
            ramp = thaw if g["name"] in ("analysis", "slow") else 1.0
            g["lr"] = lr * g["lr_scale"] * ramp
        x = torch.from_numpy(batch).to(device, memory_format=torch.channels_last)
        k = torch.from_numpy(rng.integers(0, len(cfg.lambdas), x.shape[0])).to(device)
        out = net(x, k, hyper_step_log2=hyper_steps(k), bf16_analysis=bf16)
        losses = rate_distortion_loss(out, x, lambdas[k])
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        # Cut the next crops now, while an accelerator still runs this step: the
        # statistics below wait for it.
        batch = next(batches)
        step += 1
        log.add(losses, k)
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{log.avg['loss']:.3f}", bpp=f"{log.avg['bpp']:.3f}")
        if rank != 0:
            continue
        val = None
        if step % args.eval_every == 0 and val_imgs:
            k_last = len(cfg.lambdas) - 1
            val = evaluate(
                ema.module if ema is not None else model, val_imgs, [0, k_last // 2, k_last]
            )
        if time.monotonic() > deadline:
            args.steps = step  # the last step: checkpoint and stop
        if step % 200 == 0 or val is not None or step == args.steps:
            log.write(step, lr, val)  # the log ends at the step of the last checkpoint
        if args.freeze_transforms and step - first_step == args.freeze_transforms:
            # The end of the frozen phase, kept: the point to go back to if the thawed
            # transforms lose what the start gave.
            _save(args.out / "frozen.pt", checkpoint(step))
        if time.monotonic() - last_ckpt > args.ckpt_minutes * 60 or step == args.steps:
            _save(args.out / "last.pt", checkpoint(step))
            last_ckpt = time.monotonic()
    bar.close()
    if _distributed():
        # Leave together: a process that tore its group down while rank 0 still
        # validated and wrote the checkpoint aborted in gloo ("terminate called without
        # an active exception") in about 1 of 5 runs of the two-process test.
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
