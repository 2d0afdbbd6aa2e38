"""Codestream layer: syntax data, parser, writer and levels (WD 5 to 7, Annex A)."""

from __future__ import annotations

import dataclasses
import tracemalloc
import zlib

import pytest

from encoder.writer import comment_segment, encode_segment, leb128, write_codestream
from refdec import levels, syntax
from refdec.codestream import (
    PictureHeader,
    Segment,
    parse_codestream,
    parse_latent_segment,
    parse_picture_header,
    read_leb128,
    split_segments,
)
from refdec.errors import (
    ChecksumError,
    DecodeError,
    HeaderError,
    LevelError,
    SegmentOrderError,
    SignatureError,
    TruncatedError,
    UnsupportedError,
)

SIG = syntax.SIGNATURE
PH_AT = len(SIG) + 3
"""Offset of the PH payload: the PH segment, whose length is one byte, always follows
the signature."""


def header(**changes: int | bytes) -> PictureHeader:
    """A valid header of a small picture: 2 x 2 tiles of 4 x 4 latent positions."""
    values: dict[str, int | bytes] = dict(
        version_major=1, version_minor=0, profile_idc=1, level_idc=1,
        width_minus1=99, height_minus1=69, bit_depth=8, colour_primaries=1,
        transfer_characteristics=13, matrix_coefficients=0, quality=2,
        tile_size_log2=2, num_channel_groups=2, hyper_step_log2=0,
        parameter_set_hash=bytes(range(8)),
    )
    values.update(changes)
    return PictureHeader(**values)  # type: ignore[arg-type]


def tiles_for(h: PictureHeader) -> list[list[bytes]]:
    """Distinct dummy tile streams (the codestream layer does not interpret them)."""
    return [
        [bytes([g, t, 0xA5]) * (1 + t % 3) for t in range(h.num_tiles)]
        for g in range(h.num_channel_groups)
    ]


def small() -> bytes:
    h = header()
    return write_codestream(h, b"ZZZZZ", tiles_for(h), [comment_segment("c")])


def with_ph_field(data: bytes, name: str, value: int) -> bytes:
    """``data`` with one PH field replaced and the PH crc fixed."""
    f = syntax.PH.field(name)
    pos = PH_AT + syntax.PH.field_offset(name)
    assert f.size is not None
    out = bytearray(data)
    out[pos : pos + f.size] = value.to_bytes(f.size, "big")
    return refresh_crc(bytes(out), len(SIG))


def refresh_crc(data: bytes, seg: int) -> bytes:
    """Recompute the crc of the segment at offset ``seg``."""
    leb = read_leb128(data, seg + 2, len(data))
    assert leb is not None
    crc_at = seg + 2 + leb[1] + leb[0]
    crc = zlib.crc32(data[seg:crc_at]).to_bytes(4, "big")
    return data[:crc_at] + crc + data[crc_at + 4 :]


def assemble(*segments: bytes) -> bytes:
    return SIG + b"".join(segments)


def pieces(data: bytes) -> list[bytes]:
    """The segments of a valid codestream, as byte strings."""
    return [data[s.offset : s.end] for s in split_segments(data)]


def payload_of(piece: bytes) -> bytes:
    """The payload of one segment of :func:`pieces`."""
    leb = read_leb128(piece, 2, len(piece))
    assert leb is not None
    return piece[2 + leb[1] : -4]


# ---- syntax data -----------------------------------------------------------------------


def test_picture_header_fields_are_the_syntax_fields() -> None:
    names = [f.name for f in dataclasses.fields(PictureHeader)]
    assert names == [f.name for f in syntax.PH.fields()] + ["payload_offset"]


def test_ph_layout() -> None:
    assert syntax.PH.fixed_size == 24
    assert syntax.PH.field_offset("width_minus1") == 4
    assert syntax.PH.field_offset("parameter_set_hash") == 16


