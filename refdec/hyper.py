"""Hyper-latent decoding and hyper synthesis (WD 8.3).

The hyper-latent ``z_hat`` is entropy decoded with one fixed table per channel, then
the integer network ``hs`` turns it into a mean and a log-scale for every latent
sample. Only integers and table lookups are involved, so the table that codes each
latent symbol (WD 8.4) is the same in every conforming decoder.
"""

from __future__ import annotations

import numpy as np

from refdec.network import run_layers
from refdec.params import ParameterSet


def hyper_symbol_tables(params: ParameterSet, hz: int, wz: int) -> np.ndarray:
    """Table index of every ZS symbol in coding order (WD 8.3.1): c, then y, then x."""
    return np.repeat(params.z_table.astype(np.int32), hz * wz)


def hyper_synthesis(
    z_hat: np.ndarray, params: ParameterSet, hy: int, wy: int, *, threads: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """WD 8.3.2: ``z_hat`` (MZ, Hz, Wz) -> ``mean_fp``, ``ls_fp``, each (M, Hy, Wy) int16.

    The input is clipped to ``hyper.in_max`` so that the accumulator bound proved at
    load holds for every codestream; the output grid (4 Hz x 4 Wz) is cropped to the
    latent size.
    """
    lim = params.hyper_in_max
    x = np.clip(z_hat, -lim, lim).astype(np.int16).transpose(1, 2, 0)
    out = run_layers(np.ascontiguousarray(x), list(params.hs), threads=threads)
    out = np.ascontiguousarray(out[:hy, :wy].transpose(2, 0, 1))
    m = params.m
    return out[:m], out[m:]
