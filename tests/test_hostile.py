"""Hostile input: the decoder raises only DecodeError, and the right one (WD 5 to 8).

Pinned here, on real codestreams of the tiny model decoded end to end (not just
parsed): truncation at every byte and a flip of every bit give specific errors at the
right offsets; duplicated, reordered and missing segments; a wrong parameter-set hash;
unknown versions and profiles; a picture beyond its level refused before anything is
allocated; a corrupt tile stream named by its tile. A hypothesis strategy,
:func:`codestreams`, generates syntax-valid codestreams (valid framing and CRCs, random
field values and entropy payloads) for structure-aware testing, and every input the
fuzzers of fuzz/ found (tests/regressions/, see docs/robustness.rst) is replayed.
"""

from __future__ import annotations

import hashlib
import json
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refdec
from encoder.pipeline import encode_detailed
from encoder.writer import (
    comment_segment,
    encode_segment,
    latent_stream_payload,
    write_codestream,
)
from refdec import syntax
from refdec.codestream import (
    PictureHeader,
    Segment,
    parse_codestream,
    read_leb128,
    split_segments,
)
from refdec.errors import (
    ChecksumError,
    DecodeError,
    EntropyError,
    HeaderError,
    LevelError,
    ParameterSetError,
    SegmentOrderError,
    SignatureError,
    TruncatedError,
    UnsupportedError,
)
from refdec.params import parameter_set_id, shipped_parameter_sets

SIG = syntax.SIGNATURE
PH_AT = len(SIG) + 3
"""Offset of the PH payload: the PH segment, whose length is one byte, always follows
the signature."""
REGRESSIONS = Path(__file__).parent / "regressions"


def ph_offset(name: str) -> int:
    return PH_AT + syntax.PH.field_offset(name)


def refresh_crc(data: bytes | bytearray, seg: int) -> bytes:
    """``data`` with the CRC of the segment at offset ``seg`` recomputed (WD 5.2)."""
    leb = read_leb128(bytes(data), seg + 2, len(data))
    assert leb is not None
    crc_at = seg + 2 + leb[1] + leb[0]
    return (
        bytes(data[:crc_at])
        + zlib.crc32(data[seg:crc_at]).to_bytes(4, "big")
        + bytes(data[crc_at + 4 :])
    )


def with_ph_field(data: bytes, name: str, value: int | bytes) -> bytes:
    """``data`` with one picture header field replaced and the PH CRC fixed."""
    f = syntax.PH.field(name)
    out = bytearray(data)
    raw = value if isinstance(value, bytes) else value.to_bytes(f.size or 0, "big")
    out[ph_offset(name) : ph_offset(name) + len(raw)] = raw
    return refresh_crc(out, len(SIG))


def pieces(data: bytes) -> list[bytes]:
    return [data[s.offset : s.end] for s in split_segments(data)]


def smooth_picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (np.sin(xx / 5.0)[..., None] + np.cos(yy / 7.0)[..., None] + 2) / 4
    return np.clip((base + 0.1 * rng.standard_normal((h, w, 3))) * 255, 0, 255).astype(np.uint8)


def decode_error(data: bytes, path: Path, **kwargs) -> DecodeError:
    """The DecodeError of decoding ``data`` end to end (fails if it decodes)."""
    with pytest.raises(DecodeError) as info:
        refdec.decode(data, params_path=path, **kwargs)
    return info.value


@pytest.fixture(scope="module")
def real(tiny_codec) -> tuple[bytes, Path]:
    """A real codestream under 300 bytes: 72 x 72 samples, 2 channel groups of 2 x 2
    tiles (5 x 5 latent positions, tiles of 4), and the tiny model's parameter file."""
    codec, path = tiny_codec
    data = encode_detailed(
        smooth_picture(72, 72), quality=255, codec=codec, tile_size_log2=2, channel_groups=2
    ).data
    h = parse_codestream(data).header
    assert len(data) < 300 and h.num_tiles == 4 and h.num_channel_groups == 2
    return data, path


# ---- the strategy ----------------------------------------------------------------------

U8 = st.integers(0, 255)


