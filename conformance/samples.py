"""Output samples: their canonical bytes and hash, reading decoder output, comparing.

The hash of a decoded picture (WD D.3) is the SHA-256 of its samples in raster order,
components interleaved (R, G, B of each position, positions row by row, top row
first), each sample one byte when the bit depth is 8 and two bytes big-endian
otherwise. :func:`samples_sha256` computes it from an (H, W, 3) array.

A decoder under test writes its output as a PNG file (8-bit RGB for 8-bit pictures;
16-bit RGB with an ``sBIT`` chunk of 10 for 10-bit pictures, as ``openlic decode``
writes them) or as a NumPy ``.npy`` file holding the (H, W, 3) samples in any integer
type. :func:`read_output` reads either.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np


class OutputError(Exception):
    """An output file that is not a picture in one of the accepted forms."""


def canonical_bytes(samples: np.ndarray, bit_depth: int) -> bytes:
    """The samples as hashed (WD D.3): interleaved raster order, 1 or 2 bytes each."""
    a = np.asarray(samples)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"samples must be (H, W, 3), not {a.shape}")
    dtype = ">u1" if bit_depth <= 8 else ">u2"
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


def samples_sha256(samples: np.ndarray, bit_depth: int) -> str:
    """SHA-256 (hex) of the canonical bytes of the samples (WD D.3)."""
    return hashlib.sha256(canonical_bytes(samples, bit_depth)).hexdigest()


def read_png(path: Path | str) -> tuple[np.ndarray, int]:
    """(H, W, 3) samples of an RGB PNG file and their number of significant bits.

    8-bit files give their samples; 16-bit files with an ``sBIT`` chunk give samples
    of that many bits (the PNG rule: the most significant bits); 16-bit files without
    one give 16-bit samples.
    """
    import png
    from PIL import Image

    try:
        with open(path, "rb") as f:
            head = f.read(26)
        # IHDR: bit depth 8, colour type 2 (RGB): Pillow reads it faster than pypng.
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[24:26] == b"\x08\x02":
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), np.int64), 8
    except (OSError, ValueError):
        pass  # reported by pypng below
    try:
        reader = png.Reader(filename=str(path))
        width, height, rows, info = reader.asDirect()
        planes = int(info["planes"])
        data = np.vstack([np.asarray(r, np.int64) for r in rows]) if height else None
    except (png.Error, OSError, ValueError) as e:
        raise OutputError(f"not a readable PNG file: {e}") from None
    if planes != 3 or info.get("alpha") or info.get("greyscale"):
        raise OutputError(f"PNG output must be RGB without alpha, not {planes} component(s)")
    if data is None:
        raise OutputError("PNG output has no rows")
    return data.reshape(height, width, 3), int(info["bitdepth"])


def read_npy(path: Path | str) -> np.ndarray:
    """(H, W, 3) integer samples of a ``.npy`` file."""
    try:
        a = np.load(str(path), allow_pickle=False)
    except (OSError, ValueError) as e:
        raise OutputError(f"not a readable .npy file: {e}") from None
    if not isinstance(a, np.ndarray) or a.ndim != 3 or a.shape[2] != 3:
        raise OutputError(f".npy output must be an (H, W, 3) array, not {getattr(a, 'shape', a)}")
    if a.dtype.kind not in "ui":
        raise OutputError(f".npy output must hold integers, not {a.dtype}")
    return a.astype(np.int64)


def read_output(path: Path | str) -> tuple[np.ndarray, int | None]:
    """Samples and bit depth of a decoder's output file (``.npy`` or PNG).

    The bit depth is None for ``.npy`` files, which do not state it.
    """
    if str(path).endswith(".npy"):
        return read_npy(path), None
    return read_png(path)


def compare(got: np.ndarray, expected: np.ndarray, bit_depth: int) -> tuple[int, int, float]:
    """(number of differing samples, peak absolute error, PSNR in dB) of two pictures
    of the same shape; the PSNR is infinite for equal pictures."""
    d = got.astype(np.int64) - expected.astype(np.int64)
    differing = int(np.count_nonzero(d))
    peak = int(np.abs(d).max()) if d.size else 0
    mse = float(np.mean(d.astype(np.float64) ** 2)) if d.size else 0.0
    top = float((1 << bit_depth) - 1)
    psnr = math.inf if mse == 0 else 10 * math.log10(top * top / mse)
    return differing, peak, psnr
