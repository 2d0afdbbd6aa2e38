"""Codestream parsing (WD clause 5, with the syntax of clause 6 and the semantics of 7).

A codestream is the signature (WD 5.1) followed by segments (WD 5.2): ``marker u(16)``,
``length leb128()``, ``payload``, ``crc u(32)``. The ``crc`` is the CRC-32 of ISO/IEC 13239,
also known as CRC-32/ISO-HDLC, as computed by :func:`zlib.crc32` (check value of
"123456789": 0xCBF43926); it is normative. The segment order rules are those of WD 5.3.

Every payload with a syntax table is read by iterating its structure in
:mod:`refdec.syntax`, so this module holds no field layout of its own. Parsing is
bounded: the picture header is checked against its profile and level (Annex A) as soon
as it is read, before any later byte is looked at, and no count read from the
codestream is used to allocate anything before the bytes it describes are known to be
present. Every error is a :class:`~refdec.errors.DecodeError` whose ``offset`` is an
absolute byte offset into the codestream.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from refdec import syntax
from refdec.errors import (
    ChecksumError,
    HeaderError,
    SegmentOrderError,
    SignatureError,
    TruncatedError,
    UnsupportedError,
)
from refdec.levels import check_level, check_profile
from refdec.syntax import Field, Loop, Structure, Violation

LATENT_STRIDE = 16
"""Picture samples per latent position, in each direction (WD 5.4)."""
HYPER_STRIDE = 4
"""Latent positions per hyper-latent position, in each direction (WD 5.4)."""

_MARKER_SIZE = syntax.SEGMENT.field("marker").size or 0
_CRC_SIZE = syntax.SEGMENT.field("crc").size or 0


def crc32(data: bytes | memoryview) -> int:
    """The segment CRC of WD 5.2 (CRC-32/ISO-HDLC, which is :func:`zlib.crc32`)."""
    return zlib.crc32(data)


def marker_name(marker: int) -> str:
    """Short name of a marker in Table 1 (WD 5.2), or its value in hex if it has none."""
    info = syntax.find_marker(marker)
    return info.name if info is not None and info.name else f"0x{marker:04X}"


def _uint(data: bytes, pos: int, size: int) -> int:
    """A big-endian ``u(8*size)`` at ``pos`` (WD 4.3); the caller checked the bounds."""
    return int.from_bytes(data[pos : pos + size], "big")


def read_leb128(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """The ``leb128()`` element at ``pos`` (WD 4.4): ``(value, number of bytes)``, or
    None if ``data[:end]`` ends before its last byte.

    Raises :class:`HeaderError` (WD 4.4, R-LEB128) as soon as a fifth byte shows more
    than 5 bytes or a value of 2^32 or more; nothing beyond that byte is read.
    """
    value = 0
    for i in range(syntax.LEB128_MAX_BYTES):
        if pos + i >= end:
            return None
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if i == syntax.LEB128_MAX_BYTES - 1 and byte > 0x0F:
            raise HeaderError(
                f"leb128() element has a fifth byte 0x{byte:02X}: more than 5 bytes or a "
                "value of 2^32 or more",
                offset=pos + i,
                clause="4.4",
            )
        if not byte & 0x80:
            return value, i + 1
    raise AssertionError("unreachable: the fifth byte ends the element or raises")


@dataclass(frozen=True)
class Segment:
    """A complete segment whose framing and CRC have been checked (WD 5.2)."""

    marker: int
    offset: int
    """Absolute offset of the marker in :attr:`data`."""
    length: int
    """Payload length in bytes."""
    data: bytes = field(repr=False, compare=False)
    """The whole codestream (not a copy)."""
    length_size: int = 1
    """Bytes of the ``leb128()`` ``length`` field (WD 4.4)."""

    @property
    def payload_offset(self) -> int:
        """Absolute offset of the first payload byte."""
        return self.offset + _MARKER_SIZE + self.length_size

    @property
    def end(self) -> int:
        """Absolute offset just after the segment's ``crc``."""
        return self.payload_offset + self.length + _CRC_SIZE

    @property
    def payload(self) -> bytes:
        return self.data[self.payload_offset : self.payload_offset + self.length]

    @property
    def name(self) -> str:
        """Short name of Table 1 (WD 5.2), or the marker in hex for unnamed ones."""
        return marker_name(self.marker)


