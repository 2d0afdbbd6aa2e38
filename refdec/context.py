"""Context prediction (WD 8.4.1): the entropy parameters of a channel group corrected
from the latent of the groups decoded before it.

When the parameter set has context networks (``G_C >= 2``), the chain ``ctx.g`` reads
the reconstructed latent ``y_in`` of the channels before group ``g`` and adds its
output to the means and log-scales that the hyper synthesis gave the channels of the
group. Only integers are involved (WD 8.6), so every conforming decoder derives the
same tables for the group's symbols.
"""

from __future__ import annotations

import numpy as np

from refdec.network import band_rows as bands_for
from refdec.network import chain_bands
from refdec.params import INT16_MAX, INT16_MIN, ParameterSet


def context_prediction(
    y_in: np.ndarray,
    mean_fp: np.ndarray,
    ls_fp: np.ndarray,
    group: int,
    params: ParameterSet,
    *,
    band_rows: int | None = None,
    threads: bool = True,
) -> None:
    """WD 8.4.1 for group ``group`` >= 1, in place.

    ``y_in`` (Hy, Wy, M) holds the reconstructed latent of the groups before
    ``group``; ``mean_fp`` and ``ls_fp`` (N_g, Hy, Wy) int16 are the entropy parameters
    of the group's channels, corrected to ``Clip3(-2^15, 2^15 - 1, value + d)``. The
    chain runs in bands of ``band_rows`` latent rows (the note of WD 8.7 applies), None
    sizing them to bound the memory.
    """
    per = params.m // params.context_groups
    layers = list(params.ctx[group - 1])
    rows = band_rows or bands_for(layers, y_in.shape[1])
    for row, d in chain_bands(y_in[:, :, : group * per], layers, rows, threads=threads):
        end = row + d.shape[0]
        d = d.transpose(2, 0, 1).astype(np.int32)
        for values, correction in ((mean_fp, d[:per]), (ls_fp, d[per:])):
            part = values[:, row:end]
            part[...] = np.clip(part.astype(np.int32) + correction, INT16_MIN, INT16_MAX)
