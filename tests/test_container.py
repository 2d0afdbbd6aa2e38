"""Tests of the record container of WD Annex C.2 (refdec/container.py)."""

from __future__ import annotations

import numpy as np
import pytest

from refdec.container import MAX_NDIM, read_container, write_container
from refdec.errors import ParameterSetError

MAGIC = b"OLPS"


def sample_records() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "hs.0.weight": rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8),
        "hs.0.bias": rng.integers(-(2**31), 2**31 - 1, 4).astype(np.int32),
        "shift": np.array(7, dtype=np.int16),
        "empty": np.zeros((0, 5), dtype=np.int16),
        "big-endian": np.array([1, -2, 300], dtype=">i2"),
    }


def test_round_trip() -> None:
    records = sample_records()
    parsed = read_container(write_container(records, MAGIC), MAGIC)
    assert list(parsed) == list(records)
    for name, array in records.items():
        assert parsed[name].shape == array.shape
        assert parsed[name].dtype == array.dtype.newbyteorder("=")
        assert parsed[name].dtype.isnative
        np.testing.assert_array_equal(parsed[name], array)


def test_exact_layout() -> None:
    data = write_container({"ab": np.array([[1, -2]], dtype=np.int16)}, b"OLTB")
    assert data == (
        b"OLTB" + b"\x00\x01" + b"\x00\x01"  # magic, version 1, one record
        + b"\x02ab" + b"\x02\x02"  # name, dtype int16, ndim 2
        + b"\x00\x00\x00\x01\x00\x00\x00\x02"  # dims big-endian
        + b"\x01\x00\xfe\xff"  # data little-endian
    )  # fmt: skip


@pytest.mark.parametrize(
    "records",
    [
        {"": np.zeros(1, np.int8)},
        {"a b": np.zeros(1, np.int8)},
        {"\u00e9": np.zeros(1, np.int8)},
        {"x" * 256: np.zeros(1, np.int8)},
        {"f": np.zeros(1, np.float32)},
        {"u": np.zeros(1, np.uint8)},
        {"q": np.zeros(1, np.int64)},
        {"d": np.zeros((1,) * (MAX_NDIM + 1), np.int8)},
    ],
)
def test_writer_rejects(records: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError):
        write_container(records, MAGIC)


def record(name: bytes, code: int, dims: list[int], data: bytes) -> bytes:
    head = bytes([len(name)]) + name + bytes([code, len(dims)])
    return head + b"".join(d.to_bytes(4, "big") for d in dims) + data


def container(*records: bytes, count: int | None = None, version: int = 1) -> bytes:
    n = len(records) if count is None else count
    return MAGIC + version.to_bytes(2, "big") + n.to_bytes(2, "big") + b"".join(records)


GOOD = record(b"w", 1, [2], b"\x01\x02")


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"OLP", 0),
        (b"OLTB\x00\x01\x00\x00", 0),
        (container(version=2), 4),
        (container(GOOD, count=2), 18),
        (container(GOOD, GOOD), 18),  # duplicate name
        (container(record(b"", 1, [], b"")), 8),
        (container(record(b"a\x00", 1, [], b"\x00")), 8),
        (container(record(b"a b", 1, [], b"\x00")), 8),
        (container(record(b"w", 4, [1], b"\x00\x00")), 10),
        (container(record(b"w", 1, [1] * (MAX_NDIM + 1), b"\x00")), 11),
        # 2^32-1 x 2^32-1 int32: must fail on the size check, before any allocation.
        (container(record(b"w", 3, [2**32 - 1, 2**32 - 1], b"\x00" * 8)), 20),
        (container(record(b"w", 2, [3], b"\x00" * 5)), 16),
        (container(GOOD) + b"\x00", 18),
    ],
)
def test_reader_rejects(data: bytes, offset: int) -> None:
    with pytest.raises(ParameterSetError) as info:
        read_container(data, MAGIC)
    assert info.value.offset == offset
    assert info.value.clause == "C.1"


def test_truncation_and_corruption_only_raise_parameter_set_error() -> None:
    data = write_container(sample_records(), MAGIC)
    for n in range(len(data)):
        with pytest.raises(ParameterSetError):
            read_container(data[:n], MAGIC)
    rng = np.random.default_rng(2)
    for _ in range(300):
        corrupt = bytearray(data)
        for i in rng.integers(0, len(data), rng.integers(1, 4)):
            corrupt[i] = int(rng.integers(0, 256))
        try:
            read_container(bytes(corrupt), MAGIC)
        except ParameterSetError:
            pass
