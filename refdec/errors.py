"""Errors of the reference decoder.

Every way a codestream or a parameter set can fail to conform raises a subclass of
:class:`DecodeError` that names the WD clause whose requirement was violated and, where
it applies, the byte offset in the codestream at which the violation was detected.
Decoder entry points raise nothing else on bad input.
"""

from __future__ import annotations


class DecodeError(Exception):
    """A codestream (or parameter set) does not conform to the WD."""

    clause: str = "5"
    """The WD clause whose requirement is violated (class default)."""

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        clause: str | None = None,
        tile: int | None = None,
        group: int | None = None,
    ) -> None:
        self.message = message
        self.offset = offset
        self.tile = tile
        self.group = group
        if clause is not None:
            self.clause = clause
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        group = f" in channel group {self.group}" if self.group is not None else ""
        tile = f"{',' if group else ''} in tile {self.tile}" if self.tile is not None else ""
        return f"{type(self).__name__} (WD {self.clause}){where}{group}{tile}: {self.message}"


class SignatureError(DecodeError):
    """The codestream does not start with the OpenLIC signature."""

    clause = "5.1"


class TruncatedError(DecodeError):
    """The codestream ends before a syntax element or segment is complete."""

    clause = "5.2"


class ChecksumError(DecodeError):
    """A segment's CRC-32 does not match its bytes."""

    clause = "5.2"


class SegmentOrderError(DecodeError):
    """A segment is missing, duplicated, out of order or of a reserved type."""

    clause = "5.3"


class HeaderError(DecodeError):
    """A picture header field has a value the WD does not allow."""

    clause = "7.2"


class UnsupportedError(DecodeError):
    """Valid syntax that this decoder does not implement (unknown version or profile)."""

    clause = "7.2"


class LevelError(DecodeError):
    """The picture exceeds the limits of the signalled level."""

    clause = "A.2"


class ParameterSetError(DecodeError):
    """The parameter set is unknown, malformed, or its hash does not match."""

    clause = "C.1"


class EntropyError(DecodeError):
    """An entropy-coded stream is inconsistent (overrun, bad final state, bad escape)."""

    clause = "8.2"
