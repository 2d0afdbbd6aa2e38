"""Latent refinement: an encoder that searches its latent (informative, WD E.3.1).

The analysis transform predicts a latent in one pass; the decoder only sees the
quantised latent the encoder writes, so the encoder may choose any other. Refinement
starts from the analysis and descends the rate-distortion cost ``R + lambda * D`` of the
picture at hand with respect to the latent ``y`` and the hyper-latent ``z``, through the
float hyper synthesis and synthesis, as Campos et al. (CVPR workshops 2019) and Yang et
al. (NeurIPS 2020) did. Rounding has no useful gradient; the descent uses the annealed
soft rounding of Yang et al. ("stochastic Gumbel annealing" without the noise): a value
``v`` between the integers ``f`` and ``f + 1`` becomes the weighted mean of the two, with
weights ``exp(-atanh(d) / tau)`` for the distance ``d`` to each, and the temperature
``tau`` falls from :data:`TAU_START` to :data:`TAU_END`, so that the relaxed cost turns
into the cost of rounded values. The result is what the encoder rounds and codes.

Nothing here is normative: the decoder reconstructs whatever latent the encoder writes.
The descent needs the float decoder networks, which the encoder weights carry besides
the analysis (:mod:`encoder.export`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from encoder.model import OpenLICModel, gaussian_likelihood, run_chain

LEARNING_RATE = 0.02
"""Smallest first Adam step on the gained latent, whose quantisation bin is 1 wide (and
on z)."""
TRAVEL = 0.6
"""A descent of ``n`` steps starts with steps of ``max(LEARNING_RATE, TRAVEL / n)``
(:func:`step_size`): Adam moves an element by about one step size per iteration, so a
short descent needs longer steps to travel as far."""
FINAL_STEP = 0.2
"""The step size falls linearly over the descent, to this fraction of the first at the
last step: long steps while the temperature is high, short ones as the rounding
hardens."""
TAU_START = 1.0
TAU_END = 0.01
# The temperatures were chosen on BSDS500 validation pictures outside the training run's
# validation set (never on Kodak): on the cost of two pictures at three qualities, with
# constant steps, 0.1 and 0.05 from 0.5 lowered it by 4.0 and 4.4 %, 0.01 from 1.0 by
# 7.1 % (25 steps); larger temperatures (2, 4) gained at most 0.1 % more. The steps:
# BD-rate against the encoder without refinement on the last 6 of the 12 validation
# pictures (qualities 0 to 255 step 64, whole files; tools/refine_gain.py). Constant
# steps of max(0.01, 0.3 / n): 8, 12, 20 and 25 steps -3.97, -4.34, -4.60 and -4.66 %
# (15 steps at 0.01, 0.02, 0.04: -3.58, -4.41, -4.02 %). Falling to FINAL_STEP 0.2,
# 12 steps: first steps 1.5, 2 (the one chosen) and 3 times those -4.71, -4.93, -3.85 %;
# falling to 0.1: -4.45 (1.5 times), -4.89 % (2 times). Checked on the first 6
# validation pictures, 12 steps: -4.27 % constant, -4.60 % falling; 25 steps on the
# last 6: -4.66 % and -5.24 %. The descent in bfloat16 (torch.autocast, 1.4 times
# faster) loses the gain: its soft passes in bfloat16, pictures 13 to 16 of the
# validation set at qualities 0 to 255 step 48, +3.75 % against float32 (no refinement:
# +4.74 %); only the two middle synthesis layers in bfloat16, +3.83 %.
REFINE_MAX_PIXELS = 1 << 22
"""Largest picture (4 MP) refined: the descent keeps the activations of the whole
synthesis for its backward pass, about 380 bytes a pixel (peak resident memory of
``python -m openlic.bench.memprobe encode PICTURE --refine 2``: 1,018 MiB for a 1024 x
1024 picture, 2,112 MiB for 2048 x 2048, against 753 and 948 MiB without refinement)."""


class Adam:
    """Adam (Kingma and Ba, ICLR 2015) with the defaults of ``torch.optim.Adam``, whose
    single-tensor update on the CPU it repeats operation for operation (a test checks
    that the two give the same tensors). ``torch.optim`` imports ``torch._dynamo`` on
    first use: the first refined encoding of ``samples/seeding.png`` in a process took
    3.8 s with it and 3.2 s without, and wrote the same bytes."""

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, params: list[Tensor], lr: float) -> None:
        self.params, self.lr, self.t = params, lr, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        """One update of every parameter with its gradient."""
        b1, b2 = self.BETAS
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**self.t)).add_(self.EPS)
            p.addcdiv_(m, denom, value=-self.lr / (1 - b1**self.t))


def step_size(iterations: int, i: int = 0) -> float:
    """The Adam step size at step ``i`` (from 0) of a descent of ``iterations`` steps:
    see :data:`TRAVEL` and :data:`FINAL_STEP`."""
    first = max(LEARNING_RATE, TRAVEL / max(iterations, 1))
    return first * (1.0 - (1.0 - FINAL_STEP) * i / max(iterations - 1, 1))


def soft_round(v: Tensor, tau: float) -> Tensor:
    """Annealed soft rounding: tends to ``round(v)`` as ``tau`` tends to 0."""
    f = torch.floor(v)
    d = (v - f).clamp(0.0, 1.0 - 1e-5)
    w_floor = torch.exp(-torch.atanh(d) / tau)
    w_ceil = torch.exp(-torch.atanh((1.0 - d).clamp(0.0, 1.0 - 1e-5)) / tau)
    return f + w_ceil / (w_floor + w_ceil)


def rd_cost(
    model: OpenLICModel,
    x: Tensor,
    yg: Tensor,
    z: Tensor,
    gain: Tensor,
    inv_gain: Tensor,
    lam: float,
    tau: float | None,
    z_step: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """Rate (bits per pixel), MSE and ``bpp + lam * 255^2 * MSE`` of a latent.

    ``x`` is the picture (1, 3, H, W) in 0..1; ``yg`` the gained latent (1, M, Hy, Wy),
    ``z`` the hyper-latent divided by its step ``z_step`` (the ``2^k`` of WD 8.3.1: the
    coded values are ``round(z)``, the hyper synthesis reads them times the step), (1,
    MZ, Hz, Wz), both cropped as the codestream carries them;
    ``gain`` and ``inv_gain`` are (1, M, 1, 1). ``tau`` None rounds exactly (the cost
    of what the encoder writes, up to the integer arithmetic of the decoder); a
    temperature rounds softly.
    """
    rnd = torch.round if tau is None else (lambda v: soft_round(v, tau))
    z_hat = rnd(z)
    mean, log_scale = model.hyper_synthesis(z_hat * z_step)
    hy, wy = yg.shape[2:]
    r, scale_g, y_hat = model.quantise_groups(
        yg / gain, mean[..., :hy, :wy], log_scale[..., :hy, :wy], gain, inv_gain, rnd
    )
    z_scale = model.log_z_scale.exp()[None, :, None, None].expand_as(z_hat) / z_step
    bits = -torch.log2(gaussian_likelihood(rnd(r), scale_g)).sum()
    bits = bits - torch.log2(gaussian_likelihood(z_hat, z_scale)).sum()
    x_hat = run_chain(model.g_s, y_hat)
    h, w = x.shape[2:]
    bpp = bits / (h * w)
    mse = (x_hat[..., :h, :w] - x).pow(2).mean()
    return bpp, mse, bpp + lam * 255.0**2 * mse


def refine_latent(
    model: OpenLICModel,
    x: Tensor,
    y: Tensor,
    z: Tensor,
    gain: Tensor,
    inv_gain: Tensor,
    lam: float,
    iterations: int,
    progress: Callable[[int], None] | None = None,
    z_step: float = 1.0,
    start_cost: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Refined ungained latent and hyper-latent (same shapes as ``y`` and ``z``), the
    hyper-latent to be coded with the step ``z_step`` (see :func:`rd_cost`).
    ``start_cost``: the exact cost of ``y`` and ``z`` (the last element of
    :func:`rd_cost` with ``tau`` None), where the caller has computed it already.

    Returns the last iterate of the descent, or the starting point where its exactly
    rounded cost is lower, so refinement never makes the cost worse.
    """
    if iterations == 0:
        return y, z
    yg = (y * gain).detach().clone().requires_grad_(True)
    zv = (z / z_step).detach().clone().requires_grad_(True)
    opt = Adam([yg, zv], step_size(iterations))
    if start_cost is None:
        with torch.no_grad():
            start_cost = rd_cost(model, x, yg, zv, gain, inv_gain, lam, None, z_step)[2].item()
    for i in range(iterations):
        tau = max(TAU_END, TAU_START * (1.0 - i / iterations))
        opt.lr = step_size(iterations, i)
        cost = rd_cost(model, x, yg, zv, gain, inv_gain, lam, tau, z_step)[2]
        # Gradients of the latents only: the model's weights stay as they are.
        opt.step(list(torch.autograd.grad(cost, [yg, zv])))
        if progress is not None:
            progress(1)
    # Only the last iterate is costed exactly: with 8 steps it was the best of the second
    # half of the descent in 19 of 20 encodings (BSDS500 validation pictures 13-16,
    # qualities 0-255 step 64), and costing the other three of that half too (as the
    # encoder did until 7 December 2026) took 1.94 s an encoding of pictures 13-18
    # against 1.70 s, for a BD-rate 0.02 % lower.
    with torch.no_grad():
        cost = rd_cost(model, x, yg, zv, gain, inv_gain, lam, None, z_step)[2].item()
    if cost >= start_cost:
        return y, z
    return yg.detach() / gain, zv.detach() * z_step
