"""Integer network layers (WD 8.6).

A layer is a KxK convolution with stride 1 and zero padding ``K // 2``, an integer
bias with the rounding offset folded in, a per-output-channel right shift, an optional
depth-to-space rearrangement by 2, and a clip::

    acc[o](y, x) = B[o] + sum_{i, ky, kx} W[o][i][ky][kx] * in[i](y + ky - K//2, x + kx - K//2)
    out[o](y, x) = Clip3(lo, hi, acc[o](y, x) >> s[o])

with samples outside the picture taken as 0. Integer sums do not depend on their order,
so :func:`conv_layer` (the fast kernel) and :func:`conv_layer_reference` (the text of the
clause in plain Python) give the same integers; a test pins it.

Activations are held channels-last (H, W, C) as int16: the clip bounds of every layer
lie in the int16 range (checked by :mod:`refdec.params`), and the accumulator bound of
every output channel is proved below 2^31 when the parameter set is loaded, so int32
accumulation is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit, prange

from refdec.simd import BLOCKS, FAST, LANES, PIXELS, VECTOR, dot4, madd_block

ACC_MAX = 2**31 - 1
"""Largest magnitude an accumulator may reach (WD 8.6: 32-bit two's complement)."""


@dataclass(frozen=True)
class IntLayer:
    """One layer of WD 8.6 as stored in the parameter set (Annex C)."""

    weight: np.ndarray
    """int16, shape (O, I, K, K): W[o][i][ky][kx]."""
    bias: np.ndarray
    """int32, shape (O,)."""
    shift: np.ndarray
    """int32, shape (O,), each in 0..31."""
    depth_to_space: bool
    clip_lo: int
    clip_hi: int

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_channels(self) -> int:
        """Channels after depth-to-space."""
        o = int(self.weight.shape[0])
        return o // 4 if self.depth_to_space else o

    @property
    def kernel(self) -> int:
        return int(self.weight.shape[2])

    def accumulator_bound(self, in_bound: int) -> int:
        """Largest |acc| over all inputs with |in| <= in_bound (WD 8.6.2)."""
        w = np.abs(self.weight.astype(np.int64)).reshape(self.weight.shape[0], -1)
        per_channel = np.abs(self.bias.astype(np.int64)) + w.sum(axis=1) * in_bound
        return int(per_channel.max())

    @cached_property
    def kernel_weights(self) -> np.ndarray:
        """Weights as (O, K, K * Cp), the layout of the fast kernel.

        Channels-last and zero-padded to ``Cp`` channels (a multiple of
        :data:`refdec.simd.LANES` on the fast path), so that the weights of one kernel
        row are one contiguous run, as are the samples under it (:func:`_padded_input`).
        """
        o, i, k, _ = self.weight.shape
        w = np.zeros((o, k, k, _padded(i)), np.int16)
        w[..., :i] = self.weight.transpose(0, 2, 3, 1)
        return w.reshape(o, k, -1)

    @property
    def out_vectors(self) -> int:
        """Vectors of 16 output channels in a block of :func:`refdec.simd.madd_block`:
        one for a layer of up to 16 output channels, else two."""
        return 1 if self.weight.shape[0] <= VECTOR else 2

    @property
    def padded_out(self) -> int:
        """Output channels padded to whole blocks of :func:`refdec.simd.madd_block`."""
        block = VECTOR * self.out_vectors
        return -(-self.weight.shape[0] // block) * block

    @cached_property
    def vector_weights(self) -> np.ndarray:
        """Weights as (O' / 16, K, K * Cp / 2, 16, 2), the layout of
        :func:`refdec.simd.madd_block`: for each block of 16 output channels, kernel row
        and pair of input samples of the row's run, the two weights of each channel.
        ``O'`` is :attr:`padded_out`; the weights of the padding channels are 0."""
        o, k = self.padded_out, self.kernel
        w = np.zeros((o, *self.kernel_weights.shape[1:]), np.int16)
        w[: self.weight.shape[0]] = self.kernel_weights
        return np.ascontiguousarray(
            w.reshape(o // VECTOR, VECTOR, k, -1, 2).transpose(0, 2, 3, 1, 4)
        )

    @cached_property
    def vector_bias_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """Bias and shift padded with zeros to :attr:`padded_out` channels."""
        b, s = np.zeros((2, self.padded_out), np.int32)
        b[: len(self.bias)], s[: len(self.shift)] = self.bias, self.shift
        return b, s

    @property
    def kernel_arguments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, bias and shift in the layout of this machine's layer kernel: for
        :func:`refdec.simd.madd_block` (:data:`refdec.simd.FAST`) padded to whole
        blocks of output channels, else for :func:`refdec.simd.dot4`."""
        return (  # only the layout in use is built (the other may not exist)
            (self.vector_weights, *self.vector_bias_shift)
            if FAST
            else (self.kernel_weights, self.bias, self.shift)
        )


def _padded(channels: int) -> int:
    """Channels of the fast kernel's layout: a multiple of the SIMD run length."""
    lanes = LANES if FAST else 1
    return -(-channels // lanes) * lanes


def conv_layer(x: np.ndarray, layer: IntLayer, *, threads: bool = True) -> np.ndarray:
    """Apply one layer (WD 8.6.1) to ``x`` of shape (H, W, I), int16; returns int16."""
    return run_layers(x, [layer], threads=threads)


def _padded_input(acc: np.ndarray, d2s: bool, layer: IntLayer) -> np.ndarray:
    """The input of ``layer`` in the fast kernel's layout, from the samples before it.

    ``acc`` holds the samples before the depth-to-space of the layer before (``d2s``),
    or the picture itself. The zero samples outside the picture (WD 8.6.1) are made
    explicit: a border of K // 2, :data:`EXTRA` more columns on the right for the last
    block of outputs, and zero channels up to the padded count, so that every kernel
    row under an output sample is one contiguous run of K * Cp samples. The
    depth-to-space of WD 8.6.3 is done by the same copy.
    """
    h, w, c = acc.shape
    if d2s:
        h, w, c = 2 * h, 2 * w, c // 4
    if c != layer.in_channels:
        raise ValueError(f"layer expects {layer.in_channels} channels, got {c}")
    p = layer.kernel // 2
    xp = np.zeros((h + 2 * p, w + 2 * p + EXTRA, _padded(c)), np.int16)
    if not d2s:
        xp[p : p + h, p : p + w, :c] = acc
        return xp
    for dy in (0, 1):
        for dx in (0, 1):
            # out[c](2y + dy, 2x + dx) = in[4c + 2dy + dx](y, x)
            xp[p + dy : p + h : 2, p + dx : p + w : 2, :c] = acc[:, :, 2 * dy + dx :: 4]
    return xp


def depth_to_space(x: np.ndarray) -> np.ndarray:
    """WD 8.6.3: ``out[c](2y+dy, 2x+dx) = in[4c + 2dy + dx](y, x)``, channels-last."""
    h, w, c4 = x.shape
    c = c4 // 4
    return np.ascontiguousarray(
        x.reshape(h, w, c, 2, 2).transpose(0, 3, 1, 4, 2).reshape(2 * h, 2 * w, c)
    )


BLOCK = 4
"""Output samples of one row computed together, sharing each weight load: the four
of :func:`refdec.simd.dot4`."""

EXTRA = max(BLOCK, PIXELS) - 1
"""Columns of zeros right of the padded input, read (and not used) by the last block
of output samples of a row."""


@njit(cache=True)
def _conv_row(xp, w, b, s, lo, hi, out, y):  # noqa: ANN001 - numba kernel
    """One output row of WD 8.6.1, from the padded input of :func:`_padded_input`.

    The samples under kernel row ``ky`` of output ``(y, x)`` are the ``K * Cp``
    contiguous samples of padded row ``y + ky`` from column ``x``; the next output's
    start ``Cp`` samples later. So each output is a sum of ``K`` dot products with the
    contiguous weight runs, four outputs at a time.
    """
    width = out.shape[1]
    o_n, k, run = w.shape
    cp = run // k
    row = xp.shape[1] * cp
    xf = xp.reshape(-1)
    wf = w.reshape(-1)
    acc = np.empty(BLOCK, np.int32)
    for x0 in range(0, width, BLOCK):
        for o in range(o_n):
            acc[:] = b[o]
            for ky in range(k):
                # int32 wrap-around never happens: the bound is proved at load.
                d = dot4(xf, (y + ky) * row + x0 * cp, cp, wf, (o * k + ky) * run, run)
                for j in range(BLOCK):
                    acc[j] += d[j]
            for j in range(min(BLOCK, width - x0)):
                out[y, x0 + j, o] = min(max(acc[j] >> s[o], lo), hi)


@njit(cache=True, parallel=True)
def _conv_parallel(xp, w, b, s, lo, hi, out):  # noqa: ANN001
    for y in prange(out.shape[0]):
        _conv_row(xp, w, b, s, lo, hi, out, y)


@njit(cache=True)
def _conv_serial(xp, w, b, s, lo, hi, out):  # noqa: ANN001
    for y in range(out.shape[0]):
        _conv_row(xp, w, b, s, lo, hi, out, y)


@njit(cache=True)
def _conv_row_vectors(xp, w, b, s, lo, hi, out, y):  # noqa: ANN001 - numba kernel
    """One output row of WD 8.6.1 with :func:`refdec.simd.madd_block`.

    ``w``, ``b`` and ``s`` are :attr:`IntLayer.vector_weights` and
    :attr:`IntLayer.vector_bias_shift`, and ``out`` has the padded output channels. In
    blocks of :data:`refdec.simd.PIXELS` output samples by 16 output channels, or 32
    where a call computes two blocks (:data:`refdec.simd.BLOCKS`):
    the samples under kernel row ``ky`` of output ``(y, x)`` start at padded row
    ``y + ky``, column ``x``.
    """
    width, o_n = out.shape[1], out.shape[2]
    cp = xp.shape[2]
    row = xp.shape[1] * cp
    k = w.shape[1]
    vectors = 1 if o_n == VECTOR else BLOCKS
    xf, wf, of = xp.reshape(-1), w.reshape(-1), out.reshape(-1)
    for x0 in range(0, width, PIXELS):
        count = min(PIXELS, width - x0)
        for o0 in range(0, o_n, VECTOR * vectors):
            x_at, w_at, out_at = y * row + x0 * cp, o0 * k * k * cp, (y * width + x0) * o_n
            madd_block(xf, x_at, cp, row, k, wf, w_at, b, s, o0, vectors, lo, hi, of, out_at, count)


@njit(cache=True, parallel=True)
def _conv_vectors_parallel(xp, w, b, s, lo, hi, out):  # noqa: ANN001
    for y in prange(out.shape[0]):
        _conv_row_vectors(xp, w, b, s, lo, hi, out, y)


@njit(cache=True)
def _conv_vectors_serial(xp, w, b, s, lo, hi, out):  # noqa: ANN001
    for y in range(out.shape[0]):
        _conv_row_vectors(xp, w, b, s, lo, hi, out, y)


_CONV_PARALLEL, _CONV_SERIAL = (
    (_conv_vectors_parallel, _conv_vectors_serial) if FAST else (_conv_parallel, _conv_serial)
)
"""The layer kernels: :func:`refdec.simd.madd_block` where the JIT is on, else (the
Python form) :func:`refdec.simd.dot4`."""


def conv_layer_reference(x: np.ndarray, layer: IntLayer) -> np.ndarray:
    """WD 8.6 written as the clause reads, on Python integers (slow; for tests)."""
    h, w, _ = x.shape
    k = layer.kernel
    p = k // 2
    xs = x.astype(object)
    wt = layer.weight.astype(object)
    out = np.empty((h, w, layer.weight.shape[0]), dtype=object)
    for o in range(layer.weight.shape[0]):
        for yy in range(h):
            for xx in range(w):
                acc = int(layer.bias[o])
                for i in range(layer.in_channels):
                    for ky in range(k):
                        for kx in range(k):
                            sy, sx = yy + ky - p, xx + kx - p
                            if 0 <= sy < h and 0 <= sx < w:
                                acc += int(wt[o, i, ky, kx]) * int(xs[sy, sx, i])
                v = acc >> int(layer.shift[o])
                out[yy, xx, o] = min(max(v, layer.clip_lo), layer.clip_hi)
    out = out.astype(np.int16)
    return depth_to_space(out) if layer.depth_to_space else out


def run_layers(x: np.ndarray, layers: list[IntLayer], *, threads: bool = True) -> np.ndarray:
    """Apply a chain of layers (WD 8.6.4), each to the output of the one before."""
    acc, d2s = x, False
    for layer in layers:
        xp = _padded_input(acc, d2s, layer)
        up = 2 if d2s else 1
        h, w = up * acc.shape[0], up * acc.shape[1]
        del acc  # its padded copy replaces it: free it before the output is allocated
        weights, b, s = layer.kernel_arguments
        out = np.empty((h, w, len(b)), np.int16)
        (_CONV_PARALLEL if threads else _CONV_SERIAL)(
            xp, weights, b, s, layer.clip_lo, layer.clip_hi, out
        )
        acc = out[:, :, : layer.weight.shape[0]]  # without the padding channels
        d2s = layer.depth_to_space
    return depth_to_space(acc) if d2s else acc


def halo(layers: list[IntLayer]) -> int:
    """Input rows of context a band of a chain needs on each side (WD 8.7 note).

    Each layer reads ``K // 2`` samples beyond its output at its own resolution;
    expressed at the final resolution and divided by the total upsampling factor, the
    sum is the reach into the chain's input.
    """
    reach, scale = 0, 1
    for layer in layers:
        reach = (reach + layer.kernel // 2) * (2 if layer.depth_to_space else 1)
        scale *= 2 if layer.depth_to_space else 1
    return -(-reach // scale)  # Ceil(reach / scale) in integers


BAND_BYTES = 64 * 2**20
"""Working memory a band may take (informative: any band height gives the same output)."""


def band_rows(layers: list[IntLayer], width: int, budget: int = BAND_BYTES) -> int:
    """Input rows per band so that a layer's input and output fit ``budget`` bytes.

    ``width`` is the width of the chain's input. Taller bands waste less work on halos
    (each band recomputes :func:`halo` rows above and below); narrower pictures
    therefore get taller bands, and a Kodak picture is synthesised in one.
    """
    row_bytes, scale = 0, 1
    for layer in layers:
        # int16 samples per input row: the input at this scale plus the output of the
        # convolution (before depth-to-space, at the same scale).
        per_sample = layer.in_channels + layer.weight.shape[0]
        row_bytes = max(row_bytes, 2 * per_sample * scale * scale * width)
        scale *= 2 if layer.depth_to_space else 1
    return max(1, budget // max(1, row_bytes))


def chain_bands(
    x: np.ndarray, layers: list[IntLayer], band_rows: int, *, threads: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """A chain (WD 8.6.4) band by band: yields (first output row, rows of the output).

    ``band_rows`` rows of ``x`` (H, W, C) are run at a time, each with :func:`halo`
    rows of context above and below, cut off again afterwards. Every output sample
    depends only on a bounded neighbourhood, and the zero padding of WD 8.6.1 applies
    at the borders of the whole input only, so the bands give the integers of the
    whole chain (WD 8.7 note).
    """
    h_in = x.shape[0]
    up = 2 ** sum(layer.depth_to_space for layer in layers)
    h = halo(layers)
    for y0 in range(0, h_in, band_rows):
        y1 = min(y0 + band_rows, h_in)
        a, b = max(0, y0 - h), min(h_in, y1 + h)
        out = run_layers(np.ascontiguousarray(x[a:b]), layers, threads=threads)
        yield y0 * up, out[(y0 - a) * up : (y1 - a) * up]
