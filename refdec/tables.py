"""The entropy coding tables of WD Annex B, loaded from the shipped table file.

The normative content of Annex B is the file ``refdec/data/gaussian_tables.olt``,
identified by its SHA-256 :data:`TABLES_SHA256` (``tools/make_tables.py`` documents how
it was derived). Table ``i`` (``i = 0..63``) has radius ``R_i`` and a cumulative
frequency array ``cdf`` of length ``2 R_i + 3`` with ``cdf[0] = 0`` and
``cdf[2 R_i + 2] = 65536``: symbol ``s`` has frequency ``cdf[s + 1] - cdf[s] >= 1``;
symbols ``0..2 R_i`` stand for the values ``s - R_i`` and symbol ``2 R_i + 1`` is the
escape (WD 8.2.6).

For the numba kernels of :mod:`refdec.entropy` the tables are exposed as flat arrays:
the ``cdf`` of table ``i`` is ``cdf_flat[cdf_offset[i] : cdf_offset[i] + cdf_len[i]]``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from refdec.container import read_container
from refdec.errors import ParameterSetError

NUM_TABLES = 64
"""Number of Gaussian tables (Annex B.1)."""
PRECISION = 16
"""Frequencies sum to ``2**PRECISION`` (Annex B.1)."""
TABLES_MAGIC = b"OLTB"
"""Container magic of the table file (Annex C.2)."""
TABLES_PATH = Path(__file__).resolve().parent / "data" / "gaussian_tables.olt"
TABLES_SHA256 = "276f9256da2bec1ed038c264c4124acd9b7cba66aed71514812edd961b8d3c48"
"""SHA-256 of the normative table file (Annex B.2), as printed by tools/make_tables.py."""


@dataclass(frozen=True)
class EntropyTables:
    """The 64 tables of Annex B as flat, read-only arrays for the numba kernels."""

    cdf_flat: np.ndarray
    """int32: the cdf arrays of all tables, concatenated in table order."""
    cdf_offset: np.ndarray
    """int32[64]: start of table ``i`` in :attr:`cdf_flat`."""
    cdf_len: np.ndarray
    """int32[64]: length ``2 R_i + 3`` of the cdf of table ``i``."""
    radius: np.ndarray
    """int32[64]: ``R_i``, the largest magnitude coded without escape."""


def _fail(message: str) -> ParameterSetError:
    return ParameterSetError(f"entropy table file {TABLES_PATH.name}: {message}", clause="B")


def parse_tables(data: bytes) -> EntropyTables:
    """Check the structure of a table file (Annex B.1) and flatten it.

    Requirements: records exactly ``radius`` (int32[64]) and ``cdf.0 .. cdf.63``
    (int32, length ``2 R_i + 3``); every cdf starts at 0, ends at 65536 and is strictly
    increasing (every frequency >= 1). Does not check the hash.
    """
    records = read_container(data, TABLES_MAGIC)
    expected = {"radius"} | {f"cdf.{i}" for i in range(NUM_TABLES)}
    if set(records) != expected:
        raise _fail("records are not exactly radius, cdf.0 .. cdf.63")
    radius = records["radius"]
    if radius.dtype != np.int32 or radius.shape != (NUM_TABLES,) or radius.min() < 1:
        raise _fail("radius must be int32[64] with values >= 1")
    cdfs = [records[f"cdf.{i}"] for i in range(NUM_TABLES)]
    for i, cdf in enumerate(cdfs):
        if cdf.dtype != np.int32 or cdf.shape != (2 * int(radius[i]) + 3,):
            raise _fail(f"cdf.{i} must be int32 of length 2 * radius + 3")
        if cdf[0] != 0 or cdf[-1] != 1 << PRECISION or np.any(np.diff(cdf) < 1):
            raise _fail(f"cdf.{i} must rise strictly from 0 to 65536")
    cdf_len = np.array([len(c) for c in cdfs], dtype=np.int32)
    cdf_offset = np.concatenate([[0], np.cumsum(cdf_len[:-1])]).astype(np.int32)
    arrays = [np.concatenate(cdfs).astype(np.int32), cdf_offset, cdf_len, radius.copy()]
    for a in arrays:
        a.flags.writeable = False
    return EntropyTables(*arrays)


@functools.cache
def load_tables() -> EntropyTables:
    """Load, authenticate (SHA-256) and check the shipped tables (Annex B); cached."""
    data = TABLES_PATH.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TABLES_SHA256:
        raise _fail(f"SHA-256 {digest} differs from {TABLES_SHA256}")
    return parse_tables(data)
