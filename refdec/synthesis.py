"""Synthesis transform (WD 8.7).

The synthesis is the integer chain ``gs`` of WD 8.6 applied to the whole latent
``y_in``. The WD defines the result on the whole picture; the decoder computes it in
horizontal bands of latent rows with a halo (:func:`refdec.network.chain_bands`),
which gives the same integers and bounds the memory to one band.
"""

from __future__ import annotations

import numpy as np

from refdec.network import IntLayer, chain_bands


def synthesis(
    y_in: np.ndarray,
    layers: list[IntLayer],
    *,
    band_rows: int | None = None,
    threads: bool = True,
) -> np.ndarray:
    """WD 8.7: ``y_in`` (Hy, Wy, M) int16 -> ``x_fp`` (16 Hy, 16 Wy, 3) int16."""
    rows = band_rows or y_in.shape[0]
    return np.concatenate(
        [band for _, band in chain_bands(y_in, layers, rows, threads=threads)], axis=0
    )
