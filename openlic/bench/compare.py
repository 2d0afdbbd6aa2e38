"""Visual comparison: one picture coded by every codec at the same rate.

Each codec codes the picture at the largest rate it reaches without exceeding the
target (whole file, headers included), found by bisection over its parameter between
the first and the last of the parameters the rate-distortion benchmark uses (which
every codec lists in the order of increasing rate). :func:`run_compare` writes
``compare.json`` (what was coded, its rate and PSNR) and ``compare.png`` (the same
region of every decoded picture, at full size, beside the original).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openlic.bench import BenchError
from openlic.bench.codecs import Codec
from openlic.bench.metrics import psnr_rgb

SEARCH_STEPS = 12
"""Bisection steps on a codec with a continuous parameter (JPEG 2000's target rate,
JPEG XL's distance): the bracket shrinks to 1/4096 of the parameter range."""


def at_rate(codec: Codec, image: np.ndarray, bpp: float) -> dict[str, Any]:
    """Code ``image`` at the largest rate not above ``bpp`` that the parameter range of
    ``codec`` reaches; returns the parameter, rate, PSNR-RGB and decoded picture.

    Raises :class:`BenchError` when even the lowest-rate parameter exceeds the target.
    """
    pixels = image.shape[0] * image.shape[1]
    first, last = float(codec.params[0]), float(codec.params[-1])
    integer = all(float(p).is_integer() for p in codec.params)
    tried: dict[float, tuple[bytes, float]] = {}

    def rate(param: float) -> float:
        if param not in tried:
            data = codec.compress(image, param)
            tried[param] = (data, 8.0 * len(data) / pixels)
        return tried[param][1]

    if rate(first) > bpp:
        raise BenchError(
            f"{codec.name}: its lowest rate on this picture, {rate(first):.3f} bpp "
            f"(parameter {first:g}), is above the target {bpp:g} bpp"
        )
    lo, hi = first, last  # rate(lo) <= bpp; the answer lies in [lo, hi]
    if rate(last) <= bpp:
        lo = last
    elif integer:
        while abs(hi - lo) > 1:
            mid = float(round((lo + hi) / 2))
            lo, hi = (mid, hi) if rate(mid) <= bpp else (lo, mid)
    else:
        for _ in range(SEARCH_STEPS):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if rate(mid) <= bpp else (lo, mid)
    data, bits_pp = tried[lo]
    recon = codec.decompress(data, image.shape)
    return {
        "codec": codec.name,
        "label": codec.label,
        "param_name": codec.param_name,
        "param": lo,
        "bpp": bits_pp,
        "psnr_rgb": psnr_rgb(image, recon),
        "recon": recon,
    }


def centre_crop(shape: Sequence[int], size: int = 256) -> tuple[int, int, int, int]:
    """The ``size`` x ``size`` region (x, y, w, h) at the centre of a picture."""
    h, w = shape[0], shape[1]
    cw, ch = min(size, w), min(size, h)
    return (w - cw) // 2, (h - ch) // 2, cw, ch


def draw_panels(
    panels: Sequence[tuple[np.ndarray, str]],
    crop: tuple[int, int, int, int],
    path: Path | str,
    *,
    columns: int = 4,
) -> None:
    """The region ``crop`` (x, y, w, h) of every picture of ``panels``, in rows of
    ``columns``, one picture sample per pixel at 150 dpi, each under its caption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, w, h = crop
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    dpi, gap, title = 150, 12, 40  # pixels between panels and above each for its caption
    width, height = columns * (w + gap), rows * (h + title)
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    for i, (samples, caption) in enumerate(panels):
        row, col = divmod(i, columns)
        left, bottom = col * (w + gap) + gap / 2, height - (row + 1) * (h + title)
        ax = fig.add_axes((left / width, bottom / height, w / width, h / height))
        ax.imshow(samples[y : y + h, x : x + w], interpolation="nearest")
        ax.set_title(caption, fontsize=5.5)
        ax.axis("off")
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(fig)


def run_compare(
    picture: Path,
    codecs: Sequence[Codec],
    bpp: float,
    out: Path,
    *,
    crop: tuple[int, int, int, int] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Code ``picture`` with every codec at ``bpp`` (:func:`at_rate`); write
    ``out/compare.json`` and ``out/compare.png``; return the JSON's content. Codecs
    that cannot run here, or cannot reach the rate, are left out with a message."""
    from openlic.bench.rd import load_image, write_json

    image = load_image(picture)
    crop = crop or centre_crop(image.shape)
    x, y, w, h = crop
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > image.shape[1] or y + h > image.shape[0]:
        raise BenchError(
            f"crop {crop} lies outside the {image.shape[1]} x {image.shape[0]} picture"
        )
    coded, skipped = [], []
    for codec in codecs:
        why = codec.unavailable()
        if why is None:
            log(f"compare: {codec.label} at {bpp:g} bpp")
            try:
                coded.append(at_rate(codec, image, bpp))
                continue
            except BenchError as e:
                why = str(e)
        log(f"compare: {codec.label} left out: {why}")
        skipped.append({"codec": codec.name, "why": why})
    out.mkdir(parents=True, exist_ok=True)
    captions = [f"{c['label']}\n{c['bpp']:.3f} bpp, {c['psnr_rgb']:.2f} dB" for c in coded]
    panels = [(image, "original"), *zip((c["recon"] for c in coded), captions)]
    draw_panels(panels, crop, out / "compare.png")
    result = {
        "kind": "openlic-bench-compare",
        "picture": picture.name,
        "size": [image.shape[1], image.shape[0]],
        "target_bpp": bpp,
        "crop": list(crop),
        "coded": [{k: v for k, v in c.items() if k != "recon"} for c in coded],
        "skipped": skipped,
    }
    write_json(result, out / "compare.json")
    return result
