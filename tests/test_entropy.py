"""Tests of entropy coding (WD 8.2, Annex B): tables, rANS decoder and encoder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np
import pytest

from encoder.rans import _put, code_length_bits, encode
from refdec import tables as tables_module
from refdec.entropy import L, decode_stream, decode_streams
from refdec.errors import EntropyError, ParameterSetError
from refdec.tables import TABLES_SHA256, load_tables, parse_tables
from tools.make_tables import table_file_bytes, table_radius

ROOT = Path(__file__).resolve().parents[1]


def gaussian_values(rng: np.random.Generator, table_idx: np.ndarray) -> np.ndarray:
    """Values distributed roughly as the tables assume (plus heavier tails)."""
    sigma = np.exp(np.log(0.11) + table_idx * (np.log(256) - np.log(0.11)) / 63)
    return np.round(rng.standard_t(4, len(table_idx)) * sigma).astype(np.int64)


def escape_limits(table: int) -> tuple[int, int]:
    """Smallest and largest codable value of a table (WD 8.2.6: u <= 2**17 - 2)."""
    r = int(load_tables().radius[table])
    return -(r + 65535), r + 65536


def encode_symbols(symbols: list[tuple[int, int]]) -> bytes:
    """A stream of raw ``(low, freq)`` symbols, to build streams the encoder refuses."""
    buf = np.zeros(4 + 2 * len(symbols), dtype=np.uint8)
    x, pos = np.int64(L), len(buf)
    for low, freq in reversed(symbols):
        x, pos = _put(x, buf, pos, np.int64(low), np.int64(freq))
    return int(x).to_bytes(4, "big") + buf[pos:].tobytes()


# --- Annex B tables -------------------------------------------------------------------


def test_table_file_hash_and_generator_reproduce() -> None:
    shipped = tables_module.TABLES_PATH.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == TABLES_SHA256
    assert table_file_bytes() == shipped


def test_table_structure() -> None:
    t = load_tables()
    assert [int(r) for r in t.radius] == [table_radius(i) for i in range(64)]
    assert t.radius[0] == 1 and t.radius[63] == 1564
    for i in range(64):
        cdf = t.cdf_flat[t.cdf_offset[i] : t.cdf_offset[i] + t.cdf_len[i]]
        assert len(cdf) == 2 * t.radius[i] + 3
        assert cdf[0] == 0 and cdf[-1] == 65536 and np.diff(cdf).min() >= 1
    assert not t.cdf_flat.flags.writeable


def test_table_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(tables_module.TABLES_PATH.read_bytes())
    data[-1] ^= 1  # last cdf entry of table 63 no longer 65536
    with pytest.raises(ParameterSetError):
        parse_tables(bytes(data))
    path = tmp_path / "t.olt"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(tables_module, "TABLES_PATH", path)
    with pytest.raises(ParameterSetError, match="SHA-256"):
        load_tables.__wrapped__()


# --- round trips ----------------------------------------------------------------------


def test_empty_stream() -> None:
    assert encode(np.zeros(0, np.int64), np.zeros(0, np.int32)) == b"\x00\x80\x00\x00"
    assert decode_stream(b"\x00\x80\x00\x00", np.zeros(0, np.int32)).size == 0


def test_round_trip_all_tables_with_escapes() -> None:
    rng = np.random.default_rng(0)
    values, tables = [], []
    for t in range(64):
        r = int(load_tables().radius[t])
        lo, hi = escape_limits(t)
        special = [*range(-r - 2, r + 3), r + 2**15 - 1, -(r + 2**15 - 1), lo, hi, lo + 1, hi - 1]
        random = rng.integers(lo, hi + 1, 20)
        typical = gaussian_values(rng, np.full(200, t))
        chunk = np.concatenate([special, random, typical])
        values.append(chunk)
        tables.append(np.full(len(chunk), t))
    v = np.concatenate(values)
    t = np.concatenate(tables).astype(np.int32)
    order = rng.permutation(len(v))  # interleave tables
    v, t = v[order], t[order]
    stream = encode(v, t)
    np.testing.assert_array_equal(decode_stream(stream, t), v)
    assert 8 * len(stream) == pytest.approx(code_length_bits(v, t) + 32, abs=64)


def test_encoder_rejects_uncodable() -> None:
    for t in (0, 17, 63):
        lo, hi = escape_limits(t)
        for bad in (lo - 1, hi + 1, 2**40):
            with pytest.raises(ValueError, match="cannot be coded"):
                encode(np.array([0, bad]), np.array([t, t]))
    for t in (64, -1, 2**32):
        with pytest.raises(ValueError):
            encode(np.array([0]), np.array([t]))
        with pytest.raises(ValueError):
            decode_stream(b"\x00\x80\x00\x00", np.array([t]))
    with pytest.raises(ValueError):
        encode(np.array([2**63], dtype=np.uint64), np.array([0]))
    with pytest.raises(ValueError):
        encode(np.array([0.5]), np.array([0]))


def test_golden_stream() -> None:
    """Freeze the bitstream format: this stream must never change."""
    v = np.array([0, 1, -1, 2, 0, 5, -40, 3, 0, 60000])
    t = np.array([0, 5, 5, 20, 30, 40, 50, 60, 63, 63])
    stream = encode(v, t)
    assert stream.hex() == GOLDEN_HEX
    np.testing.assert_array_equal(decode_stream(stream, t), v)


GOLDEN_HEX = "121c360301c726982cffffdfc8870000"


# --- non-conforming streams -----------------------------------------------------------


def small_case() -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    t = rng.integers(0, 64, 60).astype(np.int32)
    v = gaussian_values(rng, t)
    v[[5, 20]] = [int(load_tables().radius[t[5]]) + 1000, -int(load_tables().radius[t[20]]) - 3]
    return encode(v, t), v, t


def test_truncation_at_every_byte() -> None:
    stream, _, t = small_case()
    for n in range(len(stream)):
        with pytest.raises(EntropyError) as info:
            decode_stream(stream[:n], t, base_offset=100)
        assert info.value.clause.startswith("8.2.")
        assert info.value.offset == 100 + n  # the missing byte


def test_bad_state_and_trailing_bytes() -> None:
    stream, _, t = small_case()
    with pytest.raises(EntropyError, match="bytes left") as info:
        decode_stream(stream + b"\x00", t)
    assert info.value.offset == len(stream)
    with pytest.raises(EntropyError, match="final state"):
        decode_stream(b"\x00\x80\x00\x01", np.zeros(0, np.int32))
    for init in (b"\x00\x7f\xff\xff", b"\x80\x00\x00\x00", b"\xff\xff\xff\xff"):
        with pytest.raises(EntropyError, match="initial state") as info:
            decode_stream(init + stream[4:], t, base_offset=7)
        assert info.value.offset == 7


def prefix_streams() -> tuple[bytes, bytes]:
    """Escapes in table 0 with an Exp-Golomb prefix of 16 (allowed) and 17 (not allowed)."""
    cdf = load_tables().cdf_flat[: load_tables().cdf_len[0]]  # table 0: R = 1, escape = 3
    escape = (int(cdf[3]), int(cdf[4] - cdf[3]))
    half = 1 << 15
    ok, bad = (
        encode_symbols([escape] + [(half, half)] * n + [(0, half)] + [(5, 1)]) for n in (16, 17)
    )
    return ok, bad


def test_escape_prefix_limit() -> None:
    ok, bad = prefix_streams()
    assert decode_stream(ok, np.array([0], np.int32))[0] == 1 + 1 + (2**16 - 1 + 5) // 2
    with pytest.raises(EntropyError, match="prefix"):
        decode_stream(bad, np.array([0], np.int32))


def garbage(rng: np.random.Generator, n: int) -> bytes:
    """Random bytes, mostly with a valid initial state so decoding gets past WD 8.2.2."""
    data = bytearray(rng.integers(0, 256, n).astype(np.uint8).tobytes())
    if n and rng.random() < 0.8:
        data[0] = int(rng.integers(1, 128))
    return bytes(data)


def test_garbage_never_raises_anything_else() -> None:
    rng = np.random.default_rng(4)
    stream, _, t = small_case()
    for trial in range(400):
        if trial % 2:
            data = garbage(rng, int(rng.integers(0, 80)))
        else:
            corrupt = bytearray(stream)
            corrupt[rng.integers(0, len(stream))] ^= 1 << int(rng.integers(0, 8))
            data = bytes(corrupt)
        try:
            decode_stream(data, t)
        except EntropyError:
            pass


# --- parallel tiles -------------------------------------------------------------------


def tile_case() -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[bytes]]:
    rng = np.random.default_rng(5)
    counts = [300, 0, 1, 500, 77]
    t = rng.integers(0, 64, sum(counts)).astype(np.int32)
    v = gaussian_values(rng, t)
    sym = np.concatenate([[0], np.cumsum(counts)])
    streams = [encode(v[a:b], t[a:b]) for a, b in zip(sym[:-1], sym[1:], strict=True)]
    lengths = np.array([len(s) for s in streams])
    return b"".join(streams), v, t, sym, lengths, streams


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_parallel_streams_equal_single_streams() -> None:
    buf, v, t, sym, lengths, streams = tile_case()
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
    np.testing.assert_array_equal(decode_streams(buf, offsets, lengths, t, sym), v)
    for k, s in enumerate(streams):
        np.testing.assert_array_equal(
            decode_stream(s, t[sym[k] : sym[k + 1]]), v[sym[k] : sym[k + 1]]
        )
    # Tiles 3 and 4 broken: the error names tile 3 and its position in buf.
    short = lengths.copy()
    short[3] -= 1
    short[4] -= 2
    with pytest.raises(EntropyError) as info:
        decode_streams(buf, offsets, short, t, sym, base_offset=1000)
    assert info.value.tile == 3
    assert info.value.offset == 1000 + offsets[3] + short[3]
    with pytest.raises(ValueError):
        decode_streams(buf, offsets, lengths + 1, t, sym)


# --- JIT and pure Python agree --------------------------------------------------------


def scenario() -> list:
    """Results and error reports of a small workload, for the JIT/no-JIT comparison."""
    results: list = []
    stream, v, t = small_case()
    results.append(stream.hex())
    results.append(decode_stream(stream, t).tolist())
    buf, _, tt, sym, lengths, _ = tile_case()
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
    results.append(decode_streams(buf, offsets, lengths, tt, sym).tolist())
    rng = np.random.default_rng(6)
    cases = [stream[:n] for n in range(0, len(stream), 7)] + [stream + b"\x01"]
    cases += [garbage(rng, 40) for _ in range(30)]
    cases = [(data, t) for data in cases] + [(p, t[:1] * 0) for p in prefix_streams()]
    for data, table_idx in cases:
        try:
            results.append(decode_stream(data, table_idx).tolist())
        except EntropyError as e:
            results.append(str(e))
    return results


def test_jit_and_pure_python_agree() -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=str(ROOT))
    code = (
        "import json, numba, tests.test_entropy as m; assert numba.config.DISABLE_JIT; "
        "print(json.dumps(m.scenario()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(scenario()))
