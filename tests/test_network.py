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


def test_plain_kernel_matches_clause_text():
    # The kernel of the Python form (refdec.simd.dot4), compiled, whichever kernel this
    # machine's layers use.
    from refdec import network

    rng = np.random.default_rng(17)
    for c_out, width in ((5, 9), (32, 6)):
        layer = random_layer(rng, 37, c_out, False, lo=-4000, hi=4000)
        x = rng.integers(-2047, 2048, (3, width, 37)).astype(np.int16)
        xp = network._padded_input(x, False, layer)
        for kernel in (network._conv_parallel, network._conv_serial):
            out = np.zeros((3, width, c_out), np.int16)
            kernel(xp, layer.kernel_weights, layer.bias, layer.shift, -4000, 4000, out)
            assert np.array_equal(out, conv_layer_reference(x, layer))


@pytest.mark.parametrize("c_out, d2s", [(12, False), (20, False), (64, False), (3, True)])
@pytest.mark.parametrize("width", [1, 6, 13])
def test_vector_kernel_matches_clause_text(c_out, d2s, width):
    # Output channels in one vector, in blocks of two with padding, in whole blocks;
    # widths that leave partial blocks of output samples; input channels that need
    # padding (refdec.simd.madd_block where the JIT is on, else dot4).
    rng = np.random.default_rng(c_out + width)
    layer = random_layer(rng, 37, c_out, d2s, lo=-4000, hi=4000)
    x = rng.integers(-2047, 2048, (3, width, 37)).astype(np.int16)
    want = conv_layer_reference(x, layer)
    assert np.array_equal(conv_layer(x, layer), want)
    assert np.array_equal(conv_layer(x, layer, threads=False), want)


def test_vector_kernel_in_python_matches_clause_text():
    # The Python form of the kernel (run by the coverage measurement) gives the same.
    from refdec import network, simd

    if not simd.FAST:
        pytest.skip("the vector layout needs the padded channels of the vector path")
    rng = np.random.default_rng(5)
    for c_out in (12, 32):
        layer = random_layer(rng, 5, c_out, False, lo=-4000, hi=4000)
        x = rng.integers(-2047, 2048, (2, 7, 5)).astype(np.int16)
        xp = network._padded_input(x, False, layer)
        b, s = layer.vector_bias_shift
        out = np.zeros((2, 7, layer.padded_out), np.int16)
        for y in range(2):
            network._conv_row_vectors.py_func(
                xp, layer.vector_weights, b, s, layer.clip_lo, layer.clip_hi, out, y
            )
        assert np.array_equal(out[:, :, :c_out], conv_layer_reference(x, layer))


def _generic_block():  # noqa: ANN202
    """:func:`refdec.simd.madd_block_vectors` built with the ``"generic"`` vectors, which
    this machine's layers may not use (they run on targets without AVX2)."""
    from numba import njit

    from refdec import simd

    one, two = simd._madd_ir(1, "generic"), simd._madd_ir(2, "generic")

    @njit
    def block(x, x0, cp, row, k, w, w0, b, s, o0, vectors, lo, hi, out, out0, count):  # noqa: ANN001, ANN202
        if vectors == 1:
            one(x, x0, cp, row, k, w, w0, b, s, o0, lo, hi, out, out0, count)
        else:
            two(x, x0, cp, row, k, w, w0, b, s, o0, lo, hi, out, out0, count)

    return block


@pytest.mark.parametrize("kind", ["this machine's", "generic"])
def test_madd_block_vectors_equal_loops(kind):
    from refdec import simd

    if not simd.FAST:
        pytest.skip("the JIT is off: madd_block is the plain loops")
    vectors_block = simd.madd_block_vectors if kind == "this machine's" else _generic_block()
    rng = np.random.default_rng(13)
    k, cp, width = 3, 2 * simd.LANES, 9
    row = (width + simd.PIXELS) * cp
    o = 64
    # Extreme weights with small samples, typical ones, extreme biases and shifts.
    for x_max, w_max in ((300, 300), (16, 32768)):
        x = rng.integers(-x_max, x_max, k * row).astype(np.int16)
        w = rng.integers(-w_max, w_max, o * k * k * cp).astype(np.int16)
        b = rng.integers(-(2**20), 2**20, o).astype(np.int32)
        s = rng.integers(0, 32, o).astype(np.int32)
        for count in (1, simd.PIXELS):
            for o0, vectors in ((0, 1), (16, 1), (0, 2), (32, 2)):
                got = np.zeros(simd.PIXELS * o, np.int16)
                want = np.zeros(simd.PIXELS * o, np.int16)
                args = (cp, row, k, w, o0 * k * k * cp, b, s, o0, vectors, -3000, 3000)
                vectors_block(x, 3 * cp, *args, got, 0, count)
                simd._madd_block_jit(x, 3 * cp, *args, want, 0, count)
                assert np.array_equal(got, want)
                block = got.reshape(simd.PIXELS, o)
                assert not block[count:].any()  # nothing past count
                outside = np.ones(o, bool)
                outside[o0 : o0 + 16 * vectors] = False
                assert not block[:, outside].any()  # nor outside the block


@pytest.mark.parametrize(
    ("disable_jit", "cpu_name", "features", "isa"),
    [
        (1, None, "", None),  # the Python form: plain loops
        (0, None, "+sse2,+avx,+avx2,+fma", "avx2"),
        (0, None, "+avx2,+avx512f,+avx512bw", "avx512"),
        (0, "x86-64", "", "generic"),  # a named portable target: no x86 extension
        (0, "generic", "", "generic"),
    ],
)
def test_vector_instruction_set_follows_numba_target(
    monkeypatch, disable_jit, cpu_name, features, isa
):
    from numba import config

    from refdec import simd

    monkeypatch.setattr(config, "DISABLE_JIT", disable_jit)
    monkeypatch.setattr(config, "CPU_NAME", cpu_name)
    monkeypatch.setattr(config, "CPU_FEATURES", features)
    assert simd._target_isa() == isa