def test_allowed_values_appear_in_semantics() -> None:
    assert "in the range 2 to 8" in syntax.PH.field("tile_size_log2").semantics
    assert "8 or 10" in syntax.PH.field("bit_depth").semantics
    assert "1, 2 or 3" in syntax.PH.field("level_idc").semantics
    for structure in syntax.STRUCTURES.values():
        for f in structure.fields():
            assert "{" not in f.semantics and f.semantics.endswith("."), f.name


def test_crc_is_crc32_iso_hdlc() -> None:
    # The catalogue check value of CRC-32/ISO-HDLC, the CRC of WD 5.2.
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_marker_table() -> None:
    assert syntax.find_marker(0xFF01).name == "PH"  # type: ignore[union-attr]
    assert syntax.find_marker(0xFF80).name == "COM"  # type: ignore[union-attr]
    assert syntax.find_marker(0xFFFE).optional  # type: ignore[union-attr]
    assert syntax.find_marker(0xFF04).name == "OF"  # type: ignore[union-attr]
    for code in (0x0000, 0xFF00, 0xFF05, 0xFF0E, 0xFF10, 0xFF7F, 0xFFFF):
        assert syntax.find_marker(code) is None
    assert (syntax.OPTIONAL_FIRST, syntax.OPTIONAL_LAST) == (0xFF80, 0xFFFE)


# ---- round trip ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        dict(width_minus1=0, height_minus1=0, num_channel_groups=1),
        dict(width_minus1=15, height_minus1=16, tile_size_log2=8, bit_depth=10),
        dict(width_minus1=1919, height_minus1=1079, tile_size_log2=4, num_channel_groups=4),
        dict(level_idc=3, width_minus1=16383, height_minus1=16383, tile_size_log2=8,
             num_channel_groups=1),
        dict(colour_primaries=9, transfer_characteristics=16, quality=255,
             num_channel_groups=255, width_minus1=31, height_minus1=31),
    ],
)
def test_round_trip(changes: dict[str, int]) -> None:
    h = header(**changes)
    tiles = tiles_for(h)
    optional = [comment_segment("OpenLIC encoder \u00e9"), (0xFF90, b"\x00\x01"), (0xFFFE, b"")]
    data = write_codestream(h, b"hyper", tiles, optional)
    p = parse_codestream(data)
    assert p.header == h
    assert p.header.payload_offset == PH_AT
    assert p.z_stream == b"hyper" and data[p.z_offset : p.z_offset + 5] == b"hyper"
    assert p.complete and p.groups_present == h.num_channel_groups
    assert [g.index for g in p.groups] == list(range(h.num_channel_groups))
    for g, group_tiles in enumerate(tiles):
        assert [p.tile_stream(g, t) for t in range(h.num_tiles)] == group_tiles
    assert [(s.marker, s.payload) for s in p.optional] == [
        (m, bytes(b)) for m, b in optional
    ]
    assert p.optional[0].payload.decode("utf-8") == "OpenLIC encoder \u00e9"
    names = [s.name for s in split_segments(data)]
    assert names == ["PH", "COM", "0xFF90", "0xFFFE", "ZS"] + ["YS"] * len(tiles) + ["EOC"]


def test_derived_sizes() -> None:
    h = header(width_minus1=1919, height_minus1=1079, tile_size_log2=4)
    assert (h.width, h.height) == (1920, 1080)
    assert (h.latent_height, h.latent_width) == (68, 120)
    assert (h.hyper_height, h.hyper_width) == (17, 30)
    assert (h.tile_size, h.tile_rows, h.tile_cols, h.num_tiles) == (16, 5, 8, 40)
    h = header(width_minus1=0, height_minus1=16, tile_size_log2=8)
    assert (h.latent_height, h.latent_width, h.hyper_height, h.hyper_width) == (2, 1, 1, 1)
    assert h.num_tiles == 1


