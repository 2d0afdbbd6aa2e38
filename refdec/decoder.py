"""The decoding process (WD 8.1): codestream bytes in, output samples out.

Decoding runs in the order of the WD: parse the segments (clause 5-7) and check the
level (Annex A) before anything is allocated; find the parameter set the header names
(Annex C); decode the hyper-latent (8.3.1) and run the hyper synthesis (8.3.2); then,
channel group by channel group, correct the entropy parameters from the groups before
(8.4.1, with context networks), derive the table indices (8.4.2), decode the latent
residuals tile by tile (8.4.3) and reconstruct the latent (8.5); run the synthesis
(8.7), convert to output samples (8.8) and, when the codestream carries an OF segment,
filter them (8.9).

The WD describes each step on whole arrays; :func:`decode` computes the hyper synthesis,
the context networks, the synthesis and the output in bands of rows and the residuals
and the reconstruction tile by tile, which gives the same integers (each value depends only on
a bounded neighbourhood, WD 8.7 note) and keeps the memory of a large picture close to
that of its output samples and one int16 copy of the latent (no whole-latent array is
wider than int16, no whole-picture array but the samples exists). Each of those steps
is a function of its own, so that its working arrays are freed when it returns.

A *prefix* of a codestream (``max_bytes``) decodes to the picture of WD 8.1.2: the
channel groups whose segments are complete are used, the others have zero residuals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refdec.codestream import ParsedCodestream, PictureHeader, parse_codestream
from refdec.context import context_prediction
from refdec.entropy import decode_stream, decode_streams
from refdec.errors import EntropyError
from refdec.hyper import hyper_symbol_tables, hyper_synthesis_bands
from refdec.latent import reconstruct, scale_indices, tile_grid, tile_symbol_tables
from refdec.network import band_rows as bands_for
from refdec.network import chain_bands
from refdec.output import sample_dtype, to_samples
from refdec.output_filter import apply_output_filter
from refdec.params import ParameterSet, find_parameter_set


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


CHUNK_SYMBOLS = 2**22
"""Latent symbols decoded by one parallel call (informative: it bounds the working
memory of the residuals, and any chunking gives the same residuals)."""


def tile_chunks(sizes: list[int], limit: int) -> Iterator[range]:
    """Runs of consecutive tiles with at most ``limit`` symbols together (a tile with
    more makes a run of its own)."""
    first = 0
    while first < len(sizes):
        last, total = first + 1, sizes[first]
        while last < len(sizes) and total + sizes[last] <= limit:
            total += sizes[last]
            last += 1
        yield range(first, last)
        first = last


def group_residual_tiles(
    parsed: ParsedCodestream, params: ParameterSet, group: int, idx: np.ndarray
) -> Iterator[tuple[tuple[int, int, int, int], np.ndarray]]:
    """WD 8.4.3 for a channel group present: yields (tile rectangle, residuals (N_g, h, w)).

    ``idx`` (N_g, Hy, Wy) holds the table indices of the group's channels. The tiles
    come in raster order; they are decoded in parallel, up to :data:`CHUNK_SYMBOLS`
    symbols at a time, so that a large picture never holds the residuals (or the table
    indices in coding order) of more than one chunk.
    """
    hdr = parsed.header
    per = idx.shape[0]
    rects = tile_grid(hdr.latent_height, hdr.latent_width, hdr.tile_size)
    sizes = [per * (y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in rects]
    everything = range(per)
    for chunk in tile_chunks(sizes, CHUNK_SYMBOLS):
        tiles = [parsed.groups[group].tiles[t] for t in chunk]
        try:
            values = decode_streams(
                parsed.data,
                np.array([off for off, _ in tiles], np.int64),
                np.array([n for _, n in tiles], np.int64),
                np.concatenate([tile_symbol_tables(idx, everything, rects[t]) for t in chunk]),
                np.concatenate([[0], np.cumsum([sizes[t] for t in chunk])]),
            )
        except EntropyError as e:  # name the tile by its number within its group
            raise EntropyError(
                e.message,
                offset=e.offset,
                tile=chunk.start + e.tile,
                group=parsed.groups[group].index,
                clause=e.clause,
            ) from None
        start = 0
        for t in chunk:
            y0, y1, x0, x1 = rects[t]
            n = sizes[t]
            yield rects[t], values[start : start + n].reshape(per, y1 - y0, x1 - x0)
            start += n


GroupParameters = Callable[[int, range, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(group, channels, y_in) -> (mean_fp, idx)`` of the group's channels, each
(N_g, Hy, Wy): steps 5a and 5b of WD 8.1.1 (8.3.2's output, 8.4.1, 8.4.2), given
``y_in`` of the groups before."""


