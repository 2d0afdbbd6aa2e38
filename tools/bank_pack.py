"""Carry a training patch bank to another machine in a few tens of megabytes.

A patch bank (:mod:`encoder.data`) holds raw 256 x 256 RGB patches: the one cut from
BSDS500 and the Debian wallpapers is 565 MB. ``pack`` writes a random subset of it as
JPEG files (4:4:4, quality 95 by default) into a zip, as many as fit a size budget;
``unpack`` decodes such a zip back into a ``.npy`` bank for ``openlic train --bank``.

At quality 95 with full-resolution chroma a patch takes about 23 KB, and its JPEG
error lies below that of the best quality the model reaches (about 36 dB), so the
repacked patches still serve as training targets.

Usage::

    python tools/bank_pack.py pack BANK.npy PACK.zip --max-mb 40
    python tools/bank_pack.py unpack PACK.zip BANK.npy
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def pack(bank_path: Path, out: Path, max_bytes: int, quality: int, seed: int) -> int:
    """Write patches of ``bank_path`` in a random order until ``max_bytes``; their count."""
    bank = np.load(bank_path, mmap_mode="r")
    order = np.random.default_rng(seed).permutation(len(bank))
    total = count = 0
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for i in order:
            buf = io.BytesIO()
            Image.fromarray(np.asarray(bank[i])).save(buf, "JPEG", quality=quality, subsampling=0)
            if total + buf.tell() > max_bytes:
                break
            zf.writestr(f"{i:06d}.jpg", buf.getvalue())
            total += buf.tell()
            count += 1
    tmp.replace(out)
    return count


def unpack(pack_path: Path, out: Path) -> tuple[int, ...]:
    """Decode every patch of ``pack_path`` into the bank ``out``; its shape."""
    with zipfile.ZipFile(pack_path) as zf:
        names = sorted(zf.namelist())
        patches = [np.asarray(Image.open(io.BytesIO(zf.read(n))).convert("RGB")) for n in names]
    bank = np.stack(patches)
    tmp = out.with_suffix(".tmp.npy")
    np.save(tmp, bank)
    tmp.replace(out)
    return bank.shape


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="bank -> zip of JPEG patches")
    p.add_argument("bank", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--max-mb", type=float, default=40.0, help="size budget of the zip")
    p.add_argument("--quality", type=int, default=95)
    p.add_argument("--seed", type=int, default=0)
    u = sub.add_parser("unpack", help="zip of JPEG patches -> bank")
    u.add_argument("pack", type=Path)
    u.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        n = pack(args.bank, args.out, int(args.max_mb * 1e6), args.quality, args.seed)
        print(f"{args.out}: {n} patches, {args.out.stat().st_size / 1e6:.1f} MB")
    else:
        print(f"{args.out}: bank of shape {unpack(args.pack, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
