"""The codestream syntax as data (WD clauses 5.1, 5.2, 6 and 7).

This module is the single source of the codestream syntax. The parser
(:mod:`refdec.codestream`) and the writer (:mod:`encoder.writer`) read and write every
field by iterating the structures defined here, and the syntax tables of the WD
(clause 6), the marker table (WD 5.2, Table 1) and the one-sentence semantics of each
syntax element (the full semantics are in WD clause 7) are generated from them by the
Sphinx extension ``docs/_ext/openlic_syntax.py``. Renaming or retyping a field here
therefore changes the parser, the writer and the WD together.

A structure is a sequence of *elements*: a :class:`Field` (one syntax element with its
descriptor of WD 4.4), a :class:`Loop` over elements, or a :class:`Call` of another
structure (only the codestream itself calls ``segment( )``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from refdec.levels import LEVELS, PROFILES

SIGNATURE = b"\x89OLIC\r\n\x1a"
"""The 8 bytes every codestream starts with (WD 5.1)."""


class Violation(enum.Enum):
    """What a decoder does when a field has a value outside its allowed values."""

    ERROR = "error"
    """The codestream does not conform: :class:`~refdec.errors.HeaderError`."""
    UNSUPPORTED = "unsupported"
    """A later edition may allow the value: :class:`~refdec.errors.UnsupportedError`."""
    IGNORE = "ignore"
    """Required of codestreams, but decoders shall ignore the value (WD 7.2), so that
    later minor versions can use it; checked only in strict mode (the writer)."""


Ranges = tuple[tuple[int, int], ...]
"""Allowed values as inclusive ``(first, last)`` ranges, in increasing order."""


def describe_values(ranges: Ranges) -> str:
    """Allowed values in words: ``((2, 8),)`` -> "in the range 2 to 8",
    ``((8, 8), (10, 10))`` -> "8 or 10", ``((1, 3),)`` -> "1, 2 or 3"."""
    items: list[str] = []
    for first, last in ranges:
        # Two or three consecutive values read better listed than as a range.
        if last - first <= 2:
            items.extend(str(v) for v in range(first, last + 1))
        else:
            items.append(f"{first} to {last}")
    if len(items) == 1:
        return f"in the range {items[0]}" if " to " in items[0] else items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def ranges_of(values: Iterable[int]) -> Ranges:
    """The :data:`Ranges` that hold exactly the given integers."""
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and out[-1][1] == v - 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return tuple(out)


_FIXED = re.compile(r"([ub])\((\d+)\)")
_VARIABLE = re.compile(r"b\(8\*(\w+)(?:\[(\w)\])?\)")
LEB128 = "leb128()"
"""The descriptor of a variable-length unsigned integer (WD 4.4)."""
LEB128_MAX_BYTES = 5
"""Most bytes of a ``leb128()`` element (WD 4.4, R-LEB128); its value is below 2^32."""


@dataclass(frozen=True)
class Field:
    """One syntax element (WD 6.1).

    ``descriptor`` is one of WD 4.4: ``u(n)``, ``leb128()`` (an unsigned integer of 1
    to 5 bytes), ``b(n)`` with a constant ``n`` (``n/8`` bytes), or ``b(8*var)`` /
    ``b(8*var[i])`` whose byte count is the value of another syntax element
    (``length`` of the segment, or element ``i`` of an earlier field read
    in a loop with variable ``i``). ``meaning`` is the one-sentence semantics of the
    syntax table; when ``allowed`` is given it contains ``{allowed}``, which
    :attr:`semantics` replaces by the allowed values in words.
    """

    name: str
    descriptor: str
    meaning: str
    allowed: Ranges | None = None
    violation: Violation = Violation.ERROR
    size: int | None = field(init=False, repr=False, compare=False)
    """Number of bytes for a constant-size descriptor, else None (``leb128()`` and
    ``b(8*var)``)."""
    size_var: str = field(init=False, repr=False, compare=False)
    """For ``b(8*var)`` descriptors: the element that holds the byte count, else ""."""
    size_index: str = field(init=False, repr=False, compare=False)
    """For ``b(8*var[i])`` descriptors: the loop variable ``i``, else ""."""

    def __post_init__(self) -> None:
        # Checked at import, so that a malformed table cannot reach the parser.
        fixed = _FIXED.fullmatch(self.descriptor)
        variable = _VARIABLE.fullmatch(self.descriptor)
        if self.descriptor == LEB128:
            size, size_var, size_index = None, "", ""
        elif fixed:
            bits = int(fixed.group(2))
            if bits % 8 or not bits or (fixed.group(1) == "u" and bits > 32):
                raise ValueError(f"{self.name}: descriptor {self.descriptor} not allowed")
            size, size_var, size_index = bits // 8, "", ""
        elif variable:
            size, size_var, size_index = None, variable.group(1), variable.group(2) or ""
        else:
            raise ValueError(f"{self.name}: unknown descriptor {self.descriptor}")
        if ("{allowed}" in self.meaning) != (self.allowed is not None):
            raise ValueError(f"{self.name}: meaning and allowed values disagree")
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "size_var", size_var)
        object.__setattr__(self, "size_index", size_index)

    @property
    def is_uint(self) -> bool:
        """True for ``u(n)`` and ``leb128()``: the value is an integer, else a byte
        string."""
        return self.descriptor.startswith("u") or self.is_leb128

    @property
    def is_leb128(self) -> bool:
        """True for ``leb128()``, whose size is known only once its bytes are read."""
        return self.descriptor == LEB128

    @property
    def min_size(self) -> int:
        """The fewest bytes the field can occupy: its size, 1 for ``leb128()``, 0 for
        ``b(8*var)``."""
        return self.size if self.size is not None else int(self.is_leb128)

    @property
    def semantics(self) -> str:
        """The one-sentence semantics with the allowed values filled in."""
        if self.allowed is None:
            return self.meaning
        return self.meaning.format(allowed=describe_values(self.allowed))

    def admits(self, value: int) -> bool:
        """Whether ``value`` is an allowed value (always, without ``allowed``)."""
        return self.allowed is None or any(lo <= value <= hi for lo, hi in self.allowed)


@dataclass(frozen=True)
class Loop:
    """``for( var = 0; var < count; var++ ) { body }`` (``var <= count`` when
    ``inclusive``) or, without ``count``, ``do { body } while( condition )``.

    ``count`` is a decimal constant, a variable from outside the payload (such as
    ``num_tiles``) or a ``u(n)`` field read earlier in the payload.
    """

    body: tuple[Element, ...]
    count: str | None = None
    var: str = "i"
    condition: str | None = None
    inclusive: bool = False

    def iterations(self, count: int) -> int:
        """Number of iterations when ``count`` has the value ``count``."""
        return count + 1 if self.inclusive else count


@dataclass(frozen=True)
class Call:
    """An invocation of another structure, such as ``segment( )``."""

    structure: str


Element = Field | Loop | Call


@dataclass(frozen=True)
class Structure:
    """A syntax structure: a table of WD clause 6."""

    key: str
    function: str
    """Name of the syntax function in the table, e.g. ``picture_header``."""
    title: str
    syntax_clause: str
    semantics_clause: str
    elements: tuple[Element, ...]

    def fields(self) -> Iterator[Field]:
        """Every field, loops flattened, in syntax order."""

        def walk(elements: tuple[Element, ...]) -> Iterator[Field]:
            for el in elements:
                if isinstance(el, Field):
                    yield el
                elif isinstance(el, Loop):
                    yield from walk(el.body)

        return walk(self.elements)

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        for f in self.fields():
            if f.name == name:
                return f
        raise KeyError(f"{self.key} has no field {name}")

    def field_offset(self, name: str) -> int:
        """Byte offset of a top-level field in the structure; the fields before it
        must have constant sizes."""
        offset = 0
        for el in self.elements:
            if not isinstance(el, Field):
                break
            if el.name == name:
                return offset
            if el.size is None:
                break
            offset += el.size
        raise KeyError(f"{name} is not at a constant offset of {self.key}")

    @property
    def fixed_size(self) -> int | None:
        """Payload size in bytes if every element has a constant size, else None."""
        sizes = [el.size if isinstance(el, Field) else None for el in self.elements]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Marker:
    """A marker value, or a range of them, of Table 1 (WD 5.2) with its order rule
    (WD 5.3)."""

    first: int
    last: int
    name: str
    title: str
    optional: bool
    order: str
    """The rule of WD 5.3 for segments of this type."""
    structure: str | None
    """Key of the payload structure in :data:`STRUCTURES`; None where unspecified."""
    omissible: bool = False
    """A segment that decoding uses but a codestream may go without (OF), unlike the
    optional segments, which decoding ignores."""


MARKERS: tuple[Marker, ...] = (
    Marker(0xFF01, 0xFF01, "PH", "Picture header", False,
           "First segment; exactly one.", "PH"),
    Marker(0xFF02, 0xFF02, "ZS", "Hyper-latent stream", False,
           "Exactly one, after PH and before every YS.", "ZS"),
    Marker(0xFF03, 0xFF03, "YS", "Latent stream of one channel group", False,
           "Exactly G = num_channel_groups, the g-th carrying channel group g.", "YS"),
    Marker(0xFF04, 0xFF04, "OF", "Output filter", False,
           "At most one, after the G-th YS segment.", "OF", omissible=True),
    Marker(0xFF0F, 0xFF0F, "EOC", "End of codestream", False,
           "Last segment, with length 0; no byte follows it.", "EOC"),
    Marker(0xFF80, 0xFF80, "COM", "Comment", True,
           "Any number, between PH and EOC; decoders skip it.", "COM"),
    Marker(0xFF81, 0xFFFE, "", "Optional segment", True,
           "Any number, between PH and EOC; decoders skip it.", None),
)
"""Table 1. Every marker value not covered is reserved (:data:`RESERVED_MARKERS`)."""

RESERVED_MARKERS = "All other values: reserved; a codestream shall not contain them (5.3)."


def find_marker(code: int) -> Marker | None:
    """The entry of Table 1 that covers ``code``; None for a reserved marker."""
    for m in MARKERS:
        if m.first <= code <= m.last:
            return m
    return None


def marker_code(name: str) -> int:
    """The marker value of a named segment type, e.g. ``marker_code("PH")``."""
    for m in MARKERS:
        if m.name == name:
            return m.first
    raise KeyError(name)


MARKER_PH = marker_code("PH")
MARKER_ZS = marker_code("ZS")
MARKER_YS = marker_code("YS")
MARKER_OF = marker_code("OF")
MARKER_EOC = marker_code("EOC")
MARKER_COM = marker_code("COM")
OPTIONAL_FIRST = min(m.first for m in MARKERS if m.optional)
OPTIONAL_LAST = max(m.last for m in MARKERS if m.optional)


_SIG_TEXT = " ".join(f"0x{b:02X}" for b in SIGNATURE)

CODESTREAM = Structure(
    "codestream", "codestream", "Codestream", "6.2", "5.1",
    (
        Field("signature", f"b({8 * len(SIGNATURE)})",
              f"Signature; shall be the bytes {_SIG_TEXT} (5.1)."),
        Loop((Call("segment"),), condition=f"marker != 0x{MARKER_EOC:04X}"),
    ),
)

SEGMENT = Structure(
    "segment", "segment", "Segment", "6.2", "5.2",
    (
        Field("marker", "u(16)", "Type of the segment (Table 1); shall not be reserved (5.3)."),
        Field("length", LEB128, "Number of bytes of the payload."),
        Field("payload", "b(8*length)",
              "Payload, with the syntax of the segment type (6.3 to 6.6)."),
        Field("crc", "u(32)",
              "CRC-32 of ISO/IEC 13239 of the bytes of marker, length and payload (5.2)."),
    ),
)

PH = Structure(
    "PH", "picture_header", "Picture header", "6.3", "7.2",
    (
        Field("version_major", "u(8)",
              "Major version of the syntax; shall be {allowed}, and a decoder does not "
              "decode a codestream whose version_major it does not support.",
              ((1, 1),), Violation.UNSUPPORTED),
        Field("version_minor", "u(8)",
              "Minor version; shall be {allowed} in codestreams of this edition, and "
              "decoders accept any value.",
              ((0, 0),), Violation.IGNORE),
        Field("profile_idc", "u(8)",
              "Profile to which the codestream conforms; shall be {allowed}, a profile "
              "of A.1.",
              ranges_of(PROFILES), Violation.UNSUPPORTED),
        Field("level_idc", "u(8)",
              "Level to which the codestream conforms; shall be {allowed}, and the "
              "picture shall meet the limits of that level (A.2).",
              ranges_of(LEVELS)),
        Field("width_minus1", "u(16)",
              "Picture width W minus 1 (W = width_minus1 + 1), within the limits of the "
              "level (A.2)."),
        Field("height_minus1", "u(16)",
              "Picture height H minus 1 (H = height_minus1 + 1), within the limits of the "
              "level (A.2)."),
        Field("bit_depth", "u(8)",
              "Number of bits B of each output sample; shall be {allowed}, and a bit depth "
              "of the profile (A.1).",
              ((8, 8), (10, 10))),
        Field("colour_primaries", "u(8)",
              "ColourPrimaries of ITU-T H.273 of the output picture (1: the primaries of "
              "BT.709 and sRGB); it does not affect decoding."),
        Field("transfer_characteristics", "u(8)",
              "TransferCharacteristics of ITU-T H.273 of the output picture (13: the "
              "transfer function of sRGB); it does not affect decoding."),
        Field("matrix_coefficients", "u(8)",
              "MatrixCoefficients of ITU-T H.273 of the output picture (0: identity, the "
              "output components are R, G and B); shall be a value the profile allows "
              "(A.1)."),
        Field("quality", "u(8)",
              "Quality index q, the row of the gain tables of the parameter set used in "
              "8.4 and 8.5; shall be less than the number Q of quality indices of the "
              "parameter set."),
        Field("tile_size_log2", "u(8)",
              "Base-2 logarithm of the tile side T in latent positions (5.4); shall be "
              "{allowed}.",
              ((2, 8),)),
        Field("num_channel_groups", "u(8)",
              "Number G of channel groups, each carried by one YS segment; shall be "
              "{allowed} and divide the number M of latent channels of the parameter set.",
              ((1, 255),)),
        Field("hyper_step_log2", "u(8)",
              "Base-2 logarithm k of the quantisation step of the hyper-latent "
              "(8.3.1, 8.3.2); shall be {allowed}.",
              ((0, 2),)),
        Field("parameter_set_hash", "b(64)",
              "The first 8 bytes of the SHA-256 of the parameter-set file (Annex C) with "
              "which the codestream is decoded."),
    ),
)

ZS = Structure(
    "ZS", "hyper_latent_stream", "Hyper-latent stream", "6.4", "7.3",
    (
        Field("hyper_data", "b(8*length)",
              "rANS stream (8.2) of the MZ x Hz x Wz hyper-latent values, in the order "
              "of 8.3.1."),
    ),
)

YS = Structure(
    "YS", "latent_stream", "Latent stream of one channel group", "6.5", "7.4",
    (
        Field("group_index", "u(8)",
              "Index g of the channel group; the g-th YS segment, counting from 0, shall "
              "have group_index g (5.3)."),
        Loop((Field("tile_size", LEB128,
                    "Number of bytes of the rANS stream of tile t (5.4)."),),
             count="num_tiles", var="t"),
        Loop((Field("tile_data", "b(8*tile_size[t])",
                    "rANS stream (8.2) of the residuals of the channel group in tile t "
                    "(8.4.3); the tile streams shall fill the rest of the payload."),),
             count="num_tiles", var="t"),
    ),
)

COM = Structure(
    "COM", "comment", "Comment", "6.6", "7.5",
    (
        Field("comment", "b(8*length)",
              "Text in UTF-8 (ISO/IEC 10646), such as the name of the encoder; it does not "
              "affect decoding."),
    ),
)

OF_CLASSES_MAX = 8
"""Largest number of activity classes of the output filter (WD 7.7)."""
OF_TAPS = 8
"""Coefficients of the output filter per class and component (WD 8.9)."""
OF_COEFF_OFFSET = 128
"""``filter_coeff`` is coded with this offset: the coefficient is the value minus it."""

OF = Structure(
    "OF", "output_filter", "Output filter", "6.7", "7.7",
    (
        Field("filter_classes_minus1", "u(8)",
              "Number N of activity classes minus 1 (N = filter_classes_minus1 + 1); "
              "shall be {allowed}.",
              ((0, OF_CLASSES_MAX - 1),)),
        Field("filter_shift", "u(8)",
              "Number P of fractional bits of the filter coefficients; shall be {allowed}.",
              ((1, 15),)),
        Loop((Field("class_threshold", "u(32)",
                    "Activity above which a position belongs to class k + 1 or higher "
                    "(8.9); the thresholds shall increase strictly with k."),),
             count="filter_classes_minus1", var="k"),
        Loop((Loop((Loop((Field("filter_coeff", "u(8)",
                                f"Coefficient i of component c in class k plus "
                                f"{OF_COEFF_OFFSET}: W[k][c][i] = filter_coeff - "
                                f"{OF_COEFF_OFFSET} (8.9)."),),
                         count=str(OF_TAPS), var="i"),),
                   count="3", var="c"),),
             count="filter_classes_minus1", var="k", inclusive=True),
    ),
)

EOC = Structure("EOC", "end_of_codestream", "End of codestream", "6.6", "7.6", ())

STRUCTURES: dict[str, Structure] = {
    s.key: s for s in (CODESTREAM, SEGMENT, PH, ZS, YS, COM, EOC, OF)
}
"""Every structure by key, as named by the ``syntax-table`` directive."""
