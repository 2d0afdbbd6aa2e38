"""The linear initialisation of a fresh model (encoder/linear_init.py) is the codec it
claims: the synthesis chain inverts the block transform of the analysis exactly."""

import numpy as np
import pytest
import torch

from encoder.linear_init import block_index, linear_init
from encoder.model import ModelConfig, OpenLICModel, run_chain

CFG = ModelConfig(
    m_latent=48,
    mz_hyper=8,
    n_hyper=16,
    n_analysis=16,
    synthesis_widths=(96, 48, 16),
    linear_analysis=True,
)


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    # Smooth random pictures: a coarse random field upsampled, as natural pictures are
    # mostly low-pass (the 8x8 basis of 96 components then loses almost nothing).
    rng = np.random.default_rng(0)
    coarse = rng.uniform(0, 255, (12, 8, 8, 3))
    return np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2).astype(np.uint8)


def test_block_index_lists_a_sub_block_in_its_own_order():
    idx = block_index(4, 2, 1, 0)  # 2x2 sub-block at row 1, column 0 of a 4x4 block
    assert idx.tolist() == [8, 9, 12, 13, 24, 25, 28, 29, 40, 41, 44, 45]


def test_synthesis_inverts_the_linear_analysis(patches):
    model = OpenLICModel(CFG)
    linear_init(model, patches)
    x = torch.from_numpy(patches[:2]).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        y = model.analysis(x)
        x_hat = run_chain(model.g_s, y)
    # The analysis is the block transform alone (g_a's last layer starts at 0) ...
    assert torch.equal(model.g_a(x), torch.zeros_like(y))
    # ... and the synthesis reconstructs the projection of every 16x16 block on the
    # first M components: for these blocks of 8x8-constant colour, 3 x 4 values per
    # block span them, so the projection is the picture itself.
    assert (x_hat - x).abs().max() < 1e-3
    # The ReLUs are transparent: the same with them removed (a linear chain).
    h = y
    for layer in model.g_s:
        h = layer(h)
    assert (h - x_hat).abs().max() < 1e-4


def test_needs_the_linear_analysis():
    with pytest.raises(ValueError, match="linear_analysis"):
        linear_init(OpenLICModel(ModelConfig(m_latent=48)), np.zeros((1, 64, 64, 3), np.uint8))
