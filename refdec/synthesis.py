"""Synthesis transform (WD 8.7).

The synthesis is the integer chain ``gs`` of WD 8.6 applied to the whole latent
``y_in``. The WD defines the result on the whole picture; this module computes it in
horizontal bands of latent rows with a halo, which gives the same integers (each
output sample depends only on a bounded neighbourhood, and the zero padding at the
picture border is the same in both) and bounds the memory to one band.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from refdec.network import IntLayer, run_layers


def halo(layers: list[IntLayer]) -> int:
    """Latent rows of context a band needs on each side for exact results.

    Each layer reads ``K // 2`` samples beyond its output at its own resolution;
    expressed at the final resolution and divided by the total upsampling factor, the
    sum is the reach into the latent grid.
    """
    reach, scale = 0, 1
    for layer in layers:
        reach = (reach + layer.kernel // 2) * (2 if layer.depth_to_space else 1)
        scale *= 2 if layer.depth_to_space else 1
    return -(-reach // scale)  # Ceil(reach / scale) in integers


BAND_BYTES = 64 * 2**20
"""Working memory a band may take (informative: any band height gives the same output)."""


def band_rows(layers: list[IntLayer], wy: int, budget: int = BAND_BYTES) -> int:
    """Latent rows per band so that a layer's input and output fit ``budget`` bytes.

    Taller bands waste less work on halos (each band recomputes :func:`halo` rows
    above and below); narrower pictures therefore get taller bands, and a Kodak
    picture is synthesised in one.
    """
    row_bytes, scale = 0, 1
    for layer in layers:
        # int16 samples per latent row: the input at this scale plus the output of the
        # convolution (before depth-to-space, at the same scale).
        per_sample = layer.in_channels + layer.weight.shape[0]
        row_bytes = max(row_bytes, 2 * per_sample * scale * scale * wy)
        scale *= 2 if layer.depth_to_space else 1
    return max(1, budget // max(1, row_bytes))


def synthesis_bands(
    y_in: np.ndarray, layers: list[IntLayer], band_rows: int, *, threads: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """WD 8.7 band by band: yields (first output row, rows of ``x_fp``).

    ``band_rows`` latent rows are synthesised at a time, each with :func:`halo` rows
    of context above and below, cut off again after synthesis.
    """
    hy = y_in.shape[0]
    up = 2 ** sum(layer.depth_to_space for layer in layers)
    h = halo(layers)
    for y0 in range(0, hy, band_rows):
        y1 = min(y0 + band_rows, hy)
        a, b = max(0, y0 - h), min(hy, y1 + h)
        out = run_layers(np.ascontiguousarray(y_in[a:b]), layers, threads=threads)
        yield y0 * up, out[(y0 - a) * up : (y1 - a) * up]


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
        [band for _, band in synthesis_bands(y_in, layers, rows, threads=threads)], axis=0
    )
