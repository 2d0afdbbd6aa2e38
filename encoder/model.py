"""The OpenLIC float model (informative Annex E of the WD).

The model is a mean-scale hyperprior codec with gain units for variable rate:

* analysis ``g_a``: four 5x5 stride-2 convolutions with GDN, picture -> latent ``y``
  (``M`` channels at 1/16 resolution). Encoder only: not normative.
* hyper-analysis ``h_a``: ``y`` -> hyper-latent ``z`` (``MZ`` channels at 1/64).
  Encoder only.
* hyper-synthesis ``h_s``: ``z_hat`` -> per-element mean and log-scale of ``y``.
  Normative (clause 8.3): run in integers by the decoder.
* synthesis ``g_s``: ``y_hat`` -> picture. Normative (clause 8.7).
* context networks ``c_g`` (optional, ``context_groups``): the decoded latent of the
  channel groups before ``g`` -> corrections of the mean and log-scale of group ``g``.
  Normative (clause 8.4.1).

Both normative networks are chains of *sub-pixel convolution* layers: a KxK
convolution (stride 1, zero padding) whose ``4*C`` outputs are rearranged into ``C``
channels at twice the resolution by depth-to-space, then a ReLU (absent on the last
layer). That shape maps one to one onto the integer layers of clause 8.6.

Variable rate (Cui et al., CVPR 2021): ``K`` anchor gain vectors ``g_k`` scale ``y``
per channel before quantisation, and inverse gains ``ig_k`` rescale ``y_hat`` before
synthesis. The hyperprior predicts the distribution of the *ungained* latent, so the
gained distribution is ``N(g*mu, g*sigma)``: the hyper branch is independent of the
quality and the quality shifts the scale index by ``log(g)`` (clause 8.4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SCALE_MIN = 0.11
"""Smallest Gaussian scale of the entropy tables (Annex B)."""
SCALE_MAX = 256.0
"""Largest Gaussian scale of the entropy tables (Annex B)."""
LIKELIHOOD_BOUND = 1e-9


@dataclass(frozen=True)
class ModelConfig:
    """Widths of the model; the normative ones are written to the parameter file."""

    n_analysis: int = 96
    m_latent: int = 128
    mz_hyper: int = 64
    n_hyper: int = 96
    synthesis_widths: tuple[int, ...] = (96, 96, 64)
    """Output channels of the synthesis layers before the final 3-channel layer."""
    lambdas: tuple[float, ...] = (0.0008, 0.0019, 0.0045, 0.011, 0.026, 0.062, 0.15)
    """Rate-distortion trade-offs of the gain anchors, on MSE in 0..255 units."""
    linear_analysis: bool = False
    """Add a linear 16x16 block transform to ``g_a`` (encoder only; see
    :mod:`encoder.linear_init`)."""
    context_groups: int = 0
    """``G`` > 1: the latent channels form ``G`` equal groups, and the entropy
    parameters of group ``g`` are those of the hyperprior plus a correction that the
    context network ``c_g`` computes from the decoded groups before it (clause 8.4.1).
    0: no context networks (the hyperprior alone)."""
    n_context: int = 128
    """Width of the hidden layers of the context networks."""

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> ModelConfig:
        return ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class GDN(nn.Module):
    """Generalised divisive normalisation (Balle et al. 2016), analysis side only."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(0.1 * torch.eye(channels).view(channels, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        beta = self.beta.abs() + 1e-6
        gamma = self.gamma.abs()
        norm = F.conv2d(x * x, gamma, beta)
        return x * torch.rsqrt(norm)


