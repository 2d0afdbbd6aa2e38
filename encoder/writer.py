"""Writing codestreams (WD clauses 5 and 6), the inverse of :mod:`refdec.codestream`.

Every field is written by iterating the structures of :mod:`refdec.syntax`, the same
descriptions the parser reads, so the two cannot disagree on a layout. By default the
writer refuses to produce a non-conforming codestream: the picture header is read back
with the decoder's own checks, in strict mode (WD 7.2, Annex A), and the number of
channel groups and of tile streams must match it. ``check=False`` skips these checks,
to make invalid codestreams for conformance tests; values must still fit their
descriptors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from refdec import syntax
from refdec.codestream import (
    OutputFilter,
    PictureHeader,
    Segment,
    crc32,
    parse_output_filter,
    parse_picture_header,
)
from refdec.syntax import Field, Loop, Structure

_SEGMENT = {f.name: f for f in syntax.SEGMENT.fields()}


def leb128(value: int) -> bytes:
    """``value`` as a ``leb128()`` element of the fewest bytes (WD 4.4): seven bits a
    byte, least significant first, the most significant bit set on every byte but the
    last."""
    if not 0 <= value < 1 << 32:
        raise ValueError(f"{value} does not fit leb128() (0 to 2^32 - 1)")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _put(f: Field, value: object) -> bytes:
    """The bytes of one field value (WD 4.3, 4.4)."""
    if f.is_leb128:
        if not isinstance(value, int):
            raise ValueError(f"{f.name} = {value!r} does not fit {f.descriptor}")
        return leb128(value)
    if f.is_uint:
        size = f.size or 0
        if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
            raise ValueError(f"{f.name} = {value!r} does not fit {f.descriptor}")
        return value.to_bytes(size, "big")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"{f.name} must be bytes, not {type(value).__name__}")
    if f.size is not None and len(value) != f.size:
        raise ValueError(f"{f.name} has {len(value)} bytes, {f.descriptor} needs {f.size}")
    return bytes(value)


def _encode(
    structure: Structure, values: Mapping[str, object], variables: Mapping[str, int]
) -> bytes:
    """A payload from its field values (WD 6): a field inside a loop takes a sequence,
    indexed by the loop variable; a loop count is a constant, a value of ``variables``
    or the value of a field written before."""
    out = bytearray()

    def walk(elements: tuple[syntax.Element, ...], index: tuple[int, ...]) -> None:
        for el in elements:
            if isinstance(el, Loop):
                assert el.count is not None, "do-while loops occur only in CODESTREAM"
                c = el.count
                count = int(c) if c.isdigit() else variables.get(c, values.get(c))
                assert isinstance(count, int), f"no count {c} for the {el.var} loop"
                for i in range(el.iterations(count)):
                    walk(el.body, (*index, i))
                continue
            assert isinstance(el, Field), "payload structures call no other structure"
            value = values[el.name]
            for i in index:
                value = value[i]  # type: ignore[index]
            out.extend(_put(el, value))

    walk(structure.elements, ())
    return bytes(out)


def encode_segment(marker: int, payload: bytes) -> bytes:
    """One segment (WD 5.2): ``marker``, ``length``, the payload and its ``crc``."""
    head = _put(_SEGMENT["marker"], marker) + _put(_SEGMENT["length"], len(payload))
    body = head + payload
    return body + _put(_SEGMENT["crc"], crc32(body))


def _read_back(marker: int, offset: int, payload: bytes, data: bytes) -> Segment:
    """The segment of ``marker`` with ``payload``, written at ``offset`` of ``data`` by
    :func:`encode_segment`, as the parser would frame it."""
    return Segment(marker, offset, len(payload), data, len(leb128(len(payload))))


def comment_segment(text: str) -> tuple[int, bytes]:
    """A COM segment (WD 6.6, 7.5) as ``(marker, payload)`` for ``optional``."""
    return syntax.MARKER_COM, _encode(syntax.COM, {"comment": text.encode("utf-8")}, {})


def latent_stream_payload(
    group: int, tiles: Sequence[bytes], sizes: Sequence[int] | None = None
) -> bytes:
    """The payload of the YS segment of channel group ``group`` with the tile streams
    ``tiles`` (WD 6.5); ``sizes`` replaces the ``tile_size`` fields, which are otherwise
    the lengths of the streams (other values make invalid payloads, for tests)."""
    values = {
        "group_index": group,
        "tile_size": [len(t) for t in tiles] if sizes is None else list(sizes),
        "tile_data": list(tiles),
    }
    return _encode(syntax.YS, values, {"num_tiles": len(tiles)})


def output_filter_payload(of: OutputFilter) -> bytes:
    """The payload of an OF segment (WD 6.7) carrying ``of``."""
    values = {
        "filter_classes_minus1": of.num_classes - 1,
        "filter_shift": of.shift,
        "class_threshold": list(of.thresholds),
        "filter_coeff": [
            [[w + syntax.OF_COEFF_OFFSET for w in taps] for taps in cls] for cls in of.coefficients
        ],
    }
    return _encode(syntax.OF, values, {})


def write_codestream(
    header: PictureHeader,
    z_stream: bytes,
    group_tiles: Sequence[Sequence[bytes]],
    optional: Iterable[tuple[int, bytes]] = (),
    *,
    output_filter: OutputFilter | None = None,
    check: bool = True,
) -> bytes:
    """A codestream (WD 5): signature, PH, the ``optional`` segments, ZS, one YS per
    channel group with its tile streams, the OF segment of ``output_filter`` if given,
    EOC.

    ``group_tiles[g][t]`` is the rANS stream of tile ``t`` of channel group ``g``.
    ``optional`` holds ``(marker, payload)`` pairs with markers 0xFF80 to 0xFFFE, such as
    :func:`comment_segment`; they are placed right after PH so that every prefix
    codestream (WD 5.5) keeps them. With ``check`` (the default), a header the decoder
    would reject raises the decoder's :class:`~refdec.errors.DecodeError`, and a wrong
    number of groups or tiles raises ValueError.
    """
    ph_payload = _encode(
        syntax.PH, {f.name: getattr(header, f.name) for f in syntax.PH.fields()}, {}
    )
    head = syntax.SIGNATURE + encode_segment(syntax.MARKER_PH, ph_payload)
    if check:
        # Read the header back at its place in the codestream, so error offsets are real.
        parse_picture_header(
            _read_back(syntax.MARKER_PH, len(syntax.SIGNATURE), ph_payload, head),
            strict=True,
        )
        if len(group_tiles) != header.num_channel_groups:
            raise ValueError(
                f"{len(group_tiles)} channel groups, the header says {header.num_channel_groups}"
            )
        for g, tiles in enumerate(group_tiles):
            if len(tiles) != header.num_tiles:
                raise ValueError(
                    f"group {g} has {len(tiles)} tile streams, the header needs {header.num_tiles}"
                )
    parts = [head]
    for marker, payload in optional:
        info = syntax.find_marker(marker)
        if info is None or not info.optional:
            raise ValueError(f"0x{marker:04X} is not the marker of an optional segment")
        parts.append(encode_segment(marker, payload))
    parts.append(encode_segment(syntax.MARKER_ZS, _encode(syntax.ZS, {"hyper_data": z_stream}, {})))
    for g, tiles in enumerate(group_tiles):
        parts.append(encode_segment(syntax.MARKER_YS, latent_stream_payload(g, tiles)))
    if output_filter is not None:
        payload = output_filter_payload(output_filter)
        segment = encode_segment(syntax.MARKER_OF, payload)
        if check:  # read back with the decoder's checks (WD 7.7)
            parse_output_filter(_read_back(syntax.MARKER_OF, 0, payload, segment))
        parts.append(segment)
    parts.append(encode_segment(syntax.MARKER_EOC, _encode(syntax.EOC, {}, {})))
    return b"".join(parts)
