"""Hyper-latent decoding and hyper synthesis (WD 8.3).

The hyper-latent ``z_hat`` is entropy decoded with one fixed table per channel (moved
down by the hyper-latent step of the picture header), then scaled by that step, and the
integer network ``hs`` turns it into a mean and a log-scale for every latent sample.
Only integers and table lookups are involved, so the table that codes each latent
symbol (WD 8.4) is the same in every conforming decoder.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from refdec.network import IntLayer, chain_bands
from refdec.network import band_rows as bands_for
from refdec.params import ParameterSet

HYPER_STEP_TABLE_SHIFT = (0, 6, 11)
"""``HyperStepShift[k]`` (WD 8.3.1): the tables by which a hyper-latent step of ``2^k``
moves the table of each channel down, ``k ln 2`` in table spacings of Annex B (5.63
each), rounded: the coded values ``z / 2^k`` have ``2^k`` times smaller scales."""


def hyper_symbol_tables(params: ParameterSet, hz: int, wz: int, step_log2: int) -> np.ndarray:
    """Table index of every ZS symbol in coding order (WD 8.3.1): c, then y, then x;
    ``Max(0, z_table[c] - HyperStepShift[k])`` for the step ``2^k`` of the picture."""
    tables = np.maximum(params.z_table.astype(np.int32) - HYPER_STEP_TABLE_SHIFT[step_log2], 0)
    return np.repeat(tables, hz * wz)


def hyper_input(z_hat: np.ndarray, step_log2: int, in_max: int) -> np.ndarray:
    """WD 8.3.2: the input ``a`` of ``hs``, ``Clip3(-hyper_in_max, hyper_in_max, zHat *
    2^k)`` as int16: the decoded values times the step of the picture, clipped to the
    bound with which the accumulators of ``hs`` were proved at load."""
    return np.clip(z_hat.astype(np.int64) << step_log2, -in_max, in_max).astype(np.int16)


def hyper_synthesis(
    z_hat: np.ndarray,
    params: ParameterSet,
    hy: int,
    wy: int,
    step_log2: int,
    *,
    threads: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """WD 8.3.2: ``z_hat`` (MZ, Hz, Wz) -> ``mean_fp``, ``ls_fp``, each (M, Hy, Wy) int16.

    The input is :func:`hyper_input`; the output grid (4 Hz x 4 Wz) is cropped to the
    latent size.
    """
    whole = z_hat.shape[1]  # one band of every row of z_hat
    _, mean_fp, ls_fp = next(
        hyper_synthesis_bands(z_hat, params, hy, wy, step_log2, band_rows=whole, threads=threads)
    )
    return mean_fp, ls_fp


def hyper_synthesis_bands(
    z_hat: np.ndarray,
    params: ParameterSet,
    hy: int,
    wy: int,
    step_log2: int,
    *,
    band_rows: int | None = None,
    threads: bool = True,
    channels: range | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """:func:`hyper_synthesis` in bands: yields (first latent row, ``mean_fp`` rows,
    ``ls_fp`` rows), each (C, rows, Wy), for the latent channels ``channels`` (all M
    when None).

    ``band_rows`` rows of ``z_hat`` are run at a time (the note of WD 8.7 applies to
    the chain ``hs`` as to ``gs``: the bands give the integers of the whole chain);
    None sizes the bands to bound the memory (:func:`refdec.network.band_rows`).
    The last layer computes only the output channels asked for: each output channel of
    a layer depends on its own weights alone (WD 8.6.1).
    """
    x = hyper_input(z_hat, step_log2, params.hyper_in_max)
    x = np.ascontiguousarray(x.transpose(1, 2, 0))
    layers = list(params.hs)
    if channels is not None:
        keep = np.r_[channels, params.m + np.asarray(channels)]
        layers[-1] = output_channels(layers[-1], keep)
    rows = band_rows or bands_for(layers, x.shape[1])
    c = layers[-1].out_channels // 2
    # Hz = Ceil(Hy / 4) rows of z_hat: every band starts above the last latent row.
    for row, band in chain_bands(x, layers, rows, threads=threads):
        out = np.ascontiguousarray(band[: hy - row, :wy].transpose(2, 0, 1))
        yield row, out[:c], out[c:]


def output_channels(layer: IntLayer, keep: np.ndarray) -> IntLayer:
    """``layer`` (without depth-to-space) restricted to the output channels ``keep``."""
    return IntLayer(
        np.ascontiguousarray(layer.weight[keep]),
        layer.bias[keep],
        layer.shift[keep],
        layer.depth_to_space,
        layer.clip_lo,
        layer.clip_hi,
    )
