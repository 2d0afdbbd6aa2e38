"""The record container of Annex C (parameter sets ``.olp``, entropy tables ``.olt``).

WD Annex C.2 defines one container for every normative data file::

    container = magic b(32) | version u(16) | count u(16) | record*count
    record    = name_len u(8) | name b(8*name_len) | dtype u(8) | ndim u(8) |
                dim u(32)*ndim | data

Header fields are big-endian (clause 4). ``data`` holds ``prod(dims)`` integers of the
record's type (1: int8, 2: int16, 3: int32) in little-endian, C (row-major) order.
The magic is ``b"OLPS"`` for parameter sets and ``b"OLTB"`` for entropy tables.

Requirements this reader enforces (every violation raises
:class:`~refdec.errors.ParameterSetError` with the byte offset of the offending field):

* the magic matches and ``version`` is 1;
* names are 1..255 characters of printable ASCII without spaces (0x21..0x7E) and
  unique within the file;
* ``dtype`` is 1, 2 or 3 and ``ndim`` is at most :data:`MAX_NDIM`;
* the data of every record lies inside the file (checked *before* anything is
  allocated, so a hostile file cannot make the reader allocate more than its own size);
* no bytes follow the last record.
"""

from __future__ import annotations

import math

import numpy as np

from refdec.errors import ParameterSetError

VERSION = 1
"""The only container version defined by this edition (Annex C.2)."""

MAX_NDIM = 8
"""Largest number of dimensions of a record (Annex C.2)."""

DTYPE_CODES: dict[int, np.dtype] = {
    1: np.dtype("<i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
}
"""Record ``dtype`` code -> stored (little-endian) element type (Annex C.2)."""

_CODE_OF_KIND = {np.dtype(dt.str[1:]): code for code, dt in DTYPE_CODES.items()}


def _valid_name(name: bytes) -> bool:
    """Whether ``name`` is a legal record name (Annex C.2): 1..255 bytes in 0x21..0x7E."""
    return 1 <= len(name) <= 255 and all(0x21 <= b <= 0x7E for b in name)


class _Reader:
    """Bounds-checked big-endian field reader over ``data`` (offsets for error messages)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> bytes:
        """Return the next ``n`` bytes, or raise if the file ends before them."""
        if n > self.remaining():
            raise ParameterSetError(
                f"file ends inside {what} ({n} bytes needed, {self.remaining()} left)",
                offset=self.pos,
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int, what: str) -> int:
        """Read an unsigned big-endian ``n``-byte field (clause 4)."""
        return int.from_bytes(self.take(n, what), "big")


def read_container(data: bytes, magic: bytes) -> dict[str, np.ndarray]:
    """Parse a container (WD Annex C.2) and return its records in file order.

    The arrays are native-endian ``int8``/``int16``/``int32`` copies that do not refer
    to ``data``. Raises :class:`ParameterSetError` (with ``offset``) on any
    non-conforming input.
    """
    data = bytes(data)
    r = _Reader(data)
    if r.take(len(magic), "the magic") != magic:
        raise ParameterSetError(f"magic is not {magic!r}", offset=0)
    version_at = r.pos
    version = r.uint(2, "the version")
    if version != VERSION:
        raise ParameterSetError(f"unsupported container version {version}", offset=version_at)
    count = r.uint(2, "the record count")
    records: dict[str, np.ndarray] = {}
    for index in range(count):
        name_at = r.pos
        name_bytes = r.take(r.uint(1, f"record {index}"), f"the name of record {index}")
        if not _valid_name(name_bytes):
            raise ParameterSetError(f"record {index} has an illegal name", offset=name_at)
        name = name_bytes.decode("ascii")
        if name in records:
            raise ParameterSetError(f"duplicate record name {name!r}", offset=name_at)
        dtype_at = r.pos
        code = r.uint(1, f"the dtype of {name!r}")
        if code not in DTYPE_CODES:
            raise ParameterSetError(f"record {name!r} has unknown dtype {code}", offset=dtype_at)
        ndim_at = r.pos
        ndim = r.uint(1, f"the ndim of {name!r}")
        if ndim > MAX_NDIM:
            raise ParameterSetError(
                f"record {name!r} has {ndim} dimensions (at most {MAX_NDIM})", offset=ndim_at
            )
        dims = tuple(r.uint(4, f"the dimensions of {name!r}") for _ in range(ndim))
        dtype = DTYPE_CODES[code]
        # Python integers: the product cannot overflow, and it is compared with the
        # bytes actually present before any allocation happens.
        nbytes = math.prod(dims) * dtype.itemsize
        if nbytes > r.remaining():
            raise ParameterSetError(
                f"data of {name!r} needs {nbytes} bytes, {r.remaining()} left", offset=r.pos
            )
        raw = r.take(nbytes, f"the data of {name!r}")
        records[name] = (
            np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("=")).reshape(dims)
        )
    if r.remaining():
        raise ParameterSetError(f"{r.remaining()} bytes after the last record", offset=r.pos)
    return records


def write_container(records: dict[str, np.ndarray], magic: bytes) -> bytes:
    """Serialise ``records`` (in dict order) as a container (WD Annex C.2).

    Every array must have an ``int8``, ``int16`` or ``int32`` dtype; the writer never
    converts silently. Raises :class:`ValueError` for anything the format cannot hold.
    """
    if len(records) > 0xFFFF:
        raise ValueError(f"{len(records)} records (at most 65535)")
    out = bytearray(magic)
    out += VERSION.to_bytes(2, "big") + len(records).to_bytes(2, "big")
    for name, array in records.items():
        array = np.asarray(array)
        name_bytes = name.encode("utf-8")
        if not name.isascii() or not _valid_name(name_bytes):
            raise ValueError(f"illegal record name {name!r}")
        code = _CODE_OF_KIND.get(array.dtype.newbyteorder("="))
        if code is None:
            raise ValueError(f"record {name!r}: dtype {array.dtype} is not int8/int16/int32")
        if array.ndim > MAX_NDIM or any(d > 0xFFFFFFFF for d in array.shape):
            raise ValueError(f"record {name!r}: shape {array.shape} not representable")
        out += bytes([len(name_bytes)]) + name_bytes + bytes([code, array.ndim])
        out += b"".join(d.to_bytes(4, "big") for d in array.shape)
        out += np.ascontiguousarray(array, dtype=DTYPE_CODES[code]).tobytes()
    return bytes(out)
