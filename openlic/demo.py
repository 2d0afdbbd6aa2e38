"""The quick-start demo: encode a sample picture, decode it with refdec, report.

``python -m openlic.demo`` (run by ``bash scripts/demo.sh``) encodes
``samples/seeding.png`` with the shipped model through :func:`encoder.encode`, decodes
the codestream with the reference decoder (:func:`refdec.decode`), writes
``out/demo.olic`` and ``out/demo.png``, and prints the rate in bits per pixel, the
PSNR of the decoded picture against the input and the time each step took.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from openlic.cli import CliError, _field, _require, decode_file, encode_file, run_guarded

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = REPO_ROOT / "samples" / "seeding.png"


def psnr(a: np.ndarray, b: np.ndarray, bit_depth: int) -> float:
    """PSNR in dB over all samples of two pictures of the same shape and bit depth."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    peak = float((1 << bit_depth) - 1)
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def numba_cache_dir() -> Path:
    """Where numba keeps the compiled kernels of refdec (``cache=True``)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    refdec = sys.modules.get("refdec")
    base = Path(refdec.__file__).parent if refdec and refdec.__file__ else REPO_ROOT / "refdec"
    return base / "__pycache__"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(image: Path, out_dir: Path, quality: int | None) -> dict[str, Any]:
    """Encode and decode ``image``; return the figures that :func:`main` prints."""
    if not image.is_file():
        raise CliError(f"sample picture '{image}' not found (give one with --image)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(f"cannot create '{out_dir}': {e.strerror or e}") from None
    stream_path, png_path = out_dir / "demo.olic", out_dir / "demo.png"

    t0 = time.perf_counter()
    _require("encoder", "encode")  # import PyTorch and the model outside the timing
    _require("refdec", "decode")
    t_import = time.perf_counter() - t0

    t0 = time.perf_counter()
    data, original, bit_depth = encode_file(str(image), str(stream_path), quality=quality)
    t_encode = time.perf_counter() - t0

    t0 = time.perf_counter()
    picture = decode_file(str(stream_path), str(png_path))
    t_decode = time.perf_counter() - t0

    h, w = original.shape[:2]
    decoded = np.asarray(picture.samples)
    if original.ndim == 2:  # compare a grey input with each decoded plane
        original = np.repeat(original[:, :, None], 3, axis=2)
    return {
        "image": image,
        "width": w,
        "height": h,
        "bit_depth": bit_depth,
        "quality": _field(picture.header, "quality", quality),
        "stream_path": stream_path,
        "png_path": png_path,
        "bytes": len(data),
        "bpp": 8 * len(data) / (w * h),
        "psnr": psnr(original, decoded, bit_depth),
        "t_import": t_import,
        "t_encode": t_encode,
        "t_decode": t_decode,
        "numba_cache": numba_cache_dir(),
    }


def report(r: dict[str, Any]) -> str:
    quality = "encoder default" if r["quality"] is None else str(r["quality"])
    rows = [
        (
            "input",
            f"{_display(r['image'])}  ({r['width']} x {r['height']}, "
            f"{r['bit_depth']} bits per sample)",
        ),
        ("quality", quality),
        ("codestream", f"{_display(r['stream_path'])}  ({r['bytes']:,} bytes)"),
        ("rate", f"{r['bpp']:.4f} bits per pixel"),
        ("decoded", _display(r["png_path"])),
        ("PSNR", f"{r['psnr']:.2f} dB (RGB, against the input)"),
        ("load", f"{r['t_import']:6.2f} s  (import PyTorch, encoder, refdec)"),
        ("encode", f"{r['t_encode']:6.2f} s  (encoder, PyTorch)"),
        (
            "decode",
            f"{r['t_decode']:6.2f} s  (refdec; the first run also compiles the numba kernels)",
        ),
        ("numba cache", _display(r["numba_cache"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "OpenLIC demo\n" + "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m openlic.demo", description=__doc__)
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="input picture (PNG)")
    ap.add_argument("--out-dir", type=Path, default=Path("out"), help="output folder")
    ap.add_argument("--quality", type=int, default=None, help="quality index")
    args = ap.parse_args(argv)

    def go() -> int:
        print(report(run(args.image, args.out_dir, args.quality)))
        return 0

    return run_guarded(go)


if __name__ == "__main__":
    sys.exit(main())
