"""Export of a trained float model to a normative parameter set (WD Annex C).

Post-training quantisation, calibrated on training patches (never on the test set):

* activations of every hidden layer are integers in ``0..ACT_MAX``; the real value of
  one integer unit of layer l, ``alpha_l``, is the calibrated maximum over ``ACT_MAX``;
* each output channel gets the largest right shift ``s`` (0..31) for which its
  weights fit int16 and its accumulator provably stays in 32 bits (WD 8.6.2); the
  weights are ``round(w * alpha_in / alpha_out * 2^s)`` and the bias, with the
  rounding offset ``2^(s-1)`` folded in, ``round(b / alpha_out * 2^s) + 2^(s-1)``;
* the latent channels are reordered by decreasing rate, so that the first channel
  groups of a progressive codestream carry the most information (WD 8.1.2).

``python -m encoder.export CHECKPOINT OUT.olp --encoder-out ENC.pt --bank BANK`` writes
the parameter file and the analysis weights the encoder needs, reordered the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from encoder.model import (
    DECODER_SIDE,
    ENCODER_SIDE,
    SCALE_MAX,
    SCALE_MIN,
    ModelConfig,
    OpenLICModel,
    gaussian_likelihood,
)
from encoder.rdoq import synthesis_energy
from refdec.container import write_container
from refdec.network import ACC_MAX
from refdec.params import INT16_MAX, INT16_MIN, NUM_SCALES, PARAMS_MAGIC

ACT_MAX = 4095
"""Largest hidden activation: 12-bit unsigned."""
LATENT_IN_MAX = 8191
HYPER_IN_MAX = 255
NUM_QUALITIES = 256
QUALITY_BELOW = 2.5
"""Anchor spacings under the first anchor that quality index 0 reaches (WD E.4).

Chosen with ``tools/quality_range.py`` on the 12 BSDS500 validation pictures of the
training run, so that quality 0 codes them at about 0.06 bpp (the shipped model: 0.055
bpp, 21.9 dB; 2 spacings give 0.069 bpp, 3 give 0.045); the Kodak pictures, less
detailed, code at fewer bits."""
QUALITY_ABOVE = 0.0
"""Anchor spacings beyond the last anchor that the last quality index reaches (WD E.4).

Chosen likewise: the last anchor alone already codes the validation pictures at 2.54
bpp, 38.5 dB (the shipped model), well beyond 1.5 bpp, and gains extrapolated past it
buy less (half a spacing more adds 0.69 dB for 0.33 bpp)."""
F_OUT = 12
F_LS = 8
FG = 16
FIG = 12
LOG_STEP = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (NUM_SCALES - 1)


def quantise_conv(
    conv: nn.Conv2d,
    alpha_in: float,
    alpha_out: np.ndarray,
    in_bound: int,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer weights, biases and shifts of one convolution (see module docstring).

    ``alpha_out`` and ``offset`` are per output channel: the integer output is
    ``(float_output - offset) / alpha_out``.
    """
    w = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy()
    if offset is not None:
        b = b - offset
    o = w.shape[0]
    mult = alpha_in / alpha_out
    wq = np.zeros(w.shape, np.int16)
    bq = np.zeros(o, np.int32)
    sh = np.zeros(o, np.int32)
    for c in range(o):
        for s in range(31, -1, -1):
            wi = np.round(w[c] * mult[c] * 2.0**s)
            bi = round(b[c] / alpha_out[c] * 2.0**s) + (1 << (s - 1) if s else 0)
            if np.abs(wi).max() > INT16_MAX:
                continue
            if abs(bi) + np.abs(wi).sum() * in_bound > ACC_MAX:
                continue
            wq[c], bq[c], sh[c] = wi.astype(np.int16), bi, s
            break
        else:
            raise ValueError(f"channel {c} cannot be quantised")
    return wq, bq, sh


