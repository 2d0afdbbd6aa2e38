"""Rate-distortion optimised quantisation of the latent residuals (informative, WD E.3.2).

The plain encoder rounds each residual ``v = y * g - mu_g`` to the nearest integer.
Rounding one step towards the predicted mean instead (``q - sign(q)``) costs distortion
and saves the bits of a less probable value; this encoder takes the step wherever it
lowers ``bits + lambda * 255^2 * SSE / 3``, the per-element form of the training loss.

The bits are exact: those of the value under its table of Annex B, escape code
included (WD 8.2.6; :func:`encoder.rans.value_bits`). The distortion is estimated,
because the synthesis runs once for the whole latent: the squared error of the decoded
picture grows by ``E_c * ig_c^2`` times the squared change of the residual, where
``ig_c`` is the inverse gain of channel ``c`` and ``E_c`` the energy of the synthesis'
response to a unit impulse in that channel (:func:`synthesis_energy`, measured at
export on training patches). The shipped synthesis is nearly linear
(``models/README.md``), which makes a per-channel estimate reasonable; it treats each
element apart, and the measured trade-off calls for weighting it by
:data:`DISTORTION_SCALE`.

Nothing here is normative: the decoder reads whatever residuals the encoder writes.
"""

from __future__ import annotations

import numpy as np
import torch

from encoder.model import OpenLICModel, run_chain
from encoder.rans import value_bits

DISTORTION_SCALE = 4.0
"""Factor on the estimated distortion. Chosen on the 12 BSDS500 validation pictures of
the training runs (never on Kodak), float model, estimated rates, qualities 0 to 255:
BD-rate against plain rounding +2.3 % at 1, -1.3 % at 2, -2.1 % at 4, -2.0 % at 6,
-1.8 % at 8, -1.2 % at 16."""
IMPULSE_SPACING = 6
"""Latent positions between the impulses of :func:`synthesis_energy`: farther apart
than the synthesis' reach (two positions each way), so their responses do not overlap."""


def quantise_rdo(v: np.ndarray, idx: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The residuals to code for the unrounded residuals ``v`` (any shape), their table
    indices ``idx`` and the distortion ``weight`` of a unit change of each (broadcast
    against ``v``): ``round(v)``, or one step towards zero where that costs less."""
    q0 = np.round(v)
    q1 = q0 - np.sign(q0)
    saved = value_bits(q0, idx) - value_bits(q1, idx)
    lost = weight * ((q1 - v) ** 2 - (q0 - v) ** 2)
    return np.where((q0 != 0) & (lost < saved), q1, q0)


@torch.no_grad()
def synthesis_energy(
    model: OpenLICModel, patches: np.ndarray, gain: torch.Tensor, inv_gain: torch.Tensor
) -> np.ndarray:
    """``E_c``: the summed squared response of the float synthesis (pictures in 0..1) to
    a unit change of one element of latent channel ``c``, averaged over a grid of
    impulses around the decoded latent of ``patches`` (N, H, W, 3 uint8, sides a
    multiple of 64) at the gains ``gain`` and ``inv_gain`` (M,)."""
    x = torch.from_numpy(np.asarray(patches, np.float32) / 255.0).permute(0, 3, 1, 2)
    y = model.analysis(x)
    mean, log_scale = model.hyper_synthesis(torch.round(model.h_a(y)))
    g, ig = gain[None, :, None, None], inv_gain[None, :, None, None]
    *_, y_hat = model.quantise_groups(y, mean, log_scale, g, ig, torch.round)
    base = run_chain(model.g_s, y_hat)
    impulses = torch.zeros(y_hat.shape[2:])
    impulses[IMPULSE_SPACING // 2 :: IMPULSE_SPACING, IMPULSE_SPACING // 2 :: IMPULSE_SPACING] = 1
    # A step of one quantisation bin at these gains: within the range the decoder sees.
    step = inv_gain.double().numpy()
    energy = np.empty(model.cfg.m_latent)
    for c in range(model.cfg.m_latent):
        moved = y_hat.clone()
        moved[:, c] += float(step[c]) * impulses
        sse = (run_chain(model.g_s, moved) - base).double().pow(2).sum().item()
        energy[c] = sse / (step[c] ** 2 * impulses.sum().item() * len(patches))
    return energy
