"""``openlic info``: a dump of a codestream's header and segments (informative).

Parsing only: the picture header, every segment with its offset, length and CRC, the
tile streams of each channel group, the output filter if there is one, and whether the
parameter set is available. The
checks of clauses 5 to 7 and Annex A apply, so a corrupt codestream raises the same
:class:`~refdec.errors.DecodeError` as decoding it would.
"""

from __future__ import annotations

import dataclasses

from refdec.codestream import marker_name, parse_codestream
from refdec.params import shipped_parameter_set


def info(data: bytes) -> dict:
    """A JSON-serialisable description of the codestream ``data``."""
    parsed = parse_codestream(data)
    hdr = parsed.header
    fields = {f.name: getattr(hdr, f.name) for f in dataclasses.fields(hdr) if f.compare}
    fields["parameter_set_hash"] = hdr.parameter_set_hash.hex()
    known = shipped_parameter_set(hdr.parameter_set_hash)
    of = parsed.output_filter
    return {
        "size_bytes": len(data),
        "header": fields,
        "derived": {
            "width": hdr.width,
            "height": hdr.height,
            "latent_size": [hdr.latent_height, hdr.latent_width],
            "hyper_latent_size": [hdr.hyper_height, hdr.hyper_width],
            "tile_grid": [hdr.tile_rows, hdr.tile_cols],
            "bits_per_pixel": 8 * len(data) / (hdr.width * hdr.height),
        },
        "parameter_set": known.name if known else None,
        "segments": [
            {
                "marker": f"0x{s.marker:04X}",
                "name": marker_name(s.marker),
                "offset": s.offset,
                "length": s.length,
                "end": s.end,
            }
            for s in parsed.segments
        ],
        "groups": [
            {"index": g.index, "tile_bytes": [n for _, n in g.tiles]} for g in parsed.groups
        ],
        "output_filter": None if of is None else {
            "classes": of.num_classes,
            "shift": of.shift,
            "thresholds": list(of.thresholds),
        },
    }