@torch.no_grad()
def calibrate(model: OpenLICModel, patches: np.ndarray) -> dict[str, object]:
    """Maxima of every normative activation, and the mean rate of each latent channel."""
    stats: dict[str, list] = {"hs": [], "gs": [], "y": [], "mean": [], "bits": [], "ctx": []}
    per = model.group_size
    k_all = range(len(model.cfg.lambdas))
    for start in range(0, len(patches), 8):
        x = torch.from_numpy(patches[start : start + 8]).permute(0, 3, 1, 2).float() / 255
        y = model.analysis(x)
        z = torch.round(model.h_a(y)).clamp(-HYPER_IN_MAX, HYPER_IN_MAX)
        h = z
        hs_max = []
        for layer in model.h_s:
            h = F.relu(layer(h))
            hs_max.append(h.max().item())
        mean, log_scale = model.h_s_out(h).chunk(2, 1)
        stats["hs"].append(hs_max)
        stats["mean"].append(mean.abs().max().item())
        for k in k_all:
            kk = torch.full((x.shape[0],), k)
            gain, inv_gain = model.gains(kk)
            r, scale, y_hat = model.quantise_groups(y, mean, log_scale, gain, inv_gain, torch.round)
            r = torch.round(r)
            stats["y"].append(y_hat.abs().max().item())
            ctx_max = []  # per network: its hidden layers' maxima, then |mean| after it
            for g, chain in enumerate(model.ctx, start=1):
                h = y_hat[:, : g * per]
                for layer in chain[:-1]:
                    h = F.relu(layer(h))
                    ctx_max.append(h.max().item())
                d_mean = chain[-1](h)[:, :per]
                corrected = mean[:, g * per : (g + 1) * per] + d_mean
                stats["mean"].append(max(d_mean.abs().max().item(), corrected.abs().max().item()))
            stats["ctx"].append(ctx_max)
            g = y_hat
            gs_max = []
            for layer in model.g_s[:-1]:
                g = F.relu(layer(g))
                gs_max.append(g.max().item())
            stats["gs"].append(gs_max)
            if k == len(model.cfg.lambdas) // 2:
                lik = gaussian_likelihood(r, scale)
                stats["bits"].append((-torch.log2(lik)).sum(dim=(0, 2, 3)).numpy())
    return {
        "hs": np.max(stats["hs"], axis=0),
        "gs": np.max(stats["gs"], axis=0),
        "y": max(stats["y"]),
        "ctx": np.max(stats["ctx"], axis=0) if model.ctx else np.zeros(0),
        "mean": max(stats["mean"]),
        "bits": np.sum(stats["bits"], axis=0),
    }


def reorder_latent_channels(model: OpenLICModel, perm: torch.Tensor) -> None:
    """Permute the latent channels of the float model in place (order of ``perm``).

    The context groups are ranges of channels, so a model with context networks may be
    permuted only while they output zero (as they start, :mod:`encoder.model`).
    """
    if any(chain[-1].weight.any() or chain[-1].bias.any() for chain in model.ctx):
        raise ValueError("the channels of a trained context model cannot be reordered")
    m = model.cfg.m_latent
    with torch.no_grad():
        for last in (model.g_a[-1], model.g_a_linear):
            if last is not None:
                last.weight.copy_(last.weight[perm])
                last.bias.copy_(last.bias[perm])
        first = model.h_a[0]
        first.weight.copy_(first.weight[:, perm])
        out = model.h_s_out
        both = torch.cat([perm, perm + m])
        out.weight.copy_(out.weight[both])
        out.bias.copy_(out.bias[both])
        g0 = model.g_s[0].conv
        g0.weight.copy_(g0.weight[:, perm])
        model.log_gain.copy_(model.log_gain[:, perm])
        model.log_inv_gain.copy_(model.log_inv_gain[:, perm])


