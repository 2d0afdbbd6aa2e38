"""Profiles and levels (WD Annex A).

A profile (A.1) restricts the values of picture header fields that select decoding
tools or output formats; a level (A.2) bounds the picture size, and with it every
buffer a decoder allocates. The tables here are data: the parser checks them
(:func:`check_profile`, :func:`check_level`, right after the picture header is read and
before anything is allocated), the encoder picks a level with :func:`smallest_level`, and
the WD renders them with the ``profile-table`` and ``level-table`` directives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from refdec.errors import HeaderError, LevelError

if TYPE_CHECKING:
    from refdec.codestream import PictureHeader


@dataclass(frozen=True)
class Profile:
    """A profile of WD A.1: the values it allows for the fields it restricts."""

    idc: int
    """``profile_idc`` of the profile."""
    name: str
    bit_depths: tuple[int, ...]
    """Allowed values of ``bit_depth``."""
    matrix_coefficients: tuple[int, ...]
    """Allowed values of ``matrix_coefficients``: 0 (identity) means that the output
    components are R, G and B (WD 8.8 defines no other output)."""


PROFILES: dict[int, Profile] = {p.idc: p for p in (Profile(1, "Main", (8, 10), (0,)),)}
"""Profiles by ``profile_idc`` (WD A.1)."""

SAMPLES_PER_TILE = 16 * 16 * 4
"""Picture samples per entropy tile assumed by :attr:`Level.max_tiles` (WD A.2).

A latent position covers 16 x 16 picture samples and a tile at least 4 x 4 latent
positions (``tile_size_log2 >= 2``), so a picture of ``MaxSamples`` samples has at most
``MaxSamples / 4096`` whole tiles; the partial tiles at the right and bottom edges add
at most ``W / 64 + H / 64 + 1``. Dividing by 1024 instead of 4096 leaves room for these
for every picture within the other limits of a level, so ``MaxTiles`` never rejects
such a picture; it is stated so that decoders can size their per-tile tables (the YS
segment head holds ``4 * num_tiles`` bytes) from the level alone.
"""


@dataclass(frozen=True)
class Level:
    """A level of WD A.2: limits on the picture size."""

    idc: int
    """``level_idc`` of the level."""
    max_width: int
    max_height: int
    max_samples: int
    """Largest ``W * H``."""

    @property
    def max_tiles(self) -> int:
        """Largest ``num_tiles`` (WD 5.4): ``max_samples / SAMPLES_PER_TILE``."""
        return self.max_samples // SAMPLES_PER_TILE

    def admits(self, width: int, height: int) -> bool:
        """Whether a picture of ``width`` x ``height`` samples meets the size limits."""
        return (
            width <= self.max_width
            and height <= self.max_height
            and width * height <= self.max_samples
        )


LEVELS: dict[int, Level] = {
    lv.idc: lv
    for lv in (
        Level(1, 4096, 4096, 4_194_304),
        Level(2, 8192, 8192, 67_108_864),
        Level(3, 16384, 16384, 268_435_456),
    )
}
"""Levels by ``level_idc`` (WD A.2)."""


def check_profile(header: PictureHeader) -> None:
    """WD A.1: raise :class:`HeaderError` if a field has a value the profile forbids.

    ``header.profile_idc`` must be a key of :data:`PROFILES` (the parser has checked it).
    """
    profile = PROFILES[header.profile_idc]
    for name, allowed in (
        ("bit_depth", profile.bit_depths),
        ("matrix_coefficients", profile.matrix_coefficients),
    ):
        value = getattr(header, name)
        if value not in allowed:
            raise HeaderError(
                f"{name} {value} is not allowed in the {profile.name} profile "
                f"(allowed: {', '.join(map(str, allowed))})",
                offset=header.field_offset(name),
                clause="A.1",
            )


def check_level(header: PictureHeader) -> None:
    """WD A.2: raise :class:`LevelError` if the picture exceeds its level's limits.

    Uses only header fields, so it runs before anything is allocated from them.
    ``header.level_idc`` must be a key of :data:`LEVELS` (the parser has checked it).
    The error's offset is that of the field whose value breaks the limit.
    """
    level = LEVELS[header.level_idc]
    w, h = header.width, header.height
    if w > level.max_width:
        raise LevelError(
            f"width {w} exceeds {level.max_width}, the limit of level {level.idc}",
            offset=header.field_offset("width_minus1"),
        )
    if h > level.max_height:
        raise LevelError(
            f"height {h} exceeds {level.max_height}, the limit of level {level.idc}",
            offset=header.field_offset("height_minus1"),
        )
    if w * h > level.max_samples:
        raise LevelError(
            f"{w} x {h} = {w * h} samples exceed {level.max_samples}, the limit of level "
            f"{level.idc}",
            offset=header.field_offset("width_minus1"),
        )
    if header.num_tiles > level.max_tiles:
        raise LevelError(
            f"{header.num_tiles} tiles exceed {level.max_tiles}, the limit of level {level.idc}",
            offset=header.field_offset("tile_size_log2"),
        )


def smallest_level(width: int, height: int) -> int:
    """The lowest ``level_idc`` whose limits admit a ``width`` x ``height`` picture.

    The tile limit is not consulted: it admits every picture the size limits admit
    (see :data:`SAMPLES_PER_TILE`). Raises ValueError if no level admits the picture.
    """
    for idc in sorted(LEVELS):
        if LEVELS[idc].admits(width, height):
            return idc
    raise ValueError(f"no level admits a {width} x {height} picture")