def hyper_parameters(
    z_hat: np.ndarray,
    hdr: PictureHeader,
    params: ParameterSet,
    band_rows: int | None,
    threads: bool,
    channels: range | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """WD 8.3.2: the means ``mean_fp`` and log-scales ``ls_fp`` of the latent channels
    ``channels`` (all when None), each (C, Hy, Wy) int16, computed in bands of rows of
    ``z_hat``."""
    hy, wy = hdr.latent_height, hdr.latent_width
    c = params.m if channels is None else len(channels)
    mean_fp = np.empty((c, hy, wy), np.int16)
    ls_fp = np.empty((c, hy, wy), np.int16)
    for y0, mean, ls in hyper_synthesis_bands(
        z_hat,
        params,
        hy,
        wy,
        hdr.hyper_step_log2,
        band_rows=band_rows,
        threads=threads,
        channels=channels,
    ):
        y1 = y0 + mean.shape[1]
        mean_fp[:, y0:y1] = mean
        ls_fp[:, y0:y1] = ls
    return mean_fp, ls_fp


def group_parameters(
    z_hat: np.ndarray,
    hdr: PictureHeader,
    params: ParameterSet,
    band_rows: int | None,
    threads: bool,
) -> GroupParameters:
    """Steps 5a and 5b of WD 8.1.1 within a bounded memory.

    Without context networks the hyper synthesis runs once for all channels and keeps
    the means (int16) and the table indices (a byte each). With them, the table indices
    of a group wait for the groups before it, so the hyper synthesis runs group by group
    (its last layer for the group's channels only), and no whole-latent array but
    ``y_in`` is held.
    """
    q = hdr.quality
    if not params.ctx:
        mean_fp, ls_fp = hyper_parameters(z_hat, hdr, params, band_rows, threads)
        idx = scale_indices(ls_fp, q, params)
        del ls_fp  # before y_in is allocated: the peak stays at 5 bytes per element

        def precomputed(group: int, ch: range, y_in: np.ndarray) -> tuple:
            return mean_fp[ch.start : ch.stop], idx[ch.start : ch.stop]

        return precomputed

    def with_context(group: int, ch: range, y_in: np.ndarray) -> tuple:
        mean, ls = hyper_parameters(z_hat, hdr, params, band_rows, threads, ch)
        if group:
            context_prediction(y_in, mean, ls, group, params, band_rows=band_rows, threads=threads)
        return mean, scale_indices(ls, q, params, ch.start)

    return with_context


def whole_array_parameters(
    mean_fp: np.ndarray, ls_fp: np.ndarray, quality: int, params: ParameterSet
) -> GroupParameters:
    """Steps 5a and 5b on whole arrays (M, Hy, Wy) of the hyper synthesis, which the
    context prediction corrects in place."""

    def parameters(group: int, ch: range, y_in: np.ndarray) -> tuple:
        mean, ls = mean_fp[ch.start : ch.stop], ls_fp[ch.start : ch.stop]
        if group and params.ctx:
            context_prediction(y_in, mean, ls, group, params)
        return mean, scale_indices(ls, quality, params, ch.start)

    return parameters


def latent_tiles(
    parsed: ParsedCodestream,
    params: ParameterSet,
    parameters: GroupParameters,
    y_in: np.ndarray,
) -> Iterator[tuple[range, tuple[int, int, int, int], np.ndarray]]:
    """Step 5 of WD 8.1.1, group by group and tile by tile: yields (channels, tile
    rectangle, residuals (N_g, h, w)) once the tile's part of ``y_in`` is written.

    For each group in order: its means and table indices (``parameters``: 8.3.2, 8.4.1,
    8.4.2), the residuals (8.4.3; zero for a group absent from a prefix, 8.1.2) and the
    reconstruction (8.5) into ``y_in`` (Hy, Wy, M).
    """
    hdr = parsed.header
    q, groups = hdr.quality, hdr.num_channel_groups
    per = params.m // groups
    rects = tile_grid(hdr.latent_height, hdr.latent_width, hdr.tile_size)
    for g in range(groups):
        channels = range(g * per, (g + 1) * per)
        mean, idx = parameters(g, channels, y_in)
        if g < len(parsed.groups):
            tiles = group_residual_tiles(parsed, params, g, idx)
        else:  # WD 8.1.2: the residuals of an absent group are zero
            tiles = ((r, np.zeros((per, r[1] - r[0], r[3] - r[2]), np.int32)) for r in rects)
        for (y0, y1, x0, x1), r in tiles:
            c0, c1 = channels.start, channels.stop
            y_in[y0:y1, x0:x1, c0:c1] = reconstruct(r, mean[:, y0:y1, x0:x1], channels, q, params)
            yield channels, (y0, y1, x0, x1), r


def latent(
    parsed: ParsedCodestream, params: ParameterSet, parameters: GroupParameters
) -> np.ndarray:
    """Step 5 of WD 8.1.1 (8.4 and 8.5, with 8.1.2 for a prefix): the synthesis input
    ``y_in`` (Hy, Wy, M) int16."""
    hdr = parsed.header
    y_in = np.empty((hdr.latent_height, hdr.latent_width, params.m), np.int16)
    for _ in latent_tiles(parsed, params, parameters, y_in):
        pass
    return y_in


def decode_latent(
    parsed: ParsedCodestream, params: ParameterSet, mean_fp: np.ndarray, ls_fp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Step 5 of WD 8.1.1 on whole arrays: the residuals ``r`` (M, Hy, Wy) int32 (zero
    for absent groups) and ``y_in`` (Hy, Wy, M) int16; for tools that inspect the
    residuals. ``mean_fp`` and ``ls_fp`` (the output of the hyper synthesis) are
    corrected in place (WD 8.4.1)."""
    hdr = parsed.header
    r = np.zeros((params.m, hdr.latent_height, hdr.latent_width), np.int32)
    y_in = np.empty((hdr.latent_height, hdr.latent_width, params.m), np.int16)
    parameters = whole_array_parameters(mean_fp, ls_fp, hdr.quality, params)
    for channels, (y0, y1, x0, x1), values in latent_tiles(parsed, params, parameters, y_in):
        r[channels.start : channels.stop, y0:y1, x0:x1] = values
    return r, y_in


def output_samples(
    y_in: np.ndarray,
    hdr: PictureHeader,
    params: ParameterSet,
    band_rows: int | None,
    threads: bool,
) -> np.ndarray:
    """WD 8.7 and 8.8: the output samples (H, W, 3), synthesised in bands of latent rows
    and converted band by band."""
    samples = np.empty((hdr.height, hdr.width, 3), sample_dtype(hdr.bit_depth))
    layers = list(params.gs)
    rows = band_rows or bands_for(layers, hdr.latent_width)
    # Hy = Ceil(H / 16) latent rows: every band starts above the last picture row.
    for row, band in chain_bands(y_in, layers, rows, threads=threads):
        part = to_samples(band, params.f_out, hdr.bit_depth, hdr.width, hdr.height - row)
        samples[row : row + part.shape[0]] = part
    return samples


def decode(
    data: bytes,
    *,
    max_bytes: int | None = None,
    params_path: Path | str | None = None,
    threads: bool = True,
    band_rows: int | None = None,
) -> Picture:
    """Decode a codestream (WD 8.1.1), or its first ``max_bytes`` bytes (WD 8.1.2).

    ``band_rows`` rows of their input are run at a time through the hyper synthesis
    and the synthesis (rows of ``z_hat``, then latent rows; WD 8.7 note: any band
    height gives the same samples); None sizes the bands to bound the memory
    (:func:`refdec.network.band_rows`).

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
        parsed.z_stream,
        hyper_symbol_tables(params, hz, wz, hdr.hyper_step_log2),
        base_offset=parsed.z_offset,
    ).reshape(params.mz, hz, wz)
    parameters = group_parameters(z_hat, hdr, params, band_rows, threads)
    t2 = time.perf_counter_ns()
    y_in = latent(parsed, params, parameters)
    del parameters
    t3 = time.perf_counter_ns()
    samples = output_samples(y_in, hdr, params, band_rows, threads)
    if parsed.output_filter is not None:
        samples = apply_output_filter(samples, parsed.output_filter, hdr.bit_depth)
    t4 = time.perf_counter_ns()
    return Picture(
        samples,
        hdr.bit_depth,
        hdr,
        len(parsed.groups),
        {"parse": t1 - t0, "hyper": t2 - t1, "latent": t3 - t2, "synthesis": t4 - t3},
    )