def _anchor_interpolation(
    k: int, q: int, below: float, above: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower anchor and weight of the upper one for every quality index (E.4 step 5)."""
    pos = np.linspace(-below, k - 1 + above, q)
    lo = np.clip(np.floor(pos).astype(int), 0, k - 2)
    return lo, pos - lo


def quality_gains(
    model: OpenLICModel,
    q: int = NUM_QUALITIES,
    below: float = QUALITY_BELOW,
    above: float = QUALITY_ABOVE,
) -> tuple[np.ndarray, np.ndarray]:
    """Gain and inverse gain of every quality index, log-linear between anchors.

    The indices are spread evenly from ``below`` anchor spacings under the first anchor
    to ``above`` spacings beyond the last: outside the anchors the logarithms of the
    gains continue the line through the two nearest (coarser quantisation than any
    anchor for the lowest rates, finer for the highest).
    """
    lg = model.log_gain.detach().double().numpy()
    lig = model.log_inv_gain.detach().double().numpy()
    lo, t = _anchor_interpolation(len(lg), q, below, above)
    t = t[:, None]
    g = np.exp(lg[lo] * (1 - t) + lg[lo + 1] * t)
    ig = np.exp(lig[lo] * (1 - t) + lig[lo + 1] * t)
    return g, ig


def quality_lambdas(
    model: OpenLICModel,
    q: int = NUM_QUALITIES,
    below: float = QUALITY_BELOW,
    above: float = QUALITY_ABOVE,
) -> np.ndarray:
    """The rate-distortion trade-off of every quality index, placed as its gains are.

    The logarithms of the anchors' trade-offs are interpolated (and extrapolated) like
    those of their gains: the trade-off the latent refinement of E.3.1 descends.
    """
    ll = np.log(np.asarray(model.cfg.lambdas, dtype=np.float64))
    lo, t = _anchor_interpolation(len(ll), q, below, above)
    return np.exp(ll[lo] * (1 - t) + ll[lo + 1] * t)


def export(model: OpenLICModel, calib_patches: np.ndarray) -> bytes:
    """Quantise ``model`` (already reordered) into a parameter file."""
    stats = calibrate(model, calib_patches)
    rec: dict[str, np.ndarray] = {}
    m = model.cfg.m_latent

    def put_layer(name: str, wq, bq, sh, d2s: bool, lo: int, hi: int) -> None:
        rec[f"{name}.weight"] = wq
        rec[f"{name}.bias"] = bq
        rec[f"{name}.shift"] = sh
        rec[f"{name}.config"] = np.array([int(d2s), lo, hi], np.int32)

    # Hyper synthesis (WD 8.3.2): z in integers (alpha 1), hidden 12-bit, then mean with
    # F_mu fractional bits and log-scale in 1/2^F_ls table steps above table 0.
    f_mu = min(10, int(math.floor(math.log2(INT16_MAX / (2 * stats["mean"])))))
    alpha, bound = 1.0, HYPER_IN_MAX
    for n, layer in enumerate(model.h_s):
        a_out = np.full(layer.conv.out_channels, stats["hs"][n] / ACT_MAX)
        put_layer(f"hs.{n}", *quantise_conv(layer.conv, alpha, a_out, bound), True, 0, ACT_MAX)
        alpha, bound = stats["hs"][n] / ACT_MAX, ACT_MAX
    a_out = np.concatenate([np.full(m, 2.0**-f_mu), np.full(m, LOG_STEP / 2**F_LS)])
    offset = np.concatenate([np.zeros(m), np.full(m, math.log(SCALE_MIN))])
    n = len(model.h_s)
    put_layer(
        f"hs.{n}",
        *quantise_conv(model.h_s_out, alpha, a_out, bound, offset),
        False,
        INT16_MIN,
        INT16_MAX,
    )
    # Synthesis (WD 8.7): input y_hat / alpha_y, hidden 12-bit, output 2^-F_out.
    alpha_y = stats["y"] * 1.25 / LATENT_IN_MAX
    alpha, bound = alpha_y, LATENT_IN_MAX
    last = len(model.g_s) - 1
    for n, layer in enumerate(model.g_s):
        if n < last:
            a_out = np.full(layer.conv.out_channels, stats["gs"][n] / ACT_MAX)
            lo, hi = 0, ACT_MAX
        else:
            a_out = np.full(layer.conv.out_channels, 2.0**-F_OUT)
            lo, hi = INT16_MIN, INT16_MAX
        put_layer(f"gs.{n}", *quantise_conv(layer.conv, alpha, a_out, bound), True, lo, hi)
        alpha, bound = a_out[0], ACT_MAX
    # Context networks (WD 8.4.1): input y_in like the synthesis, hidden 12-bit, output
    # corrections in the units of hs's output (no offset: they are added to it).
    per = model.group_size
    hidden = iter(stats["ctx"])
    for g, chain in enumerate(model.ctx, start=1):
        alpha, bound = alpha_y, LATENT_IN_MAX
        for n, layer in enumerate(chain):
            if n < len(chain) - 1:
                top = next(hidden)
                a_out = np.full(layer.out_channels, top / ACT_MAX)
                lo, hi = 0, ACT_MAX
            else:
                a_out = np.concatenate([np.full(per, 2.0**-f_mu), np.full(per, LOG_STEP / 2**F_LS)])
                lo, hi = INT16_MIN, INT16_MAX
            put_layer(f"ctx.{g}.{n}", *quantise_conv(layer, alpha, a_out, bound), False, lo, hi)
            alpha, bound = a_out[0], ACT_MAX
    if model.ctx:
        rec["context.groups"] = np.array([model.cfg.context_groups], np.int32)
    g, ig = quality_gains(model)
    rec["gain.mean"] = np.round(g * 2.0**FG).astype(np.int32)
    rec["gain.inverse"] = np.round(ig / alpha_y * 2.0**FIG).astype(np.int32)
    rec["gain.scale_offset"] = np.round(np.log(g) / LOG_STEP * 2**F_LS).astype(np.int32)
    z_scale = model.log_z_scale.detach().double().numpy()
    rec["z.table"] = np.clip(
        np.round((z_scale - math.log(SCALE_MIN)) / LOG_STEP), 0, NUM_SCALES - 1
    ).astype(np.int32)
    for key, v in (
        ("latent.f_mu", f_mu),
        ("latent.fg", FG),
        ("latent.fig", FIG),
        ("latent.f_ls", F_LS),
        ("latent.in_max", LATENT_IN_MAX),
        ("hyper.in_max", HYPER_IN_MAX),
        ("output.f_out", F_OUT),
    ):
        rec[key] = np.array([v], np.int32)
    return write_container(rec, PARAMS_MAGIC)


ENERGY_PATCHES = 2
"""Training patches around whose latents :func:`encoder.rdoq.synthesis_energy` is
measured (at the middle quality index)."""


def encoder_weights(model: OpenLICModel, data: bytes, patches: np.ndarray | None = None) -> dict:
    """What the encoder loads beside the parameter set ``data`` (the permuted model).

    The weights in half precision, plenty for an analysis that the decoder never
    repeats and for the descent of the refinement; the gains and trade-offs of the
    quality indices in float32; the synthesis' response to each latent channel, measured
    around the latents of training ``patches``, for the rate-distortion optimised
    quantisation (E.3.2; without ``patches`` the encoder rounds); and the SHA-256 of the
    parameter set, so that the encoder never codes with weights that do not match it.
    """
    g, ig = quality_gains(model)
    energy = None
    if patches is not None:
        mid = NUM_QUALITIES // 2
        gains = (torch.from_numpy(a[mid]).float() for a in (g, ig))
        energy = synthesis_energy(model, patches[:ENERGY_PATCHES], *gains)
    sides = (*ENCODER_SIDE, *DECODER_SIDE, "ctx.")
    return {
        "config": model.cfg.to_dict(),
        "model": {k: v.half() for k, v in model.state_dict().items() if k.startswith(sides)},
        "quality": {
            "gain": torch.from_numpy(g).float(),
            "inverse_gain": torch.from_numpy(ig).float(),
            "lambda": torch.from_numpy(quality_lambdas(model)).float(),
        },
        "synthesis_energy": energy,
        "params_sha256": hashlib.sha256(data).hexdigest(),
    }


def load_model(path: Path) -> OpenLICModel:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = OpenLICModel(ModelConfig.from_dict(state["config"]))
    # The moving average of the weights when the checkpoint has one (encoder.train).
    model.load_state_dict(state.get("ema", state["model"]))
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m encoder.export", description=__doc__)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path, help="parameter file to write (.olp)")
    ap.add_argument("--bank", type=Path, required=True, help="patch bank for calibration")
    ap.add_argument("--patches", type=int, default=128)

    ap.add_argument(
        "--encoder-out", type=Path, required=True, help="encoder weights to write (.pt)"
    )
    args = ap.parse_args(argv)
    model = load_model(args.checkpoint)
    bank = np.load(args.bank, mmap_mode="r")
    rng = np.random.default_rng(0)
    calib = np.asarray(bank[np.sort(rng.choice(len(bank), args.patches, replace=False))])
    if not model.ctx:  # a context model's channels were ordered when it was initialised
        bits = calibrate(model, calib)["bits"]
        perm = torch.from_numpy(np.argsort(-bits, kind="stable").copy())
        reorder_latent_channels(model, perm)
    data = export(model, calib)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    torch.save(encoder_weights(model, data, calib), args.encoder_out)
    print(f"{args.out}: {len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