@st.composite
def codestreams(draw: st.DrawFn, hashes: tuple[bytes, ...] = ()) -> bytes:
    """Syntax-valid codestreams: signature, PH, optional segments, ZS, YS, EOC framed as
    WD 5.2 requires with correct CRCs, but random field values (mostly allowed, one in
    sixteen anything the descriptor holds), random entropy payloads, sometimes a wrong
    number of groups or tiles, and sometimes a segment dropped, repeated or moved.

    ``hashes`` are parameter-set hashes to name (besides random ones), so that some
    codestreams get past Annex C into the entropy decoder.
    """

    def pick(allowed: st.SearchStrategy[int], anything: st.SearchStrategy[int] = U8) -> int:
        return draw(anything) if draw(st.integers(0, 15)) == 0 else draw(allowed)

    size = st.one_of(st.integers(0, 95), st.sampled_from([4095, 4096, 8191, 16383, 65535]))
    header = PictureHeader(
        version_major=pick(st.just(1)),
        version_minor=pick(st.just(0)),
        profile_idc=pick(st.just(1)),
        level_idc=pick(st.sampled_from([1, 2, 3])),
        width_minus1=pick(st.integers(0, 95), size),
        height_minus1=pick(st.integers(0, 95), size),
        bit_depth=pick(st.sampled_from([8, 10])),
        colour_primaries=draw(U8),
        transfer_characteristics=draw(U8),
        matrix_coefficients=pick(st.just(0)),
        quality=draw(U8),
        tile_size_log2=pick(st.integers(2, 8)),
        num_channel_groups=pick(st.sampled_from([1, 2, 4, 8])),
        hyper_step_log2=pick(st.integers(0, 2)),
        parameter_set_hash=draw(
            st.sampled_from(hashes)
            if hashes and draw(st.booleans())
            else st.binary(min_size=8, max_size=8)
        ),
    )
    # Counts as the header asks, when that is small; otherwise (or one time in eight)
    # a few, so that the parser finds a mismatch.
    n_tiles = header.num_tiles
    if n_tiles > 16 or draw(st.integers(0, 7)) == 0:
        n_tiles = draw(st.integers(0, 3))
    n_groups = header.num_channel_groups
    if n_groups > 8 or draw(st.integers(0, 7)) == 0:
        n_groups = draw(st.integers(0, 3))
    tiles = [[draw(st.binary(max_size=24)) for _ in range(n_tiles)] for _ in range(n_groups)]
    optional = draw(
        st.lists(
            st.tuples(
                st.sampled_from([syntax.MARKER_COM, 0xFF81, 0xFFAB, 0xFFFE]), st.binary(max_size=12)
            ),
            max_size=2,
        )
    )
    data = write_codestream(header, draw(st.binary(max_size=40)), tiles, optional, check=False)
    # Segment-level damage, keeping every frame and CRC valid.
    segs = [data[s.offset : s.end] for s in _frames(data)]
    op = draw(st.sampled_from(["none"] * 5 + ["drop", "repeat", "move"]))
    if op != "none" and segs:
        i = draw(st.integers(0, len(segs) - 1))
        j = draw(st.integers(0, len(segs) - 1))
        if op == "drop":
            del segs[i]
        elif op == "repeat":
            segs.insert(j, segs[i])
        else:
            segs.insert(j, segs.pop(i))
    return SIG + b"".join(segs)


def _frames(data: bytes) -> list[Segment]:
    """The segment frames of a codestream the writer made, whatever their order rules."""
    out, pos = [], len(SIG)
    while pos < len(data):
        leb = read_leb128(data, pos + 2, len(data))
        assert leb is not None
        length, size = leb
        out.append(Segment(int.from_bytes(data[pos : pos + 2], "big"), pos, length, data, size))
        pos += 2 + size + length + 4
    return out


