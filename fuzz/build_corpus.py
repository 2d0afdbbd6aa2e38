"""Build the seed corpora of the three harnesses (fuzz/README.md).

    python fuzz/build_corpus.py [--out fuzz/corpus]

Codestream seeds (fuzz_parse, fuzz_decode): every ``conformance/suite/*.olic`` when
the conformance suite is present; otherwise, and in addition, codestreams encoded with
the tiny random model of tests/conftest.py (exported to fuzz/work/tiny.olp, which
fuzz_decode passes as ``params_path``) and with the shipped model, of small synthetic
pictures at several qualities, tile sizes, channel groups and both bit depths; plus
syntax-valid codestreams with dummy entropy payloads made by encoder.writer (optional
segments, many groups and tiles, prefixes). Entropy seeds (fuzz_entropy): streams of
encoder.rans in the input format of fuzz_entropy.py.

The tiny model is built exactly as the ``tiny_codec`` fixture builds it, so its
parameter file has the same SHA-256 and regression inputs found with it decode in
tests/test_hostile.py with that fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS_DIR, MAX_LEN, MAX_SAMPLES, ROOT, TINY_PARAMS  # noqa: E402

sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def tiny_codec():
    """The model of tests/conftest.py's ``tiny_codec`` fixture and its parameter file."""
    import torch

    from encoder.export import export
    from encoder.model import ModelConfig, OpenLICModel
    from encoder.pipeline import Codec
    from refdec.params import load_parameter_set

    cfg = ModelConfig(n_analysis=8, m_latent=8, mz_hyper=4, n_hyper=8, synthesis_widths=(8, 8, 4))
    torch.manual_seed(0)
    model = OpenLICModel(cfg).eval()
    rng = np.random.default_rng(0)
    data = export(model, rng.integers(0, 256, (4, 64, 64, 3)).astype(np.uint8))
    return Codec(model, load_parameter_set(data), hashlib.sha256(data).digest()), data


