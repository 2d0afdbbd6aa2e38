"""Float counterparts of the OpenLIC decoder, for the benchmarks (informative).

Two different things, for two different questions:

* :class:`FloatModel` runs the **float model** (a training checkpoint) end to end:
  ``g_a``, ``h_a``, ``h_s``, the gains of the quality index, the
  residuals the integer encoder chose, the inverse gains and ``g_s``, all in float32,
  as in training (:class:`encoder.model.OpenLICModel`) but with the residuals and
  the hyper-latent (with its step) that the integer encoder coded instead of noise.
  Compared with the integer decoder at the same quality it measures what the export
  to integers (post-training quantisation, WD Annex C) costs: the quantisation loss
  in BD-rate.
* :class:`FloatNet` is a **float32 PyTorch decoder of the integer network** itself:
  every integer layer of the parameter set (WD 8.6) becomes a float convolution with
  weights ``W / 2^s`` and biases ``B / 2^s - 1/2`` (per output channel ``s``: the
  ``- 1/2`` undoes the rounding offset folded into ``B``), the same depth-to-space and
  the same clipping, but no rounding. It computes the function of the integer network
  up to rounding, with the same layers, shapes and operation count, so its speed
  against refdec compares the two implementations (numba integers against PyTorch's
  float32 kernels) on exactly the same network. The shipped files hold no float
  synthesis weights in any case (the encoder needs only the analysis side).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from openlic.bench import BenchError

# -- the float model ------------------------------------------------------------------


def load_float_checkpoint(path: Path, shipped: Any) -> Any:
    """The float model of a training checkpoint, checked against the encoder's weights.

    The export (``python -m encoder.export``) reorders the latent channels but never
    the first analysis layer, so that layer identifies the model: it must equal the
    encoder's (stored in half precision) to within half-precision rounding.
    """
    from encoder.export import reorder_latent_channels
    from encoder.model import ModelConfig, OpenLICModel

    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        model = OpenLICModel(ModelConfig.from_dict(state["config"]))
        model.load_state_dict({k: v.float() for k, v in state["model"].items()})
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as e:
        raise BenchError(f"cannot load the float checkpoint '{path}': {e}") from None
    if model.cfg != shipped.cfg:
        raise BenchError(f"the float checkpoint '{path}' has another configuration")
    a = model.g_a[0].weight.detach()
    b = shipped.g_a[0].weight.detach().float()
    if (a - b).abs().max() > 2e-3 * a.abs().max() + 1e-6:
        raise BenchError(
            f"the float checkpoint '{path}' is not the model the parameter set was "
            "exported from (its analysis weights differ)"
        )
    # The export ordered the latent channels by rate: give the float model the same
    # order, found from the last analysis layer, whose rows the order permutes, so that
    # it can decode the residuals of the integer encoder.
    rows = model.g_a[-1].weight.detach().flatten(1)
    shipped_rows = shipped.g_a[-1].weight.detach().float().flatten(1)
    perm = torch.cdist(shipped_rows, rows).argmin(1)
    if sorted(perm.tolist()) != list(range(len(rows))):
        raise BenchError(f"cannot match the latent channels of '{path}' to the parameter set")
    if not torch.equal(perm, torch.arange(len(rows))):  # a context model keeps its order
        reorder_latent_channels(model, perm)
    return model.eval()


class FloatModel:
    """The float model end to end at any quality index (see the module docstring)."""

    def __init__(self, model: Any, num_qualities: int) -> None:
        from encoder.export import quality_gains

        self.model = model.eval()
        g, ig = quality_gains(model, num_qualities)
        self.gain = torch.from_numpy(g).float()
        self.inv_gain = torch.from_numpy(ig).float()

    @torch.no_grad()
    def analyse(self, image: np.ndarray) -> dict[str, Any]:
        """The quality-independent part: the latent ``y`` and hyper-latent ``z``.

        Padding and cropping follow the encoder (:func:`encoder.pipeline.latents`):
        replicate padding to a multiple of 64, latent ``ceil(H/16) x ceil(W/16)``.
        """
        m = self.model
        h, w = image.shape[:2]
        x = torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        x = F.pad(x, (0, -w % 64, 0, -h % 64), mode="replicate")
        hy, wy = math.ceil(h / 16), math.ceil(w / 16)
        hz, wz = math.ceil(hy / 4), math.ceil(wy / 4)
        y = m.analysis(x)
        return {"h": h, "w": w, "y": y[..., :hy, :wy], "z": m.h_a(y)[..., :hz, :wz]}

    @torch.no_grad()
    def reconstruct(
        self,
        state: dict[str, Any],
        quality: int,
        residuals: np.ndarray | None = None,
        z_hat: np.ndarray | None = None,
        hyper_step_log2: int = 0,
    ) -> tuple[np.ndarray, float]:
        """8-bit picture and estimated bits (likelihoods of ``y_hat`` and ``z_hat``).

        ``residuals`` (M, Hy, Wy) and ``z_hat`` (MZ, Hz, Wz), the values the integer
        encoder wrote with the hyper-latent step ``2^hyper_step_log2`` (WD 7.2, 8.3),
        replace the rounding: the encoder chooses them by rate and distortion (WD
        E.3), and the quantisation loss compares the two decoders on the same choice,
        not two encoders. As in WD 8.3.2 the hyper synthesis reads ``z_hat`` times the
        step, and ``z_hat`` is coded with its scales divided by the step (8.3.1).
        """
        from encoder.model import gaussian_likelihood, run_chain

        m = self.model
        step = float(1 << hyper_step_log2)
        if z_hat is None:
            z_q = torch.round(state["z"] / step)
        else:
            z_q = torch.from_numpy(z_hat.astype(np.float32))[None]
        hy, wy = state["y"].shape[-2:]
        mean, log_scale = m.hyper_synthesis(z_q * step)
        mean, log_scale = mean[..., :hy, :wy], log_scale[..., :hy, :wy]
        z_scale = (m.log_z_scale.exp() / step)[None, :, None, None].expand_as(z_q)
        bits_z = float(-torch.log2(gaussian_likelihood(z_q, z_scale)).sum())

        g = self.gain[quality][None, :, None, None]
        ig = self.inv_gain[quality][None, :, None, None]
        quantise = torch.round if residuals is None else _given(residuals)
        # Group by group with the context networks of a model that has them.
        r, scale, y_hat = m.quantise_groups(state["y"], mean, log_scale, g, ig, quantise)
        r_hat = torch.round(r) if residuals is None else torch.from_numpy(residuals)[None]
        bits_y = float(-torch.log2(gaussian_likelihood(r_hat.float(), scale)).sum())
        x_hat = run_chain(m.g_s, y_hat)[0, :, : state["h"], : state["w"]]
        pic = torch.round(x_hat.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0)
        return np.ascontiguousarray(pic.numpy()), bits_y + bits_z


def _given(residuals: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """A stand-in for rounding that returns the given residuals, channel group by
    channel group in the order :meth:`encoder.model.OpenLICModel.quantise_groups` asks."""
    given = torch.from_numpy(residuals.astype(np.float32))[None]
    start = 0

    def quantise(r: torch.Tensor) -> torch.Tensor:
        nonlocal start
        out = given[:, start : start + r.shape[1]]
        start += r.shape[1]
        return out

    return quantise


# -- a float32 decoder of the integer network ------------------------------------------


class FloatNet(torch.nn.Module):
    """The integer layers of WD 8.6 as float32 convolutions (see the module docstring)."""

    def __init__(self, layers: list[Any]) -> None:
        super().__init__()
        self.specs: list[tuple[int, bool, float, float]] = []
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for layer in layers:
            s = layer.shift.astype(np.float64)
            scale = 2.0**-s
            w = layer.weight.astype(np.float64) * scale[:, None, None, None]
            b = layer.bias.astype(np.float64) * scale - np.where(s > 0, 0.5, 0.0)
            self.weights.append(torch.nn.Parameter(torch.from_numpy(w).float(), False))
            self.biases.append(torch.nn.Parameter(torch.from_numpy(b).float(), False))
            self.specs.append(
                (
                    layer.kernel // 2,
                    layer.depth_to_space,
                    float(layer.clip_lo),
                    float(layer.clip_hi),
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for (pad, d2s, lo, hi), w, b in zip(self.specs, self.weights, self.biases):
            x = F.conv2d(x, w, b, padding=pad)
            if d2s:
                x = F.pixel_shuffle(x, 2)
            x = x.clamp(lo, hi)
        return x


class FloatDecoder:
    """refdec's decoding process with both networks replaced by :class:`FloatNet`.

    Parsing, entropy decoding (the same refdec functions) and the table indices are
    those of refdec: table indices must come from the integer networks, or the float
    decoder could not parse at all (WD 8.4). The float hyper network (and the float
    context networks, group by group on the float decoder's own latent) are run and
    timed on the same input, and their means are the ones the float decoder uses.
    """

    def __init__(self, params: Any) -> None:
        self.params = params
        self.hs = FloatNet(list(params.hs)).eval()
        self.gs = FloatNet(list(params.gs)).eval()
        self.ctx = [FloatNet(list(chain)).eval() for chain in params.ctx]

    @torch.no_grad()
    def decode(self, data: bytes, params_path: Path | None = None) -> tuple[np.ndarray, dict]:
        from refdec.codestream import parse_codestream
        from refdec.decoder import decode_latent, latent
        from refdec.entropy import decode_stream
        from refdec.hyper import hyper_input, hyper_symbol_tables, hyper_synthesis
        from refdec.latent import reconstruct, scale_indices
        from refdec.output import to_samples
        from refdec.output_filter import apply_output_filter
        from refdec.params import find_parameter_set

        t0 = time.perf_counter_ns()
        parsed = parse_codestream(bytes(data))
        hdr = parsed.header
        params = find_parameter_set(hdr.parameter_set_hash, params_path)
        hz, wz, hy, wy = hdr.hyper_height, hdr.hyper_width, hdr.latent_height, hdr.latent_width
        tp = time.perf_counter_ns()
        k = hdr.hyper_step_log2
        z_hat = decode_stream(
            parsed.z_stream, hyper_symbol_tables(params, hz, wz, k), base_offset=parsed.z_offset
        ).reshape(params.mz, hz, wz)
        z = torch.from_numpy(hyper_input(z_hat, k, params.hyper_in_max).astype(np.float32))[None]
        out = self.hs(z)[0, :, :hy, :wy]
        mean_f = torch.round(out[: params.m]).numpy().astype(np.int32)
        t2 = time.perf_counter_ns()
        # The table indices come from the integer hyper synthesis (not timed as float
        # work); the scale indices are, as in refdec's hyper stage.
        mean_fp, ls_fp = hyper_synthesis(z_hat, params, hy, wy, k)
        t3 = time.perf_counter_ns()
        if not params.ctx:
            idx = scale_indices(ls_fp, hdr.quality, params)
            t4 = time.perf_counter_ns()

            def parameters(g: int, c: range, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                return mean_f[c.start : c.stop], idx[c.start : c.stop]

            # refdec's residual decoding and reconstruction, with the float means.
            y_in = latent(parsed, params, parameters)
        else:
            t4 = t3
            # The tables of a group depend on the integer latent of the groups before
            # (WD 8.4.1): the integer pass runs too, and the float one after it.
            r, _ = decode_latent(parsed, params, mean_fp, ls_fp)
            y_in = np.empty((hy, wy, params.m), np.int16)
            per = params.m // hdr.num_channel_groups
            for g in range(hdr.num_channel_groups):
                c = range(g * per, (g + 1) * per)
                if g:
                    y = torch.from_numpy(y_in[:, :, : c.start].astype(np.float32))
                    d = self.ctx[g - 1](y.permute(2, 0, 1)[None])[0, :per]
                    mean_f[c.start : c.stop] += torch.round(d).numpy().astype(np.int32)
                y_in[:, :, c.start : c.stop] = reconstruct(
                    r[c.start : c.stop], mean_f[c.start : c.stop], c, hdr.quality, params
                )
        t5 = time.perf_counter_ns()
        y = torch.from_numpy(y_in.astype(np.float32)).permute(2, 0, 1)[None]
        x = self.gs(y)[0].permute(1, 2, 0)
        x_fp = torch.round(x).numpy().astype(np.int64)
        samples = to_samples(x_fp, params.f_out, hdr.bit_depth, hdr.width, hdr.height)
        if parsed.output_filter is not None:  # not a network: refdec's own (WD 8.9)
            samples = apply_output_filter(samples, parsed.output_filter, hdr.bit_depth)
        t6 = time.perf_counter_ns()
        # The stages of refdec.decode (hyper: with the scale indices; latent: residuals
        # and reconstruction, with a parameter set that has context networks also the
        # integer pass that gives the tables; synthesis: with the output conversion and
        # the output filter).
        return samples, {
            "parse": tp - t0,
            "hyper": (t2 - tp) + (t4 - t3),
            "latent": t5 - t4,
            "synthesis": t6 - t5,
        }


def network_macs(layers: list[Any], height: int, width: int) -> int:
    """Multiply-accumulates of a chain of integer layers on a ``height x width`` input."""
    total = 0
    for layer in layers:
        o, i, k, _ = layer.weight.shape
        total += height * width * int(o) * int(i) * int(k) * int(k)
        if layer.depth_to_space:
            height, width = 2 * height, 2 * width
    return total


def torch_macs(
    module: torch.nn.Module, x: torch.Tensor, forward: Callable[[torch.Tensor], Any] | None = None
) -> int:
    """Multiply-accumulates of the convolutions of ``module`` that ``forward`` (default:
    the module itself) runs on input ``x`` (hooks)."""
    total = 0

    def hook(mod: torch.nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * k

    handles = [
        m.register_forward_hook(hook) for m in module.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            (forward or module)(x)
    finally:
        for h in handles:
            h.remove()
    return total


def check_torch() -> None:
    if torch is None:  # pragma: no cover - the import above fails first
        raise BenchError("PyTorch is needed")
