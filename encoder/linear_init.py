"""Initialisation of a fresh model as a linear block-transform codec (informative).

A learned transform codec spends its first tens of thousands of steps learning what a
linear transform does at once: compacting the energy of a block of pixels into a few
coefficients (Li et al., ICLR 2025, call it the slow convergence of energy compaction).
On 2 CPU cores that is most of the budget: after 16,000 steps the model coded the 12
BSDS500 validation pictures at 25.41 dB and 0.592 bpp, where a plain 16x16 PCA codec
gives 29.08 dB at 0.671 bpp (``tools/pca_baseline.py``, an optimistic rate).
So a fresh model (with ``linear_analysis``) starts *as* such a codec and learns the
nonlinear part on top:

* analysis: ``y = g_a(x) + g_a_linear(x)``; ``g_a_linear`` is a 16x16 stride-16
  convolution holding the first ``M`` principal components of 16x16 RGB blocks of the
  training patches, scaled so that one quantisation step is 1/4 of the 0..1 range;
  the last layer of ``g_a`` starts at 0, so ``g_a`` starts as no correction;
* synthesis: the chain of sub-pixel layers (the normative network of WD 8.7) computes
  the inverse transform exactly, for inputs in range: the first layer maps ``y`` to the
  coefficients of the four 8x8 sub-blocks in their own 96-component basis, the second
  to the pixels of the 4x4 quadrants, the third and fourth only move pixels to their
  place through depth-to-space. Offsets in the biases keep every ReLU input positive,
  so the ReLUs pass the linear signal unchanged; the channels the construction does
  not use start with small random inputs, free for training.

Nothing here is normative: it only chooses the starting weights.

Status: the recipe of the shipped model (WD E.2, ``models/README.md``). Trained as it
is, the start collapses (30 to 23 dB on the training crops in 800 steps at a learning
rate of 1e-4): the untrained entropy model's rate gradients drag the transforms along.
With ``--freeze-transforms 2000`` (only the hyperprior and the gains learn at first)
and ``--transform-lr-scale 0.1`` it keeps its start and improves on it. The shipped
model is such a start with M = 256 components (with 128, their projection alone stops
at 32.1 dB on the validation pictures), trained to step 177,000; on the validation
pictures it needs 63 % fewer bits than the model of 26,231 steps from random weights.
"""

from __future__ import annotations

import numpy as np
import torch

from encoder.model import OpenLICModel

LATENT_SCALE = 4.0
"""Latent units per unit of the 0..1 sample range: a quantisation step at gain 1 is
1/4 of the range (64 in 0..255), the middle of the rates of the gain anchors."""
PIXEL_OFFSET = 0.5
"""Offset that keeps reconstructed samples (about 0..1) positive through the ReLUs."""
SUB_BLOCK_COMPONENTS = 96
"""Components of the basis of 8x8 sub-blocks: the width of the first synthesis layer."""
NOISE = 1e-2
"""Scale of the random weights into the channels that the construction leaves unused."""