class SubPixelConv(nn.Module):
    """KxK convolution to ``4*c_out`` channels, then depth-to-space by 2."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, kernel, padding=kernel // 2)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


def _subpixel_chain(widths: list[int]) -> nn.ModuleList:
    return nn.ModuleList(SubPixelConv(a, b) for a, b in zip(widths[:-1], widths[1:]))


def run_chain(layers: nn.ModuleList, x: Tensor) -> Tensor:
    """ReLU between layers, none after the last: the layout of clause 8.6."""
    for i, layer in enumerate(layers):
        x = layer(x)
        if i < len(layers) - 1:
            x = F.relu(x)
    return x


def gaussian_likelihood(residual: Tensor, scale: Tensor) -> Tensor:
    """Probability mass of the unit bin around ``residual`` under N(0, scale)."""
    v = residual.abs()
    s = scale.clamp(SCALE_MIN, SCALE_MAX)
    upper = 0.5 * torch.erfc((v - 0.5) / (s * math.sqrt(2.0)))
    lower = 0.5 * torch.erfc((v + 0.5) / (s * math.sqrt(2.0)))
    return (upper - lower).clamp_min(LIKELIHOOD_BOUND)


def round_ste(x: Tensor) -> Tensor:
    """Rounding with a straight-through gradient."""
    return x + (torch.round(x) - x).detach()


ENCODER_SIDE = ("g_a.", "g_a_linear.", "h_a.")
"""Name prefixes of the parameters of the analysis transforms, which only the encoder has."""
DECODER_SIDE = ("h_s.", "h_s_out.", "g_s.", "log_z_scale")
"""Name prefixes of the float decoder networks, which the latent refinement descends
through (E.3.1), beside the context networks ``ctx.`` of a model that has them."""


class OpenLICModel(nn.Module):
    """Float model; :func:`encoder.export` turns its decoder side into integers."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        n, m = cfg.n_analysis, cfg.m_latent
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip((3, n, n, n), (n, n, n, m))):
            layers.append(nn.Conv2d(a, b, 5, stride=2, padding=2))
            if i < 3:
                layers.append(GDN(b))
        self.g_a = nn.Sequential(*layers)
        # A linear shortcut of the analysis (as the auxiliary transform of Li et al.,
        # ICLR 2025): the nonlinear layers learn a correction of a block transform,
        # which a CPU budget of steps could not otherwise reach.
        self.g_a_linear = nn.Conv2d(3, m, 16, stride=16) if cfg.linear_analysis else None
        self.h_a = nn.Sequential(
            nn.Conv2d(m, cfg.n_hyper, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(cfg.n_hyper, cfg.n_hyper, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(cfg.n_hyper, cfg.mz_hyper, 5, stride=2, padding=2),
        )
        # h_s: two upsampling layers to 1/16, then a plain 3x3 convolution to
        # (mean, log-scale) for every latent channel.
        self.h_s = _subpixel_chain([cfg.mz_hyper, cfg.n_hyper, cfg.n_hyper])
        self.h_s_out = nn.Conv2d(cfg.n_hyper, 2 * m, 3, padding=1)
        self.g_s = _subpixel_chain([m, *cfg.synthesis_widths, 3])
        k = len(cfg.lambdas)
        self.log_gain = nn.Parameter(torch.zeros(k, m))
        self.log_inv_gain = nn.Parameter(torch.zeros(k, m))
        # Higher trade-offs start with finer quantisation, so the anchors begin apart.
        with torch.no_grad():
            base = torch.log(torch.tensor(cfg.lambdas) / cfg.lambdas[k // 2]) / 2.5
            self.log_gain.copy_(base[:, None].expand(k, m))
            self.log_inv_gain.copy_(-base[:, None].expand(k, m))
        self.log_z_scale = nn.Parameter(torch.zeros(cfg.mz_hyper))
        # Context networks c_1 .. c_{G-1}: three plain 3x3 convolutions each, from the
        # groups before g to (mean, log-scale) corrections of group g. The last layer
        # starts at zero, so that a model initialised from one without context starts
        # as that model.
        self.ctx = nn.ModuleList()
        if cfg.context_groups:
            per = self.group_size
            for g in range(1, cfg.context_groups):
                chain = nn.ModuleList(
                    nn.Conv2d(a, b, 3, padding=1)
                    for a, b in (
                        (g * per, cfg.n_context),
                        (cfg.n_context, cfg.n_context),
                        (cfg.n_context, 2 * per),
                    )
                )
                nn.init.zeros_(chain[-1].weight)
                nn.init.zeros_(chain[-1].bias)
                self.ctx.append(chain)

    @property
    def group_size(self) -> int:
        """Latent channels per context group (all of them without context)."""
        g = self.cfg.context_groups
        if g and self.cfg.m_latent % g:
            raise ValueError(f"context_groups {g} does not divide m_latent {self.cfg.m_latent}")
        return self.cfg.m_latent // g if g else self.cfg.m_latent

    # -- pieces shared by training, export and encoding ---------------------------
    def analysis(self, x: Tensor, *, bf16: bool = False) -> Tensor:
        """The latent ``y`` of a picture padded to a multiple of 64 (encoder only).

        ``bf16`` runs the nonlinear layers in bfloat16 (a training option: forward and
        backward 2.4 times faster than float32 on this project's CPUs, which have AMX).
        The linear shortcut stays in float32: its block coefficients are large, and
        bfloat16's 8-bit significand would cost the top of the rate range 0.07 dB,
        where the nonlinear layers in bfloat16 cost none.
        """
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            y = self.g_a(x).float()
        return y if self.g_a_linear is None else y + self.g_a_linear(x)

    def hyper_synthesis(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-scale (natural log) of the ungained latent."""
        h = F.relu(run_chain(self.h_s, z_hat))
        out = self.h_s_out(h)
        mean, log_scale = out.chunk(2, dim=1)
        return mean, log_scale

    def context(self, g: int, y_hat_before: Tensor) -> tuple[Tensor, Tensor]:
        """Corrections of the mean and log-scale of group ``g`` >= 1 from the ungained
        decoded latent of groups ``0 .. g-1`` (the synthesis input of those channels)."""
        mean, log_scale = run_chain(self.ctx[g - 1], y_hat_before).chunk(2, dim=1)
        return mean, log_scale

    def quantise_groups(
        self,
        y: Tensor,
        mean: Tensor,
        log_scale: Tensor,
        gain: Tensor,
        inv_gain: Tensor,
        quantise: Callable[[Tensor], Tensor],
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Group by group: add the context corrections to the hyperprior's ``mean`` and
        ``log_scale`` (ungained), quantise the gained residual with ``quantise``, and
        reconstruct the ungained latent that the next groups and the synthesis see.

        Returns (the gained residual before quantisation, the entropy scale in gained
        units, the reconstructed ungained latent ``y_hat``), each over all channels.
        """
        per = self.group_size
        residuals, scales, y_hats = [], [], []
        for g in range(self.cfg.context_groups or 1):
            c = slice(g * per, (g + 1) * per)
            mu, ls = mean[:, c], log_scale[:, c]
            if g:
                d_mu, d_ls = self.context(g, torch.cat(y_hats, dim=1))
                mu, ls = mu + d_mu, ls + d_ls
            gn, ign = gain[:, c], inv_gain[:, c]
            r = y[:, c] * gn - mu * gn
            residuals.append(r)
            scales.append(ls.exp() * gn)
            y_hats.append((quantise(r) + mu * gn) * ign)
        return torch.cat(residuals, 1), torch.cat(scales, 1), torch.cat(y_hats, 1)

    def gains(self, k: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample gain and inverse gain vectors, shaped (B, M, 1, 1)."""
        return (
            self.log_gain[k].exp()[:, :, None, None],
            self.log_inv_gain[k].exp()[:, :, None, None],
        )

    def forward(
        self,
        x: Tensor,
        k: Tensor,
        *,
        hyper_step_log2: Tensor | None = None,
        bf16_analysis: bool = False,
    ) -> dict[str, Tensor]:
        """Training forward pass with the mixed quantisation surrogate.

        ``x`` is in [0, 1]; ``k`` holds one anchor index per sample. Rates use additive
        uniform noise, the synthesis sees rounded latents with straight-through
        gradients (Minnen and Singh, ICIP 2020), as the decoder does.
        ``hyper_step_log2`` (one per sample, default 0) codes the hyper-latent with the
        step ``2^k`` of WD 8.3.1: its rate is that of ``z / 2^k`` under the scale
        ``sigma_z / 2^k``, and the hyper synthesis reads ``round(z / 2^k) * 2^k``.
        ``bf16_analysis``: see :meth:`analysis`; everything else runs in float32.
        """
        y = self.analysis(x, bf16=bf16_analysis)
        z = self.h_a(y)
        step = 1.0
        if hyper_step_log2 is not None:
            step = torch.exp2(hyper_step_log2.float())[:, None, None, None]
        noise_z = torch.rand_like(z) - 0.5
        z_scale = self.log_z_scale.exp()[None, :, None, None] / step
        lik_z = gaussian_likelihood(z / step + noise_z, z_scale.expand_as(z))
        z_hat = round_ste(z / step) * step
        mean, log_scale = self.hyper_synthesis(z_hat)
        mean = mean[..., : y.shape[2], : y.shape[3]]
        gain, inv_gain = self.gains(k)
        r, scale, y_hat = self.quantise_groups(
            y, mean, log_scale[..., : y.shape[2], : y.shape[3]], gain, inv_gain, round_ste
        )
        lik_y = gaussian_likelihood(r + torch.rand_like(r) - 0.5, scale)
        x_hat = run_chain(self.g_s, y_hat)
        return {"x_hat": x_hat, "lik_y": lik_y, "lik_z": lik_z}


def rate_distortion_loss(out: dict[str, Tensor], x: Tensor, lam: Tensor) -> dict[str, Tensor]:
    """Per-sample ``bpp + lambda * 255^2 * MSE``, averaged over the batch.

    ``bpp_each`` and ``mse_each`` keep the per-sample terms (without gradient), for
    the per-anchor statistics of the training log.
    """
    b, _, h, w = x.shape
    pixels = h * w
    bits_y = -torch.log2(out["lik_y"]).reshape(b, -1).sum(1)
    bits_z = -torch.log2(out["lik_z"]).reshape(b, -1).sum(1)
    bpp = (bits_y + bits_z) / pixels
    mse = (out["x_hat"] - x).pow(2).reshape(b, -1).mean(1)
    loss = bpp + lam * (255.0**2) * mse
    return {
        "loss": loss.mean(),
        "bpp": bpp.mean(),
        "mse": mse.mean(),
        "bpp_each": bpp.detach(),
        "mse_each": mse.detach(),
    }
