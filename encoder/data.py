"""Training data: a bank of uint8 patches cut once from folders of photographs.

Decoding a 4-megapixel JPEG costs more than a training step on a 128x128 crop, so the
images are decoded, randomly downscaled (which also hides JPEG artefacts) and cut into
256x256 patches once; training then takes random sub-crops of the bank, flipped and
transposed at random.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
BANK_PATCH = 256


def find_images(folders: Iterable[Path | str]) -> list[Path]:
    """All PNG and JPEG files under ``folders``, one per picture.

    Wallpaper packages ship one picture at several sizes in one folder
    (``NAME/contents/images/WxH.jpg``); only the largest of such a folder is kept.
    """
    best: dict[Path, Path] = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
                continue
            key = p.parent if p.parent.name == "images" else p
            if key not in best or p.stat().st_size > best[key].stat().st_size:
                best[key] = p
    return sorted(best.values())


def _load_rgb(path: Path) -> np.ndarray | None:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError):
        return None


def _patches_from(img: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Downscale at random and cut about one patch per 1.5 patch areas.

    Large pictures go down to three random short sides of 384..1024 pixels (one
    photograph then yields textures at several scales); small ones (BSDS, 321 px)
    by a factor 0.8..1, to soften their JPEG artefacts.
    """
    short = min(img.shape[:2])
    if short > 1024:
        targets = rng.uniform(384, 1024, 3)
    else:
        targets = short * rng.uniform(0.8, 1.0, 1)
    out: list[np.ndarray] = []
    for target in targets:
        out.extend(_cut(img, target / short, rng))
    return out


def _cut(img: np.ndarray, s: float, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = img.shape[:2]
    nh, nw = max(BANK_PATCH, round(h * s)), max(BANK_PATCH, round(w * s))
    im = Image.fromarray(img).resize((nw, nh), Image.Resampling.LANCZOS)
    arr = np.asarray(im)
    count = max(1, round(nh * nw / (1.5 * BANK_PATCH**2)))
    out = []
    for _ in range(count):
        y = rng.integers(0, nh - BANK_PATCH + 1)
        x = rng.integers(0, nw - BANK_PATCH + 1)
        out.append(arr[y : y + BANK_PATCH, x : x + BANK_PATCH])
    return out


def build_patch_bank(
    images: list[Path], out: Path, seed: int = 0, progress: bool = True
) -> np.ndarray:
    """Cut the patch bank for ``images`` and save it as ``out`` (a ``.npy`` file)."""
    rng = np.random.default_rng(seed)
    patches: list[np.ndarray] = []
    for path in tqdm(images, desc="patch bank", disable=not progress):
        img = _load_rgb(path)
        if img is None or min(img.shape[:2]) < 64:
            continue
        patches.extend(_patches_from(img, rng))
    bank = np.stack(patches)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npy")
    np.save(tmp, bank)
    tmp.replace(out)
    return bank


def bank_key(images: list[Path], seed: int) -> str:
    """A short digest naming a bank by its source files and seed."""
    h = hashlib.sha256(str(seed).encode())
    for p in images:
        h.update(str(p).encode())
    return h.hexdigest()[:12]


def random_crops(
    bank: np.ndarray, crop: int, batch: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Endless batches (B, 3, crop, crop) of float32 in [0, 1]."""
    n = bank.shape[0]
    while True:
        idx = rng.integers(0, n, batch)
        ys = rng.integers(0, BANK_PATCH - crop + 1, batch)
        xs = rng.integers(0, BANK_PATCH - crop + 1, batch)
        flips = rng.integers(0, 8, batch)
        out = np.empty((batch, crop, crop, 3), np.uint8)
        for i in range(batch):
            p = bank[idx[i], ys[i] : ys[i] + crop, xs[i] : xs[i] + crop]
            if flips[i] & 1:
                p = p[:, ::-1]
            if flips[i] & 2:
                p = p[::-1]
            if flips[i] & 4:
                p = p.transpose(1, 0, 2)
            out[i] = p
        yield out.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
