"""Reading and writing PNG pictures (informative: outside the decoding process).

8-bit pictures go through Pillow. Pillow cannot write 16-bit RGB PNG, so 10-bit
pictures are written with pypng: the 10-bit samples are scaled to the 16-bit range
and an sBIT chunk records that 10 bits are significant (PNG specification 12.5), and
reading such a file gives the 10-bit samples back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
from PIL import Image


def write_png(samples: np.ndarray, bit_depth: int, path: Path | str) -> None:
    """Write (H, W, 3) samples of ``bit_depth`` bits as an RGB PNG file."""
    h, w, _ = samples.shape
    if bit_depth == 8:
        Image.fromarray(np.ascontiguousarray(samples, dtype=np.uint8), "RGB").save(path)
        return
    writer = png.Writer(w, h, greyscale=False, bitdepth=bit_depth)
    with open(path, "wb") as f:
        writer.write_array(f, np.ascontiguousarray(samples, dtype=np.uint16).ravel())


def read_png16(path: Path | str) -> tuple[np.ndarray, int]:
    """Read a 16-bit PNG as (H, W, 3) uint16 samples and their significant bits."""
    reader = png.Reader(filename=str(path))
    w, h, rows, info = reader.asDirect()
    planes = info["planes"]
    arr = np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(h, w, planes)
    return arr, int(info["bitdepth"])
