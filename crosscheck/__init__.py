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

from .codestream import CodestreamError, Header, need, parse
from .container import DATA_DIR, ParameterSet, ParameterSetError, load_parameter_set, load_tables
from .entropy import EntropyError, decode_stream
from .network import hyper_synthesis, output_samples, reconstruct_latent, scale_indices

__all__ = ["DecodeError", "decode"]

DecodeError = (CodestreamError, EntropyError, ParameterSetError)
"""The exceptions by which the decoder rejects a codestream."""


@cache
def _available() -> dict[str, Path]:
    """SHA-256 -> file of every parameter set available to the decoder (WD C.1 step 1)."""
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in sorted(DATA_DIR.glob("*.olp"))}


@cache
def _parameter_set(sha: str) -> ParameterSet:
    """Read and check the parameter set with this hash (WD C.1 step 2)."""
    return load_parameter_set(_available()[sha].read_bytes(), load_tables())


def select_parameter_set(h: Header) -> ParameterSet:
    """WD 8.1.1 step 3: select the parameter set by hash (C.1), check R-QUALITY."""
    sha = h.parameter_set_hash.hex()
    need(sha in _available(), "R-PARAMETER-SET", f"parameter set {sha} is not available")
    ps = _parameter_set(sha)
    need(h.quality < ps.Q, "R-QUALITY", f"quality {h.quality}, Q = {ps.Q}")
    return ps


def decode(data: bytes, prefix: bool = False) -> tuple[np.ndarray, int]:
    """DecodePicture of WD 8.1.1 (with 8.1.2 for prefix codestreams)."""
    selected: list[ParameterSet] = []

    def on_header(h: Header) -> int:
        selected.append(select_parameter_set(h))
        return selected[0].M

    cs = parse(data, prefix=prefix, on_header=on_header)
    h, ps, tables = cs.header, selected[0], load_tables()
    q, m, g = h.quality, selected[0].M, h.num_channel_groups
    # 8.3.1: the hyper-latent, in the order channel, row, column.
    idx_z = np.repeat(ps.z_table, h.hz * h.wz)
    z_hat = decode_stream(cs.hyper_data, idx_z, tables).reshape(ps.MZ, h.hz, h.wz)
    mu_fp, ls_fp = hyper_synthesis(ps, z_hat, h.hy, h.wy)  # 8.3.2
    idx = scale_indices(ps, ls_fp, q)  # 8.4.1
    r = np.zeros((m, h.hy, h.wy), dtype=np.int64)  # 8.1.2: absent groups stay 0
    per = m // g
    for gi, streams in enumerate(cs.groups):  # 8.4.2
        c0, c1 = gi * per, (gi + 1) * per
        for (y0, y1, x0, x1), buf in zip(h.tiles, streams):
            vals = decode_stream(buf, idx[c0:c1, y0:y1, x0:x1].ravel(), tables)
            r[c0:c1, y0:y1, x0:x1] = vals.reshape(per, y1 - y0, x1 - x0)
    y_in = reconstruct_latent(ps, mu_fp, r, q)  # 8.5
    return output_samples(ps, y_in, h.width, h.height, h.bit_depth), h.bit_depth  # 8.7, 8.8
