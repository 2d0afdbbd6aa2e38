"""The gains of the quality indices (WD E.4 item 5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoder.export import quality_gains
from encoder.model import ModelConfig, OpenLICModel


@pytest.fixture(scope="module")
def model() -> OpenLICModel:
    m = OpenLICModel(ModelConfig(n_analysis=8, m_latent=4, mz_hyper=4, n_hyper=8))
    with torch.no_grad():
        m.log_gain.copy_(torch.randn(m.log_gain.shape, generator=torch.Generator().manual_seed(1)))
        m.log_inv_gain.copy_(-m.log_gain)
    return m


def test_qualities_span_the_anchors(model):
    g, ig = quality_gains(model, 13, below=0.0, above=0.0)  # 13 indices: one every half anchor
    lg = model.log_gain.detach().double().numpy()
    np.testing.assert_allclose(np.log(g[::2]), lg)
    np.testing.assert_allclose(np.log(g[1::2]), (lg[:-1] + lg[1:]) / 2)
    np.testing.assert_allclose(np.log(ig), -np.log(g))


def test_qualities_below_the_first_anchor_extrapolate(model):
    below = 2.0
    g, _ = quality_gains(model, 17, below=below, above=0.0)  # positions -2, -1.5, ..., 6
    lg = model.log_gain.detach().double().numpy()
    np.testing.assert_allclose(np.log(g[4::2]), lg)  # position 0 is index 4
    for i, pos in enumerate(np.linspace(-below, 0, 5)):
        np.testing.assert_allclose(np.log(g[i]), lg[0] + pos * (lg[1] - lg[0]))


def test_qualities_beyond_the_last_anchor_extrapolate(model):
    above = 1.0
    g, ig = quality_gains(model, 15, below=0.0, above=above)  # positions 0, 0.5, ..., 7
    lg = model.log_gain.detach().double().numpy()
    lig = model.log_inv_gain.detach().double().numpy()
    np.testing.assert_allclose(np.log(g[:13:2]), lg)
    np.testing.assert_allclose(np.log(g[-1]), lg[-1] + above * (lg[-1] - lg[-2]))
    np.testing.assert_allclose(np.log(ig[-1]), lig[-1] + above * (lig[-1] - lig[-2]))
