"""Integer exactness of the decoder (issue: every decoder outputs the same samples).

Pinned here: the encoder's own reconstruction equals refdec's output; JIT and pure
Python agree; thread counts and band heights do not change a sample; and no
floating-point arithmetic appears in the normative modules.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import refdec
import refdec.decoder
from encoder.pipeline import encode_detailed, reconstruct

ROOT = Path(__file__).resolve().parents[1]
NORMATIVE = [
    "codestream",
    "container",
    "context",
    "decoder",
    "entropy",
    "hyper",
    "latent",
    "levels",
    "network",
    "output",
    "params",
    "simd",
    "synthesis",
    "syntax",
    "tables",
]

INTEGER_MATH = {"prod", "gcd", "isqrt", "comb"}
"""Functions of :mod:`math` that are exact on integers."""


def is_path_join(node: ast.BinOp) -> bool:
    """``Path(...) / "name"``: the one use of ``/`` that is not arithmetic."""
    return isinstance(node.right, ast.Constant) and isinstance(node.right.value, str)


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def picture(h: int, w: int, bit_depth: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (np.sin(xx / 5.0)[..., None] + np.cos(yy / 7.0)[..., None] + 2) / 4
    noisy = base + 0.1 * rng.standard_normal((h, w, 3))
    peak = (1 << bit_depth) - 1
    return np.clip(noisy * peak, 0, peak).astype(np.uint8 if bit_depth == 8 else np.uint16)


@pytest.mark.parametrize("size", [(1, 1), (1, 23), (19, 1), (33, 47), (64, 64), (70, 129)])
@pytest.mark.parametrize("quality", [0, 97, 255])
@pytest.mark.parametrize("model", ["tiny_codec", "tiny_context_codec"])
def test_encoder_reconstruction_is_decoder_output(request, model, size, quality):
    codec, path = request.getfixturevalue(model)
    img = picture(*size, 8)
    enc = encode_detailed(img, quality=quality, codec=codec, tile_size_log2=2)
    want = reconstruct(enc.analysis, enc.residuals, quality, codec.params, 8, enc.output_filter)
    got = refdec.decode(enc.data, params_path=path)
    assert got.samples.shape == (*size, 3) and got.samples.dtype == np.uint8
    assert digest(got.samples) == digest(want)


@pytest.mark.parametrize("step_log2", [1, 2])
@pytest.mark.parametrize("quality", [0, 255])
@pytest.mark.parametrize("model", ["tiny_codec", "tiny_context_codec"])
def test_hyper_step_reconstruction_is_decoder_output(request, model, quality, step_log2):
    """WD 8.3 with a hyper-latent step 2^k: the encoder codes round(z / 2^k) with the
    moved tables, and refdec, which reads k from the header, outputs its picture."""
    codec, path = request.getfixturevalue(model)
    img = picture(70, 129, 8)
    enc = encode_detailed(img, quality=quality, codec=codec, hyper_step_log2=step_log2)
    a = enc.analysis
    assert a.hyper_step_log2 == step_log2
    assert np.array_equal(a.z_hat, np.round(a.z / (1 << step_log2)).astype(np.int32))
    got = refdec.decode(enc.data, params_path=path)
    assert got.header.hyper_step_log2 == step_log2
    want = reconstruct(a, enc.residuals, quality, codec.params, 8, enc.output_filter)
    assert digest(got.samples) == digest(want)


@pytest.mark.parametrize("model", ["tiny_codec", "tiny_context_codec"])
def test_ten_bit_reconstruction(request, model):
    codec, path = request.getfixturevalue(model)
    img = picture(21, 34, 10)
    enc = encode_detailed(img, bit_depth=10, quality=200, codec=codec)
    got = refdec.decode(enc.data, params_path=path)
    assert got.samples.dtype == np.uint16 and got.bit_depth == 10
    assert got.samples.max() <= 1023
    assert digest(got.samples) == digest(
        reconstruct(enc.analysis, enc.residuals, 200, codec.params, 10, enc.output_filter)
    )


@pytest.mark.parametrize("model", ["tiny_codec", "tiny_context_codec"])
def test_threads_and_bands_do_not_change_samples(request, model):
    codec, path = request.getfixturevalue(model)
    data = encode_detailed(picture(150, 90, 8), quality=180, codec=codec, tile_size_log2=2).data
    ref = digest(refdec.decode(data, params_path=path).samples)
    assert digest(refdec.decode(data, params_path=path, threads=False).samples) == ref
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert digest(refdec.decode(data, params_path=path).samples) == ref
    finally:
        numba.set_num_threads(before)
    for rows in (1, 3, 1000):
        assert digest(refdec.decode(data, params_path=path, band_rows=rows).samples) == ref


def test_tile_chunks_keep_order_and_limit():
    from refdec.decoder import tile_chunks

    chunks = [list(r) for r in tile_chunks([3, 3, 5, 1, 9, 2], 6)]
    assert chunks == [[0, 1], [2, 3], [4], [5]]  # a tile above the limit stands alone
    assert list(tile_chunks([], 6)) == []


@pytest.mark.parametrize("model", ["tiny_codec", "tiny_context_codec"])
def test_pure_python_equals_jit(request, model, tmp_path):
    codec, path = request.getfixturevalue(model)
    data = encode_detailed(picture(24, 40, 8), quality=150, codec=codec, tile_size_log2=2).data
    stream = tmp_path / "s.olic"
    stream.write_bytes(data)
    code = (
        "import sys, hashlib, numba, refdec; "
        "assert numba.config.DISABLE_JIT; "
        "p = refdec.decode(open(sys.argv[1], 'rb').read(), params_path=sys.argv[2]); "
        "print(hashlib.sha256(p.samples.tobytes()).hexdigest())"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(stream), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert out.stdout.strip() == digest(refdec.decode(data, params_path=path).samples)


@pytest.mark.parametrize("module", NORMATIVE)
def test_no_floating_point_in_normative_modules(module):
    """True division, float literals and float types are absent from the normative path."""
    tree = ast.parse((ROOT / "refdec" / f"{module}.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if not is_path_join(node):
                found.append(f"line {node.lineno}: true division")
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"line {node.lineno}: float literal {node.value}")
        elif isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "math":
            if node.attr not in INTEGER_MATH:
                found.append(f"line {node.lineno}: math.{node.attr}")
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in {"float", "float16", "float32", "float64"}:
                found.append(f"line {node.lineno}: {name}")
    assert not found, found