def test_strategy_makes_syntax_valid_codestreams() -> None:
    # Every frame of every generated codestream has a correct CRC, and many parse.
    parsed = 0

    @given(codestreams())
    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    def check(data: bytes) -> None:
        nonlocal parsed
        for s in _frames(data):
            crc = int.from_bytes(data[s.end - 4 : s.end], "big")
            assert crc == zlib.crc32(data[s.offset : s.end - 4])
        try:
            parse_codestream(data)
            parsed += 1
        except (SegmentOrderError, HeaderError, LevelError, UnsupportedError, TruncatedError):
            pass

    check()
    assert parsed >= 5


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_codestreams_raise_only_decode_errors(tiny_codec, data) -> None:
    _, path = tiny_codec
    hashes = (parameter_set_id(path.read_bytes()), *(h[:8] for h in shipped_parameter_sets()))
    stream = data.draw(codestreams(hashes=hashes), label="codestream")
    cut = data.draw(st.integers(0, len(stream)), label="max_bytes")
    for call in (
        lambda: refdec.info(stream),
        lambda: refdec.decode(stream, params_path=path),
        lambda: refdec.decode(stream, max_bytes=cut, params_path=path),
    ):
        try:
            result = call()
        except DecodeError as e:
            assert e.clause and str(e).startswith(type(e).__name__)
            continue
        if isinstance(result, refdec.Picture):
            h = result.header
            assert result.samples.shape == (h.height, h.width, 3)


# ---- truncation and bit flips of a real codestream --------------------------------------


def test_real_codestream_decodes(real) -> None:
    data, path = real
    picture = refdec.decode(data, params_path=path)
    assert picture.samples.shape == (72, 72, 3) and picture.groups_decoded == 2


def test_truncation_at_every_byte(real) -> None:
    data, path = real
    segs = split_segments(data)
    for n in range(len(data)):
        e = decode_error(data[:n], path)
        assert type(e) is TruncatedError, (n, e)
        # The offset is that of the segment (or signature) the codestream ends in.
        want = 0 if n < len(SIG) else max(s.offset for s in segs if s.offset <= n)
        assert e.offset == want, (n, e)


def test_prefixes_decode_the_complete_groups(real) -> None:
    data, path = real
    segs = split_segments(data)
    zs, ys0, ys1, eoc = segs[1:]
    full = refdec.decode(data, params_path=path).samples
    for n in range(zs.end):
        assert type(decode_error(data, path, max_bytes=n)) is TruncatedError, n
    pictures = {}
    for n, groups in [
        (zs.end, 0),
        (ys0.end - 1, 0),
        (ys0.end, 1),
        (ys1.end - 1, 1),
        (ys1.end, 2),
        (len(data) - 1, 2),
        (len(data), 2),
    ]:
        p = refdec.decode(data, max_bytes=n, params_path=path)
        assert p.groups_decoded == groups, n
        pictures.setdefault(groups, p.samples)
        assert np.array_equal(p.samples, pictures[groups]), n
    assert np.array_equal(pictures[2], full)
    assert not np.array_equal(pictures[0], full)


def test_every_bit_flip_gives_a_specific_error(real) -> None:
    data, path = real
    segs = split_segments(data)
    for bit in range(8 * len(data)):
        i = bit // 8
        bad = bytearray(data)
        bad[i] ^= 0x80 >> (bit % 8)
        e = decode_error(bytes(bad), path)
        if i < len(SIG):
            assert type(e) is SignatureError and e.offset == i, (bit, e)
            continue
        seg = next(s for s in segs if s.offset <= i < s.end)
        crc_at = seg.end - 4
        if i >= seg.payload_offset:  # payload or crc: the checksum catches it
            assert type(e) is ChecksumError and e.offset == crc_at, (bit, e)
        elif i < seg.offset + 2:  # marker: reserved or out of order, else the checksum
            assert type(e) in (SegmentOrderError, ChecksumError), (bit, e)
            assert e.offset in (seg.offset, crc_at), (bit, e)
        else:  # length, a leb128() (WD 4.4) that the flip can also lengthen or shorten
            leb = read_leb128(bytes(bad), seg.offset + 2, len(bad))
            assert leb is not None, bit  # 5 bytes follow every length here
            length, size = leb
            crc_at = seg.offset + 2 + size + length
            if seg.marker == syntax.MARKER_EOC and length:
                assert type(e) is SegmentOrderError and e.offset == seg.offset + 2, (bit, e)
            elif crc_at + 4 > len(data):
                assert type(e) is TruncatedError and e.offset == seg.offset, (bit, e)
            else:
                assert type(e) is ChecksumError and e.offset == crc_at, (bit, e)