def test_version_minor_is_ignored_by_decoders() -> None:
    h = parse_codestream(with_ph_field(small(), "version_minor", 7)).header
    assert h.version_minor == 7
    with pytest.raises(HeaderError):
        write_codestream(header(version_minor=1), b"z", tiles_for(header()))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_hyper_step_log2_0_to_2_is_read(k: int) -> None:
    header = parse_codestream(with_ph_field(small(), "hyper_step_log2", k)).header
    assert header.hyper_step_log2 == k


@pytest.mark.parametrize("k", [3, 255])
def test_hyper_step_log2_above_2_is_an_error_at_its_offset(k: int) -> None:
    data = with_ph_field(small(), "hyper_step_log2", k)
    with pytest.raises(HeaderError) as e:
        parse_codestream(data)
    assert e.value.offset == PH_AT + syntax.PH.field_offset("hyper_step_log2")
    with pytest.raises(HeaderError):
        write_codestream(header(hyper_step_log2=k), b"z", tiles_for(header()))


# ---- picture header values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("version_major", 0, UnsupportedError),
        ("version_major", 2, UnsupportedError),
        ("profile_idc", 0, UnsupportedError),
        ("profile_idc", 2, UnsupportedError),
        ("level_idc", 0, HeaderError),
        ("level_idc", 4, HeaderError),
        ("bit_depth", 7, HeaderError),
        ("bit_depth", 9, HeaderError),
        ("bit_depth", 12, HeaderError),
        ("matrix_coefficients", 1, HeaderError),
        ("tile_size_log2", 1, HeaderError),
        ("tile_size_log2", 9, HeaderError),
        ("num_channel_groups", 0, HeaderError),
        ("width_minus1", 4096, LevelError),
        ("height_minus1", 4096, LevelError),
    ],
)
def test_field_out_of_range(name: str, value: int, error: type[DecodeError]) -> None:
    data = with_ph_field(small(), name, value)
    with pytest.raises(error) as info:
        parse_codestream(data)
    assert type(info.value) is error
    assert info.value.offset == PH_AT + syntax.PH.field_offset(name)


def test_profile_error_names_annex_a() -> None:
    with pytest.raises(HeaderError) as info:
        parse_codestream(with_ph_field(small(), "matrix_coefficients", 1))
    assert info.value.clause == "A.1"


def test_unsupported_version_is_reported_before_the_payload_length() -> None:
    # A later major version may have a longer PH: its version is what is reported.
    data = with_ph_field(small(), "version_major", 2)
    seg = split_segments(small())[0]
    longer = data[seg.offset : seg.offset + 2] + bytes([25]) + data[
        seg.payload_offset : seg.payload_offset + 24] + b"\x00"
    longer += zlib.crc32(longer).to_bytes(4, "big")
    with pytest.raises(UnsupportedError):
        parse_codestream(SIG + longer + data[seg.end :])


@pytest.mark.parametrize(("length", "where"), [(0, 0), (1, 1), (23, 16), (25, 24)])
def test_ph_length(length: int, where: int) -> None:
    payload = (small()[PH_AT : PH_AT + 24] + bytes(2))[:length]
    ph = encode_segment(syntax.MARKER_PH, payload)
    with pytest.raises(HeaderError) as info:
        parse_codestream(SIG + ph + b"".join(pieces(small())[1:]))
    assert info.value.offset == PH_AT + where  # the field that does not fit, or the excess


def test_parameter_set_checks() -> None:
    class Sizes:
        num_qualities = 3
        m = 8
        context_groups = 1

    parse_codestream(small()).check_against(Sizes())
    with pytest.raises(HeaderError) as info:
        parse_codestream(with_ph_field(small(), "quality", 3)).check_against(Sizes())
    assert info.value.offset == PH_AT + syntax.PH.field_offset("quality")
    h = header(num_channel_groups=3)
    with pytest.raises(HeaderError) as info:
        parse_codestream(write_codestream(h, b"z", tiles_for(h))).check_against(Sizes())
    assert info.value.offset == PH_AT + syntax.PH.field_offset("num_channel_groups")