def _blocks(patches: np.ndarray, size: int, per_patch: int, rng: np.random.Generator) -> np.ndarray:
    """Random ``size`` x ``size`` RGB blocks as vectors in (channel, row, column) order."""
    n, h, w, _ = patches.shape
    out = []
    for p in patches:
        x = np.asarray(p, np.float64).transpose(2, 0, 1) / 255.0
        b = x.reshape(3, h // size, size, w // size, size).transpose(1, 3, 0, 2, 4)
        b = b.reshape(-1, 3 * size * size)
        out.append(b[rng.choice(len(b), min(per_patch, len(b)), replace=False)])
    return np.concatenate(out)


def _pca(v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the first ``k`` principal directions (rows) of the vectors ``v``."""
    mu = v.mean(axis=0)
    _, _, vt = np.linalg.svd(v - mu, full_matrices=False)
    return mu, vt[:k]


def block_index(size: int, block: int, qy: int, qx: int) -> np.ndarray:
    """Indices, in a ``size`` x ``size`` block vector, of its ``block`` x ``block``
    sub-block at (qy, qx), listed in the sub-block's own (channel, row, column) order."""
    c, dy, dx = np.meshgrid(np.arange(3), np.arange(block), np.arange(block), indexing="ij")
    return (c * size * size + (block * qy + dy) * size + (block * qx + dx)).ravel()


@torch.no_grad()
def linear_init(model: OpenLICModel, patches: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Set ``model`` (fresh, with ``linear_analysis``) to the linear codec described in
    the module docstring, from training ``patches`` (N, H, W, 3) uint8.

    Returns the offsets chosen, for the log.
    """
    cfg = model.cfg
    m, widths = cfg.m_latent, (cfg.m_latent, *cfg.synthesis_widths, 3)
    if model.g_a_linear is None:
        raise ValueError("linear_init needs a model with linear_analysis")
    if len(widths) != 5 or widths[1] < SUB_BLOCK_COMPONENTS or widths[2] < 48 or widths[3] < 12:
        raise ValueError(f"linear_init needs synthesis widths (>=96, >=48, >=12), got {widths}")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    mu16, p16 = _pca(_blocks(patches, 16, 40, rng), m)  # (768,), (M, 768)
    v8 = _blocks(patches, 8, 40, rng)
    mu8, b8 = _pca(v8, SUB_BLOCK_COMPONENTS)  # (192,), (96, 192)
    coef_max = float(np.abs((v8 - mu8) @ b8.T).max())
    off1 = float(np.ceil(coef_max))

    s = LATENT_SCALE
    lin = model.g_a_linear
    lin.weight.copy_(torch.from_numpy(s * p16).float().view(m, 3, 16, 16))
    lin.bias.copy_(torch.from_numpy(-s * p16 @ mu16).float())
    model.g_a[-1].weight.zero_()
    model.g_a[-1].bias.zero_()

    convs = [layer.conv for layer in model.g_s]
    for conv in convs:
        conv.weight.zero_()
        conv.bias.zero_()
    # The channels that the construction leaves unused get small random weights from
    # the constructed channels (all taps), so that they carry a signal; their own
    # outputs start unused (weight 0 in the next layer), so the codec stays linear.
    # Every weight still has a gradient: the signals through the taps are not 0.
    for conv, used in zip(convs[1:3], (48, 12)):
        free = conv.weight.view(-1, 4, *conv.weight.shape[1:])[used:]
        free.copy_(NOISE * torch.randn(free.shape, generator=gen))
    w = [c.weight for c in convs]
    bias = [c.bias for c in convs]
    centre = 1  # the 3x3 kernels act as 1x1 in the construction
    # Depth-to-space: output channel 4c + 2qy + qx of a layer becomes channel c at the
    # quadrant (qy, qx) of the next resolution (WD 8.6.3, torch.nn.functional.pixel_shuffle).
    for qy in range(2):
        for qx in range(2):
            q = 2 * qy + qx
            # Layer 1: y -> coefficients of the 8x8 sub-block at q.
            i16 = block_index(16, 8, qy, qx)
            # Coefficients are carried divided by off1, plus 1 (in 0..2): activations
            # of the usual size, so that the steps of training disturb them no more
            # than any other layer's.
            w1 = b8 @ p16[:, i16].T / (s * off1)  # (96, M)
            b1 = b8 @ (mu16[i16] - mu8) / off1 + 1.0
            for c in range(SUB_BLOCK_COMPONENTS):
                w[0][4 * c + q, :, centre, centre] = torch.from_numpy(w1[c]).float()
                bias[0][4 * c + q] = float(b1[c])
            # Layer 2: coefficients -> the 48 samples of the 4x4 quadrant q, plus offset.
            i8 = block_index(8, 4, qy, qx)
            for j, idx in enumerate(i8):
                w[1][4 * j + q, :SUB_BLOCK_COMPONENTS, centre, centre] = torch.from_numpy(
                    off1 * b8[:, idx]
                ).float()
                bias[1][4 * j + q] = float(mu8[idx] - off1 * b8[:, idx].sum() + PIXEL_OFFSET)
            # Layer 3: the 12 samples of the 2x2 quadrant q of each 4x4 block.
            for k, idx in enumerate(block_index(4, 2, qy, qx)):
                w[2][4 * k + q, idx, centre, centre] = 1.0
                bias[2][4 * k + q] = 0.0  # PIXEL_OFFSET in, PIXEL_OFFSET out
            # Layer 4: sample (c, qy, qx) of each 2x2 block, without the offset.
            for c in range(3):
                w[3][4 * c + q, 4 * c + q, centre, centre] = 1.0
                bias[3][4 * c + q] = -PIXEL_OFFSET
    return {"coefficient_offset": off1, "coefficient_max": coef_max}
