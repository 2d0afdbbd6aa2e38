"""Shared fixtures: a tiny random model, exported to a real parameter file.

The tiny model exercises every normative path (hyper synthesis, gains, synthesis,
escapes) at a size where even the pure-Python decoder (NUMBA_DISABLE_JIT=1) runs in
seconds. It is random, not trained: what it pins is exactness, not quality.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from encoder.export import export  # noqa: E402
from encoder.model import ModelConfig, OpenLICModel  # noqa: E402
from encoder.pipeline import Codec  # noqa: E402
from refdec.params import load_parameter_set  # noqa: E402

TINY = ModelConfig(n_analysis=8, m_latent=8, mz_hyper=4, n_hyper=8, synthesis_widths=(8, 8, 4))


@pytest.fixture(scope="session")
def tiny_codec(tmp_path_factory) -> tuple[Codec, Path]:
    torch.manual_seed(0)
    model = OpenLICModel(TINY).eval()
    rng = np.random.default_rng(0)
    data = export(model, rng.integers(0, 256, (4, 64, 64, 3)).astype(np.uint8))
    path = tmp_path_factory.mktemp("params") / "tiny.olp"
    path.write_bytes(data)
    return Codec(model, load_parameter_set(data), hashlib.sha256(data).digest()), path
