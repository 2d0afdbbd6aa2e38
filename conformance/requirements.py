"""The requirements of codestream conformance of the WD, each with a stable id.

The WD states every requirement that a codestream has to meet as "It is a requirement
of codestream conformance that ..." (WD 4.6, D.1). :func:`extract` finds these
sentences in ``spec/*.rst`` and splits them into single requirements: one per item of a
bullet list that follows "that", and one per part of a sentence joined by "and that".

:data:`REQUIREMENTS` gives each requirement a stable id (``R-<clause>-<name>``) and a
phrase that identifies it in the WD text. The conformance suite has at least one
negative case per id (the case's ``violates`` field), and a test fails when the WD
states a requirement that no entry of :data:`REQUIREMENTS` matches, or an entry that
matches no requirement, so that adding a requirement to the WD forces adding its
negative case to :mod:`conformance.generate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = ROOT / "spec"

LEAD = "It is a requirement of codestream conformance that"
_LABEL = re.compile(r"^\.\. _clause-([0-9A-Za-z.]+):\s*$")
_BULLET = re.compile(r"^(\s*)[*-] (.*)$")


@dataclass(frozen=True)
class Requirement:
    """One requirement of codestream conformance, as registered here."""

    id: str
    clause: str
    """The WD clause that states it."""
    phrase: str
    """A regular expression that matches its text (whitespace normalised) only."""
    summary: str
    """A short statement for tables."""


@dataclass(frozen=True)
class Statement:
    """One requirement as found in the WD text."""

    clause: str
    text: str
    """The requirement, whitespace normalised, without the leading sentence."""
    source: str
    """file:line of the sentence."""


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("R-5.1-signature", "5.1", r"first 8 bytes of the codestream are the signature",
                "The codestream starts with the 8-byte signature."),
    Requirement("R-5.2-complete", "5.2", r"every segment is complete",
                "Every segment is complete (no truncation inside a field)."),
    Requirement("R-5.2-crc", "5.2", r"``crc`` of every segment equals",
                "The crc of every segment is the CRC-32 of its bytes."),
    Requirement("R-5.3-ph-first", "5.3", r"first segment is a PH segment",
                "The first segment is PH, and there is no other PH."),
    Requirement("R-5.3-one-zs", "5.3", r"exactly one ZS segment",
                "Exactly one ZS segment, after PH and before every YS."),
    Requirement("R-5.3-ys-count", "5.3", r"exactly \*G\* YS segments",
                "Exactly G YS segments, the g-th carrying group g."),
    Requirement("R-5.3-eoc-last", "5.3", r"last segment is an EOC segment",
                "The last segment is EOC, of length 0, and nothing follows it."),
    Requirement("R-5.3-optional-placement", "5.3", r"optional segments .* occur only between",
                "Optional segments occur only between PH and EOC."),
    Requirement("R-5.3-reserved-marker", "5.3", r"no segment has a reserved marker",
                "No segment has a reserved marker."),
    Requirement("R-7.2-ph-length", "7.2", r"``length`` of the PH segment is 48",
                "The PH payload is 48 bytes."),
    Requirement("R-7.2-version-major", "7.2", r"``version_major`` is 1",
                "version_major is 1."),
    Requirement("R-7.2-version-minor", "7.2", r"``version_minor`` is 0",
                "version_minor is 0 (decoders accept any value)."),
    Requirement("R-7.2-profile", "7.2", r"``profile_idc`` is 1",
                "profile_idc is 1 (Main)."),
    Requirement("R-7.2-level-idc", "7.2", r"``level_idc`` is 1, 2 or 3",
                "level_idc is 1, 2 or 3."),
    Requirement("R-7.2-level-limits", "7.2", r"^the codestream meets the limits of that level",
                "The codestream meets the limits of its level."),
    Requirement("R-7.2-bit-depth", "7.2", r"``bit_depth`` is 8 or 10",
                "bit_depth is 8 or 10."),
    Requirement("R-7.2-matrix", "7.2", r"``matrix_coefficients`` has a value",
                "matrix_coefficients has a value the profile allows."),
    Requirement("R-7.2-quality", "7.2", r"\\mathtt\{quality\} < Q",
                "quality is less than Q of the parameter set."),
    Requirement("R-7.2-tile-size", "7.2", r"\\mathtt\{tile\\_size\\_log2\}",
                "tile_size_log2 is in the range 2 to 8."),
    Requirement("R-7.2-groups-min", "7.2", r"G \\ge 1",
                "num_channel_groups is at least 1."),
    Requirement("R-7.2-groups-divide", "7.2", r"\*G\* divides the number \*M\*",
                "num_channel_groups divides M."),
    Requirement("R-7.2-reserved", "7.2", r"``reserved`` is 0",
                "reserved is 0 (decoders ignore it)."),
    Requirement("R-7.4-group-index", "7.4", r"``group_index`` of the \*g\*-th YS segment",
                "The g-th YS segment has group_index g."),
    Requirement("R-7.4-tile-sizes", "7.4", r"sum of all ``tile_size\[t\]``",
                "The tile sizes add up to the rest of the YS payload."),
    Requirement("R-8.2.2-length", "8.2.2", r"n \\ge 4",
                "A rANS stream has at least 4 bytes."),
    Requirement("R-8.2.2-state", "8.2.2", r"L \\le x < 2\^\{31\}",
                "The initial rANS state lies in [2^23, 2^31)."),
    Requirement("R-8.2.4-exhausted", "8.2.4", r"p < n",
                "Renormalisation does not run past the end of the stream."),
    Requirement("R-8.2.6-escape-prefix", "8.2.6", r"n \\le 16",
                "An Exp-Golomb escape prefix has at most 16 one-bits."),
    Requirement("R-8.2.7-termination", "8.2.7", r"x = L.*p = n",
                "A stream ends in state 2^23 with every byte read."),
    Requirement("R-A.1-profile-fields", "A.1", r"have values that the profile",
                "Header fields have values the profile allows."),
    Requirement("R-A.2-level-limits", "A.2", r"meets every limit of the level",
                "The codestream meets every limit of its level."),
)
"""Every requirement of codestream conformance of the WD, with its stable id."""

BY_ID = {r.id: r for r in REQUIREMENTS}


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _sentence_end(text: str) -> int:
    """End of the first sentence of ``text`` (after its full stop or at the end of its
    paragraph), or len(text)."""
    depth = 0
    for i, ch in enumerate(text):
        if text.startswith("\n\n", i) or text.startswith("\n\r\n", i):
            return i
        if ch == "`":
            depth ^= 1
        elif ch == "." and not depth:
            rest = text[i + 1 : i + 3]
            if rest == "" or rest[:1] in " \n" and (rest[1:2].isupper() or rest[1:2] in "\n"):
                return i + 1
    return len(text)


def _split_and_that(text: str) -> list[str]:
    parts = re.split(r",? and that ", text)
    parts = [re.sub(r",? and$", "", p.strip().rstrip(".;").strip()) for p in parts]
    return [p for p in parts if p]


def extract(spec_dir: Path = SPEC_DIR) -> list[Statement]:
    """Every requirement of codestream conformance stated in the WD, in file order."""
    found: list[Statement] = []
    lead = re.compile(r"[Ii]t\s+is\s+a\s+requirement\s+of\s+codestream\s+conformance\s+that")
    for path in sorted(spec_dir.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        labels = []  # (offset, clause)
        for i, line in enumerate(lines):
            m = _LABEL.match(line)
            if m:
                labels.append((starts[i], m.group(1)))
        for m in lead.finditer(text):
            if text[max(0, m.start() - 1)] in "\"'“":
                continue  # quoted: the definition of the form (WD 4.6, D.1)
            clause = max((lb for lb in labels if lb[0] < m.start()), default=(0, "?"))[1]
            line_no = text.count("\n", 0, m.start()) + 1
            source = f"{path.relative_to(spec_dir.parent)}:{line_no}"
            rest = text[m.end() :]
            following = rest.lstrip(" \t\r\n").splitlines()[:1]
            if rest.lstrip(" \t")[:1] in "\r\n" and following and _BULLET.match(following[0]):
                # A bullet list follows: one requirement per item.
                items: list[str] = []
                for line in rest.splitlines()[1:]:
                    b = _BULLET.match(line)
                    if b:
                        items.append(b.group(2))
                    elif line.strip() and items and line.startswith("  "):
                        items[-1] += " " + line.strip()
                    elif line.strip() == "" and not items:
                        continue
                    else:
                        break
                for item in items:
                    body = _normalise(item).rstrip(".;").strip()
                    found.append(Statement(clause, body, source))
                continue
            sentence = _normalise(rest[: _sentence_end(rest)])
            for part in _split_and_that(sentence):
                found.append(Statement(clause, part, source))
    return found


def match(statements: list[Statement]) -> tuple[dict[str, Statement], list[str]]:
    """Pair every statement with the registered requirement whose phrase it matches.

    Returns ``(by_id, problems)``: the statement of each id, and a description of each
    statement that matches no id or several, and of each id that matches no statement.
    """
    by_id: dict[str, Statement] = {}
    problems: list[str] = []
    for st in statements:
        hits = [
            r for r in REQUIREMENTS if r.clause == st.clause and re.search(r.phrase, st.text)
        ]
        if len(hits) != 1:
            what = "no registered id" if not hits else f"ids {[h.id for h in hits]}"
            problems.append(f"WD {st.clause} ({st.source}): {st.text!r} matches {what}")
            continue
        if hits[0].id in by_id:
            problems.append(f"{hits[0].id} matches two statements: {st.source}")
        by_id[hits[0].id] = st
    for r in REQUIREMENTS:
        if r.id not in by_id and not any(f"{r.id} matches" in p for p in problems):
            problems.append(f"{r.id} (WD {r.clause}) matches no statement of the WD")
    return by_id, problems