def synthetic(h: int, w: int, bit_depth: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (np.sin(xx / 5.0)[..., None] + np.cos(yy / 7.0)[..., None] + 2) / 4
    x = np.clip(base + 0.15 * rng.standard_normal((h, w, 3)), 0, 1)
    peak = (1 << bit_depth) - 1
    return np.round(x * peak).astype(np.uint8 if bit_depth == 8 else np.uint16)


def model_seeds(codec, name: str) -> dict[str, bytes]:
    from encoder.pipeline import encode_detailed

    q_max = codec.params.num_qualities - 1
    out = {}
    cases = [  # (h, w, bit depth, quality, tile_size_log2, groups)
        (8, 8, 8, 0, 2, 1),
        (20, 36, 8, q_max, 2, 2),
        (17, 33, 10, q_max // 2, 3, 4),
        (72, 72, 8, q_max, 2, 2),
        (64, 100, 8, q_max // 3, 2, 8),
        (128, 128, 8, q_max, 8, 1),
    ]
    for i, (h, w, bd, q, tl, g) in enumerate(cases):
        ctx = codec.params.context_groups
        if codec.params.m % g or (ctx > 1 and g != ctx) or h * w > MAX_SAMPLES:
            continue
        data = encode_detailed(
            synthetic(h, w, bd, i),
            bit_depth=bd,
            quality=q,
            tile_size_log2=tl,
            channel_groups=g,
            refine_iterations=0,  # the seeds stay the same on every machine
            codec=codec,
        ).data
        if len(data) <= MAX_LEN:
            out[f"{name}-{h}x{w}-b{bd}-q{q}-t{tl}-g{g}.olic"] = data
    return out


def writer_seeds() -> dict[str, bytes]:
    """Syntax-valid codestreams with dummy payloads (they fail in 8.2, not before)."""
    from encoder.writer import comment_segment, write_codestream
    from refdec.codestream import OutputFilter, PictureHeader

    def header(**changes):
        values = dict(
            version_major=1,
            version_minor=0,
            profile_idc=1,
            level_idc=1,
            width_minus1=99,
            height_minus1=69,
            bit_depth=8,
            colour_primaries=1,
            transfer_characteristics=13,
            matrix_coefficients=0,
            quality=2,
            tile_size_log2=2,
            num_channel_groups=2,
            hyper_step_log2=0,
            parameter_set_hash=bytes(range(8)),
        )
        values.update(changes)
        return PictureHeader(**values)

    out = {}
    for i, changes in enumerate(
        [
            {},
            dict(width_minus1=0, height_minus1=0, num_channel_groups=1),
            dict(width_minus1=200, height_minus1=10, num_channel_groups=8, bit_depth=10),
            dict(level_idc=3, width_minus1=16383, height_minus1=4, tile_size_log2=8),
        ]
    ):
        h = header(**changes)
        tiles = [
            [bytes([g, t]) * (1 + t % 3) for t in range(h.num_tiles)]
            for g in range(h.num_channel_groups)
        ]
        optional = [comment_segment("seed"), (0xFFAB, b"\x00\x01\x02")] if i % 2 else []
        # An OF segment (WD 6.7) in half of them: three classes, coefficients -12 .. 11.
        taps = tuple(tuple(tuple((k * 24 + c * 8 + j) % 24 - 12 for j in range(8))
                           for c in range(3)) for k in range(3))
        of = OutputFilter(6, (100, 2000), taps) if i < 2 else None
        out[f"writer-{i}.olic"] = write_codestream(
            h, b"\x00\x80\x00\x00", tiles, optional, output_filter=of
        )
    return out


def entropy_input(streams: list[tuple[np.ndarray, bytes]], tables: bytes) -> bytes:
    """An input of fuzz_entropy.py: see its docstring."""
    out = bytearray([len(streams) - 1, len(tables) - 1, *tables])
    for values, stream in streams:
        out += struct.pack(">BH", len(values), len(stream)) + stream
    return bytes(out)


def entropy_seeds() -> dict[str, bytes]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_rans", ROOT / "encoder" / "rans.py")
    rans = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rans)
    rng = np.random.default_rng(0)
    out = {}
    for i, (n_streams, tables) in enumerate(
        [(1, [0]), (1, [63]), (2, [5, 40]), (4, [0, 10, 20, 30, 63]), (3, [1, 2, 3, 4, 5, 6, 7, 8])]
    ):
        streams = []
        for s in range(n_streams):
            n = int(rng.integers(0, 40))
            idx = np.array([tables[(s + j) % len(tables)] for j in range(n)], np.int32)
            sigma = 0.2 + idx.astype(float) * 2
            values = np.round(rng.standard_normal(n) * sigma).astype(np.int64)
            if n and i % 2:
                values[0] = 70000 if i % 4 == 1 else -1000  # escapes, the longest prefix
            values = np.clip(values, -65000, 65000)
            streams.append((values, rans.encode(values, idx)))
        out[f"entropy-{i}.bin"] = entropy_input(streams, bytes(tables))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CORPUS_DIR)
    args = ap.parse_args()
    codestreams: dict[str, bytes] = {}
    suite = sorted((ROOT / "conformance" / "suite").glob("*.olic"))
    for path in suite:
        data = path.read_bytes()
        if len(data) <= MAX_LEN:
            codestreams[f"suite-{path.name}"] = data
    print(f"conformance suite: {len(codestreams)} of {len(suite)} codestreams fit {MAX_LEN} bytes")
    codec, params = tiny_codec()
    TINY_PARAMS.parent.mkdir(parents=True, exist_ok=True)
    TINY_PARAMS.write_bytes(params)
    codestreams.update(model_seeds(codec, "tiny"))
    from encoder.pipeline import PARAMS_DIR, load_codec, shipped_models

    for name in shipped_models():
        codestreams.update(model_seeds(load_codec(PARAMS_DIR / f"{name}.olp"), name))
    codestreams.update(writer_seeds())
    for harness, seeds in (
        ("parse", codestreams),
        ("decode", codestreams),
        ("entropy", entropy_seeds()),
    ):
        folder = args.out / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
        print(f"{folder}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")
    print(f"{TINY_PARAMS}: SHA-256 {hashlib.sha256(params).hexdigest()}")


if __name__ == "__main__":
    main()
