"""Codestream parsing: signature, segments and their order (WD 5), syntax (WD 6),
semantics (WD 7), profiles and levels (WD Annex A) and prefix codestreams (WD 5.5)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

SIGNATURE = bytes([0x89, 0x4F, 0x4C, 0x49, 0x43, 0x0D, 0x0A, 0x1A])  # WD 5.1
PH, ZS, YS, OF, EOC, COM = 0xFF01, 0xFF02, 0xFF03, 0xFF04, 0xFF0F, 0xFF80  # WD Table 1

# WD Table A.2: level_idc -> (MaxWidth, MaxHeight, MaxSamples); MaxTiles = MaxSamples / 1024.
LEVELS = {1: (4096, 4096, 4194304), 2: (8192, 8192, 67108864), 3: (16384, 16384, 268435456)}
# WD Table A.1: profile_idc -> (allowed bit_depth, allowed matrix_coefficients).
PROFILES = {1: ({8, 10}, {0})}


class CodestreamError(Exception):
    """A codestream that breaks a requirement R-... of WD 5 to 7 or Annex A."""


def need(cond: bool, req: str, what: str) -> None:
    """Raise CodestreamError naming requirement ``req`` unless ``cond`` holds."""
    if not cond:
        raise CodestreamError(f"{req}: {what}")


def read_leb128(data: bytes, pos: int, n: int) -> tuple[int, int] | None:
    """leb128() at data[pos] (WD 4.4): (value, bytes), or None if it does not end before n."""
    value = 0
    for i in range(5):
        if pos + i >= n:
            return None
        b = data[pos + i]
        need(i < 4 or b < 16, "R-LEB128", f"fifth leb128() byte 0x{b:02X} at byte {pos + i}")
        value += (b & 0x7F) << (7 * i)
        if b < 0x80:
            return value, i + 1
    raise AssertionError("R-LEB128 stops every element at its fifth byte")


def ceil_div(a: int, b: int) -> int:
    """Ceil(a / b) for a >= 0, b > 0 (WD 4.2.4)."""
    return (a + b - 1) // b


@dataclass
class Header:
    """The picture header (WD 6.3, 7.2) and the quantities derived from it (WD 5.4)."""

    version_major: int
    version_minor: int
    profile_idc: int
    level_idc: int
    width: int
    height: int
    bit_depth: int
    colour: tuple[int, int, int]
    quality: int
    tile_size_log2: int
    num_channel_groups: int
    hyper_step_log2: int
    parameter_set_hash: bytes
    tiles: list[tuple[int, int, int, int]] = field(default_factory=list)  # (y0, y1, x0, x1)

    @property
    def hy(self) -> int:
        """H_y = Ceil(H / 16) (WD 5.4)."""
        return ceil_div(self.height, 16)

    @property
    def wy(self) -> int:
        """W_y = Ceil(W / 16) (WD 5.4)."""
        return ceil_div(self.width, 16)

    @property
    def hz(self) -> int:
        """H_z = Ceil(H_y / 4) (WD 5.4)."""
        return ceil_div(self.hy, 4)

    @property
    def wz(self) -> int:
        """W_z = Ceil(W_y / 4) (WD 5.4)."""
        return ceil_div(self.wy, 4)


def parse_header(p: bytes) -> Header:
    """Read and check the PH payload (WD 6.3, 7.2, Annex A); derive the tile grid (WD 5.4)."""
    need(len(p) == 24, "R-PH-LENGTH", f"PH length is {len(p)}, not 24")
    h = Header(
        p[0],
        p[1],
        p[2],
        p[3],
        int.from_bytes(p[4:6], "big") + 1,
        int.from_bytes(p[6:8], "big") + 1,
        p[8],
        (p[9], p[10], p[11]),
        p[12],
        p[13],
        p[14],
        p[15],
        p[16:24],
    )
    need(h.version_major == 1, "R-VERSION-MAJOR", f"version_major {h.version_major}")
    need(h.profile_idc in PROFILES, "R-PROFILE-IDC", f"profile_idc {h.profile_idc}")
    need(h.level_idc in LEVELS, "R-LEVEL-IDC", f"level_idc {h.level_idc}")
    need(h.bit_depth in (8, 10), "R-BIT-DEPTH", f"bit_depth {h.bit_depth}")
    depths, matrices = PROFILES[h.profile_idc]
    need(
        h.bit_depth in depths and h.colour[2] in matrices,
        "R-PROFILE-FIELDS",
        f"bit_depth {h.bit_depth}, matrix_coefficients {h.colour[2]}",
    )
    need(2 <= h.tile_size_log2 <= 8, "R-TILE-SIZE-LOG2", f"tile_size_log2 {h.tile_size_log2}")
    need(h.num_channel_groups != 0, "R-GROUPS-NONZERO", "num_channel_groups 0")
    need(h.hyper_step_log2 <= 2, "R-HYPER-STEP", f"hyper_step_log2 {h.hyper_step_log2}")
    max_w, max_h, max_s = LEVELS[h.level_idc]
    need(h.width <= max_w, "R-LEVEL-WIDTH", f"W = {h.width}")
    need(h.height <= max_h, "R-LEVEL-HEIGHT", f"H = {h.height}")
    need(h.width * h.height <= max_s, "R-LEVEL-SAMPLES", f"W x H = {h.width * h.height}")
    t = 1 << h.tile_size_log2
    nty, ntx = ceil_div(h.hy, t), ceil_div(h.wy, t)
    need(nty * ntx <= max_s // 1024, "R-LEVEL-TILES", f"num_tiles = {nty * ntx}")
    for k in range(nty * ntx):
        y0, x0 = (k // ntx) * t, (k % ntx) * t
        h.tiles.append((y0, min(y0 + t, h.hy), x0, min(x0 + t, h.wy)))
    return h


def parse_latent_stream(p: bytes, num_tiles: int) -> tuple[int, list[bytes]]:
    """Read a YS payload (WD 6.5, 7.4): group_index and the tile streams."""
    need(len(p) >= 1 + num_tiles, "R-YS-LENGTH", f"YS payload of {len(p)} bytes, {num_tiles} tiles")
    sizes, head = [], 1
    for _ in range(num_tiles):
        leb = read_leb128(p, head, len(p))
        need(leb is not None, "R-YS-LENGTH", "YS payload ends inside a tile_size")
        sizes.append(leb[0])
        head += leb[1]
    need(
        head + sum(sizes) == len(p),
        "R-YS-LENGTH",
        f"YS length {len(p)}, h + sum(tile_size) = {head + sum(sizes)}",
    )
    streams, pos = [], head
    for s in sizes:
        streams.append(p[pos : pos + s])
        pos += s
    return p[0], streams


@dataclass
class OutputFilter:
    """An OF payload (WD 6.7, 7.7): N classes, the shift P, the N - 1 thresholds and the
    coefficients W[k][c][i] = filter_coeff[k][c][i] - 128 (N x 3 x 8)."""

    shift: int
    thresholds: list[int]
    weights: list[list[list[int]]]


def parse_output_filter(p: bytes) -> OutputFilter:
    """Read and check an OF payload (WD 6.7, 7.7); all fields big-endian."""
    need(len(p) >= 1, "R-OF-LENGTH", "empty OF payload")
    need(p[0] <= 7, "R-OF-CLASSES", f"filter_classes_minus1 {p[0]}")
    n = p[0] + 1
    size = 2 + 4 * (n - 1) + 24 * n
    need(len(p) == size, "R-OF-LENGTH", f"OF length {len(p)}, N = {n} needs {size}")
    need(1 <= p[1] <= 15, "R-OF-SHIFT", f"filter_shift {p[1]}")
    thr = [int.from_bytes(p[2 + 4 * k : 6 + 4 * k], "big") for k in range(n - 1)]
    need(
        all(a < b for a, b in zip(thr, thr[1:])),
        "R-OF-THRESHOLDS",
        f"class_threshold {thr} does not increase strictly",
    )
    co = 2 + 4 * (n - 1)  # filter_coeff[k][c][i] at co + 24k + 8c + i
    w = [[[p[co + 24 * k + 8 * c + i] - 128 for i in range(8)] for c in range(3)] for k in range(n)]
    return OutputFilter(p[1], thr, w)


@dataclass
class Codestream:
    """What the decoding process needs from a (prefix) codestream."""

    header: Header
    hyper_data: bytes
    groups: list[list[bytes]]  # tile streams of the YS segments present, in group order
    output_filter: OutputFilter | None = None  # the OF segment, when present (WD 7.7)


def parse(
    data: bytes, prefix: bool = False, on_header: Callable[[Header], int] | None = None
) -> Codestream:
    """Parse a codestream (WD 5, 6, 7) or, with ``prefix``, the first N bytes of one (5.5):
    a complete OF segment within them is used, an incomplete one dropped like any other.

    ``on_header(header)`` is called as soon as the PH segment has been read (8.1.1 step 3,
    parameter set selection) and returns M, the number of latent channels.
    """
    n = len(data)
    need(data[:8] == SIGNATURE[: min(n, 8)], "R-SIGNATURE", "bad signature")
    need(n >= 8, "R-COMPLETE", "codestream ends inside the signature")
    pos, header, hyper, groups, first, of = 8, None, None, [], True, None
    while True:
        if prefix and pos + 7 > n:
            break  # 5.5: an incomplete segment and every byte after it are not used
        need(pos < n, "R-COMPLETE", f"codestream ends at byte {pos} without EOC")
        need(pos + 2 <= n, "R-COMPLETE", "codestream ends inside a marker")
        marker = int.from_bytes(data[pos : pos + 2], "big")
        # 5.3: reserved markers and order, from the marker alone.
        need(
            marker in (PH, ZS, YS, OF, EOC) or 0xFF80 <= marker <= 0xFFFE,
            "R-MARKER-RESERVED",
            f"marker 0x{marker:04X} at byte {pos}",
        )
        need(not first or marker == PH, "R-PH-FIRST", f"first segment 0x{marker:04X}")
        need(first or marker != PH, "R-PH-ONCE", "second PH segment")
        need(marker != ZS or hyper is None, "R-ZS-ONCE", "second ZS segment")
        need(marker != YS or hyper is not None, "R-ZS-BEFORE-YS", "YS before ZS")
        need(marker != EOC or hyper is not None, "R-ZS-ONCE", "EOC without a ZS segment")
        need(marker != OF or of is None, "R-OF-ONCE", "second OF segment")
        if header is not None:
            g = header.num_channel_groups
            need(marker != YS or len(groups) < g, "R-YS-COUNT", f"more than {g} YS segments")
            need(marker != EOC or len(groups) == g, "R-YS-COUNT", f"{len(groups)} YS, not {g}")
            need(marker != OF or len(groups) == g, "R-OF-AFTER-YS", f"OF after {len(groups)} YS")
        leb = read_leb128(data, pos + 2, n)  # in prefix mode its 5 bytes are all here
        need(leb is not None, "R-COMPLETE", "codestream ends inside a length")
        length, size = leb
        end = pos + 2 + size + length
        if prefix and end + 4 > n:
            break
        need(end <= n, "R-COMPLETE", "codestream ends inside a payload")
        need(end + 4 <= n, "R-COMPLETE", "codestream ends inside a crc")
        crc = int.from_bytes(data[end : end + 4], "big")
        need(zlib.crc32(data[pos:end]) == crc, "R-CRC", f"crc of segment at byte {pos}")
        payload, pos, first = data[pos + 2 + size : end], end + 4, False
        if marker == PH:
            header = parse_header(payload)
            if on_header is not None:
                m = on_header(header)
                need(
                    m % header.num_channel_groups == 0,
                    "R-GROUPS-DIVIDE-M",
                    f"G = {header.num_channel_groups} does not divide M = {m}",
                )
        elif marker == ZS:
            hyper = payload
        elif marker == YS:
            need(len(payload) >= 1, "R-YS-LENGTH", "empty YS payload")
            gi, streams = parse_latent_stream(payload, len(header.tiles))
            need(gi == len(groups), "R-YS-GROUP-INDEX", f"group_index {gi}, not {len(groups)}")
            groups.append(streams)
        elif marker == OF:
            of = parse_output_filter(payload)
        elif marker == EOC:
            need(length == 0, "R-EOC-LENGTH", f"EOC length {length}")
            need(pos == n, "R-EOC-LAST", f"{n - pos} bytes after EOC")
            break
    need(
        header is not None and hyper is not None,
        "R-COMPLETE",
        "no PH and ZS segment within the bytes: no prefix codestream to decode (5.5)",
    )
    return Codestream(header, hyper, groups, of)
