"""WD 8.6 and 8.7: the fast integer kernels equal the clause's plain arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from refdec.network import IntLayer, conv_layer, conv_layer_reference, depth_to_space, halo
from refdec.synthesis import synthesis


def random_layer(rng, c_in, c_out, d2s, k=3, lo=0, hi=4095):
    o = 4 * c_out if d2s else c_out
    return IntLayer(
        rng.integers(-300, 300, (o, c_in, k, k)).astype(np.int16),
        rng.integers(-5000, 5000, o).astype(np.int32),
        rng.integers(0, 12, o).astype(np.int32),
        d2s,
        lo,
        hi,
    )


@pytest.mark.parametrize("d2s", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (5, 7)])
def test_kernel_matches_clause_text(d2s, shape):
    rng = np.random.default_rng(7)
    layer = random_layer(rng, 3, 4, d2s, lo=-2000, hi=3000)
    x = rng.integers(-4095, 4096, (*shape, 3)).astype(np.int16)
    want = conv_layer_reference(x, layer)
    assert np.array_equal(conv_layer(x, layer), want)
    assert np.array_equal(conv_layer(x, layer, threads=False), want)


def test_negative_accumulators_shift_as_floor():
    # -3 >> 1 must be -2 (floor), not -1 (truncation): WD 4 defines >> as floor.
    layer = IntLayer(
        np.ones((1, 1, 1, 1), np.int16),
        np.array([0], np.int32),
        np.array([1], np.int32),
        False,
        -100,
        100,
    )
    x = np.array([[[-3]]], np.int16)
    assert conv_layer(x, layer)[0, 0, 0] == -2


def test_depth_to_space_layout():
    x = np.arange(8, dtype=np.int16).reshape(1, 1, 8)  # two output channels
    out = depth_to_space(x)
    assert out.shape == (2, 2, 2)
    # out[c](dy, dx) = in[4c + 2dy + dx]
    assert out[:, :, 0].tolist() == [[0, 1], [2, 3]]
    assert out[:, :, 1].tolist() == [[4, 5], [6, 7]]


def test_banded_synthesis_equals_whole_picture():
    rng = np.random.default_rng(3)
    layers = [
        random_layer(rng, 6, 5, True),
        random_layer(rng, 5, 4, True),
        random_layer(rng, 4, 3, True, lo=-30000, hi=30000),
    ]
    y = rng.integers(-4095, 4096, (9, 5, 6)).astype(np.int16)
    whole = synthesis(y, layers)
    assert whole.shape == (72, 40, 3)
    assert halo(layers) == 2
    for rows in (1, 2, 4):
        assert np.array_equal(synthesis(y, layers, band_rows=rows), whole)


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("width", [1, 4, 9])
def test_kernel_matches_clause_text_with_wide_layers(k, width):
    # Channel counts that are not multiples of the SIMD run, widths that leave partial
    # blocks of outputs, every kernel size.
    rng = np.random.default_rng(k * 10 + width)
    layer = random_layer(rng, 37, 5, False, k=k, lo=-4000, hi=4000)
    x = rng.integers(-2047, 2048, (3, width, 37)).astype(np.int16)
    want = conv_layer_reference(x, layer)
    assert np.array_equal(conv_layer(x, layer), want)
    assert np.array_equal(conv_layer(x, layer, threads=False), want)


def test_dot4_fast_path_equals_loops():
    from refdec import simd

    if not simd.FAST:
        pytest.skip("numba targets no AVX-512BW here: dot4 is the plain loops")
    rng = np.random.default_rng(11)
    n, stride = 4 * simd.LANES, 3 * simd.LANES
    # Typical samples and weights, then the extreme weights with samples small enough
    # for the sums to stay within int32, as the load-time bound of WD 8.6.2 ensures.
    for x_max, w_max in ((300, 300), (64, 32768)):
        x = rng.integers(-x_max, x_max, 4 * stride + n).astype(np.int16)
        w = rng.integers(-w_max, w_max, 2 * n).astype(np.int16)
        for x0, w0 in ((0, 0), (5, 7), (stride - 1, n)):
            got = simd.dot4_avx512(x, x0, stride, w, w0, n)
            assert got == simd.dot4_loops(x, x0, stride, w, w0, n)
            want = [
                int(np.dot(x[x0 + j * stride :][:n].astype(np.int64), w[w0:][:n].astype(np.int64)))
                for j in range(4)
            ]
            assert list(got) == want
