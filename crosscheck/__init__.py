"""A second OpenLIC decoder, written from the Working Draft alone (see FINDINGS.md).

``decode(data)`` runs the decoding process of WD 8.1.1 on a codestream and returns the
picture as an H x W x 3 array of samples with its bit depth; ``decode(data, prefix=True)``
decodes the longest prefix codestream within ``data`` (WD 5.5, 8.1.2). A codestream that
breaks a requirement of the WD raises :class:`DecodeError` naming the requirement.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np

from .codestream import Codestream, CodestreamError, Header, need, parse
from .container import (
    DATA_DIR,
    ParameterSet,
    ParameterSetError,
    Tables,
    load_parameter_set,
    load_tables,
)
from .entropy import EntropyError, decode_stream
from .network import (
    context_prediction,
    hyper_synthesis,
    output_samples,
    reconstruct_latent,
    scale_indices,
)
from .output_filter import output_filter

__all__ = ["DecodeError", "decode"]

DecodeError = (CodestreamError, EntropyError, ParameterSetError)
"""The exceptions by which the decoder rejects a codestream."""


@cache
def _available() -> dict[str, Path | None]:
    """First 8 bytes of the SHA-256 (hex) -> file of every parameter set available to the
    decoder (WD C.1 step 1); None for a prefix that files of different hashes share."""
    found: dict[str, dict[str, Path]] = {}
    for p in sorted(DATA_DIR.glob("*.olp")):
        sha = hashlib.sha256(p.read_bytes()).hexdigest()
        found.setdefault(sha[:16], {})[sha] = p
    return {k: next(iter(v.values())) if len(v) == 1 else None for k, v in found.items()}


@cache
def _parameter_set(sha: str) -> ParameterSet:
    """Read and check the parameter set with this hash (WD C.1 step 2)."""
    return load_parameter_set(_available()[sha].read_bytes(), load_tables())


def select_parameter_set(h: Header) -> ParameterSet:
    """WD 8.1.1 step 3: select the parameter set by hash (C.1), check R-QUALITY and
    R-GROUPS-CONTEXT (WD 7.2; ``parse`` checks R-GROUPS-DIVIDE-M with the M returned)."""
    sha = h.parameter_set_hash.hex()
    need(sha in _available(), "R-PARAMETER-SET", f"parameter set {sha} is not available")
    need(_available()[sha] is not None, "R-PARAMETER-SET", f"parameter set {sha} is ambiguous")
    ps = _parameter_set(sha)
    need(h.quality < ps.Q, "R-QUALITY", f"quality {h.quality}, Q = {ps.Q}")
    g = h.num_channel_groups
    need(ps.G_C == 1 or g == ps.G_C, "R-GROUPS-CONTEXT", f"G = {g}, G_C = {ps.G_C}")
    return ps


HYPER_STEP_SHIFT = (0, 6, 11)
"""HyperStepShift[k] of WD 8.3.1."""


def decode_hyper_latent(cs: Codestream, ps: ParameterSet, tables: Tables) -> np.ndarray:
    """DecodeHyperLatent of WD 8.3.1: MZ x Hz x Wz values, channel by channel, with the
    table zIdx[c] = Max(0, z_table[c] - HyperStepShift[k]) of their channel."""
    h = cs.header
    z_idx = np.maximum(ps.z_table - HYPER_STEP_SHIFT[h.hyper_step_log2], 0)
    idx = np.repeat(z_idx, h.hz * h.wz)
    return decode_stream(cs.hyper_data, idx, tables).reshape(ps.MZ, h.hz, h.wz)


def decode_residuals(cs: Codestream, tables: Tables, g: int, idx: np.ndarray) -> np.ndarray:
    """DecodeResiduals( g ) of WD 8.4.3: the residuals of the channels C_g of group g, with
    their scale indices ``idx`` (N x Hy x Wy), tile by tile; all 0 when the YS segment of
    the group is absent (WD 8.1.2)."""
    r = np.zeros(idx.shape, dtype=np.int64)
    if g >= len(cs.groups):
        return r
    n = idx.shape[0]
    for (y0, y1, x0, x1), buf in zip(cs.header.tiles, cs.groups[g]):
        vals = decode_stream(buf, idx[:, y0:y1, x0:x1].ravel(), tables)
        r[:, y0:y1, x0:x1] = vals.reshape(n, y1 - y0, x1 - x0)
    return r


def decode(data: bytes, prefix: bool = False) -> tuple[np.ndarray, int]:
    """DecodePicture of WD 8.1.1; with ``prefix``, of the longest prefix codestream within
    ``data`` (WD 5.5, 8.1.2). Returns the H x W x 3 samples and the bit depth. Step 8
    (WD 8.9) runs when the (prefix) codestream holds the OF segment."""
    selected: list[ParameterSet] = []

    def on_header(h: Header) -> int:
        selected.append(select_parameter_set(h))
        return selected[0].M

    cs = parse(data, prefix=prefix, on_header=on_header)  # steps 1 to 3
    h, ps, tables = cs.header, selected[0], load_tables()
    q = h.quality
    z_hat = decode_hyper_latent(cs, ps, tables)  # step 4
    mu_fp, ls_fp = hyper_synthesis(ps, z_hat, h.hyper_step_log2, h.hy, h.wy)
    n = ps.M // h.num_channel_groups  # the channels C_g of group g (WD 7.2)
    y_in = np.zeros((ps.M, h.hy, h.wy), dtype=np.int64)
    for g in range(h.num_channel_groups):  # step 5, group by group in increasing order
        c = slice(g * n, (g + 1) * n)
        mu_g, ls_g = mu_fp[c], ls_fp[c]
        if ps.G_C >= 2 and g >= 1:  # 5a: from y_in of the groups before g
            mu_g, ls_g = context_prediction(ps, g, y_in[: g * n], mu_g, ls_g)
        idx = scale_indices(ps, ls_g, q, c)  # 5b
        r = decode_residuals(cs, tables, g, idx)  # 5c (0 where the YS segment is absent)
        y_in[c] = reconstruct_latent(ps, mu_g, r, q, c)  # 5d
    s = output_samples(ps, y_in, h.width, h.height, h.bit_depth)  # steps 6 and 7
    if cs.output_filter is not None:  # step 8
        s = output_filter(s, cs.output_filter, h.bit_depth)
    return s, h.bit_depth