def test_context_groups_fix_the_channel_groups() -> None:
    """R-GROUPS-CONTEXT (WD 7.2): with context networks, G must be G_C."""

    class Sizes:
        num_qualities = 3
        m = 8
        context_groups = 4

    h = header(num_channel_groups=4)
    parse_codestream(write_codestream(h, b"z", tiles_for(h))).check_against(Sizes())
    h = header(num_channel_groups=2)  # divides M, but is not G_C
    with pytest.raises(HeaderError, match="context groups") as info:
        parse_codestream(write_codestream(h, b"z", tiles_for(h))).check_against(Sizes())
    assert info.value.offset == PH_AT + syntax.PH.field_offset("num_channel_groups")


# ---- levels ----------------------------------------------------------------------------


def test_huge_picture_fails_the_level_before_anything_is_read() -> None:
    h = header(width_minus1=65534, height_minus1=65534)
    data = write_codestream(h, b"", [], check=False)
    ph_only = data[: PH_AT + 24 + 4]  # no ZS, YS or EOC: reading on would be truncation
    tracemalloc.start()
    try:
        with pytest.raises(LevelError) as info:
            parse_codestream(ph_only)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.offset == PH_AT + syntax.PH.field_offset("width_minus1")
    assert peak < 1 << 20


def test_level_limits() -> None:
    assert levels.smallest_level(4096, 1024) == 1
    assert levels.smallest_level(4096, 1025) == 2
    assert levels.smallest_level(1, 8192) == 2
    assert levels.smallest_level(8192, 8193) == 3
    assert levels.smallest_level(16384, 16384) == 3
    with pytest.raises(ValueError):
        levels.smallest_level(16385, 1)
    # Samples limit: 2048 x 2049 exceeds level 1 though each side is within it.
    data = with_ph_field(with_ph_field(small(), "width_minus1", 2047), "height_minus1", 2048)
    with pytest.raises(LevelError) as info:
        parse_codestream(data)
    assert info.value.offset == PH_AT + syntax.PH.field_offset("width_minus1")