def test_info_agrees_with_decode_on_damage(real) -> None:
    data, _ = real
    for n in range(0, len(data), 7):
        with pytest.raises(TruncatedError):
            refdec.info(data[:n])
    for bit in range(0, 8 * len(data), 13):
        bad = bytearray(data)
        bad[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(DecodeError):
            refdec.info(bytes(bad))


# ---- segments ----------------------------------------------------------------------------


def test_duplicated_reordered_and_missing_segments(real) -> None:
    data, path = real
    ph, zs, ys0, ys1, eoc = pieces(data)
    com = encode_segment(*comment_segment("hostile"))
    cases = {  # what: (segments, index of the segment the error lies in)
        "duplicate PH": ([ph, ph, zs, ys0, ys1, eoc], 1),
        "duplicate ZS": ([ph, zs, zs, ys0, ys1, eoc], 2),
        "duplicate YS": ([ph, zs, ys0, ys0, ys1, eoc], 3),
        "extra YS": ([ph, zs, ys0, ys1, ys1, eoc], 4),
        "reordered YS": ([ph, zs, ys1, ys0, eoc], 2),
        "YS before ZS": ([ph, ys0, zs, ys1, eoc], 1),
        "ZS before PH": ([zs, ph, ys0, ys1, eoc], 0),
        "COM before PH": ([com, ph, zs, ys0, ys1, eoc], 0),
        "EOC first": ([eoc, ph, zs, ys0, ys1], 0),
        "missing PH": ([zs, ys0, ys1, eoc], 0),
        "missing ZS": ([ph, ys0, ys1, eoc], 1),
        "missing first YS": ([ph, zs, ys1, eoc], 2),
        "missing last YS": ([ph, zs, ys0, eoc], 3),
        "no YS": ([ph, zs, eoc], 2),
        "segment after EOC": ([ph, zs, ys0, ys1, eoc, com], 5),
    }
    for what, (segs, bad) in cases.items():
        stream = SIG + b"".join(segs)
        start = len(SIG) + sum(len(s) for s in segs[:bad])
        for kwargs in ({}, {"max_bytes": len(stream)}):
            e = decode_error(stream, path, **kwargs)
            assert type(e) is SegmentOrderError, (what, e)
            assert start <= e.offset < start + len(segs[bad]), (what, e)
    # Missing EOC: truncated, but a valid prefix of all groups.
    e = decode_error(SIG + ph + zs + ys0 + ys1, path)
    assert type(e) is TruncatedError and e.offset == len(data) - len(eoc)
    p = refdec.decode(SIG + ph + zs + ys0 + ys1, max_bytes=len(data), params_path=path)
    assert np.array_equal(p.samples, refdec.decode(data, params_path=path).samples)
    # Optional segments anywhere between PH and EOC are skipped.
    moved = SIG + ph + com + zs + com + ys0 + com + ys1 + com + eoc
    assert np.array_equal(
        refdec.decode(moved, params_path=path).samples,
        refdec.decode(data, params_path=path).samples,
    )


# ---- parameter set, version, profile ------------------------------------------------------


def test_wrong_parameter_set_hash(real, tmp_path) -> None:
    data, path = real
    for digest in (bytes(8), hashlib.sha256(b"other").digest()[:8], bytes(range(8))):
        e = decode_error(with_ph_field(data, "parameter_set_hash", digest), path)
        assert type(e) is ParameterSetError and e.clause == "C.1", e
    # A parameter file given by the user is used only if it is the one named.
    other = tmp_path / "other.olp"
    other.write_bytes(path.read_bytes() + b"\x00")
    e = decode_error(data, other)
    assert type(e) is ParameterSetError
    # info() does not need the parameter set: it reports it as unknown.
    described = refdec.info(with_ph_field(data, "parameter_set_hash", bytes(8)))
    assert described["parameter_set"] is None


def test_wrong_parameter_set_hash_names_the_field(real) -> None:
    data, path = real
    e = decode_error(with_ph_field(data, "parameter_set_hash", bytes(8)), path)
    assert e.offset == ph_offset("parameter_set_hash")


def test_unknown_version_and_profile(real) -> None:
    data, path = real
    for name, good in (("version_major", 1), ("profile_idc", 1)):
        for value in range(256):
            if value == good:
                continue
            bad = with_ph_field(data, name, value)
            e = decode_error(bad, path)
            assert type(e) is UnsupportedError and e.offset == ph_offset(name), (name, value, e)
            assert e.clause == "7.2"
            with pytest.raises(UnsupportedError):
                refdec.info(bad)
    # The field decoders ignore (WD 7.2) does not stop decoding.
    ignored = with_ph_field(data, "version_minor", 9)
    assert np.array_equal(
        refdec.decode(ignored, params_path=path).samples,
        refdec.decode(data, params_path=path).samples,
    )


# ---- levels: refused before allocation, time bounded by the declared size -----------------


def huge_header(level: int, w: int, h: int, tile_log2: int = 8, psh: bytes = bytes(8)):
    return PictureHeader(
        version_major=1,
        version_minor=0,
        profile_idc=1,
        level_idc=level,
        width_minus1=w - 1,
        height_minus1=h - 1,
        bit_depth=8,
        colour_primaries=1,
        transfer_characteristics=13,
        matrix_coefficients=0,
        quality=0,
        tile_size_log2=tile_log2,
        num_channel_groups=1,
        hyper_step_log2=0,
        parameter_set_hash=psh,
    )


@pytest.mark.parametrize("level", [1, 2, 3])
def test_65535_square_is_refused_before_any_allocation(real, level: int) -> None:
    _, path = real
    psh = parameter_set_id(path.read_bytes())
    # A complete codestream (ZS, one YS with one tile, EOC) naming the tiny model.
    data = write_codestream(
        huge_header(level, 65535, 65535, psh=psh), b"\x00\x80\x00\x00", [[b"\x00"]], check=False
    )
    refdec.decode(real[0], params_path=path)  # warm every cache before measuring
    for call in (
        lambda: refdec.decode(data, params_path=path),
        lambda: refdec.decode(data, max_bytes=len(data), params_path=path),
        lambda: refdec.info(data),
    ):
        tracemalloc.start()
        try:
            with pytest.raises(LevelError) as info:
                call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.offset == ph_offset("width_minus1")
        assert peak < 64 << 10, peak  # a 65535 x 65535 x 3 picture would be 12 GiB


def test_largest_level_1_picture_with_garbage_fails_fast_and_small(real) -> None:
    data, path = real
    psh = parameter_set_id(path.read_bytes())
    refdec.decode(data, params_path=path)  # compile and cache before measuring
    for w, h, t in ((4096, 1024, 8), (2048, 2048, 8), (4096, 1024, 2)):
        hdr = huge_header(1, w, h, tile_log2=t, psh=psh)
        tiles = [[bytes([1, 2, 3]) for _ in range(hdr.num_tiles)]]
        stream = write_codestream(hdr, np.random.default_rng(0).bytes(16), tiles)
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            e = decode_error(stream, path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # The hyper-latent stream fails long before the latent or the picture is made.
        assert type(e) is EntropyError and e.tile is None, e
        assert peak < 4 << 20, peak
        assert time.perf_counter() - t0 < 5


# ---- corrupt tiles --------------------------------------------------------------------------


def replace_tile(data: bytes, group: int, tile: int, new: bytes) -> tuple[bytes, int]:
    """``data`` with one tile stream replaced (tile_size and CRC updated) and the
    absolute offset of the new tile stream."""
    p = parse_codestream(data)
    ys = [s for s in split_segments(data) if s.marker == syntax.MARKER_YS][group]
    tiles = [p.tile_stream(group, t) for t in range(p.header.num_tiles)]
    tiles[tile] = new
    payload = latent_stream_payload(group, tiles)
    seg = encode_segment(syntax.MARKER_YS, payload)
    out = data[: ys.offset] + seg + data[ys.end :]
    # The streams end the payload: tile ``tile`` starts where the later ones leave off.
    end = split_segments(out, allow_prefix=True)[2 + group].payload_offset + len(payload)
    return out, end - sum(len(t) for t in tiles[tile:])


@pytest.mark.parametrize("group", [0, 1])
@pytest.mark.parametrize("tile", [0, 1, 2, 3])
def test_corrupt_tile_is_named(real, group: int, tile: int) -> None:
    data, path = real
    rng = np.random.default_rng(100 * group + tile)
    old = parse_codestream(data).tile_stream(group, tile)
    for new in (rng.bytes(len(old)), rng.bytes(len(old) + 5), rng.bytes(3), b""):
        bad, start = replace_tile(data, group, tile, new)
        e = decode_error(bad, path)
        assert type(e) is EntropyError and e.tile == tile, e
        assert start <= e.offset <= start + len(new), e
        assert f"in tile {tile}" in str(e)


def test_the_first_corrupt_tile_is_named_whatever_follows(real) -> None:
    data, path = real
    bad, _ = replace_tile(data, 1, 1, b"\xff" * 9)
    bad, start = replace_tile(bad, 0, 2, b"\x00" * 9)
    e = decode_error(bad, path)
    assert type(e) is EntropyError and e.tile == 2 and start <= e.offset <= start + 9
    # Only the corrupt group is affected: a prefix without it decodes.
    bad1, _ = replace_tile(data, 1, 3, b"\x00\x80\x00\x00")
    ys0_end = split_segments(bad1)[2].end
    assert refdec.decode(bad1, max_bytes=ys0_end, params_path=path).groups_decoded == 1
    e = decode_error(bad1, path)
    assert type(e) is EntropyError and e.tile == 3


def test_corrupt_tile_error_names_the_channel_group(real) -> None:
    data, path = real
    bad, _ = replace_tile(data, 1, 2, b"\x00" * 9)
    e = decode_error(bad, path)
    assert type(e) is EntropyError and e.tile == 2
    assert "group 1" in str(e)


def test_corrupt_hyper_stream(real) -> None:
    data, path = real
    zs = split_segments(data)[1]
    for new in (b"\xff\xff\xff\xff" + data[zs.payload_offset + 4 : zs.end - 4], b"\x00" * 3):
        bad = data[: zs.offset] + encode_segment(syntax.MARKER_ZS, new) + data[zs.end :]
        e = decode_error(bad, path)
        assert type(e) is EntropyError and e.tile is None, e
        assert zs.payload_offset <= e.offset <= zs.payload_offset + len(new)


# ---- regression inputs found by fuzzing ---------------------------------------------------


def regression_cases() -> list:
    """The entries of tests/regressions/manifest.json: for each input file, what decoding
    it whole gives (error class, clause, offset and tile, or the picture), what
    ``refdec.info`` gives, its story, and the parameter file it names (``params``: the
    tiny model as exported when the input was found, kept beside it because any change
    of the export changes the model's hash); ``xfail`` marks a known, reported bug."""
    manifest = REGRESSIONS / "manifest.json"
    cases = json.loads(manifest.read_text())["inputs"] if manifest.is_file() else {}
    return [
        pytest.param(
            name,
            case,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else [],
        )
        for name, case in sorted(cases.items())
    ]


def outcome(call) -> str:
    try:
        call()
    except DecodeError as e:
        return type(e).__name__
    return "ok"


@pytest.mark.parametrize(("name", "case"), regression_cases())
def test_regression_input(name: str, case: dict) -> None:
    path = REGRESSIONS / case["params"]
    data = (REGRESSIONS / name).read_bytes()
    try:
        picture = refdec.decode(data, params_path=path)
    except DecodeError as e:
        assert type(e).__name__ == case["decode"], e
        assert (e.clause, e.offset, e.tile) == (case["clause"], case["offset"], case["tile"]), e
    else:
        assert case["decode"] == "ok"
        assert list(picture.samples.shape) == case["samples"]
        assert (picture.bit_depth, picture.groups_decoded) == (
            case["bit_depth"],
            case["groups_decoded"],
        )
    assert outcome(lambda: refdec.info(data)) == case["info"]
    # The prefix the harnesses try, and all but the last byte: only DecodeError or a picture.
    for n in (len(data) * data[-1] // 255, len(data) - 1):
        outcome(lambda: refdec.decode(data, max_bytes=n, params_path=path))  # noqa: B023
