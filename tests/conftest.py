"""Shared fixtures: a tiny random model, exported to a real parameter file.

The tiny model exercises every normative path (hyper synthesis, gains, synthesis,
escapes) at a size where even the pure-Python decoder (NUMBA_DISABLE_JIT=1) runs in
seconds; its twin with context networks (WD 8.4.1) the group-by-group decoding. They are
random, not trained: what they pin is exactness, not quality.
"""

from __future__ import annotations

import dataclasses
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
TINY_CONTEXT = dataclasses.replace(TINY, context_groups=4, n_context=8)


def _exported(model: OpenLICModel, folder: Path) -> tuple[Codec, Path]:
    rng = np.random.default_rng(0)
    data = export(model.eval(), rng.integers(0, 256, (4, 64, 64, 3)).astype(np.uint8))
    path = folder / "tiny.olp"
    path.write_bytes(data)
    return Codec(model, load_parameter_set(data), hashlib.sha256(data).digest()), path


@pytest.fixture(scope="session")
def tiny_codec(tmp_path_factory) -> tuple[Codec, Path]:
    torch.manual_seed(0)
    return _exported(OpenLICModel(TINY), tmp_path_factory.mktemp("params"))


@pytest.fixture(scope="session")
def tiny_context_codec(tmp_path_factory) -> tuple[Codec, Path]:
    """The tiny model with 4 context groups, whose networks (which start at zero) are
    given random last layers, so that they change the means and the tables."""
    torch.manual_seed(0)
    model = OpenLICModel(TINY_CONTEXT)
    with torch.no_grad():
        for chain in model.ctx:
            torch.nn.init.normal_(chain[-1].weight, std=0.3)
    return _exported(model, tmp_path_factory.mktemp("params"))
