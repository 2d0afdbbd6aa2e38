"""Rate-distortion optimised quantisation (WD E.3.2): the choice it makes, the rate it
counts, and the codestreams it writes with the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import refdec  # noqa: E402
from encoder.pipeline import encode_detailed, load_codec, reconstruct  # noqa: E402
from encoder.rans import encode as rans_encode  # noqa: E402
from encoder.rans import value_bits  # noqa: E402
from encoder.rdoq import quantise_rdo  # noqa: E402


def test_value_bits_are_what_the_stream_takes():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 64, 4000)
    v = np.round(rng.laplace(0, 4, 4000)).astype(np.int64)
    v[::100] = rng.integers(-3000, 3000, 40)  # escapes
    bits = value_bits(v, idx)
    assert bits.shape == v.shape and np.all(bits > 0)
    assert 8 * len(rans_encode(v, idx)) == pytest.approx(bits.sum() + 32, abs=64)


def test_the_step_towards_the_mean_is_taken_where_it_costs_less():
    rng = np.random.default_rng(1)
    v = rng.normal(0, 3, (8, 10, 12))
    idx = rng.integers(0, 64, v.shape)
    rounded = np.round(v)
    # A distortion that outweighs any rate: rounding.
    assert np.array_equal(quantise_rdo(v, idx, np.full((8, 1, 1), 1e9)), rounded)
    for weight in (0.0, 0.5, 4.0):
        q = quantise_rdo(v, idx, np.full((8, 1, 1), weight))
        moved = q != rounded
        assert np.array_equal(q[moved], rounded[moved] - np.sign(rounded[moved]))
        cost = value_bits(q, idx) + weight * (q - v) ** 2
        assert np.all(cost <= value_bits(rounded, idx) + weight * (rounded - v) ** 2 + 1e-9)
    # Free distortion: every value that a step towards zero makes cheaper takes it.
    q = quantise_rdo(v, idx, np.zeros((8, 1, 1)))
    cheaper = value_bits(rounded - np.sign(rounded), idx) < value_bits(rounded, idx)
    assert np.array_equal(q != rounded, cheaper & (rounded != 0))


def test_shipped_encoder_codes_smaller_streams_that_decode_as_it_expects():
    codec = load_codec()
    assert codec.synthesis_energy is not None, "the shipped weights carry E.3.2's energies"
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:96, 0:128]
    image = np.stack([x * 2, y * 2, (x + y)], axis=-1) + rng.integers(0, 40, (96, 128, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    plain = encode_detailed(image, quality=64, codec=codec, rdo=False, refine_iterations=0)
    rdo = encode_detailed(image, quality=64, codec=codec, refine_iterations=0)
    assert len(rdo.data) < len(plain.data)
    assert np.any(np.abs(rdo.residuals) < np.abs(plain.residuals))
    assert np.all(np.abs(rdo.residuals) <= np.abs(plain.residuals))
    decoded = refdec.decode(rdo.data).samples
    assert np.array_equal(reconstruct(rdo.analysis, rdo.residuals, 64, codec.params, 8), decoded)


def test_rdo_gain_tool_measures_both_curves():
    from PIL import Image

    from tools.rdo_gain import curve

    # A photograph: on noise at a low quality the changes of E.3.2 can save less than
    # the byte that the file size resolves.
    image = np.asarray(Image.open("samples/seeding.png").convert("RGB"))[200:264, 300:396]
    codec = load_codec()
    rounded, rdo = (curve(codec, [image], [32, 128], r) for r in (False, True))
    assert rounded.shape == rdo.shape == (2, 2)
    assert np.all(rdo[:, 0] < rounded[:, 0])  # fewer bits at each quality
    assert np.all(rounded[1] > rounded[0])  # the higher quality: more bits, higher PSNR