class _ModelSizes(Protocol):
    """What :meth:`PictureHeader.check_against` needs of a parameter set (Annex C)."""

    @property
    def num_qualities(self) -> int: ...

    @property
    def m(self) -> int: ...

    @property
    def context_groups(self) -> int: ...


@dataclass(frozen=True)
class PictureHeader:
    """The fields of the PH payload (WD 6.3, 7.2), in syntax order, and the quantities
    of WD 5.4 derived from them.

    The field names are exactly those of :data:`refdec.syntax.PH` (a test checks it);
    :attr:`payload_offset` only locates the fields for error offsets.
    """

    version_major: int
    version_minor: int
    profile_idc: int
    level_idc: int
    width_minus1: int
    height_minus1: int
    bit_depth: int
    colour_primaries: int
    transfer_characteristics: int
    matrix_coefficients: int
    quality: int
    tile_size_log2: int
    num_channel_groups: int
    hyper_step_log2: int
    parameter_set_hash: bytes
    payload_offset: int = field(default=0, compare=False)
    """Absolute offset of the PH payload in the codestream it was parsed from."""

    def field_offset(self, name: str) -> int:
        """Absolute offset of field ``name`` in the codestream."""
        return self.payload_offset + syntax.PH.field_offset(name)

    @property
    def width(self) -> int:
        """W (WD 7.2)."""
        return self.width_minus1 + 1

    @property
    def height(self) -> int:
        """H (WD 7.2)."""
        return self.height_minus1 + 1

    @property
    def latent_height(self) -> int:
        """``Hy = Ceil(H / 16)`` (WD 5.4)."""
        return -(-self.height // LATENT_STRIDE)

    @property
    def latent_width(self) -> int:
        """``Wy = Ceil(W / 16)`` (WD 5.4)."""
        return -(-self.width // LATENT_STRIDE)

    @property
    def hyper_height(self) -> int:
        """``Hz = Ceil(Hy / 4)`` (WD 5.4)."""
        return -(-self.latent_height // HYPER_STRIDE)

    @property
    def hyper_width(self) -> int:
        """``Wz = Ceil(Wy / 4)`` (WD 5.4)."""
        return -(-self.latent_width // HYPER_STRIDE)

    @property
    def tile_size(self) -> int:
        """Tile side ``T = 2^tile_size_log2`` in latent positions (WD 5.4)."""
        return 1 << self.tile_size_log2

    @property
    def tile_rows(self) -> int:
        """``Nty = Ceil(Hy / T)`` (WD 5.4)."""
        return -(-self.latent_height // self.tile_size)

    @property
    def tile_cols(self) -> int:
        """``Ntx = Ceil(Wy / T)`` (WD 5.4)."""
        return -(-self.latent_width // self.tile_size)

    @property
    def num_tiles(self) -> int:
        """Tiles per channel group, ``Nty * Ntx`` (WD 5.4)."""
        return self.tile_rows * self.tile_cols

    def check_against(self, params: _ModelSizes) -> None:
        """WD 7.2: the requirements on ``quality`` and ``num_channel_groups`` that
        depend on the parameter set; raises :class:`HeaderError`."""
        if self.quality >= params.num_qualities:
            raise HeaderError(
                f"quality {self.quality} is not less than the {params.num_qualities} "
                "quality indices of the parameter set",
                offset=self.field_offset("quality"),
            )
        if params.m % self.num_channel_groups:
            raise HeaderError(
                f"num_channel_groups {self.num_channel_groups} does not divide the "
                f"{params.m} latent channels of the parameter set",
                offset=self.field_offset("num_channel_groups"),
            )
        if params.context_groups > 1 and self.num_channel_groups != params.context_groups:
            raise HeaderError(
                f"num_channel_groups {self.num_channel_groups} is not the "
                f"{params.context_groups} context groups of the parameter set",
                offset=self.field_offset("num_channel_groups"),
            )


@dataclass(frozen=True)
class GroupStreams:
    """The tile streams of one YS segment (WD 6.5, 7.4)."""

    index: int
    """``group_index``: the channel group."""
    tiles: tuple[tuple[int, int], ...]
    """Absolute ``(offset, length)`` of each tile stream, in tile order."""


@dataclass(frozen=True)
class OutputFilter:
    """The output filter of an OF segment (WD 6.7, 7.7), applied in WD 8.9."""

    shift: int
    """``P = filter_shift``: fractional bits of the coefficients."""
    thresholds: tuple[int, ...]
    """``class_threshold[k]``, ``k < N - 1``, strictly increasing."""
    coefficients: tuple[tuple[tuple[int, ...], ...], ...]
    """``W[k][c][i]`` (``filter_coeff - 128``) for class ``k``, component ``c`` and tap
    ``i``."""

    @property
    def num_classes(self) -> int:
        """N (WD 7.7)."""
        return len(self.coefficients)


@dataclass(frozen=True)
class ParsedCodestream:
    """A parsed codestream or prefix codestream (WD 5.5)."""

    data: bytes = field(repr=False)
    """The codestream the offsets refer to."""
    segments: tuple[Segment, ...]
    """Every complete segment read, in codestream order (WD 5.3)."""
    header: PictureHeader
    z_offset: int
    """Absolute offset of the ZS payload, the hyper-latent rANS stream."""
    z_length: int
    groups: tuple[GroupStreams, ...]
    """The YS segments present, in group order: groups 0 .. len(groups) - 1."""
    optional: tuple[Segment, ...]
    """Optional segments (markers 0xFF80 to 0xFFFE), which decoding ignores."""
    output_filter: OutputFilter | None
    """The filter of the OF segment, if one is present (WD 8.9)."""
    complete: bool
    """True if the EOC segment was read, so every group is present."""

    @property
    def z_stream(self) -> bytes:
        return self.data[self.z_offset : self.z_offset + self.z_length]

    @property
    def groups_present(self) -> int:
        """Number k of channel groups present (WD 5.5); the first k groups."""
        return len(self.groups)

    def tile_stream(self, group: int, tile: int) -> bytes:
        """The bytes of one tile stream."""
        offset, length = self.groups[group].tiles[tile]
        return self.data[offset : offset + length]

    def check_against(self, params: _ModelSizes) -> None:
        """See :meth:`PictureHeader.check_against`."""
        self.header.check_against(params)


def _min_size(elements: tuple[syntax.Element, ...]) -> int:
    """The fewest bytes one pass over ``elements`` can read: fields at their
    :attr:`~refdec.syntax.Field.min_size`, nested constant loops included."""
    size = 0
    for el in elements:
        if isinstance(el, Field):
            size += el.min_size
        elif isinstance(el, Loop) and el.count is not None and el.count.isdigit():
            size += el.iterations(int(el.count)) * _min_size(el.body)
    return size


Value = int | bytes | tuple[int, int]
"""A field value: ``u(n)``, ``leb128()`` -> int, ``b(n)`` -> bytes, ``b(8*var)`` ->
(offset, length)."""


def _read(
    structure: Structure,
    segment: Segment,
    variables: dict[str, int],
    clause: str,
) -> Iterator[tuple[Field, int, Value]]:
    """Read a payload by iterating its structure (WD 6): yield each field, its absolute
    offset and its value, in syntax order.

    ``variables`` gives the loop counts and the sizes that come from outside the
    payload (``num_tiles``, ``length``). Yielding field by field lets the caller check a
    value before anything after it is read. Raises :class:`HeaderError` (with
    ``clause``) if a field does not fit in the payload or bytes are left after the last
    field.
    """
    data, pos = segment.data, segment.payload_offset
    end = pos + segment.length
    variables = {**variables, "length": segment.length}
    read: dict[str, list[int]] = {}

    def loop_count(name: str) -> int:
        # A constant, a variable from outside the payload, or a field read before.
        if name.isdigit():
            return int(name)
        return variables[name] if name in variables else read[name][-1]

    def walk(
        elements: tuple[syntax.Element, ...], index: dict[str, int]
    ) -> Iterator[tuple[Field, int, Value]]:
        nonlocal pos
        for el in elements:
            if isinstance(el, Loop):
                assert el.count is not None, "do-while loops occur only in CODESTREAM"
                count = el.iterations(loop_count(el.count))
                # Bound the count by the bytes present before iterating over it.
                minimum = count * _min_size(el.body)
                if minimum > end - pos:
                    raise HeaderError(
                        f"{structure.key} payload has {end - pos} bytes left, fewer than the "
                        f"{minimum} that {count} repetitions of the {el.var} loop need",
                        offset=pos,
                        clause=clause,
                    )
                for i in range(count):
                    yield from walk(el.body, {**index, el.var: i})
                continue
            assert isinstance(el, Field), "payload structures call no other structure"
            label = el.name + "".join(f"[{index[v]}]" for v in index)
            value: Value
            if el.is_leb128:
                leb = read_leb128(data, pos, end)
                if leb is None:
                    raise HeaderError(
                        f"{structure.key} payload ends before the last byte of {label}",
                        offset=pos,
                        clause=clause,
                    )
                value, size = leb
            else:
                if el.size is not None:
                    size = el.size
                elif el.size_index:
                    size = read[el.size_var][index[el.size_index]]
                else:
                    size = variables[el.size_var]
                if size > end - pos:
                    raise HeaderError(
                        f"{structure.key} payload ends inside {label}: it needs {size} "
                        f"bytes, {end - pos} are left",
                        offset=pos,
                        clause=clause,
                    )
                if el.is_uint:
                    value = _uint(data, pos, size)
                elif el.size is not None:
                    value = data[pos : pos + size]
                else:
                    value = (pos, size)
            if isinstance(value, int):
                read.setdefault(el.name, []).append(value)
            yield el, pos, value
            pos += size

    yield from walk(structure.elements, {})
    if pos != end:
        raise HeaderError(
            f"{structure.key} payload has {end - pos} bytes after its last field",
            offset=pos,
            clause=clause,
        )


def parse_picture_header(segment: Segment, *, strict: bool = False) -> PictureHeader:
    """Read and check a PH segment (WD 6.3, 7.2), then its profile and level (Annex A).

    Fields are checked in syntax order, so an unknown ``version_major`` is reported as
    :class:`UnsupportedError` before anything whose layout that version might change.
    A value outside a field's allowed values raises :class:`HeaderError` (or
    :class:`UnsupportedError` for ``version_major`` and ``profile_idc``) at the field's
    offset; the field that decoders ignore (``version_minor``) is checked
    only when ``strict`` (as the writer does, for codestream conformance).
    """
    if segment.marker != syntax.MARKER_PH:
        raise ValueError(f"not a PH segment: {segment.name}")
    values: dict[str, Value] = {}
    for f, offset, value in _read(syntax.PH, segment, {}, syntax.PH.semantics_clause):
        if isinstance(value, int) and f.allowed is not None and not f.admits(value):
            message = f"{f.name} is {value}; allowed: {syntax.describe_values(f.allowed)}"
            if f.violation is Violation.UNSUPPORTED:
                raise UnsupportedError(message, offset=offset)
            if f.violation is Violation.ERROR or strict:
                raise HeaderError(message, offset=offset)
        values[f.name] = value
    header = PictureHeader(**values, payload_offset=segment.payload_offset)  # type: ignore[arg-type]
    check_profile(header)
    check_level(header)
    return header


def parse_latent_segment(
    segment: Segment, header: PictureHeader, *, expected_group: int | None = None
) -> tuple[int, list[tuple[int, int]]]:
    """Read a YS segment (WD 6.5, 7.4): its ``group_index`` and the absolute
    ``(offset, length)`` of each of its ``num_tiles`` tile streams.

    Raises :class:`SegmentOrderError` if ``group_index`` is not less than
    ``num_channel_groups`` or differs from ``expected_group`` (the number of YS segments
    before this one, WD 5.3), and :class:`HeaderError` if the tile sizes do not add up
    to the rest of the payload.
    """
    if segment.marker != syntax.MARKER_YS:
        raise ValueError(f"not a YS segment: {segment.name}")
    group: int | None = None
    tiles: list[tuple[int, int]] = []
    variables = {"num_tiles": header.num_tiles}
    for f, offset, value in _read(syntax.YS, segment, variables, syntax.YS.semantics_clause):
        if f.name == "group_index":
            assert isinstance(value, int)
            if value >= header.num_channel_groups:
                raise SegmentOrderError(
                    f"group_index {value} is not less than num_channel_groups "
                    f"{header.num_channel_groups}",
                    offset=offset,
                )
            if expected_group is not None and value != expected_group:
                raise SegmentOrderError(
                    f"YS segment of group {value} where group {expected_group} is due",
                    offset=offset,
                )
            group = value
        elif f.name == "tile_data":
            assert isinstance(value, tuple)
            tiles.append(value)
    assert group is not None, "group_index is the first field of YS (6.5)"
    return group, tiles


def parse_output_filter(segment: Segment) -> OutputFilter:
    """Read an OF segment (WD 6.7, 7.7).

    Raises :class:`HeaderError` (clause 7.7) for a field outside its allowed values or
    thresholds that do not increase strictly, at the offending field.
    """
    if segment.marker != syntax.MARKER_OF:
        raise ValueError(f"not an OF segment: {segment.name}")
    clause = syntax.OF.semantics_clause
    values: dict[str, int] = {}
    thresholds: list[int] = []
    coefficients: list[int] = []
    for f, offset, value in _read(syntax.OF, segment, {}, clause):
        assert isinstance(value, int), "every OF field is u(n)"
        if not f.admits(value):
            raise HeaderError(
                f"{f.name} is {value}; allowed: {syntax.describe_values(f.allowed or ())}",
                offset=offset,
                clause=clause,
            )
        if f.name == "class_threshold":
            if thresholds and value <= thresholds[-1]:
                raise HeaderError(
                    f"class_threshold[{len(thresholds)}] = {value} is not greater than "
                    f"class_threshold[{len(thresholds) - 1}] = {thresholds[-1]}",
                    offset=offset,
                    clause=clause,
                )
            thresholds.append(value)
        elif f.name == "filter_coeff":
            coefficients.append(value - syntax.OF_COEFF_OFFSET)
        else:
            values[f.name] = value
    taps = [tuple(coefficients[i : i + syntax.OF_TAPS])
            for i in range(0, len(coefficients), syntax.OF_TAPS)]
    return OutputFilter(
        shift=values["filter_shift"],
        thresholds=tuple(thresholds),
        coefficients=tuple(tuple(taps[k : k + 3]) for k in range(0, len(taps), 3)),
    )


@dataclass
class _Walk:
    """What :func:`_walk` has read so far."""

    segments: list[Segment] = field(default_factory=list)
    header: PictureHeader | None = None
    zs: Segment | None = None
    groups: list[GroupStreams] = field(default_factory=list)
    optional: list[Segment] = field(default_factory=list)
    output_filter: OutputFilter | None = None
    complete: bool = False


def _check_order(marker: int, pos: int, w: _Walk) -> None:
    """WD 5.3: may a segment with ``marker`` come next? Decided from the marker alone,
    before the segment's length is trusted."""
    if syntax.find_marker(marker) is None:
        raise SegmentOrderError(f"reserved marker 0x{marker:04X}", offset=pos)
    name = marker_name(marker)
    if w.header is None:
        if marker != syntax.MARKER_PH:
            raise SegmentOrderError(f"the first segment is {name}, not PH", offset=pos)
        return
    groups = w.header.num_channel_groups
    if marker == syntax.MARKER_PH:
        raise SegmentOrderError("a second PH segment", offset=pos)
    if marker == syntax.MARKER_ZS and w.zs is not None:
        raise SegmentOrderError("a second ZS segment", offset=pos)
    if marker in (syntax.MARKER_YS, syntax.MARKER_EOC) and w.zs is None:
        raise SegmentOrderError(f"{name} segment before the ZS segment", offset=pos)
    if marker == syntax.MARKER_YS and len(w.groups) == groups:
        raise SegmentOrderError(
            f"a YS segment after the {groups} of num_channel_groups", offset=pos
        )
    if marker == syntax.MARKER_OF and len(w.groups) < groups:
        raise SegmentOrderError(
            f"OF segment after {len(w.groups)} of the {groups} YS segments", offset=pos
        )
    if marker == syntax.MARKER_OF and w.output_filter is not None:
        raise SegmentOrderError("a second OF segment", offset=pos)
    if marker == syntax.MARKER_EOC and len(w.groups) < groups:
        raise SegmentOrderError(
            f"EOC after {len(w.groups)} of the {groups} YS segments", offset=pos
        )


def _frame(data: bytes, pos: int, end: int, w: _Walk) -> Segment:
    """Read the segment at ``pos`` (WD 5.2) and check that it may come next (WD 5.3)."""
    if end - pos < _MARKER_SIZE:
        where = "before its EOC segment" if pos == end else "inside a marker"
        raise TruncatedError(f"the codestream ends {where}", offset=pos)
    marker = _uint(data, pos, _MARKER_SIZE)
    _check_order(marker, pos, w)
    leb = read_leb128(data, pos + _MARKER_SIZE, end)
    if leb is None:
        raise TruncatedError("the codestream ends inside a segment length", offset=pos)
    length, length_size = leb
    if marker == syntax.MARKER_EOC and length:
        raise SegmentOrderError(f"EOC segment length is {length}, not 0", offset=pos + _MARKER_SIZE)
    crc_pos = pos + _MARKER_SIZE + length_size + length
    if crc_pos + _CRC_SIZE > end:
        raise TruncatedError(
            f"the {marker_name(marker)} segment needs {crc_pos + _CRC_SIZE - pos} "
            f"bytes, the codestream has {end - pos} left",
            offset=pos,
        )
    stored = _uint(data, crc_pos, _CRC_SIZE)
    computed = crc32(memoryview(data)[pos:crc_pos])
    if stored != computed:
        raise ChecksumError(
            f"crc of the {marker_name(marker)} segment is 0x{stored:08X}, its bytes "
            f"give 0x{computed:08X}",
            offset=crc_pos,
        )
    return Segment(marker, pos, length, data, length_size)


def _walk(data: bytes, end: int, allow_prefix: bool) -> _Walk:
    """Read the signature and the segments of ``data[:end]`` (WD 5.1 to 5.3, 5.5)."""
    sig = syntax.SIGNATURE
    for i in range(min(end, len(sig))):
        if data[i] != sig[i]:
            raise SignatureError(
                f"signature byte {i} is 0x{data[i]:02X}, not 0x{sig[i]:02X}", offset=i
            )
    if end < len(sig):
        raise TruncatedError(
            f"the codestream ends after {end} of the {len(sig)} signature bytes", offset=0
        )
    w = _Walk()
    pos = len(sig)
    while not w.complete:
        try:
            seg = _frame(data, pos, end, w)
        except TruncatedError:
            # WD 5.5: a prefix needs PH and ZS; an incomplete last segment is not part of it.
            if allow_prefix and w.zs is not None:
                break
            raise
        if seg.marker == syntax.MARKER_PH:
            # Annex A is checked here, before any later byte is read.
            w.header = parse_picture_header(seg)
        elif seg.marker == syntax.MARKER_ZS:
            w.zs = seg
        elif seg.marker == syntax.MARKER_YS:
            assert w.header is not None  # _check_order: PH comes first
            index, tiles = parse_latent_segment(seg, w.header, expected_group=len(w.groups))
            w.groups.append(GroupStreams(index, tuple(tiles)))
        elif seg.marker == syntax.MARKER_OF:
            w.output_filter = parse_output_filter(seg)
        elif seg.marker == syntax.MARKER_EOC:
            w.complete = True
        else:
            w.optional.append(seg)
        w.segments.append(seg)
        pos = seg.end
    if w.complete and pos != end:
        raise SegmentOrderError(f"{end - pos} byte(s) follow the EOC segment", offset=pos)
    return w


def split_segments(data: bytes, *, allow_prefix: bool = False) -> list[Segment]:
    """The segments of a codestream, with signature, framing, CRCs and order checked
    (WD 5.1 to 5.3), and the PH, YS heads and level checked on the way (WD 7, Annex A).

    With ``allow_prefix``, ``data`` may be a prefix of a codestream (WD 5.5): it may end
    anywhere after the ZS segment; an incomplete last segment is left out, and the YS
    segments present are those of the first groups. Without it, any missing byte raises
    :class:`TruncatedError`.
    """
    return _walk(data, len(data), allow_prefix).segments


def parse_codestream(data: bytes, *, max_bytes: int | None = None) -> ParsedCodestream:
    """Parse a codestream (WD 5 to 7, Annex A).

    With ``max_bytes``, only ``data[:max_bytes]`` is read and it is taken as a prefix
    (WD 5.5): the result holds the complete segments in it, which must include PH and
    ZS. Raises only :class:`~refdec.errors.DecodeError` subclasses on bad input.
    """
    if max_bytes is not None and max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    end = len(data) if max_bytes is None else min(max_bytes, len(data))
    w = _walk(data, end, allow_prefix=max_bytes is not None)
    # _walk returns only after EOC (which needs PH and ZS) or, for a prefix, after ZS.
    assert w.header is not None and w.zs is not None
    return ParsedCodestream(
        data=data,
        segments=tuple(w.segments),
        header=w.header,
        z_offset=w.zs.payload_offset,
        z_length=w.zs.length,
        groups=tuple(w.groups),
        optional=tuple(w.optional),
        output_filter=w.output_filter,
        complete=w.complete,
    )
