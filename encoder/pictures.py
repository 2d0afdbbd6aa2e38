"""Reading input pictures for the encoder, with the conversions it documents.

* 8-bit pictures of any Pillow mode are converted to RGB: grey is replicated to three
  channels, palettes are expanded, CMYK and YCbCr go through Pillow's conversion, and
  an alpha channel is dropped (OpenLIC codes colour only).
* 16-bit PNG files are read with pypng. If an sBIT chunk says at most 10 bits are
  significant, the samples are taken at that depth and coded as 10-bit; full 16-bit
  samples are rounded to 10 bits: ``(v * 1023 + 32767) // 65535``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
from PIL import Image, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_bit_depth(path: Path) -> int | None:
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != PNG_SIGNATURE:
        return None
    return head[24]


def _read_png16(path: Path) -> tuple[np.ndarray, int]:
    try:
        w, h, rows, info = png.Reader(filename=str(path)).asDirect()
        arr = np.vstack([np.asarray(r, np.uint32) for r in rows])
    except (png.Error, ValueError, EOFError) as e:
        raise ValueError(f"not a readable PNG file ({e})") from None
    arr = arr.reshape(h, w, info["planes"])
    if not info["greyscale"]:
        arr = arr[:, :, :3]
    else:
        arr = np.repeat(arr[:, :, :1], 3, axis=2)
    depth = int(info["bitdepth"])  # the sBIT depth where the file has one
    if depth != 10:
        peak = (1 << depth) - 1
        arr = (arr * 1023 + peak // 2) // peak
    return arr.astype(np.uint16), 10


def read_image(path: Path | str) -> tuple[np.ndarray, int]:
    """Read a picture file as (H, W, 3) samples and their bit depth (8 or 10)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise ValueError("the file is empty")
    if _png_bit_depth(path) == 16:
        return _read_png16(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, np.uint32)
                arr = (np.clip(arr, 0, 65535) * 1023 + 32767) // 65535
                return np.repeat(arr[:, :, None], 3, axis=2).astype(np.uint16), 10
            return np.asarray(im.convert("RGB")), 8
    except UnidentifiedImageError:
        raise ValueError("not a picture format Pillow can read") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"cannot decode the picture ({e})") from None
