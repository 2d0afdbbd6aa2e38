"""OpenLIC reference decoder (normative, integer-exact).

    >>> import refdec
    >>> picture = refdec.decode(open("picture.olic", "rb").read())  # doctest: +SKIP
    >>> picture.samples.shape, picture.bit_depth                   # doctest: +SKIP
    ((512, 768, 3), 8)

Every malformed codestream raises a subclass of :class:`DecodeError` naming the WD
clause violated and the byte offset.
"""

from __future__ import annotations

from pathlib import Path

from refdec.decoder import Picture, decode
from refdec.errors import DecodeError
from refdec.imageio import write_png as _write_png
from refdec.info import info

__all__ = ["DecodeError", "Picture", "decode", "info", "write_png"]


def write_png(picture: Picture, path: Path | str) -> None:
    """Write a decoded picture as PNG (16-bit with an sBIT chunk for 10-bit pictures)."""
    _write_png(picture.samples, picture.bit_depth, path)
