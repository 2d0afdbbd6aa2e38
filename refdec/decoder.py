"""The decoding process (WD 8.1): codestream bytes in, output samples out.

Decoding runs in the order of the WD: parse the segments (clause 5-7) and check the
level (Annex A) before anything is allocated; find the parameter set the header names
(Annex C); decode the hyper-latent (8.3.1) and run the hyper synthesis (8.3.2); derive
every table index (8.4.1) and decode the latent residuals tile by tile (8.4.2); then,
after parsing is complete, reconstruct the latent (8.5), run the synthesis (8.7) and
convert to output samples (8.8).

A *prefix* of a codestream (``max_bytes``) decodes to the picture of WD 8.1.2: the
channel groups whose segments are complete are used, the others have zero residuals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refdec.codestream import ParsedCodestream, PictureHeader, parse_codestream
from refdec.entropy import decode_stream, decode_streams
from refdec.errors import EntropyError
from refdec.hyper import hyper_symbol_tables, hyper_synthesis
from refdec.latent import reconstruct_latent, scale_indices, tile_grid, tile_symbol_tables
from refdec.output import sample_dtype, to_samples
from refdec.params import ParameterSet, find_parameter_set
from refdec.synthesis import band_rows as bands_for
from refdec.synthesis import synthesis_bands


@dataclass
class Picture:
    """A decoded picture."""

    samples: np.ndarray
    """(height, width, 3) uint8 (8-bit) or uint16 (10-bit), channels R, G, B."""
    bit_depth: int
    header: PictureHeader
    groups_decoded: int
    """Channel groups present (all of them unless the input was a prefix)."""
    timings_ns: dict[str, int] = field(default_factory=dict)
    """Wall time of each stage in nanoseconds (informative)."""


def decode_latent(parsed: ParsedCodestream, params: ParameterSet, idx: np.ndarray) -> np.ndarray:
    """WD 8.4.2: the residuals of every channel group present, zero for the others."""
    hdr = parsed.header
    m, hy, wy = params.m, hdr.latent_height, hdr.latent_width
    r = np.zeros((m, hy, wy), np.int32)
    per_group = m // hdr.num_channel_groups
    rects = tile_grid(hy, wy, hdr.tile_size)
    for group in parsed.groups:
        channels = range(group.index * per_group, (group.index + 1) * per_group)
        tables = [tile_symbol_tables(idx, channels, rect) for rect in rects]
        counts = np.array([len(t) for t in tables], np.int64)
        try:
            values = decode_streams(
                parsed.data,
                np.array([off for off, _ in group.tiles], np.int64),
                np.array([n for _, n in group.tiles], np.int64),
                np.concatenate(tables),
                np.concatenate([[0], np.cumsum(counts)]),
            )
        except EntropyError as e:  # tiles are numbered within their group: name it too
            raise EntropyError(
                e.message, offset=e.offset, tile=e.tile, group=group.index, clause=e.clause
            ) from None
        start = 0
        for (y0, y1, x0, x1), n in zip(rects, counts):
            r[channels.start : channels.stop, y0:y1, x0:x1] = values[start : start + n].reshape(
                len(channels), y1 - y0, x1 - x0
            )
            start += n
    return r


def decode(
    data: bytes,
    *,
    max_bytes: int | None = None,
    params_path: Path | str | None = None,
    threads: bool = True,
    band_rows: int | None = None,
) -> Picture:
    """Decode a codestream (WD 8.1.1), or its first ``max_bytes`` bytes (WD 8.1.2).

    ``band_rows`` latent rows are synthesised at a time (WD 8.7 note: any band height
    gives the same samples); None sizes the bands to bound the memory
    (:func:`refdec.synthesis.band_rows`).

    Raises only :class:`refdec.errors.DecodeError` (and subclasses) on bad input.
    """
    t0 = time.perf_counter_ns()
    parsed = parse_codestream(bytes(data), max_bytes=max_bytes)
    hdr = parsed.header
    params = find_parameter_set(
        hdr.parameter_set_hash,
        Path(params_path) if params_path else None,
        hash_offset=hdr.field_offset("parameter_set_hash"),
    )
    parsed.check_against(params)
    t1 = time.perf_counter_ns()
    hz, wz = hdr.hyper_height, hdr.hyper_width
    z_hat = decode_stream(
        parsed.z_stream, hyper_symbol_tables(params, hz, wz), base_offset=parsed.z_offset
    ).reshape(params.mz, hz, wz)
    mean_fp, ls_fp = hyper_synthesis(
        z_hat, params, hdr.latent_height, hdr.latent_width, threads=threads
    )
    t2 = time.perf_counter_ns()
    idx = scale_indices(ls_fp, hdr.quality, params)
    del ls_fp  # WD 8.4.1 was its only use; free it before the latent is decoded
    r = decode_latent(parsed, params, idx)
    t3 = time.perf_counter_ns()
    y_in = reconstruct_latent(r, mean_fp, hdr.quality, params)
    del r, mean_fp, idx
    samples = np.empty((hdr.height, hdr.width, 3), sample_dtype(hdr.bit_depth))
    rows = band_rows or bands_for(list(params.gs), hdr.latent_width)
    for row, band in synthesis_bands(y_in, list(params.gs), rows, threads=threads):
        if row >= hdr.height:
            break
        part = to_samples(band, params.f_out, hdr.bit_depth, hdr.width, hdr.height - row)
        samples[row : row + part.shape[0]] = part
    t4 = time.perf_counter_ns()
    return Picture(
        samples,
        hdr.bit_depth,
        hdr,
        len(parsed.groups),
        {"parse": t1 - t0, "hyper": t2 - t1, "latent": t3 - t2, "synthesis": t4 - t3},
    )
