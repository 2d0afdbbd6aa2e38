"""Train on a lent GPU machine in one call, within the limits of its transfers.

Sessions of this project are lent a GPU machine by chance, for about 15 minutes of
device time in all; one command runs at most 10 minutes there, only the working tree
(64 MiB, with what ``carry`` names) travels to it, and at most 8 files of 16 MiB each
come back from its ``$OUT`` (``/work/.library/device/README.md``). A GPU minute is worth
about an hour of this project's CPUs (``models/README.md``), so the minutes are best
spent training, with everything prepared here:

1. here, ``prepare``: the patch bank as JPEG patches, as many as fit beside the
   repository in the transfer (``tools/bank_pack.py``), and the validation pictures,
   into ``gpu/`` (which ``.git/info/exclude`` ignores, so it travels only when the call
   carries it; run from the repository's root, as the device machine runs it, which
   has no installed package)::

       python -m tools.gpu_session prepare BANK.npy \
           --val $(ls ../shared/data/bsds500/val/*.jpg | head -12)

2. there, one ``run`` call with ``carry: ["gpu"]``, ``train``: unpack, ``openlic
   train`` for the given minutes on batches of 16 with the options after ``--``, then
   the moving average of the weights into ``$OUT`` in parts under 16 MiB, and the log::

       python -m tools.gpu_session train 8 -- --resume models/openlic-1/train.pt --lr 1e-4

3. here, ``join``: the parts into one checkpoint that ``openlic train --resume`` and
   ``scripts/ship-model.sh`` take::

       python -m tools.gpu_session join FILES_AT runs/g1.pt

The optimiser state stays behind (it is twice the weights): a run resumed from the
joined checkpoint warms its learning rate up again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import torch

from tools.bank_pack import pack, unpack

ROOT = Path(__file__).resolve().parents[1]
TRANSFER_BYTES = 64 << 20
"""What travels to the device machine: the working tree and the carried paths."""
PART_BYTES = 15 << 20
"""Largest file written back (the limit is 16 MiB; the margin is torch.save's framing)."""
MARGIN_BYTES = 2 << 20
"""Room left in the transfer for files that appear between ``prepare`` and the call."""


def travelling_bytes(root: Path) -> int:
    """Bytes of the files that travel without being carried: tracked files and untracked
    ones that git does not ignore."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    files = (root / name for name in out.decode().split("\0") if name)
    return sum(f.stat().st_size for f in files if f.is_file())


def ignore_folder(root: Path, folder: str) -> None:
    """Add ``/folder/`` to ``.git/info/exclude`` unless it is there."""
    exclude = root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if f"/{folder}/" not in lines:
        exclude.write_text("\n".join([*lines, f"/{folder}/"]) + "\n")


def prepare(bank: Path, val: list[Path], root: Path, folder: str = "gpu") -> tuple[int, int]:
    """Fill ``root/folder`` with the validation pictures and as much of ``bank`` as the
    transfer holds beside the working tree; (patches packed, bytes of the pack)."""
    ignore_folder(root, folder)
    dest = root / folder
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "val").mkdir(parents=True)
    for p in val:
        shutil.copyfile(p, dest / "val" / p.name)
    val_bytes = sum(p.stat().st_size for p in val)
    budget = TRANSFER_BYTES - travelling_bytes(root) - val_bytes - MARGIN_BYTES
    if budget < 1 << 20:
        raise SystemExit(f"only {budget} bytes of the transfer are left for the bank")
    count = pack(bank, dest / "pack.zip", budget, quality=95, seed=0)
    return count, (dest / "pack.zip").stat().st_size


def write_parts(state: dict, out: Path, part_bytes: int = PART_BYTES) -> list[Path]:
    """The moving average of the weights (or the weights), the configuration and the
    step of a training checkpoint, as files ``weights-N.pt`` under ``part_bytes``."""
    weights = state.get("ema", state["model"])
    parts: list[dict] = [{}]
    size = 0
    for name, tensor in weights.items():
        n = tensor.numel() * tensor.element_size()
        if n > part_bytes:
            raise SystemExit(f"{name}: {n} bytes, more than a part holds")
        if size + n > part_bytes:
            parts.append({})
            size = 0
        parts[-1][name] = tensor
        size += n
    paths = []
    for i, part in enumerate(parts):
        path = out / f"weights-{i}.pt"
        torch.save({"config": state["config"], "step": state["step"], "weights": part}, path)
        paths.append(path)
    return paths


def join(folder: Path, out: Path) -> dict:
    """The checkpoint ``{"config", "model", "step"}`` of the parts in ``folder``."""
    paths = sorted(folder.glob("weights-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    if not paths:
        raise SystemExit(f"{folder}: no weights-N.pt parts")
    parts = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    model: dict = {}
    for part in parts:
        model.update(part["weights"])
    state = {"config": parts[0]["config"], "model": model, "step": parts[0]["step"]}
    torch.save(state, out)
    return state


def train(minutes: float, extra: list[str], folder: Path, out: Path) -> int:
    """Unpack the bank, train for ``minutes``, write the parts and the log to ``out``."""
    from encoder.train import main as train_main

    bank = folder / "bank.npy"
    start = time.monotonic()
    print(f"bank {unpack(folder / 'pack.zip', bank)} in {time.monotonic() - start:.0f} s")
    run = out / "run"
    val = sorted(str(p) for p in (folder / "val").iterdir())
    argv = ["--bank", str(bank), "--val", *val, "--out", str(run), "--batch", "16"]
    argv += ["--eval-every", "2000", "--steps", "10000000", "--no-progress"]
    rc = train_main([*argv, "--minutes", str(minutes), *extra])
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
    for path in write_parts(state, out):
        print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB, step {state['step']}")
    shutil.move(run / "log.jsonl", out / "log.jsonl")
    shutil.rmtree(run)
    return rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="here: the bank and validation pictures into gpu/")
    p.add_argument("bank", type=Path)
    p.add_argument("--val", nargs="+", type=Path, required=True)
    t = sub.add_parser("train", help="there: train, and the weights and log into $OUT")
    t.add_argument("minutes", type=float, help="minutes of training (the call allows 10)")
    t.add_argument("train_options", nargs=argparse.REMAINDER, help="after --: openlic train's")
    t.add_argument("--folder", type=Path, default=ROOT / "gpu", help=argparse.SUPPRESS)
    j = sub.add_parser("join", help="here: the fetched parts into one checkpoint")
    j.add_argument("folder", type=Path)
    j.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        count, size = prepare(args.bank, args.val, ROOT)
        print(f"gpu/: {count} patches ({size / 2**20:.1f} MiB) and {len(args.val)} pictures")
        return 0
    if args.cmd == "train":
        if "OUT" not in os.environ:
            raise SystemExit("train runs on the device machine, where $OUT is set")
        extra = args.train_options[1:] if args.train_options[:1] == ["--"] else args.train_options
        return train(args.minutes, extra, args.folder, Path(os.environ["OUT"]))
    state = join(args.folder, args.out)
    print(f"{args.out}: step {state['step']}, {len(state['model'])} tensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
