"""Conversion to output samples and cropping (WD 8.8)."""

from __future__ import annotations

import numpy as np


def sample_dtype(bit_depth: int) -> type[np.unsignedinteger]:
    """The array type of decoded samples: uint8 up to 8 bits, uint16 above.

    An interface choice, not part of the decoding process: WD 8.8 defines sample values.
    """
    return np.uint8 if bit_depth <= 8 else np.uint16


def to_samples(x_fp: np.ndarray, f_out: int, bit_depth: int, width: int, height: int) -> np.ndarray:
    """WD 8.8: ``Clip3(0, 2^B - 1, (x_fp * (2^B - 1) + 2^(F_out - 1)) >> F_out)``.

    ``x_fp`` is the synthesis output (H', W', 3) with ``F_out`` fractional bits; the
    result is cropped to the picture size, channels R, G, B, as :func:`sample_dtype`.
    int32 is exact: ``|x_fp| <= 2^15``, ``2^B - 1 <= 1023`` (R-BIT-DEPTH) and
    ``F_out <= 24`` (Annex C) keep every intermediate below ``2^26 + 2^23``. The
    operations are done in place, so the working memory is one int32 copy.
    """
    x = x_fp[:height, :width].astype(np.int32)
    peak = (1 << bit_depth) - 1
    x *= peak
    x += 1 << (f_out - 1)
    x >>= f_out
    np.clip(x, 0, peak, out=x)
    return x.astype(sample_dtype(bit_depth))
