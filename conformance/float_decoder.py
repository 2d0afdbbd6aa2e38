"""A floating-point decoder: the model decoder of the tolerance conformance class.

Parsing is exact, as the tolerance class requires (WD D.2): the codestream is parsed,
the hyper-latent decoded, the hyper synthesis run and the table indices derived with
the integer processes of the reference decoder (WD 5 to 8.4), because every later
symbol depends on them. The latent reconstruction (WD 8.5), the synthesis (8.7) and
the output conversion (8.8) are then computed in floating point, as the real-valued
operations of which the integer ones are the rounded form: each right shift with its
folded rounding offset becomes a division, ``acc / 2^s - 1/2``, and the output is
rounded to the nearest integer only at the end. The output filter (8.9) is applied to
the unrounded samples in the same way, with the classes of 8.9.2 taken from the
samples rounded.

It serves to set the thresholds of the tolerance class (:mod:`conformance.generate`
measures it in float64 and float32 on every case) and, in the self-tests, as a decoder
that must pass the tolerance class and fail the exact one.
"""

from __future__ import annotations

import numpy as np

from refdec.codestream import OutputFilter, parse_codestream
from refdec.decoder import decode_latent
from refdec.entropy import decode_stream
from refdec.hyper import hyper_symbol_tables, hyper_synthesis
from refdec.network import IntLayer, halo
from refdec.output import sample_dtype
from refdec.output_filter import activity, filter_classes, filter_taps
from refdec.params import find_parameter_set

BAND_ROWS = 8
"""Latent rows synthesised at a time."""


def float_layer(x: np.ndarray, layer: IntLayer, dtype: type) -> np.ndarray:
    """A layer of WD 8.6.1 in floating point: ``(acc - 2^(s-1)) / 2^s``, unrounded."""
    w = layer.weight.astype(dtype)
    k = w.shape[2]
    p = k // 2
    h, wd, c = x.shape
    xp = np.zeros((h + 2 * p, wd + 2 * p, c), dtype)
    xp[p : p + h, p : p + wd] = x
    acc = np.zeros((h, wd, w.shape[0]), dtype) + layer.bias.astype(dtype)
    for ky in range(k):
        for kx in range(k):
            acc += xp[ky : ky + h, kx : kx + wd] @ w[:, :, ky, kx].T
    t = acc / np.exp2(layer.shift.astype(dtype)) - dtype(0.5)
    if layer.depth_to_space:
        h2, w2, c4 = t.shape
        t = t.reshape(h2, w2, c4 // 4, 2, 2).transpose(0, 3, 1, 4, 2)
        t = t.reshape(2 * h2, 2 * w2, c4 // 4)
    return np.clip(t, layer.clip_lo, layer.clip_hi).astype(dtype)


def decode_float(
    data: bytes, *, max_bytes: int | None = None, dtype: type = np.float64
) -> tuple[np.ndarray, int]:
    """Decode ``data`` with exact parsing and floating-point reconstruction.

    Returns the (H, W, 3) samples and the bit depth; raises
    :class:`refdec.errors.DecodeError` on the codestreams the reference decoder rejects.
    """
    parsed = parse_codestream(bytes(data), max_bytes=max_bytes)
    hdr = parsed.header
    params = find_parameter_set(hdr.parameter_set_hash)
    parsed.check_against(params)
    hz, wz = hdr.hyper_height, hdr.hyper_width
    z_hat = decode_stream(
        parsed.z_stream,
        hyper_symbol_tables(params, hz, wz, hdr.hyper_step_log2),
        base_offset=parsed.z_offset,
    ).reshape(params.mz, hz, wz)
    mean_fp, ls_fp = hyper_synthesis(
        z_hat, params, hdr.latent_height, hdr.latent_width, hdr.hyper_step_log2
    )
    r, _ = decode_latent(parsed, params, mean_fp, ls_fp)  # corrects mean_fp (WD 8.4.1)
    q = hdr.quality
    g = params.gain_mean[q].astype(dtype)[:, None, None]
    ig = params.gain_inverse[q].astype(dtype)[:, None, None]
    mu_g = mean_fp.astype(dtype) * g / dtype(2.0**params.fg)
    yg = r.astype(dtype) * dtype(2.0**params.f_mu) + mu_g
    lim = params.latent_in_max
    y = np.clip(yg * ig / dtype(2.0 ** (params.fig + params.f_mu)), -lim, lim)
    y = np.ascontiguousarray(y.transpose(1, 2, 0).astype(dtype))
    layers = list(params.gs)
    up = 2 ** sum(layer.depth_to_space for layer in layers)
    margin = halo(layers)
    bands = []
    for y0 in range(0, hdr.latent_height, BAND_ROWS):  # bands bound the memory (WD 8.7)
        y1 = min(y0 + BAND_ROWS, hdr.latent_height)
        a, b = max(0, y0 - margin), min(hdr.latent_height, y1 + margin)
        x = y[a:b]
        for layer in layers:
            x = float_layer(x, layer, dtype)
        bands.append(x[(y0 - a) * up : (y1 - a) * up])
    x = np.concatenate(bands, axis=0)
    peak = (1 << hdr.bit_depth) - 1
    out = x[: hdr.height, : hdr.width] * dtype(peak) / dtype(2.0**params.f_out)
    out = np.clip(out, 0, peak)
    if parsed.output_filter is not None:
        out = float_output_filter(out, parsed.output_filter, peak)
    samples = np.clip(np.round(out), 0, peak)
    return samples.astype(sample_dtype(hdr.bit_depth)), hdr.bit_depth


def float_output_filter(s: np.ndarray, of: OutputFilter, peak: int) -> np.ndarray:
    """WD 8.9 in floating point: the correction ``sum_i W f_i / 2^P`` of the unrounded
    samples ``s``, unrounded, clipped to 0 .. ``peak``; the classes are those of the
    samples rounded (8.9.1, 8.9.2)."""
    rounded = np.clip(np.round(s), 0, peak).astype(np.int32)
    cls = filter_classes(activity(rounded), of.thresholds)
    weights = np.asarray(of.coefficients, s.dtype)[cls]  # (H, W, 3, 8)
    out = np.empty_like(s)
    for c in range(3):
        acc = np.sum(weights[:, :, c] * filter_taps(s, c), axis=-1)
        out[:, :, c] = s[:, :, c] + acc / s.dtype.type(2.0**of.shift)
    return np.clip(out, 0, peak)
