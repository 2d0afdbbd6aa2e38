"""The requirements of codestream conformance stated in the WD, with their identifiers.

The WD states every requirement that a codestream has to meet in one sentence that
begins "It is a requirement of codestream conformance that" and ends with the
requirement's identifier in square brackets, such as ``[R-CRC]`` (WD 4.6). The
identifiers are stable: they do not change when clauses are renumbered.
:func:`extract` finds these sentences in ``spec/*.rst``.

The conformance suite holds, for every identifier, at least one negative case that
violates that requirement and no other (the case's ``violates`` field). A test fails
when the WD states a requirement that no case violates, so adding a requirement to the
WD forces adding its case to :mod:`conformance.generate`, unless
:func:`not_violatable` shows that no codestream can violate it alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = ROOT / "spec"

_LABEL = re.compile(r"^\.\. _clause-([0-9A-Za-z.]+):\s*$", re.MULTILINE)
_LEAD = re.compile(
    r"It\s+is\s+a\s+requirement\s+of\s+codestream\s+conformance\s+that\s+", re.IGNORECASE
)
_ID = re.compile(r"\[(R-[A-Z0-9]+(?:-[A-Z0-9]+)*)\]")
ID_PATTERN = r"^R-[A-Z0-9]+(-[A-Z0-9]+)*$"


@dataclass(frozen=True)
class Requirement:
    """One requirement of codestream conformance of the WD."""

    id: str
    """The identifier, such as ``R-CRC``."""
    clause: str
    """The WD clause that states it."""
    text: str
    """What is required (the sentence after "that", whitespace normalised)."""
    source: str
    """file:line of the sentence."""


class RequirementError(Exception):
    """The WD states a requirement without an identifier, or an identifier twice."""


def extract(spec_dir: Path = SPEC_DIR) -> list[Requirement]:
    """Every requirement of codestream conformance stated in the WD, in file order."""
    found: list[Requirement] = []
    problems: list[str] = []
    for path in sorted(spec_dir.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        labels = [(m.start(), m.group(1)) for m in _LABEL.finditer(text)]
        for m in _LEAD.finditer(text):
            if text[max(0, m.start() - 1)] in "\"'“":
                continue  # quoted: the definition of the form (WD 4.6, D.1)
            line = text.count("\n", 0, m.start()) + 1
            source = f"{path.relative_to(spec_dir.parent)}:{line}"
            rest = text[m.end() :]
            ident = _ID.search(rest)
            nxt = _LEAD.search(rest)
            if ident is None or (nxt is not None and nxt.start() < ident.start()):
                problems.append(f"{source}: a requirement without an identifier [R-...]")
                continue
            clause = max((lb for lb in labels if lb[0] < m.start()), default=(0, "?"))[1]
            body = " ".join(rest[: ident.start()].split()).rstrip(" ,;")
            found.append(Requirement(ident.group(1), clause, body, source))
    seen: dict[str, str] = {}
    for r in found:
        if r.id in seen:
            problems.append(f"{r.id} is stated twice: {seen[r.id]} and {r.source}")
        seen[r.id] = r.source
    if problems:
        raise RequirementError("; ".join(problems))
    return found


def by_id(spec_dir: Path = SPEC_DIR) -> dict[str, Requirement]:
    return {r.id: r for r in extract(spec_dir)}


def not_violatable(req_id: str, params) -> str | None:  # noqa: ANN001
    """Why no codestream can violate the requirement ``req_id`` alone (with the parameter
    set ``params``, a :class:`refdec.params.ParameterSet`), or None."""
    if req_id == "R-QUALITY" and params.num_qualities >= 256:
        return (
            f"the parameter set has Q = {params.num_qualities} quality indices, so every "
            "value of the 8-bit field quality is less than Q"
        )
    if req_id == "R-LEVEL-TILES":
        worst = _most_tiles_within_size_limits()
        if worst is not None:
            return worst
    return None


def _most_tiles_within_size_limits() -> str | None:
    """If no picture within the size limits of a level has more tiles than the level's
    MaxTiles, a sentence that says so (with the largest count), else None."""
    import numpy as np

    from refdec.levels import LEVELS

    parts = []
    for lv in LEVELS.values():
        w = np.arange(1, lv.max_width + 1, dtype=np.int64)
        h = np.minimum(lv.max_height, lv.max_samples // w)
        w, h = w[h >= 1], h[h >= 1]
        # The smallest tiles (T = 4 latent positions = 64 samples) of the largest picture
        # of every width.
        most = int(np.max(-(-w // 64) * -(-h // 64)))
        if most > lv.max_tiles:
            return None
        parts.append(f"level {lv.idc}: at most {most} <= {lv.max_tiles}")
    return (
        "no picture within the width, height and sample limits of a level has more "
        "tiles than MaxTiles allows (" + "; ".join(parts) + ")"
    )