@pytest.mark.parametrize("idc", sorted(levels.LEVELS))
def test_max_tiles_admits_every_picture_of_the_level(idc: int) -> None:
    lv = levels.LEVELS[idc]
    worst = 0
    for h in range(1, lv.max_height + 1):
        w = min(lv.max_width, lv.max_samples // h)
        # Smallest tiles (4 x 4 latent positions = 64 x 64 samples) give the most tiles.
        worst = max(worst, -(-h // 64) * -(-w // 64))
    assert worst <= lv.max_tiles


def test_tile_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # A level of 4096 samples allows 4 tiles; a 256 x 1 picture has 4 and 512 x 1 has 8.
    monkeypatch.setitem(levels.LEVELS, 1, levels.Level(1, 4096, 4096, 4096))
    h = header(width_minus1=255, height_minus1=0)
    parse_codestream(write_codestream(h, b"z", tiles_for(h)))
    h = header(width_minus1=511, height_minus1=0)
    with pytest.raises(LevelError) as info:
        parse_codestream(write_codestream(h, b"z", tiles_for(h), check=False))
    assert info.value.offset == PH_AT + syntax.PH.field_offset("tile_size_log2")


# ---- framing, truncation, corruption ---------------------------------------------------


def test_truncation_at_every_byte() -> None:
    data = small()
    segs = split_segments(data)
    zs_end = next(s.end for s in segs if s.marker == syntax.MARKER_ZS)
    for n in range(len(data)):
        with pytest.raises(TruncatedError):
            parse_codestream(data[:n])
        if n < zs_end:
            with pytest.raises(TruncatedError):
                parse_codestream(data, max_bytes=n)
            continue
        p = parse_codestream(data, max_bytes=n)
        complete_ys = [s for s in segs if s.marker == syntax.MARKER_YS and s.end <= n]
        assert p.groups_present == len(complete_ys) and not p.complete
        assert p.header == header() and p.z_stream == b"ZZZZZ"
        assert split_segments(data[:n], allow_prefix=True) == [s for s in segs if s.end <= n]
    assert parse_codestream(data, max_bytes=len(data)).complete
    assert parse_codestream(data, max_bytes=len(data) + 10).complete


def test_every_bit_flip_is_detected() -> None:
    data = small()
    for i in range(len(data) * 8):
        bad = bytearray(data)
        bad[i // 8] ^= 0x80 >> (i % 8)
        with pytest.raises(DecodeError):
            parse_codestream(bytes(bad))
        try:  # a prefix may drop a segment whose length was hit, but only DecodeError
            parse_codestream(bytes(bad), max_bytes=len(data))
        except DecodeError:
            pass


def test_signature() -> None:
    data = small()
    for i in range(len(SIG)):
        bad = bytearray(data)
        bad[i] ^= 1
        with pytest.raises(SignatureError) as info:
            parse_codestream(bytes(bad))
        assert info.value.offset == i
        with pytest.raises(SignatureError):
            parse_codestream(bytes(bad[: i + 1]))
    with pytest.raises(SignatureError):
        parse_codestream(b"\x89PNG\r\n\x1a\n" + data[8:])


def test_checksum_offset() -> None:
    data = bytearray(small())
    seg = split_segments(bytes(data))[2]  # ZS
    data[seg.payload_offset] ^= 0x10
    with pytest.raises(ChecksumError) as info:
        parse_codestream(bytes(data))
    assert info.value.offset == seg.end - 4


# ---- segment order ---------------------------------------------------------------------


def test_segment_order() -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    cases = {
        "duplicate PH": assemble(ph, ph, zs, ys0, ys1, eoc),
        "duplicate ZS": assemble(ph, zs, zs, ys0, ys1, eoc),
        "duplicate YS": assemble(ph, zs, ys0, ys0, ys1, eoc),
        "extra YS": assemble(ph, zs, ys0, ys1, ys1, eoc),
        "reordered YS": assemble(ph, zs, ys1, ys0, eoc),
        "YS before ZS": assemble(ph, ys0, zs, ys1, eoc),
        "ZS first": assemble(zs, ph, ys0, ys1, eoc),
        "optional before PH": assemble(com, ph, zs, ys0, ys1, eoc),
        "missing ZS": assemble(ph, ys0, ys1, eoc),
        "missing PH": assemble(zs, ys0, ys1, eoc),
        "missing YS": assemble(ph, zs, ys0, eoc),
        "no YS": assemble(ph, zs, eoc),
        "EOC first": assemble(eoc, ph, zs, ys0, ys1),
        "data after EOC": assemble(ph, zs, ys0, ys1, eoc, b"\x00"),
        "segment after EOC": assemble(ph, zs, ys0, ys1, eoc, com),
        "EOC with payload": assemble(ph, zs, ys0, ys1, encode_segment(syntax.MARKER_EOC, b"x")),
    }
    for what, data in cases.items():
        with pytest.raises(SegmentOrderError):
            parse_codestream(data)
        # A prefix may omit the tail, but not reorder or repeat what it holds.
        if what != "data after EOC":
            with pytest.raises(SegmentOrderError):
                parse_codestream(data[: len(data) - 1], max_bytes=len(data))
    # Optional segments may sit anywhere between PH and EOC.
    parse_codestream(assemble(ph, zs, com, ys0, com, ys1, com, eoc))


def test_missing_groups_are_a_valid_prefix() -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    p = parse_codestream(assemble(ph, zs, ys0), max_bytes=1 << 20)
    assert (p.groups_present, p.complete, p.optional) == (1, False, ())
    with pytest.raises(TruncatedError):
        parse_codestream(assemble(ph, zs, ys0))


def test_unknown_optional_segment_is_skipped() -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    odd = encode_segment(0xFFAB, bytes(range(200)))
    p = parse_codestream(assemble(ph, odd, zs, ys0, odd, ys1, eoc))
    assert [s.marker for s in p.optional] == [0xFFAB, 0xFFAB]
    assert p.groups_present == 2


@pytest.mark.parametrize("marker", [0x0000, 0x1234, 0xFF00, 0xFF04, 0xFF0E, 0xFF7F, 0xFFFF])
def test_reserved_marker(marker: int) -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    data = assemble(ph, zs, encode_segment(marker, b"abc"), ys0, ys1, eoc)
    with pytest.raises(SegmentOrderError) as info:
        parse_codestream(data)
    assert info.value.offset == len(SIG) + len(ph) + len(zs)


# ---- latent segments -------------------------------------------------------------------


def test_latent_segment_extents() -> None:
    data = small()
    seg = split_segments(data)[3]
    group, tiles = parse_latent_segment(seg, parse_codestream(data).header, expected_group=0)
    assert group == 0
    # group_index and four one-byte tile_size fields precede the streams.
    assert tiles[0] == (seg.payload_offset + 1 + 4, 3)
    assert sum(n for _, n in tiles) == seg.length - 1 - 4
    with pytest.raises(SegmentOrderError):
        parse_latent_segment(seg, parse_codestream(data).header, expected_group=1)


@pytest.mark.parametrize("delta", [-1, 1])
def test_tile_sizes_must_fill_the_payload(delta: int) -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    payload = bytearray(payload_of(ys1))
    last = 1 + 3  # tile_size[3], one byte
    payload[last] += delta
    data = assemble(ph, zs, ys0, encode_segment(syntax.MARKER_YS, bytes(payload)), eoc)
    with pytest.raises(HeaderError) as info:
        parse_codestream(data)
    assert info.value.clause == "7.4"


@pytest.mark.parametrize("length", [0, 1, 4])
def test_latent_segment_too_short_for_its_head(length: int) -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    short = encode_segment(syntax.MARKER_YS, payload_of(ys0)[:length])
    with pytest.raises(HeaderError):
        parse_codestream(assemble(ph, zs, short, ys1, eoc))


def test_huge_tile_size_is_not_trusted() -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    payload = bytearray(payload_of(ys0))
    payload[1:2] = leb128(0xFFFFFFFF)
    with pytest.raises(HeaderError):
        parse_codestream(assemble(ph, zs, encode_segment(syntax.MARKER_YS, bytes(payload)),
                                  ys1, eoc))


def test_group_index_beyond_the_groups() -> None:
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    payload = bytearray(payload_of(ys0))
    payload[0] = 5
    with pytest.raises(SegmentOrderError):
        parse_codestream(assemble(ph, zs, encode_segment(syntax.MARKER_YS, bytes(payload)),
                                  ys1, eoc))


# ---- writer ----------------------------------------------------------------------------


def test_writer_checks() -> None:
    h = header()
    tiles = tiles_for(h)
    with pytest.raises(ValueError):
        write_codestream(h, b"z", tiles[:1])
    with pytest.raises(ValueError):
        write_codestream(h, b"z", [tiles[0], tiles[1][:-1]])
    with pytest.raises(ValueError):
        write_codestream(h, b"z", tiles, [(syntax.MARKER_ZS, b"")])
    with pytest.raises(ValueError):
        write_codestream(header(width_minus1=70000), b"z", tiles, check=False)
    with pytest.raises(ValueError):
        write_codestream(header(parameter_set_hash=bytes(32)), b"z", tiles, check=False)
    with pytest.raises(LevelError) as info:
        write_codestream(header(width_minus1=5000), b"z", tiles)
    assert info.value.offset == PH_AT + syntax.PH.field_offset("width_minus1")
    # check=False writes what it is given, for conformance tests of decoders.
    bad = write_codestream(h, b"z", tiles[:1], check=False)
    with pytest.raises(SegmentOrderError):
        parse_codestream(bad)


def test_comment_segment() -> None:
    assert comment_segment("\u00e9") == (0xFF80, b"\xc3\xa9")


def test_parse_functions_reject_other_segments() -> None:
    data = small()
    ph, _, zs = split_segments(data)[:3]
    with pytest.raises(ValueError):
        parse_picture_header(zs)
    with pytest.raises(ValueError):
        parse_latent_segment(ph, parse_picture_header(ph))
    assert parse_picture_header(Segment(ph.marker, ph.offset, ph.length, data)) == header()


# ---- leb128() (WD 4.4) -----------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16383, 16384, 2**21, 2**28 - 1, 2**32 - 1])
def test_leb128_round_trip(value: int) -> None:
    data = leb128(value)
    assert len(data) == max(1, -(-value.bit_length() // 7))  # the fewest bytes
    assert read_leb128(data + b"\xff", 0, len(data) + 1) == (value, len(data))
    assert read_leb128(data, 0, len(data) - 1) is None  # ends before its last byte


def test_leb128_may_have_more_bytes_than_it_needs() -> None:
    assert read_leb128(b"\x80\x00", 0, 2) == (0, 2)
    assert read_leb128(b"\x85\x80\x80\x80\x00", 0, 5) == (5, 5)


@pytest.mark.parametrize("fifth", [0x10, 0x7F, 0x80, 0xFF])
def test_leb128_fifth_byte_limits_the_element(fifth: int) -> None:
    data = b"\x80" * 4 + bytes([fifth]) + b"\x00"
    with pytest.raises(HeaderError) as info:
        read_leb128(b"xx" + data, 2, len(data) + 2)
    assert (info.value.clause, info.value.offset) == ("4.4", 6)


def test_leb128_writer_range() -> None:
    with pytest.raises(ValueError):
        leb128(2**32)
    with pytest.raises(ValueError):
        leb128(-1)


def test_segment_length_with_more_bytes_than_it_needs() -> None:
    """A padded segment length (WD 4.4, 5.2) is read with its crc over the bytes as
    written, and moves the payload."""
    ph, com, zs, ys0, ys1, eoc = pieces(small())
    payload = payload_of(zs)
    body = zs[:2] + bytes([0x80 | len(payload)]) + b"\x80\x80\x80\x00" + payload
    padded = body + zlib.crc32(body).to_bytes(4, "big")
    parsed = parse_codestream(assemble(ph, com, padded, ys0, ys1, eoc))
    assert parsed.z_stream == payload
    assert parsed.z_offset == len(SIG) + len(ph) + len(com) + 2 + 5


def test_structure_overhead_quoted_in_clause_5() -> None:
    """The note of WD 5: 84 bytes of structure for a 768 x 512 picture with 2 groups of
    2 tiles and a one-class OF segment (stream sizes of a Kodak file at 0.06 bpp)."""
    from pathlib import Path

    from refdec.codestream import OutputFilter

    h = header(width_minus1=767, height_minus1=511, tile_size_log2=5)
    assert h.num_tiles == 2
    tiles = [[bytes(1814), bytes(646)], [bytes(5), bytes(4)]]
    of = OutputFilter(7, (), (((0,) * 8,) * 3,))
    data = write_codestream(h, bytes(373), tiles, output_filter=of)
    coded = 373 + sum(len(t) for g in tiles for t in g) + 2 + 24  # OF: 2 fields, 24 taps
    assert len(data) - coded == 84
    wd = Path(__file__).parents[1] / "spec" / "05-codestream.rst"
    assert "take\n   84 bytes" in wd.read_text()
