"""Rebuild the conformance suite: ``python -m conformance.generate``.

Every case is made from fixed inputs: synthetic pictures drawn from fixed seeds and
crops of ``samples/seeding.png``, encoded by the training encoder (:mod:`encoder`) with
the shipped model, and, for the cases that need it, altered at the level of segments,
fields or rANS symbols. The expected result of each case is then computed by the
reference decoder (:mod:`refdec`): the decoded picture (its SHA-256 and a PNG file), or
the error it raises. Nothing else goes into the suite, so after a change of the model
or of the decoder this one command brings the suite up to date::

    python -m conformance.generate            # rebuilds conformance/suite/
    python -m conformance.generate --check    # builds into a temporary folder and
                                              # compares with conformance/suite/

Needs PyTorch (the ``train`` extra). The suite folder holds, per case, ``ID.olic``
(the codestream), ``ID.json`` (its description, validated by
``conformance/case.schema.json``) and, for cases that decode, ``ID.png`` (the
expected picture); ``index.json`` lists the cases and maps every requirement of
codestream conformance of the WD to its negative cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conformance import requirements as reqs
from conformance import test_params
from conformance.samples import compare, samples_sha256

ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = Path(__file__).resolve().parent / "suite"
SCHEMA_PATH = Path(__file__).resolve().parent / "case.schema.json"
SAMPLE_PICTURE = ROOT / "samples" / "seeding.png"
FORMAT_VERSION = 1
GENERATOR = "python -m conformance.generate"

# The tolerance class (WD D.2): thresholds for each case, from the errors of the
# floating-point decoder (conformance.float_decoder, float64 and float32) with a margin:
# min_psnr_db = min(BASE_PSNR[B], floor(measured) - PSNR_MARGIN_DB) and
# max_abs_error = max(BASE_PEAK[B], 2 * measured peak error).
BASE_PSNR = {8: 50.0, 10: 60.0}
BASE_PEAK = {8: 2, 10: 4}
PSNR_MARGIN_DB = 6
HEAVY_SAMPLES = 1_000_000
"""Pictures of this many samples or more are marked heavy (their float decoding is not
measured for the tolerance thresholds, which then take the base values)."""


def most_groups(m: int) -> int:
    """The most channel groups a picture header can name for M latent channels.

    ``num_channel_groups`` is u(8) and divides M (7.2): one channel per group while M
    is below 256, else the largest divisor of M under 256.
    """
    return max(g for g in range(1, 256) if m % g == 0)


# -- pictures -------------------------------------------------------------------------


def _seeding() -> np.ndarray:
    from PIL import Image

    with Image.open(SAMPLE_PICTURE) as im:
        return np.asarray(im.convert("RGB"))


def _to_10bit(a: np.ndarray, seed: int) -> np.ndarray:
    """8-bit samples spread to 10 bits, with a seeded dither in the two low bits."""
    rng = np.random.default_rng(seed)
    return (a.astype(np.uint16) << 2) + rng.integers(0, 4, a.shape, dtype=np.uint16)


def photo(w: int, h: int, x: int = 0, y: int = 0, bit_depth: int = 8, seed: int = 0):
    """A crop of samples/seeding.png (mirrored beyond its borders)."""
    img = _seeding()
    ih, iw = img.shape[:2]
    pad = ((0, max(0, y + h - ih)), (0, max(0, x + w - iw)), (0, 0))
    crop = np.pad(img, pad, mode="symmetric")[y : y + h, x : x + w]
    desc = f"samples/seeding.png crop x={x} y={y} {w}x{h}"
    if bit_depth == 10:
        return _to_10bit(crop, seed), 10, desc + f", to 10 bits with dither seed {seed}"
    return np.ascontiguousarray(crop), 8, desc


def synthetic(kind: str, w: int, h: int, seed: int, bit_depth: int = 8, value: int = 0):
    """A synthetic picture: gradient, noise, checker, edges or flat."""
    rng = np.random.default_rng(seed)
    peak = (1 << bit_depth) - 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "gradient":
        chans = []
        for _ in range(3):
            fx, fy, ph = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.3)
            t = 0.5 + 0.45 * np.sin(fx * 6.3 * xx / max(w, 64) + fy * 6.3 * yy / max(h, 64) + ph)
            chans.append(t + rng.normal(0, 0.01, t.shape))
        a = np.clip(np.stack(chans, -1), 0, 1) * peak
    elif kind == "noise":
        a = rng.integers(0, peak + 1, (h, w, 3))
    elif kind == "checker":
        blocks = rng.integers(0, 2, (h // 8 + 1, w // 8 + 1, 3)) * peak
        a = blocks[(yy // 8).astype(int), (xx // 8).astype(int)]
    elif kind == "edges":
        a = np.zeros((h, w, 3))
        for _ in range(12):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            a[y0 : y0 + rng.integers(1, h), x0 : x0 + rng.integers(1, w)] = (
                rng.integers(0, 2, 3) * peak
            )
    elif kind == "flat":
        a = np.full((h, w, 3), value)
    else:
        raise ValueError(kind)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    extra = f" value {value}" if kind == "flat" else ""
    desc = f"synthetic {kind} {w}x{h}, seed {seed}{extra}"
    return np.rint(a).astype(dtype), bit_depth, desc


# -- codestream construction ----------------------------------------------------------


@dataclass
class Parts:
    """A codestream taken apart: header, streams and optional segments."""

    header: Any
    z_stream: bytes
    tiles: list[list[bytes]]


class Toolkit:
    """Encoder, reference decoder and codestream surgery, loaded once."""

    def __init__(self, model: str, weights: Path | None = None) -> None:
        import torch

        from encoder import pipeline, rans, writer
        from refdec import codestream, hyper, latent, syntax
        from refdec.tables import load_tables

        torch.manual_seed(0)
        self.torch = torch
        self.pipeline = pipeline
        self.rans = rans
        self.writer = writer
        self.cs = codestream
        self.hyper = hyper
        self.latent = latent
        self.syntax = syntax
        self.tables = load_tables()
        self.params_name = f"{model}.olp"
        self.codec = pipeline.load_codec(pipeline.PARAMS_DIR / self.params_name, weights)
        self.params = self.codec.params

    # encoding

    def encode(self, picture, *, quality=160, tile_log2=5, groups=2, hyper_step=0, output_filter=False):  # noqa: ANN001, E501
        image, bit_depth, _ = picture
        return self.pipeline.encode_detailed(
            image,
            bit_depth=bit_depth,
            quality=quality,
            tile_size_log2=tile_log2,
            channel_groups=groups,
            hyper_step_log2=hyper_step,
            # Refinement (WD E.3.1) descends in float arithmetic, whose last bits
            # depend on the machine: without it the suite is rebuilt bit for bit.
            refine_iterations=0,
            # The cases of the output filter (WD 8.9) choose it; the others go without,
            # so that their segments stay those of clause 5.
            output_filter=output_filter,
            codec=self.codec,
        )

    def parts(self, data: bytes) -> Parts:
        parsed = self.cs.parse_codestream(data)
        tiles = [[parsed.data[o : o + n] for o, n in g.tiles] for g in parsed.groups]
        return Parts(parsed.header, parsed.z_stream, tiles)

    def assemble(self, p: Parts, optional=(), check=True, output_filter=None) -> bytes:  # noqa: ANN001
        return self.writer.write_codestream(
            p.header, p.z_stream, p.tiles, optional, output_filter=output_filter, check=check
        )

    def segments(self, data: bytes) -> list[tuple[int, bytes]]:
        """(marker, payload) of every segment of a valid codestream."""
        return [(s.marker, s.payload) for s in self.cs.split_segments(data)]

    def build(self, segments: list[tuple[int, bytes]]) -> bytes:
        """Signature and segments, each framed with its length and CRC (WD 5.2)."""
        return self.syntax.SIGNATURE + b"".join(
            self.writer.encode_segment(m, p) for m, p in segments
        )

    def ph_payload(self, header, **changes: int) -> bytes:  # noqa: ANN001
        """The PH payload of ``header`` with fields replaced (no checks)."""
        out = bytearray()
        for f in self.syntax.PH.fields():
            v = changes.get(f.name, getattr(header, f.name))
            if not isinstance(v, int):
                assert len(v) == f.size, f"{f.name} needs {f.size} bytes"
            out += v.to_bytes(f.size, "big") if isinstance(v, int) else bytes(v)
        return bytes(out)

    def with_fields(self, data: bytes, **changes: int) -> bytes:
        """``data`` with picture header fields replaced and the PH crc recomputed."""
        segs = self.segments(data)
        header = self.cs.parse_codestream(data).header
        segs[0] = (segs[0][0], self.ph_payload(header, **changes))
        return self.build(segs)

    def ys_payload(self, group: int, tiles: list[bytes], sizes: list[int] | None = None) -> bytes:
        return self.writer.latent_stream_payload(group, tiles, sizes)

    def ends(self, segments: list[tuple[int, bytes]]) -> list[int]:
        """Offset just after each of ``segments`` in :meth:`build` of them."""
        out, pos = [], len(self.syntax.SIGNATURE)
        for m, p in segments:
            pos += len(self.writer.encode_segment(m, p))
            out.append(pos)
        return out

    @staticmethod
    def padded_leb128(value: int, fifth: int = 0) -> bytes:
        """``value`` (below 2^28) as a 5-byte ``leb128()`` with fifth byte ``fifth``
        (WD 4.4): 0 gives a valid element of more bytes than it needs."""
        return bytes(0x80 | (value >> (7 * i)) & 0x7F for i in range(4)) + bytes([fifth])

    def raw_segment(self, marker: int, length: bytes, payload: bytes) -> bytes:
        """A segment with the ``length`` bytes given as they are and its crc (WD 5.2)."""
        body = marker.to_bytes(2, "big") + length + payload
        return body + self.cs.crc32(body).to_bytes(4, "big")

    def length_size(self, payload: bytes) -> int:
        """Bytes of the ``leb128()`` length of a segment with ``payload`` (WD 5.2)."""
        return len(self.writer.leb128(len(payload)))

    def marker(self, name: str) -> int:
        return self.syntax.marker_code(name)

    def reencode(self, enc, *, quality, tile_log2, groups, z_change=None, r_change=None):  # noqa: ANN001
        """Entropy code a (possibly altered) hyper-latent and residuals again (for a
        parameter set without context networks, whose tables the residuals never change)."""
        a, params = enc.analysis, self.params
        assert not params.ctx, "with context networks the tables depend on the residuals"
        hy, wy = a.mean_fp.shape[1:]
        k = a.hyper_step_log2
        z = a.z_hat.astype(np.int64).copy()
        if z_change is not None:
            z_change(z)
        mean_fp, ls_fp = self.hyper.hyper_synthesis(z.astype(np.int32), params, hy, wy, k)
        idx = self.latent.scale_indices(ls_fp, quality, params)
        r = enc.residuals.astype(np.int64).copy()
        if r_change is not None:
            r_change(r, idx)
        hz, wz = z.shape[1:]
        z_stream = self.rans.encode(z.ravel(), self.hyper.hyper_symbol_tables(params, hz, wz, k))
        per = params.m // groups
        tiles = []
        for g in range(groups):
            ch = range(g * per, (g + 1) * per)
            tiles.append(
                [
                    self.rans.encode(
                        self.latent.tile_symbol_tables(r, ch, rect),
                        self.latent.tile_symbol_tables(idx, ch, rect),
                    )
                    for rect in self.latent.tile_grid(hy, wy, 1 << tile_log2)
                ]
            )
        header = self.cs.parse_codestream(enc.data).header
        return self.assemble(Parts(header, z_stream, tiles))

    # rANS streams symbol by symbol

    def value_symbols(self, v: int, table: int) -> list[tuple[int, int]]:
        """The (low, freq) symbols that code value ``v`` with a table (WD 8.2.6)."""
        t = self.tables
        r = int(t.radius[table])
        off = int(t.cdf_offset[table])
        cdf = t.cdf_flat

        def sym(s: int) -> tuple[int, int]:
            return int(cdf[off + s]), int(cdf[off + s + 1]) - int(cdf[off + s])

        if abs(v) <= r:
            return [sym(v + r)]
        u = 2 * (abs(v) - r - 1) + (1 if v < 0 else 0)
        n = (u + 1).bit_length() - 1
        out = [sym(2 * r + 1)] + [bits(1, 1)] * n + [bits(0, 1)]
        if n:
            out.append(bits(u + 1 - (1 << n), n))
        return out

    @staticmethod
    def rans_stream(symbols: list[tuple[int, int]], start_state: int = 1 << 23) -> bytes:
        """A rANS stream of (low, freq) symbols (the encoder of Annex E, in Python)."""
        lo_bound = 1 << 23
        x = start_state
        emitted = bytearray()
        for low, freq in reversed(symbols):
            x_max = ((lo_bound >> 16) << 8) * freq
            while x >= x_max:
                emitted.append(x & 0xFF)
                x >>= 8
            x = ((x // freq) << 16) + x % freq + low
        for _ in range(4):
            emitted.append(x & 0xFF)
            x >>= 8
        return bytes(reversed(emitted))

    def failure_phase(self, stream: bytes, tables: list[int]) -> str | None:
        """Where the rANS decoding of WD 8.2 of ``stream`` fails: 'init', 'value',
        'escape-prefix', 'escape-suffix' or 'end' (8.2.7); None if it succeeds.

        A plain transcription of WD 8.2, to check what a crafted stream exercises.
        """
        t = self.tables
        lo_bound, n = 1 << 23, len(stream)
        if n < 4:
            return "init"
        st = {"x": int.from_bytes(stream[:4], "big"), "p": 4}
        if not lo_bound <= st["x"] < 1 << 31:
            return "init"

        def symbol(cdf: list[int]) -> int:
            slot = st["x"] & 0xFFFF
            s = next(k for k in range(len(cdf) - 1) if cdf[k] <= slot < cdf[k + 1])
            st["x"] = (cdf[s + 1] - cdf[s]) * (st["x"] >> 16) + slot - cdf[s]
            while st["x"] < lo_bound:
                if st["p"] >= n:
                    raise EOFError
                st["x"] = (st["x"] << 8) | stream[st["p"]]
                st["p"] += 1
            return s

        def bits_cdf(k: int) -> list[int]:
            return [i << (16 - k) for i in range((1 << k) + 1)]

        for table in tables:
            off, length = int(t.cdf_offset[table]), int(t.cdf_len[table])
            cdf = [int(v) for v in t.cdf_flat[off : off + length]]
            r = int(t.radius[table])
            phase = "value"
            try:
                if symbol(cdf) == 2 * r + 1:
                    phase = "escape-prefix"
                    prefix = 0
                    while symbol(bits_cdf(1)) == 1:
                        prefix += 1
                        if prefix > 16:
                            return "escape-prefix-length"
                    phase = "escape-suffix"
                    if prefix:
                        symbol(bits_cdf(prefix))
            except EOFError:
                return phase
        return None if st["x"] == lo_bound and st["p"] == n else "end"

    def tile_tables(self, data: bytes, group: int, tile: int) -> tuple[np.ndarray, np.ndarray]:
        """The values and table indices of one tile stream of a valid codestream."""
        from refdec.decoder import decode_latent
        from refdec.entropy import decode_stream

        parsed = self.cs.parse_codestream(data)
        hdr, params = parsed.header, self.params
        k = hdr.hyper_step_log2
        z = decode_stream(
            parsed.z_stream,
            self.hyper.hyper_symbol_tables(params, hdr.hyper_height, hdr.hyper_width, k),
        ).reshape(params.mz, hdr.hyper_height, hdr.hyper_width)
        mean_fp, ls_fp = self.hyper.hyper_synthesis(
            z, params, hdr.latent_height, hdr.latent_width, k
        )
        r, _ = decode_latent(parsed, params, mean_fp, ls_fp)  # corrects ls_fp (WD 8.4.1)
        idx = self.latent.scale_indices(ls_fp, hdr.quality, params)
        per = params.m // hdr.num_channel_groups
        ch = range(group * per, (group + 1) * per)
        rect = self.latent.tile_grid(hdr.latent_height, hdr.latent_width, hdr.tile_size)[tile]
        return (
            self.latent.tile_symbol_tables(r, ch, rect).astype(np.int64),
            self.latent.tile_symbol_tables(idx, ch, rect).astype(np.int64),
        )


def bits(value: int, n: int) -> tuple[int, int]:
    """The (low, freq) symbol of ``bits(n)`` with ``value`` (WD 8.2.5)."""
    freq = 1 << (16 - n)
    return value * freq, freq


# -- cases ----------------------------------------------------------------------------


@dataclass
class Draft:
    """A case before its expectation is computed."""

    id: str
    category: str
    purpose: str
    clauses: list[str]
    syntax_elements: list[str]
    data: bytes
    picture: str = ""
    encoder: dict | None = None
    modifications: list[str] = field(default_factory=list)
    prefix: bool = False
    violates: list[str] = field(default_factory=list)
    conforming: bool = True
    expect_error: bool = False
    error_note: str = ""
    """Why the error's clause differs from the violated requirement's, where it does."""
    level: int | None = None
    """Level of the codestream a negative case was made from."""
    heavy: bool = False


POSITIVE_CLAUSES = ["8.1.1", "8.3", "8.4", "8.5", "8.7", "8.8"]
SIZE_ELEMENTS = ["width_minus1", "height_minus1"]


class Builder:
    """Makes every case of the suite (in the order of the suite)."""

    def __init__(self, kit: Toolkit) -> None:
        self.kit = kit
        self.q_max = kit.params.num_qualities - 1
        self._base: dict[str, tuple[bytes, Any]] = {}

    # helpers

    def enc(self, picture, *, quality=160, tile_log2=5, groups=2, hyper_step=0, output_filter=False):  # noqa: ANN001, E501
        e = self.kit.encode(
            picture,
            quality=quality,
            tile_log2=tile_log2,
            groups=groups,
            hyper_step=hyper_step,
            output_filter=output_filter,
        )
        info = {
            "quality": quality,
            "tile_size_log2": tile_log2,
            "channel_groups": groups,
            "hyper_step_log2": hyper_step,
            "bit_depth": picture[1],
        }
        return e, info

    def positive(
        self,
        id_,
        category,
        purpose,
        picture,
        *,
        clauses=(),
        elements=(),
        quality=160,
        tile_log2=5,
        groups=2,
        hyper_step=0,
        **kw,
    ) -> Draft:  # noqa: ANN001
        e, info = self.enc(
            picture, quality=quality, tile_log2=tile_log2, groups=groups, hyper_step=hyper_step
        )
        return Draft(
            id_,
            category,
            purpose,
            list(clauses) + POSITIVE_CLAUSES,
            list(elements),
            e.data,
            picture=picture[2],
            encoder=info,
            **kw,
        )

    def base(self) -> tuple[bytes, dict, str]:
        """The codestream the negative cases alter: 72 x 40, 2 groups of 2 tiles."""
        if "neg" not in self._base:
            pic = photo(72, 40, 410, 230)
            e, info = self.enc(pic, quality=128, tile_log2=2, groups=2)
            self._base["neg"] = (e.data, (info, pic[2]))
        data, (info, desc) = self._base["neg"]
        return data, info, desc

    def negative(
        self,
        id_,
        violates,
        purpose,
        data,
        *,
        clauses,
        elements,
        mods,
        note="",
        base=None,
        conforming=False,
        expect_error=True,
    ) -> Draft:  # noqa: ANN001
        b_data, info, desc = self.base() if base is None else base
        level = self.kit.cs.parse_codestream(b_data).header.level_idc
        return Draft(
            id_,
            "negative" if expect_error else "header-fields",
            purpose,
            list(clauses),
            list(elements),
            data,
            picture=desc,
            encoder=info,
            modifications=list(mods),
            violates=list(violates),
            conforming=conforming,
            expect_error=expect_error,
            error_note=note,
            level=level,
        )

    # the suite

    def cases(self) -> Iterator[Draft]:
        yield from self.sizes()
        yield from self.bit_depths()
        yield from self.qualities()
        yield from self.contents()
        yield from self.escapes()
        yield from self.tiles()
        yield from self.groups()
        yield from self.prefixes()
        yield from self.optional_segments()
        yield from self.header_fields()
        yield from self.levels()
        yield from self.output_filters()
        yield from self.negatives()

    def sizes(self) -> Iterator[Draft]:
        c = ["5.4", "8.8"]
        for w, h, pic, why in (
            (1, 1, photo(1, 1, 300, 200), "the smallest picture: one sample"),
            (1, 37, photo(1, 37, 500, 100), "a picture one sample wide"),
            (37, 1, photo(37, 1, 120, 300), "a picture one sample high"),
            (2, 3, synthetic("noise", 2, 3, 11), "a tiny picture of noise"),
            (15, 15, photo(15, 15, 250, 250), "smaller than one latent position"),
            (16, 16, photo(16, 16, 250, 250), "exactly one latent position"),
            (17, 33, photo(17, 33, 600, 40), "odd sizes, just above multiples of 16"),
            (33, 17, synthetic("gradient", 33, 17, 12), "odd sizes, a smooth picture"),
            (65, 63, photo(65, 63, 60, 380), "the hyper-latent grid: Wz = 2, Hz = 1"),
            (100, 75, photo(100, 75, 330, 150), "sizes that are not multiples of 16"),
            (64, 64, photo(64, 64, 352, 224), "a multiple of 64 in both directions"),
            (129, 47, photo(129, 47, 200, 420), "one column past a multiple of 64"),
        ):
            yield self.positive(
                f"size-{w}x{h}",
                "picture-size",
                f"Picture of {w} x {h} samples: {why}.",
                pic,
                clauses=c,
                elements=SIZE_ELEMENTS,
            )

    def bit_depths(self) -> Iterator[Draft]:
        c = ["7.2", "8.8"]
        yield self.positive(
            "bd10-64x64",
            "bit-depth",
            "10-bit picture.",
            photo(64, 64, 100, 100, 10, seed=1),
            clauses=c,
            elements=["bit_depth"],
        )
        yield self.positive(
            "bd10-23x41",
            "bit-depth",
            "10-bit picture of odd size.",
            photo(23, 41, 700, 300, 10, seed=2),
            clauses=c + ["5.4"],
            elements=["bit_depth", *SIZE_ELEMENTS],
        )
        yield self.positive(
            "bd10-gradient-q-max",
            "bit-depth",
            "10-bit smooth picture at the highest quality: fine levels.",
            synthetic("gradient", 80, 48, 3, 10),
            clauses=c,
            quality=self.q_max,
            elements=["bit_depth", "quality"],
        )
        yield self.positive(
            "bd10-q0",
            "bit-depth",
            "10-bit picture at the lowest quality.",
            photo(48, 32, 20, 20, 10, seed=4),
            clauses=c,
            quality=0,
            elements=["bit_depth", "quality"],
        )

    def qualities(self) -> Iterator[Draft]:
        pic = photo(64, 48, 500, 260)
        for q, why in (
            (0, "the lowest quality"),
            (1, "the second lowest quality"),
            (64, "a low quality"),
            (128, "a middle quality"),
            (self.q_max, "the highest quality"),
        ):
            yield self.positive(
                f"quality-{q}",
                "quality",
                f"Quality index {q}: {why}.",
                pic,
                clauses=["7.2", "8.4.2", "8.5"],
                quality=q,
                elements=["quality"],
            )

    def contents(self) -> Iterator[Draft]:
        c = ["8.8"]
        yield self.positive(
            "content-black-q-max",
            "picture-content",
            "Black picture: output samples clipped at 0.",
            synthetic("flat", 32, 32, 0, value=0),
            clauses=c,
            quality=self.q_max,
        )
        yield self.positive(
            "content-white-q-max",
            "picture-content",
            "White picture: output samples clipped at the peak value.",
            synthetic("flat", 32, 32, 0, value=255),
            clauses=c,
            quality=self.q_max,
        )
        yield self.positive(
            "content-checker-q-max",
            "picture-content",
            "Saturated colour blocks at the highest quality: overshoot clipped at both ends.",
            synthetic("checker", 48, 48, 5),
            clauses=c,
            quality=self.q_max,
        )
        yield self.positive(
            "content-checker-10bit",
            "picture-content",
            "Saturated 10-bit colour blocks: clipping at 0 and 1023.",
            synthetic("checker", 40, 40, 6, 10),
            clauses=c,
            quality=200,
        )
        yield self.positive(
            "content-noise-q-max",
            "picture-content",
            "Uniform noise at the highest quality: large residuals.",
            synthetic("noise", 48, 32, 7),
            clauses=["8.2.6", *c],
            quality=self.q_max,
        )
        yield self.positive(
            "content-edges-q0",
            "picture-content",
            "Saturated rectangles at the lowest quality.",
            synthetic("edges", 56, 40, 8),
            clauses=c,
            quality=0,
        )

    def escapes(self) -> Iterator[Draft]:
        kit = self.kit
        radius = kit.tables.radius.astype(np.int64)

        def boundaries() -> list[int]:
            # Exp-Golomb arguments u at both ends of every prefix length n = 0 .. 16.
            us = []
            for n in range(17):
                us += [(1 << n) - 1, (1 << (n + 1)) - 2]
            return sorted(set(us))

        def latent_escapes(seed: int, big: bool):
            def change(r: np.ndarray, idx: np.ndarray) -> None:
                rng = np.random.default_rng(seed)
                flat_r, flat_i = r.reshape(-1), idx.reshape(-1)
                pos = rng.permutation(flat_r.size)
                k = 0
                # Values just beyond the radius of their table, both signs.
                for step in range(1, 13):
                    for sign in (1, -1):
                        p = pos[k]
                        k += 1
                        flat_r[p] = sign * (radius[flat_i[p]] + step)
                if big:
                    for u in boundaries():
                        p = pos[k]
                        k += 1
                        flat_r[p] = (-1 if u & 1 else 1) * (radius[flat_i[p]] + 1 + (u >> 1))

            return change

        def hyper_escapes(z: np.ndarray) -> None:
            rng = np.random.default_rng(21)
            flat = z.reshape(-1)
            pos = rng.permutation(flat.size)
            values = [
                6,
                -6,
                7,
                -7,
                9,
                -12,
                20,
                -31,
                100,
                -200,
                254,
                -254,
                255,
                -255,
                256,
                -256,
                1000,
                -1000,
            ]
            for p, v in zip(pos, values):
                flat[p] = v
            # The largest magnitudes the table of each position can code (8.2.6):
            # R + 2^16 and -(R + 2^16 - 1), whatever the table of that channel is.
            per_channel = z.shape[1] * z.shape[2]
            z_table = kit.params.z_table
            for p, sign in zip(pos[len(values) :], (1, -1)):
                r = int(radius[z_table[p // per_channel]])
                flat[p] = r + (1 << 16) if sign > 0 else -(r + (1 << 16) - 1)

        for id_, pic, q, seed, big, why in (
            (
                "escape-latent-small",
                photo(64, 48, 150, 330),
                128,
                31,
                False,
                "residuals just beyond the radius of their table (escape with short codes)",
            ),
            (
                "escape-latent-all-prefixes",
                photo(64, 48, 150, 330),
                128,
                32,
                True,
                "residuals with every Exp-Golomb prefix length 0 to 16, both signs, up to the "
                "largest codable magnitude",
            ),
            (
                "escape-latent-10bit",
                photo(48, 32, 600, 120, 10, seed=5),
                self.q_max,
                33,
                True,
                "extreme residuals in a 10-bit picture",
            ),
        ):
            e, info = self.enc(pic, quality=q, tile_log2=2, groups=2)
            data = kit.reencode(
                e, quality=q, tile_log2=2, groups=2, r_change=latent_escapes(seed, big)
            )
            yield Draft(
                id_,
                "escape",
                f"Extreme latent values: {why}.",
                ["8.2.5", "8.2.6", "8.5", *POSITIVE_CLAUSES],
                ["tile_data"],
                data,
                picture=pic[2],
                encoder=info,
                modifications=[f"residuals set by the generator (seed {seed})"],
            )
        pic = photo(64, 64, 40, 60)
        e, info = self.enc(pic, quality=160, tile_log2=5, groups=2)
        data = kit.reencode(e, quality=160, tile_log2=5, groups=2, z_change=hyper_escapes)
        yield Draft(
            "escape-hyper",
            "escape",
            "Extreme hyper-latent values: escapes in the ZS stream, values beyond "
            "hyper_in_max that the hyper synthesis clips.",
            ["8.2.6", "8.3.1", "8.3.2", *POSITIVE_CLAUSES],
            ["hyper_data"],
            data,
            picture=pic[2],
            encoder=info,
            modifications=["hyper-latent values set by the generator (seed 21)"],
        )
        # Hyper-latents at +-hyper_in_max that drive the unclipped scale index of 8.4.2
        # to 64 or more somewhere, so that its clip to 63 matters: the first of a fixed
        # list of sign patterns that does.
        pic = photo(64, 64, 260, 180)
        e, info = self.enc(pic, quality=self.q_max, tile_log2=5, groups=2)
        hy, wy = e.analysis.mean_fp.shape[1:]
        params = kit.params

        def unclipped_scale_index(z: np.ndarray) -> np.ndarray:
            _, ls_fp = kit.hyper.hyper_synthesis(z.astype(np.int32), params, hy, wy, 0)
            off = params.scale_offset[self.q_max].astype(np.int64)[:, None, None]
            return (ls_fp.astype(np.int64) + off + (1 << (params.f_ls - 1))) >> params.f_ls

        lim = params.hyper_in_max
        rng = np.random.default_rng(23)
        shape = e.analysis.z_hat.shape
        patterns = [np.full(shape, lim), np.full(shape, -lim)]
        patterns += [rng.choice([-lim, lim], size=shape) for _ in range(16)]
        k = next((k for k, p in enumerate(patterns) if unclipped_scale_index(p).max() >= 64), None)
        assert k is not None, "no hyper-latent pattern reaches scale index 64"
        top, v = patterns[k], unclipped_scale_index(patterns[k])
        how = ("+hyper_in_max", "-hyper_in_max")[k] if k < 2 else f"+-hyper_in_max (draw {k - 2})"

        def top_scales(z: np.ndarray) -> None:
            z[...] = top

        data = kit.reencode(e, quality=self.q_max, tile_log2=5, groups=2, z_change=top_scales)
        yield Draft(
            "scale-index-clip",
            "escape",
            f"Hyper-latents of +-hyper_in_max whose log-scales give unclipped scale indices "
            f"up to {int(v.max())} at the highest quality ({int((v > 63).sum())} latent "
            f"samples clipped to 63 by 8.4.2, {int((v < 0).sum())} to 0).",
            ["8.3.2", "8.4.2", *POSITIVE_CLAUSES],
            ["hyper_data", "quality"],
            data,
            picture=pic[2],
            encoder=info,
            modifications=[f"every hyper-latent value set to {how}"],
        )

    def tiles(self) -> Iterator[Draft]:
        for log2, pic, why in (
            (2, photo(200, 136, 10, 300), "4 x 4 tiles: a 4 x 3 grid with partial edge tiles"),
            (3, photo(200, 136, 400, 10), "8 x 8 tiles: a 2 x 2 grid with partial edge tiles"),
            (4, photo(328, 280, 200, 100), "16 x 16 tiles: a 2 x 2 grid, partial edge tiles"),
            (5, photo(600, 40, 100, 400), "32 x 32 tiles: two tiles, the second partial"),
            (6, photo(1100, 40, 0, 0), "64 x 64 tiles: two tiles, the second 5 wide"),
        ):
            yield self.positive(
                f"tiles-log2-{log2}",
                "tiles",
                f"Tile size 2^{log2}: {why}.",
                pic,
                clauses=["5.4", "7.4", "8.4.3"],
                tile_log2=log2,
                elements=["tile_size_log2", "tile_size", "tile_data"],
            )

    def groups(self) -> Iterator[Draft]:
        pic = photo(64, 48, 300, 300)
        for g in (1, 4, 16, most_groups(self.kit.params.m)):
            yield self.positive(
                f"groups-{g}",
                "channel-groups",
                f"{g} channel group(s) of {self.kit.params.m // g} channels.",
                pic,
                clauses=["5.3", "7.2", "7.4", "8.4.3"],
                groups=g,
                tile_log2=2,
                elements=["num_channel_groups", "group_index"],
            )

    def prefixes(self) -> Iterator[Draft]:
        kit = self.kit
        pic = photo(96, 64, 520, 330)
        e, info = self.enc(pic, quality=200, tile_log2=2, groups=4)
        segs = kit.segments(e.data)
        com = kit.marker("COM")
        # PH, COM, ZS, YS0, YS1, 0xFF90, YS2, YS3, EOC
        segs = [
            segs[0],
            (com, b"prefix test"),
            segs[1],
            segs[2],
            segs[3],
            (0xFF90, bytes(range(200))),  # 200 bytes: a length of two bytes
            segs[4],
            segs[5],
            segs[6],
        ]
        full = kit.build(segs)
        ends = kit.ends(segs)  # ends[i]: offset after segment i
        assert kit.length_size(segs[5][1]) == 2, "the cut inside a length needs 2 bytes of it"
        c = ["5.5", "8.1.2"]
        cuts = (
            ("prefix-k0", ends[2], 0, "cut right after the ZS segment: no residuals"),
            ("prefix-k1", ends[3], 1, "cut after the first YS segment"),
            (
                "prefix-k2-in-optional",
                ends[5] - 13,
                2,
                "cut inside an optional segment after the second YS segment",
            ),
            ("prefix-k2-in-ys", ends[6] - 30, 2, "cut inside the payload of the third YS"),
            (
                "prefix-k3-in-marker",
                ends[7] + 1,
                4,
                "cut inside the marker of the EOC segment: all groups, no EOC",
            ),
            ("prefix-k3-in-crc", ends[7] - 2, 3, "cut inside the crc of the last YS segment"),
            ("prefix-k4-no-eoc", ends[7], 4, "all YS segments, no EOC segment"),
            (
                "prefix-k2-in-length",
                ends[4] + 3,
                2,
                "cut inside the two-byte length of an optional segment",
            ),
        )
        for id_, n, k, why in cuts:
            yield Draft(
                id_,
                "prefix",
                f"Prefix codestream of {n} bytes ({k} of 4 channel groups): {why}.",
                c + POSITIVE_CLAUSES,
                ["group_index"],
                full[:n],
                picture=pic[2],
                encoder=info,
                prefix=True,
                modifications=["optional segments inserted", f"first {n} bytes"],
            )
        many = most_groups(kit.params.m)
        e, info = self.enc(photo(48, 32, 60, 60), quality=128, tile_log2=2, groups=many)
        n = len(e.data) // 3
        yield Draft(
            "prefix-many-groups",
            "prefix",
            f"Prefix of the first {n} bytes of a codestream with {many} channel groups.",
            c + POSITIVE_CLAUSES,
            ["group_index"],
            e.data[:n],
            picture=pic[2],
            encoder=info,
            prefix=True,
            modifications=[f"first {n} bytes"],
        )
        yield Draft(
            "prefix-cut-in-zs",
            "prefix",
            "A prefix that ends inside the ZS segment "
            "is not decodable: a prefix holds the PH and ZS segments (WD 5.5).",
            ["5.5"],
            ["hyper_data"],
            full[: ends[2] - 20],
            picture=pic[2],
            encoder=info,
            prefix=True,
            expect_error=True,
            modifications=[f"first {ends[2] - 20} bytes"],
            error_note="A prefix without a complete ZS segment is truncated (5.2).",
        )

    def optional_segments(self) -> Iterator[Draft]:
        kit = self.kit
        pic = photo(48, 32, 450, 40)
        e, info = self.enc(pic, quality=160, tile_log2=2, groups=2)
        segs = kit.segments(e.data)  # PH ZS YS0 YS1 EOC
        ph, zs, ys0, ys1, eoc = segs
        com = kit.marker("COM")
        rng = np.random.default_rng(41)
        noise = rng.integers(0, 256, 600, dtype=np.uint8).tobytes()
        tricky = (
            kit.syntax.SIGNATURE
            + bytes.fromhex("FF01 00000030")
            + bytes(48)
            + bytes.fromhex("FF0F 00000000 00000000")
            + noise
        )
        variants = (
            (
                "opt-com-after-ph",
                [ph, (com, b"Encoded by OpenLIC"), zs, ys0, ys1, eoc],
                "a COM segment between PH and ZS",
            ),
            (
                "opt-ff81-after-zs",
                [ph, zs, (0xFF81, b"\x00\x01\x02"), ys0, ys1, eoc],
                "an unknown optional segment (0xFF81) between ZS and the first YS",
            ),
            (
                "opt-between-ys",
                [ph, zs, ys0, (0xFFC0, noise[:100]), ys1, eoc],
                "an unknown optional segment between two YS segments",
            ),
            (
                "opt-fffe-before-eoc",
                [ph, zs, ys0, ys1, (0xFFFE, b"last"), eoc],
                "the highest optional marker (0xFFFE) just before EOC",
            ),
            (
                "opt-many",
                [
                    ph,
                    (0xFF80, "Ünïcödé comment ✓".encode()),
                    (0xFFAA, b""),
                    zs,
                    (0xFF80, b""),
                    ys0,
                    (0xFFF0, tricky),
                    ys1,
                    (0xFF81, noise),
                    (0xFFFE, b"\xff" * 16),
                    eoc,
                ],
                "many optional segments: empty payloads, a UTF-8 comment, payloads that hold "
                "markers, a signature and a whole segment",
            ),
        )
        for id_, s, why in variants:
            yield Draft(
                id_,
                "optional-segments",
                f"Optional segments that decoders skip: {why}.",
                ["5.3", "7.5", *POSITIVE_CLAUSES],
                ["marker", "length", "payload", "crc", "comment"],
                kit.build(s),
                picture=pic[2],
                encoder=info,
                modifications=["optional segments inserted"],
            )

    def header_fields(self) -> Iterator[Draft]:
        kit = self.kit
        pic = photo(32, 32, 640, 420)
        e, info = self.enc(pic, quality=160, tile_log2=2, groups=2)
        base = (e.data, info, pic[2])
        # WD 4.4: a leb128() may use more bytes than its value needs; decoders accept it.
        padded = bytearray(kit.syntax.SIGNATURE)
        parts = kit.parts(e.data)
        for m, payload in kit.segments(e.data):
            if m == kit.marker("YS"):
                g = payload[0]
                payload = bytes([g]) + b"".join(
                    kit.padded_leb128(len(t)) for t in parts.tiles[g]
                ) + b"".join(parts.tiles[g])
            padded += kit.raw_segment(m, kit.padded_leb128(len(payload)), payload)
        yield Draft(
            "hdr-leb128-padded",
            "header-fields",
            "Every segment length and tile_size written with 5 bytes, more than the value "
            "needs (the fifth byte 0x00): decoders accept such leb128() elements (4.4).",
            ["4.4", "5.2", "7.4", *POSITIVE_CLAUSES],
            ["length", "tile_size"],
            bytes(padded),
            picture=pic[2],
            encoder=info,
            modifications=["every length and tile_size as a 5-byte leb128()"],
        )
        yield Draft(
            "hdr-colour-description",
            "header-fields",
            "Other colour description values (BT.2020 primaries, PQ transfer): they "
            "do not affect decoding.",
            ["7.2", *POSITIVE_CLAUSES],
            ["colour_primaries", "transfer_characteristics"],
            kit.with_fields(e.data, colour_primaries=9, transfer_characteristics=16),
            picture=pic[2],
            encoder=info,
            modifications=["colour_primaries = 9, transfer_characteristics = 16"],
        )
        stepped = photo(128, 96, 300, 200)  # 2 x 2 hyper-latent positions
        for k in (1, 2):
            e_k, info_k = self.enc(stepped, quality=60, tile_log2=2, groups=2, hyper_step=k)
            yield Draft(
                f"hdr-hyper-step-{k}",
                "header-fields",
                f"A hyper-latent step of {1 << k} (hyper_step_log2 = {k}) at a low quality: "
                f"its tables moved down by {self.kit.hyper.HYPER_STEP_TABLE_SHIFT[k]}, its "
                f"values times {1 << k} into the hyper synthesis.",
                ["7.2", "8.3.1", "8.3.2", *POSITIVE_CLAUSES],
                ["hyper_step_log2", "hyper_data"],
                e_k.data,
                picture=stepped[2],
                encoder=info_k,
            )
        for id_, req, fld, v in (
            ("hdr-version-minor-1", "R-VERSION-MINOR", "version_minor", 1),
            ("hdr-version-minor-255", "R-VERSION-MINOR", "version_minor", 255),
        ):
            yield self.negative(
                id_,
                [req],
                f"{fld} = {v}: the codestream does not conform, but decoders "
                "shall accept any value of this field and decode the picture.",
                kit.with_fields(e.data, **{fld: v}),
                clauses=["7.2", *POSITIVE_CLAUSES],
                elements=[fld],
                mods=[f"{fld} = {v}"],
                base=base,
                expect_error=False,
            )

    def output_filters(self) -> Iterator[Draft]:
        """WD 6.7, 7.7, 8.9: filters the encoder chose, filters at the limits of the
        syntax (every class, the smallest and largest shift, extreme coefficients that
        drive the samples into the clipping), prefixes with and without the OF segment,
        and OF segments that break each requirement of 5.3 and 7.7."""
        kit, cs = self.kit, self.kit.cs
        clauses = ["5.3", "6.7", "7.7", "8.9", *POSITIVE_CLAUSES]
        elements = ["filter_classes_minus1", "filter_shift", "class_threshold", "filter_coeff"]
        rng = np.random.default_rng(89)

        def random_filter(n: int, shift: int, low: int, high: int, thresholds=None):  # noqa: ANN001, ANN202
            w = rng.integers(low, high + 1, (n, 3, kit.syntax.OF_TAPS))
            if thresholds is None:
                thresholds = sorted(rng.choice(np.arange(1, 40000), n - 1, replace=False))
            coefficients = tuple(tuple(tuple(taps) for taps in k) for k in w.tolist())
            return cs.OutputFilter(shift, tuple(int(t) for t in thresholds), coefficients)

        def of_case(id_, why, picture, of, *, quality=160, groups=2, bit_depth_pic=None):  # noqa: ANN001, ANN202
            e, info = self.enc(picture, quality=quality, tile_log2=3, groups=groups)
            data = kit.assemble(kit.parts(e.data), output_filter=of)
            return Draft(
                id_, "output-filter", why, clauses, elements, data,
                picture=picture[2], encoder=info, modifications=["OF segment written"],
            )

        for id_, q, pic in (
            ("of-encoder-q224", 224, photo(160, 96, 100, 300)),
            ("of-encoder-10bit", 240, photo(192, 128, 300, 300, bit_depth=10, seed=3)),
        ):
            e, info = self.enc(pic, quality=q, tile_log2=3, groups=2, output_filter=True)
            of = e.output_filter
            assert of is not None, f"{id_}: the encoder chose no output filter"
            yield Draft(
                id_,
                "output-filter",
                f"The output filter the encoder chose for the picture (WD E.3.3): "
                f"{of.num_classes} classes, shift {of.shift}.",
                clauses, elements, e.data, picture=pic[2], encoder=info,
            )
        top = (1 << 32) - 1
        yield of_case(
            "of-8-classes-extremes",
            "Eight classes, the last threshold 2^32 - 1 (class 7 empty), coefficients drawn "
            "from the whole range -128 to 127 at the shift 1: sums far beyond the sample "
            "range, clipped to 0 and 255 (8.9.3).",
            photo(64, 48, 200, 500),
            random_filter(8, 1, -128, 127, [0, 40, 300, 1200, 4000, 15000, top]),
        )
        yield of_case(
            "of-shift-15",
            "One class at the largest shift 15: corrections below one sample, where the "
            "rounding of the arithmetic shift decides (8.9.3).",
            photo(40, 24, 330, 90),
            random_filter(1, 15, 100, 127),
        )
        yield of_case(
            "of-negative-rounding",
            "Two classes of negative coefficients at the shift 6: the sums are negative, and "
            "the shift rounds them towards minus infinity (4.2.2, 8.9.3).",
            photo(48, 40, 520, 260),
            random_filter(2, 6, -128, -1),
        )
        yield of_case(
            "of-small-picture",
            "A 5 x 3 picture: every tap of every position reaches outside the picture and "
            "takes the nearest sample (8.9, 8.9.1).",
            photo(5, 3, 10, 10),
            random_filter(4, 5, -60, 60, [3, 30, 300]),
            quality=250,
            groups=1,
        )
        yield of_case(
            "of-10bit-extremes",
            "10-bit samples with three classes of coefficients from the whole range at the "
            "shift 2: clipped to 0 and 1023 (8.9.3).",
            photo(48, 32, 90, 610, bit_depth=10, seed=5),
            random_filter(3, 2, -128, 127),
        )
        # Prefixes (WD 5.5, 8.1.2): the OF segment counts only when it is complete.
        pic = photo(64, 48, 600, 100)
        e, info = self.enc(pic, quality=200, tile_log2=3, groups=2)
        full = kit.assemble(kit.parts(e.data), output_filter=random_filter(2, 4, -20, 20))
        of_end = len(full) - len(kit.writer.encode_segment(kit.marker("EOC"), b""))
        for id_, n, why in (
            ("prefix-of-cut", of_end - 5, "cut inside the OF segment: the picture of 8.8"),
            ("prefix-of-complete", of_end, "every segment but EOC: the filtered picture"),
        ):
            yield Draft(
                id_, "prefix", f"Prefix codestream of {n} bytes: {why}.",
                ["5.5", "8.1.2", *clauses], elements, full[:n],
                picture=pic[2], encoder=info, prefix=True,
                modifications=["OF segment written", f"first {n} bytes"],
            )
        # Negative cases, from the codestream of the negative cases of clause 5 with an
        # OF segment of two classes.
        base, _, _ = self.base()
        ph, zs, ys0, ys1, eoc = kit.segments(base)
        good = random_filter(2, 6, -30, 30, [500])
        payload = kit.writer.output_filter_payload(good)
        of = (kit.marker("OF"), payload)

        def with_byte(at: int, value: int) -> tuple[int, bytes]:
            b = bytearray(payload)
            b[at] = value
            return kit.marker("OF"), bytes(b)

        threshold = good.thresholds[0].to_bytes(4, "big")
        three = kit.writer.output_filter_payload(random_filter(3, 6, -30, 30, [500, 900]))
        equal = three[:2] + threshold + threshold + three[10:]
        for id_, req, why, segs, mods in (
            ("neg-of-twice", "R-OF-ONCE", "Two OF segments.",
             [ph, zs, ys0, ys1, of, of, eoc], ["OF segment written twice"]),
            ("neg-of-before-last-ys", "R-OF-AFTER-YS",
             "The OF segment between the two YS segments.",
             [ph, zs, ys0, of, ys1, eoc], ["OF segment before the second YS"]),
            ("neg-of-before-zs", "R-OF-AFTER-YS", "The OF segment right after PH.",
             [ph, of, zs, ys0, ys1, eoc], ["OF segment after PH"]),
            ("neg-of-classes-9", "R-OF-CLASSES",
             "filter_classes_minus1 = 8 (nine classes), with the thresholds and "
             "coefficients of nine classes.",
             [ph, zs, ys0, ys1,
              (kit.marker("OF"), bytes([8, 6]) + b"".join(
                  (100 * k).to_bytes(4, "big") for k in range(1, 9)) + bytes(9 * 24)), eoc],
             ["filter_classes_minus1 = 8"]),
            ("neg-of-shift-0", "R-OF-SHIFT", "filter_shift = 0.",
             [ph, zs, ys0, ys1, with_byte(1, 0), eoc], ["filter_shift = 0"]),
            ("neg-of-shift-16", "R-OF-SHIFT", "filter_shift = 16.",
             [ph, zs, ys0, ys1, with_byte(1, 16), eoc], ["filter_shift = 16"]),
            ("neg-of-thresholds-equal", "R-OF-THRESHOLDS",
             "Two equal class thresholds (three classes).",
             [ph, zs, ys0, ys1, (kit.marker("OF"), equal), eoc],
             ["class_threshold[1] = class_threshold[0]"]),
            ("neg-of-short", "R-OF-LENGTH", "The OF payload lacks its last coefficient.",
             [ph, zs, ys0, ys1, (kit.marker("OF"), payload[:-1]), eoc],
             ["last byte of the OF payload removed"]),
            ("neg-of-long", "R-OF-LENGTH", "A byte follows the last coefficient of the OF payload.",
             [ph, zs, ys0, ys1, (kit.marker("OF"), payload + b"\x80"), eoc],
             ["a byte appended to the OF payload"]),
        ):
            yield self.negative(
                id_, [req], why, kit.build(segs),
                clauses=["5.3" if req in ("R-OF-ONCE", "R-OF-AFTER-YS") else "7.7", "6.7"],
                elements=["marker"] if req in ("R-OF-ONCE", "R-OF-AFTER-YS") else elements,
                mods=mods,
            )

    def levels(self) -> Iterator[Draft]:
        kit = self.kit
        c = ["A.2", "7.2"]
        yield self.positive(
            "level1-max-width",
            "levels",
            "Level 1 at its largest width: 4096 x 16, 64 tiles of 4 x 4.",
            synthetic("gradient", 4096, 16, 51),
            clauses=c + ["5.4"],
            tile_log2=2,
            quality=100,
            elements=["level_idc", *SIZE_ELEMENTS],
        )
        yield self.positive(
            "level1-max-height",
            "levels",
            "Level 1 at its largest height: 16 x 4096, 8 tiles of 32 x 32.",
            photo(16, 4096, 380, 0),
            clauses=c + ["5.4"],
            tile_log2=5,
            quality=100,
            elements=["level_idc", *SIZE_ELEMENTS],
        )
        d = self.positive(
            "level1-max-samples",
            "levels",
            "Level 1 at its largest size: "
            "4096 x 1024 = 4,194,304 samples, the most that level 1 allows.",
            synthetic("flat", 4096, 1024, 52, value=128),
            clauses=c,
            quality=0,
            tile_log2=8,
            elements=["level_idc", *SIZE_ELEMENTS],
        )
        d.heavy = True
        yield d
        yield self.positive(
            "level2-4097x16",
            "levels",
            "Level 2: one column wider than level 1 allows; tiles of 128 x 128.",
            photo(4097, 16, 0, 250),
            clauses=c + ["5.4"],
            tile_log2=7,
            quality=100,
            elements=["level_idc", *SIZE_ELEMENTS],
        )
        yield self.positive(
            "level3-8193x8",
            "levels",
            "Level 3: wider than level 2 allows; tiles of 256 x 256.",
            synthetic("edges", 8193, 8, 53),
            clauses=c + ["5.4"],
            tile_log2=8,
            quality=60,
            elements=["level_idc", *SIZE_ELEMENTS],
        )
        for lv in (2, 3):
            pic = photo(48, 32, 200 + 40 * lv, 60)
            e, info = self.enc(pic, quality=160, tile_log2=2, groups=2)
            yield Draft(
                f"level{lv}-small",
                "levels",
                f"A small picture signalled at level "
                f"{lv} (a codestream of a lower level is one of level {lv} too).",
                [*c, *POSITIVE_CLAUSES],
                ["level_idc"],
                kit.with_fields(e.data, level_idc=lv),
                picture=pic[2],
                encoder=info,
                modifications=[f"level_idc = {lv}"],
            )

    # negative cases: every requirement of codestream conformance violated

    def negatives(self) -> Iterator[Draft]:
        kit = self.kit
        base, _, _ = self.base()
        segs = kit.segments(base)  # PH ZS YS0 YS1 EOC
        ph, zs, ys0, ys1, eoc = segs
        parts = kit.parts(base)
        hdr = parts.header
        com = (kit.marker("COM"), b"comment")
        sig_len = len(kit.syntax.SIGNATURE)
        ends = kit.ends(segs)
        # A COM segment of 200 bytes, whose length has two bytes, for the cuts inside and
        # right after a length (the segments of the base are shorter).
        long_com = (kit.marker("COM"), b"A comment of two hundred bytes. " * 6 + b"12345678")
        with_long = kit.build([ph, zs, long_com, ys0, ys1, eoc])
        long_at = kit.ends([ph, zs])[-1]
        assert kit.length_size(long_com[1]) == 2
        n = self.negative

        def fields(**ch: int) -> bytes:
            return kit.with_fields(base, **ch)

        def flip(data: bytes, at: int) -> bytes:
            out = bytearray(data)
            out[at] ^= 0x01
            return bytes(out)

        def ys_with(group: int, tiles: list[bytes], sizes=None) -> tuple[int, bytes]:  # noqa: ANN001
            return kit.marker("YS"), kit.ys_payload(group, tiles, sizes)

        def with_tile(g: int, t: int, stream: bytes) -> bytes:
            tiles = [list(x) for x in parts.tiles]
            tiles[g][t] = stream
            return kit.assemble(Parts(hdr, parts.z_stream, tiles))

        # 5.1 signature
        yield n(
            "neg-signature-byte",
            ["R-SIGNATURE"],
            "The fourth signature byte is 'c' instead of 'C'.",
            base[:4] + b"c" + base[5:],
            clauses=["5.1"],
            elements=["signature"],
            mods=["byte 4 = 0x63"],
        )
        yield n(
            "neg-signature-high-bit",
            ["R-SIGNATURE"],
            "The first signature byte has lost its high bit (a 7-bit transfer).",
            b"\x09" + base[1:],
            clauses=["5.1"],
            elements=["signature"],
            mods=["byte 0 = 0x09"],
        )
        yield n(
            "neg-signature-short",
            ["R-COMPLETE"],
            "A file of the first 5 signature bytes: the codestream ends inside the signature.",
            base[:5],
            clauses=["5.1", "5.2"],
            elements=["signature"],
            mods=["first 5 bytes"],
        )
        yield n(
            "neg-signature-only",
            ["R-COMPLETE"],
            "A file of the whole signature and nothing else: the codestream ends before its "
            "first segment.",
            base[:sig_len],
            clauses=["5.1", "5.2"],
            elements=["signature", "marker"],
            mods=[f"first {sig_len} bytes"],
        )
        yield n(
            "neg-empty",
            ["R-COMPLETE"],
            "An empty file.",
            b"",
            clauses=["5.1", "5.2"],
            elements=["signature"],
            mods=["no bytes"],
        )
        # 5.2 complete segments
        com_where = "segment of 200 bytes between ZS and YS"
        with_com200 = (with_long, ["COM of 200 bytes inserted"])
        plain = (base, [])
        for id_, (source, mods), cut, where in (
            ("neg-truncated-in-ph", plain, sig_len + 20, "inside the PH payload"),
            ("neg-truncated-in-marker", plain, ends[2] + 1, "inside the marker of the second YS"),
            ("neg-truncated-after-marker", plain, ends[2] + 2,
             "right after the marker of the second YS"),
            ("neg-truncated-in-length", with_com200, long_at + 3,
             f"inside the two-byte length of a COM {com_where}"),
            ("neg-truncated-after-length", with_com200, long_at + 4,
             f"right after the length of a COM {com_where}"),
            ("neg-truncated-in-payload", plain, ends[3] - 10, "inside the payload of the last YS"),
            ("neg-truncated-in-crc", plain, ends[3] - 1, "inside the crc of the last YS"),
            ("neg-truncated-in-eoc", plain, ends[4] - 3, "inside the crc of the EOC segment"),
        ):
            yield n(
                id_,
                ["R-COMPLETE"],
                f"The codestream ends {where}.",
                source[:cut],
                clauses=["5.2"],
                elements=["marker", "length", "payload", "crc"],
                mods=[*mods, f"first {cut} bytes"],
            )
        # 5.2 crc
        yield n(
            "neg-crc-ph",
            ["R-CRC"],
            "The crc of the PH segment is wrong.",
            flip(base, ends[0] - 1),
            clauses=["5.2"],
            elements=["crc"],
            mods=["PH crc changed"],
        )
        yield n(
            "neg-crc-ys-payload",
            ["R-CRC"],
            "A byte of a tile stream is changed and the crc of its YS segment no longer matches.",
            flip(base, ends[2] - 6),
            clauses=["5.2"],
            elements=["crc", "tile_data"],
            mods=["YS0 payload changed"],
        )
        with_com = kit.build([ph, com, zs, ys0, ys1, eoc])
        com_end = kit.ends([ph, com])[-1]
        yield n(
            "neg-crc-optional",
            ["R-CRC"],
            "The crc of an optional (COM) segment is "
            "wrong: decoders check the framing and crc of optional segments too (5.3).",
            flip(with_com, com_end - 1),
            clauses=["5.2", "5.3"],
            elements=["crc"],
            mods=["COM inserted with a wrong crc"],
        )
        unnamed = kit.build([ph, zs, (0xFFC0, b"unknown"), ys0, ys1, eoc])
        opt_end = kit.ends([ph, zs, (0xFFC0, b"unknown")])[-1]
        yield n(
            "neg-crc-optional-unknown",
            ["R-CRC"],
            "The crc of an optional segment of a marker that decoders do not know (0xFFC0) "
            "is wrong: decoders check it all the same (5.3).",
            flip(unnamed, opt_end - 1),
            clauses=["5.2", "5.3"],
            elements=["crc"],
            mods=["segment 0xFFC0 inserted with a wrong crc"],
        )
        yield n(
            "neg-crc-eoc",
            ["R-CRC"],
            "The crc of the EOC segment is wrong.",
            flip(base, len(base) - 1),
            clauses=["5.2"],
            elements=["crc"],
            mods=["EOC crc changed"],
        )
        # 5.3 order
        yield n(
            "neg-zs-first",
            ["R-PH-FIRST", "R-PH-ONCE"],
            "The ZS segment comes before PH.",
            kit.build([zs, ph, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["ZS and PH swapped"],
        )
        yield n(
            "neg-second-ph",
            ["R-PH-ONCE"],
            "A second PH segment after ZS.",
            kit.build([ph, zs, ph, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["PH repeated"],
        )
        yield n(
            "neg-ys-before-zs",
            ["R-ZS-BEFORE-YS"],
            "A YS segment before the ZS segment.",
            kit.build([ph, ys0, zs, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["ZS moved after YS0"],
        )
        yield n(
            "neg-two-zs",
            ["R-ZS-ONCE"],
            "Two ZS segments.",
            kit.build([ph, zs, zs, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["ZS repeated"],
        )
        yield n(
            "neg-no-zs",
            ["R-ZS-ONCE", "R-ZS-BEFORE-YS"],
            "No ZS segment.",
            kit.build([ph, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["ZS removed"],
        )
        yield n(
            "neg-eoc-after-ph",
            ["R-ZS-ONCE", "R-YS-COUNT"],
            "EOC right after PH.",
            kit.build([ph, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["ZS and YS removed"],
        )
        yield n(
            "neg-no-ph",
            ["R-PH-FIRST"],
            "No PH segment: the codestream starts with its ZS segment.",
            kit.build([zs, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["PH removed"],
        )
        yield n(
            "neg-ys-missing",
            ["R-YS-COUNT"],
            "One YS segment where num_channel_groups is 2.",
            kit.build([ph, zs, ys0, eoc]),
            clauses=["5.3"],
            elements=["marker", "num_channel_groups"],
            mods=["YS1 removed"],
        )
        yield n(
            "neg-ys-extra",
            ["R-YS-COUNT"],
            "Three YS segments where num_channel_groups is 2.",
            kit.build([ph, zs, ys0, ys1, ys_with(2, parts.tiles[1]), eoc]),
            clauses=["5.3"],
            elements=["marker", "num_channel_groups"],
            mods=["a third YS added"],
        )
        yield n(
            "neg-eoc-missing",
            ["R-COMPLETE"],
            "The codestream ends after the last YS segment, without EOC.",
            base[: ends[3]],
            clauses=["5.2", "5.3"],
            elements=["marker"],
            mods=["EOC removed"],
        )
        yield n(
            "neg-eoc-length",
            ["R-EOC-LENGTH"],
            "The EOC segment has a payload of one byte.",
            kit.build([ph, zs, ys0, ys1, (kit.marker("EOC"), b"\x00")]),
            clauses=["5.3"],
            elements=["length"],
            mods=["EOC length 1"],
        )
        yield n(
            "neg-byte-after-eoc",
            ["R-EOC-LAST"],
            "A zero byte follows the EOC segment.",
            base + b"\x00",
            clauses=["5.3"],
            elements=["marker"],
            mods=["one byte appended"],
        )
        yield n(
            "neg-optional-before-ph",
            ["R-PH-FIRST", "R-PH-ONCE"],
            "A COM segment before the PH segment.",
            kit.build([com, ph, zs, ys0, ys1, eoc]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["COM first"],
        )
        yield n(
            "neg-optional-after-eoc",
            ["R-EOC-LAST"],
            "A COM segment after the EOC segment.",
            kit.build([*segs, com]),
            clauses=["5.3"],
            elements=["marker"],
            mods=["COM appended"],
        )
        for mk in (0x0000, 0xFF00, 0xFF10, 0xFF7F, 0xFFFF):
            yield n(
                f"neg-reserved-marker-{mk:04x}",
                ["R-MARKER-RESERVED"],
                f"A segment with the reserved marker 0x{mk:04X} between ZS and YS.",
                kit.build([ph, zs, (mk, b"xyz"), ys0, ys1, eoc]),
                clauses=["5.2", "5.3"],
                elements=["marker"],
                mods=[f"segment 0x{mk:04X} inserted"],
            )
        # 7.2 picture header
        n_ph = len(ph[1])
        yield n(
            f"neg-ph-length-{n_ph + 1}",
            ["R-PH-LENGTH"],
            f"The PH payload has {n_ph + 1} bytes.",
            kit.build([(ph[0], ph[1] + b"\x00"), zs, ys0, ys1, eoc]),
            clauses=["7.2"],
            elements=["length", "parameter_set_hash"],
            mods=["a byte appended to PH"],
        )
        yield n(
            f"neg-ph-length-{n_ph - 1}",
            ["R-PH-LENGTH"],
            f"The PH payload has {n_ph - 1} bytes.",
            kit.build([(ph[0], ph[1][:-1]), zs, ys0, ys1, eoc]),
            clauses=["7.2"],
            elements=["length", "parameter_set_hash"],
            mods=["last PH byte removed"],
        )
        for id_, req, fld, v, el in (
            ("neg-version-major-2", "R-VERSION-MAJOR", "version_major", 2, []),
            ("neg-version-major-0", "R-VERSION-MAJOR", "version_major", 0, []),
            ("neg-profile-2", "R-PROFILE-IDC", "profile_idc", 2, []),
            ("neg-profile-0", "R-PROFILE-IDC", "profile_idc", 0, []),
            ("neg-level-idc-0", "R-LEVEL-IDC", "level_idc", 0, []),
            ("neg-level-idc-4", "R-LEVEL-IDC", "level_idc", 4, []),
            ("neg-bit-depth-9", "R-BIT-DEPTH R-PROFILE-FIELDS", "bit_depth", 9, []),
            ("neg-bit-depth-16", "R-BIT-DEPTH R-PROFILE-FIELDS", "bit_depth", 16, []),
            ("neg-matrix-1", "R-PROFILE-FIELDS", "matrix_coefficients", 1, ["A.1"]),
            ("neg-tile-size-1", "R-TILE-SIZE-LOG2", "tile_size_log2", 1, []),
            ("neg-tile-size-9", "R-TILE-SIZE-LOG2", "tile_size_log2", 9, []),
            ("neg-groups-0", "R-GROUPS-NONZERO", "num_channel_groups", 0, []),
            ("neg-hyper-step-3", "R-HYPER-STEP", "hyper_step_log2", 3, []),
            ("neg-hyper-step-255", "R-HYPER-STEP", "hyper_step_log2", 255, []),
        ):
            yield n(
                id_,
                req.split(),
                f"{fld} = {v}.",
                fields(**{fld: v}),
                clauses=["7.2", *el],
                elements=[fld],
                mods=[f"{fld} = {v}"],
            )
        yield n(
            "neg-matrix-2-profile",
            ["R-PROFILE-FIELDS"],
            "matrix_coefficients = 2 (unspecified), which the Main profile does not allow.",
            fields(matrix_coefficients=2),
            clauses=["A.1", "7.2"],
            elements=["matrix_coefficients", "profile_idc"],
            mods=["matrix_coefficients = 2"],
        )
        if self.kit.params.num_qualities < 256:
            qn = self.kit.params.num_qualities
            yield n(
                "neg-quality",
                ["R-QUALITY"],
                f"quality = {qn}, the number of quality indices of the parameter set.",
                fields(quality=qn),
                clauses=["7.2"],
                elements=["quality"],
                mods=[f"quality = {qn}"],
            )
        m = kit.params.m
        g3 = next(g for g in range(3, 256) if m % g)
        hdr3 = dataclasses.replace(hdr, num_channel_groups=g3)
        dummy = [[b"\x00\x80\x00\x00"] * hdr.num_tiles for _ in range(g3)]
        yield n(
            f"neg-groups-{g3}",
            ["R-GROUPS-DIVIDE-M"],
            f"num_channel_groups = {g3}, which does not divide M = {m}.",
            kit.assemble(Parts(hdr3, parts.z_stream, dummy), check=False),
            clauses=["7.2"],
            elements=["num_channel_groups"],
            mods=[f"num_channel_groups = {g3}, {g3} YS segments of empty tile streams"],
        )
        # levels (A.2): encoded at a higher level, header changed to a lower one
        for id_, w, h, lv, log2 in (
            ("neg-level1-width-4097", 4097, 16, 1, 7),
            ("neg-level1-height-4097", 16, 4097, 1, 5),
            ("neg-level2-width-8193", 8193, 8, 2, 8),
            ("neg-level1-samples", 2048, 2049, 1, 8),
        ):
            pic = synthetic("flat", w, h, 0, value=128)
            e, info = self.enc(pic, quality=0, tile_log2=log2, groups=2)
            req = {"width": "R-LEVEL-WIDTH", "height": "R-LEVEL-HEIGHT"}.get(
                id_.split("-")[2], "R-LEVEL-SAMPLES"
            )
            yield n(
                id_,
                [req],
                f"A {w} x {h} picture signalled at level {lv}, whose limits it exceeds.",
                kit.with_fields(e.data, level_idc=lv),
                clauses=["A.2", "7.2"],
                elements=["level_idc", *SIZE_ELEMENTS],
                mods=[f"level_idc = {lv}"],
                base=(e.data, info, pic[2]),
            )
        # 7.4 YS
        yield n(
            "neg-ys-swapped",
            ["R-YS-GROUP-INDEX"],
            "The YS segments of groups 1 and 0 in the wrong order.",
            kit.build([ph, zs, ys1, ys0, eoc]),
            clauses=["7.4", "5.3"],
            elements=["group_index"],
            mods=["YS0 and YS1 swapped"],
        )
        yield n(
            "neg-group-index-2",
            ["R-YS-GROUP-INDEX"],
            "The second YS segment has group_index 2, not less than num_channel_groups.",
            kit.build([ph, zs, ys0, ys_with(2, parts.tiles[1]), eoc]),
            clauses=["7.4", "5.3"],
            elements=["group_index"],
            mods=["YS1 group_index = 2"],
        )
        t0 = parts.tiles[0]
        sizes = [len(t) for t in t0]
        ys0_tile0 = 1 + len(kit.writer.leb128(sizes[0]))  # offset of tile_size[1] in YS0
        ys0_head = 1 + sum(len(kit.writer.leb128(k)) for k in sizes)
        yield n(
            "neg-tile-sizes-long",
            ["R-YS-LENGTH"],
            "tile_size[0] is one more than the stream: the sizes add up to more than the payload.",
            kit.build([ph, zs, ys_with(0, t0, [sizes[0] + 1, *sizes[1:]]), ys1, eoc]),
            clauses=["7.4"],
            elements=["tile_size"],
            mods=["YS0 tile_size[0] + 1"],
        )
        yield n(
            "neg-tile-sizes-short",
            ["R-YS-LENGTH"],
            "A byte after the last tile stream: the sizes add up to less than the payload.",
            kit.build([ph, zs, (kit.marker("YS"), kit.ys_payload(0, t0) + b"\x00"), ys1, eoc]),
            clauses=["7.4"],
            elements=["tile_size", "tile_data"],
            mods=["a byte appended to YS0"],
        )
        yield n(
            "neg-ys-no-tile-sizes",
            ["R-YS-LENGTH"],
            "A YS payload of only its group_index, too short for its tile_size fields.",
            kit.build([ph, zs, (kit.marker("YS"), b"\x00"), ys1, eoc]),
            clauses=["7.4"],
            elements=["tile_size"],
            mods=["YS0 payload = group_index only"],
        )
        yield n(
            "neg-ys-no-tile-data",
            ["R-YS-LENGTH"],
            "A YS payload that ends right after its tile_size fields: the sizes add up to "
            "more than the (empty) rest of the payload.",
            kit.build([ph, zs, (kit.marker("YS"), kit.ys_payload(0, t0)[:ys0_head]), ys1, eoc]),
            clauses=["7.4"],
            elements=["tile_size", "tile_data"],
            mods=["YS0 payload = group_index and tile_size fields only"],
        )
        two_bytes = kit.writer.leb128(200)  # 0xC8 0x01
        for id_, payload, why in (
            ("neg-ys-ends-in-tile-size", b"\x00" + two_bytes[:1],
             "ends after the first byte of tile_size[0] = 200, a leb128() of two bytes"),
            ("neg-ys-ends-before-tile-size", b"\x00" + two_bytes,
             "ends after tile_size[0] = 200 (two bytes), before tile_size[1]: long enough "
             "for 1 + num_tiles bytes, too short for the fields"),
        ):
            yield n(
                id_,
                ["R-YS-LENGTH"],
                f"A YS payload of {len(payload)} bytes that {why}.",
                kit.build([ph, zs, (kit.marker("YS"), payload), ys1, eoc]),
                clauses=["7.4", "4.4"],
                elements=["tile_size"],
                mods=[f"YS0 payload = {payload.hex(' ')}"],
            )
        # 4.4 leb128()
        zs_length = kit.padded_leb128(len(zs[1]), 0x10)
        yield n(
            "neg-leb128-length",
            ["R-LEB128"],
            "The length of the ZS segment is a leb128() whose fifth byte is 0x10: a value "
            "of 2^32 or more.",
            kit.build([ph])
            + kit.raw_segment(zs[0], zs_length, zs[1])
            + kit.build([ys0, ys1, eoc])[sig_len:],
            clauses=["4.4", "5.2"],
            elements=["length"],
            mods=["ZS length as 5 bytes, fifth 0x10"],
        )
        ys0_bad = bytes([0]) + kit.padded_leb128(sizes[0], 0x80) + ys0[1][ys0_tile0:]
        yield n(
            "neg-leb128-tile-size",
            ["R-LEB128"],
            "tile_size[0] of the first YS segment is a leb128() whose fifth byte, 0x80, "
            "says that a sixth follows.",
            kit.build([ph, zs, (kit.marker("YS"), ys0_bad), ys1, eoc]),
            clauses=["4.4", "7.4"],
            elements=["tile_size"],
            mods=["YS0 tile_size[0] as 5 bytes, fifth 0x80"],
        )
        # 8.2 rANS streams
        yield n(
            "neg-tile-stream-3-bytes",
            ["R-ANS-LENGTH"],
            "A tile stream of 3 bytes.",
            with_tile(1, 1, t0[0][:3]),
            clauses=["8.2.2", "8.4.3"],
            elements=["tile_data"],
            mods=["YS1 tile 1 = 3 bytes"],
        )
        yield n(
            "neg-zs-empty",
            ["R-ANS-LENGTH"],
            "An empty ZS payload.",
            kit.assemble(Parts(hdr, b"", parts.tiles)),
            clauses=["8.2.2", "8.3.1"],
            elements=["hyper_data"],
            mods=["ZS payload empty"],
        )
        for id_, head, why in (
            ("neg-state-below-l", b"\x00\x7f\xff\xff", "2^23 - 1, below L"),
            ("neg-state-2-31", b"\x80\x00\x00\x00", "2^31"),
        ):
            yield n(
                id_,
                ["R-ANS-INIT-STATE"],
                f"The initial state of a tile stream is {why}.",
                with_tile(0, 1, head + t0[1][4:]),
                clauses=["8.2.2", "8.4.3"],
                elements=["tile_data"],
                mods=[f"first bytes of YS0 tile 1 = {head.hex()}"],
            )
        # The lower bound itself is allowed by 8.2.2, so a stream of only the initial
        # state L fails later: the first symbol leaves the state below L (no symbol has
        # frequency 2^16) and renormalisation finds no byte. A decoder that rejects L
        # as an initial state reports 8.2.2 instead.
        yield n(
            "neg-state-l-then-exhausted",
            ["R-ANS-EXHAUSTED"],
            "A tile stream of 4 bytes: an initial state of exactly L = 2^23, which 8.2.2 "
            "allows, and nothing to renormalise the first symbol with.",
            with_tile(0, 1, b"\x00\x80\x00\x00"),
            clauses=["8.2.2", "8.2.4", "8.4.3"],
            elements=["tile_data", "tile_size"],
            mods=["YS0 tile 1 = 00800000"],
        )
        yield n(
            "neg-zs-state-below-l",
            ["R-ANS-INIT-STATE"],
            "The initial state of the ZS stream is 2^23 - 1.",
            kit.assemble(Parts(hdr, b"\x00\x7f\xff\xff" + parts.z_stream[4:], parts.tiles)),
            clauses=["8.2.2", "8.3.1"],
            elements=["hyper_data"],
            mods=["first 4 bytes of ZS = 007fffff"],
        )
        # Renormalisation past the end: the last byte of a stream removed.
        # Group 0 carries the most bits, so its stream is long enough to lose a byte
        # and still hold its 4-byte initial state.
        values, tables = kit.tile_tables(base, 0, 0)
        symbols = [s for v, t in zip(values, tables) for s in kit.value_symbols(int(v), int(t))]
        stream = kit.rans_stream(symbols)
        assert stream == parts.tiles[0][0], "the Python rANS encoder differs from encoder.rans"
        assert len(stream) > 4
        yield n(
            "neg-stream-exhausted",
            ["R-ANS-EXHAUSTED"],
            "The last byte of a tile stream is missing: renormalisation runs past its end.",
            with_tile(0, 0, stream[:-1]),
            clauses=["8.2.4", "8.4.3"],
            elements=["tile_data", "tile_size"],
            mods=["last byte of YS0 tile 0 removed"],
        )
        values, tables = kit.tile_tables(base, 1, 0)
        # The stream ends inside the Exp-Golomb code of an escape (WD 8.2.6): its last
        # value made an escape, the stream cut short by a byte or two.
        for phase, id_ in (
            ("escape-prefix", "neg-exhausted-in-escape-prefix"),
            ("escape-suffix", "neg-exhausted-in-escape-suffix"),
        ):
            found = None
            for mag in [(1 << k) + j for k in range(17) for j in (0, 3)]:
                tail = [int(v) for v in values]
                r_last = int(kit.tables.radius[int(tables[-1])])
                tail[-1] = r_last + mag
                syms = [s for v, tb in zip(tail, tables) for s in kit.value_symbols(v, int(tb))]
                for state in range(1 << 23, (1 << 23) + 8):
                    full = kit.rans_stream(syms, state)
                    for cut in (1, 2, 3, 4):
                        if kit.failure_phase(full[:-cut], [int(x) for x in tables]) == phase:
                            found = (full[:-cut], mag, state, cut)
                            break
                    if found:
                        break
                if found:
                    break
            assert found, f"no stream ends inside an escape {phase}"
            stream_cut, mag, state, cut = found
            yield n(
                id_,
                ["R-ANS-EXHAUSTED"],
                f"A tile stream that ends inside the "
                f"{phase.split('-')[1]} of the Exp-Golomb code of its last value.",
                with_tile(1, 0, stream_cut),
                clauses=["8.2.4", "8.2.6"],
                elements=["tile_data"],
                mods=[
                    f"YS1 tile 0 re-coded with an escaped last value (from state "
                    f"2^23 + {state - (1 << 23)}), its last {cut} byte(s) removed"
                ],
            )
        yield n(
            "neg-zs-exhausted",
            ["R-ANS-EXHAUSTED"],
            "The last byte of the ZS stream is missing.",
            kit.assemble(Parts(hdr, parts.z_stream[:-1], parts.tiles)),
            clauses=["8.2.4", "8.3.1"],
            elements=["hyper_data"],
            mods=["last byte of ZS removed"],
        )
        # An escape followed by 17 one-bits (the largest allowed prefix is 16).
        t = int(tables[3])
        r_t = int(kit.tables.radius[t])

        def symbols_of(vals, tabs) -> list[tuple[int, int]]:  # noqa: ANN001
            return [s for v, tb in zip(vals, tabs) for s in kit.value_symbols(int(v), int(tb))]

        bad = symbols_of(values[:3], tables[:3])
        esc = kit.value_symbols(r_t + 1, t)[0]
        bad += [esc] + [bits(1, 1)] * 17 + [bits(0, 1)]
        bad += symbols_of(values[4:], tables[4:])
        yield n(
            "neg-escape-prefix-17",
            ["R-ANS-ESCAPE-PREFIX"],
            "An escape symbol followed by 17 one-bits.",
            with_tile(1, 0, kit.rans_stream(bad)),
            clauses=["8.2.6", "8.2.5"],
            elements=["tile_data"],
            mods=["YS1 tile 0 re-coded with an escape prefix of 17"],
        )
        yield n(
            "neg-final-state",
            ["R-ANS-FINAL-STATE"],
            "A tile stream that ends in the state 2^23 + 1 (its encoder started there).",
            with_tile(1, 0, kit.rans_stream(symbols, (1 << 23) + 1)),
            clauses=["8.2.7"],
            elements=["tile_data"],
            mods=["YS1 tile 0 encoded from the state 2^23 + 1"],
        )
        yield n(
            "neg-trailing-byte",
            ["R-ANS-FINAL-POSITION"],
            "A byte after the end of a tile stream (the tile size counts it).",
            with_tile(0, 0, t0[0] + b"\x00"),
            clauses=["8.2.7"],
            elements=["tile_data", "tile_size"],
            mods=["a byte appended to YS0 tile 0"],
        )
        two = [list(x) for x in parts.tiles]
        two[0][0] = t0[0] + b"\x00"
        two[0][1] = t0[1] + b"\x00"
        yield n(
            "neg-two-bad-tiles",
            ["R-ANS-FINAL-POSITION"],
            "A byte after the end of both tile streams of a YS segment: a decoder that "
            "decodes tiles in parallel must reject it too (refdec reports the first tile).",
            kit.assemble(Parts(hdr, parts.z_stream, two)),
            clauses=["8.2.7", "8.1.1"],
            elements=["tile_data", "tile_size"],
            mods=["a byte appended to YS0 tiles 0 and 1"],
        )
        yield n(
            "neg-zs-trailing-byte",
            ["R-ANS-FINAL-POSITION"],
            "A byte after the end of the ZS stream.",
            kit.assemble(Parts(hdr, parts.z_stream + b"\x00", parts.tiles)),
            clauses=["8.2.7", "8.3.1"],
            elements=["hyper_data"],
            mods=["a byte appended to ZS"],
        )
        # The parameter set: a decoder shall not substitute another one (7.2, C.1).
        other = hashlib.sha256(b"no such parameter set").digest()[:8]
        yield n(
            "neg-unknown-parameter-set",
            ["R-PARAMETER-SET"],
            "A parameter_set_hash that "
            "names no known parameter set: a decoder shall not decode it with another "
            "one.",
            kit.build([(ph[0], kit.ph_payload(hdr, parameter_set_hash=other)), zs, ys0, ys1, eoc]),
            clauses=["7.2", "C.1"],
            elements=["parameter_set_hash"],
            mods=["parameter_set_hash changed"],
        )


# -- expectations ---------------------------------------------------------------------


def _reference(data: bytes, prefix: bool):  # noqa: ANN202
    import refdec

    return refdec.decode(data, max_bytes=len(data) if prefix else None)


def _tolerance(
    data: bytes, prefix: bool, expected: np.ndarray, bit_depth: int, measure: bool = True
) -> dict:
    from conformance.float_decoder import decode_float

    measured = {}
    for dtype in (np.float64, np.float32) if measure else ():
        got, _ = decode_float(data, max_bytes=len(data) if prefix else None, dtype=dtype)
        _, peak, psnr = compare(got, expected, bit_depth)
        measured[dtype.__name__] = {
            "psnr_db": None if math.isinf(psnr) else round(psnr, 2),
            "peak_error": peak,
        }
    psnrs = [m["psnr_db"] for m in measured.values() if m["psnr_db"] is not None]
    min_psnr = BASE_PSNR[bit_depth]
    if psnrs:
        min_psnr = min(min_psnr, math.floor(min(psnrs)) - PSNR_MARGIN_DB)
    peak = max((m["peak_error"] for m in measured.values()), default=0)
    out = {
        "min_psnr_db": float(min_psnr),
        "max_abs_error": int(max(BASE_PEAK[bit_depth], 2 * peak)),
    }
    if measured:
        out["measured"] = measured
    return out


class ContextBuilder(Builder):
    """The cases of a parameter set with context networks (WD 8.4.1; the test parameter
    set of :mod:`conformance.test_params`): its channel groups are decoded in order,
    each with the corrections computed from the groups before it, in whole codestreams
    and in prefixes; and R-GROUPS-CONTEXT."""

    def cases(self) -> Iterator[Draft]:
        g = self.kit.params.context_groups
        c = ["7.2", "8.4.1", "8.4.2", "8.4.3"]
        for id_, pic, quality, log2, why in (
            ("context-1x1", photo(1, 1, 300, 200), 160, 5, "the smallest picture"),
            ("context-64x48", photo(64, 48, 300, 300), 160, 2, "tiles of 4 x 4 positions"),
            ("context-100x75", photo(100, 75, 330, 150), 200, 5, "sizes off the grid"),
            ("context-129x47-q0", photo(129, 47, 200, 420), 0, 5, "the lowest quality"),
            ("context-80x48-q-max", photo(80, 48, 40, 500), self.q_max, 2, "the top quality"),
            ("context-noise", synthetic("noise", 48, 40, 31), 200, 5, "noise: large residuals"),
            ("context-bd10", photo(72, 56, 610, 90, 10, seed=4), 180, 2, "10-bit samples"),
        ):
            yield self.positive(
                id_,
                "context-model",
                f"{g} channel groups of a parameter set with context networks: {why}.",
                pic,
                clauses=c,
                quality=quality,
                tile_log2=log2,
                groups=g,
                elements=["num_channel_groups"],
            )
        pic = photo(96, 64, 520, 330)
        e, info = self.enc(pic, quality=200, tile_log2=2, groups=g)
        parsed = self.kit.cs.parse_codestream(e.data)
        for k in range(g):
            n = parsed.groups[k].tiles[0][0]  # the first byte of group k's tile streams
            yield Draft(
                f"context-prefix-k{k}",
                "prefix",
                f"Prefix codestream of {n} bytes ({k} of {g} channel groups) for a parameter "
                "set with context networks: the absent groups get zero residuals, and "
                "their means the corrections of 8.4.1 from the groups before them.",
                ["5.5", "8.1.2", *c, *POSITIVE_CLAUSES],
                ["group_index"],
                e.data[:n],
                picture=pic[2],
                encoder=info,
                prefix=True,
                modifications=[f"first {n} bytes"],
            )
        # R-GROUPS-CONTEXT alone: valid tile streams of 2 groups, coded with the tables
        # of the hyperprior as if the parameter set had no context networks.
        kit = self.kit
        pic = photo(72, 40, 410, 230)
        e, info = self.enc(pic, quality=128, tile_log2=2, groups=g)
        blind = dataclasses.replace(kit.codec, params=dataclasses.replace(kit.params, ctx=()))
        data, _, _ = kit.pipeline._codestream(blind, e.analysis, 128, 8, 2, 2)
        yield self.negative(
            "neg-groups-context",
            ["R-GROUPS-CONTEXT"],
            f"num_channel_groups = 2 for a parameter set with G_C = {g} context groups "
            "(2 divides M; the tile streams are valid for the tables of the hyperprior).",
            data,
            clauses=["7.2"],
            elements=["num_channel_groups"],
            mods=["encoded with 2 channel groups, without the context networks"],
            base=(e.data, {**info, "channel_groups": g}, pic[2]),
        )


MODELS = {
    "openlic-1": (Builder, None),
    test_params.NAME: (ContextBuilder, test_params.WEIGHTS_PATH),
}
"""The parameter sets of the suite, with the cases made with each and the encoder
weights (None: the shipped ones): the shipped model carries the suite, the test
parameter set with context networks what is particular to them."""

WD_REQUIREMENTS: dict[str, reqs.Requirement] = {}


def finish(d: Draft, out: Path, params_sha: str, params_name: str) -> dict:
    """Compute the expectation of a draft with refdec, write its files, return its JSON."""
    import refdec
    from refdec.errors import DecodeError

    (out / f"{d.id}.olic").write_bytes(d.data)
    case: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "id": d.id,
        "category": d.category,
        "purpose": d.purpose,
        "clauses": sorted(set(d.clauses), key=_clause_key),
        "syntax_elements": list(dict.fromkeys(d.syntax_elements)),
        "profile": {"idc": 1, "name": "Main"},
        "level": None,
        "conforming": d.conforming and not d.prefix,
        "violates": d.violates,
        "prefix": d.prefix,
        "heavy": d.heavy,
        "codestream": {
            "file": f"{d.id}.olic",
            "size": len(d.data),
            "sha256": hashlib.sha256(d.data).hexdigest(),
        },
        "parameter_set": {"name": params_name, "sha256": params_sha},
        "source": {
            "picture": d.picture,
            "encoder": d.encoder,
            "modifications": d.modifications,
        },
    }
    try:
        from refdec.codestream import parse_codestream

        hdr = parse_codestream(d.data, max_bytes=len(d.data) if d.prefix else None).header
        case["level"] = hdr.level_idc
        case["profile"]["idc"] = hdr.profile_idc
    except DecodeError:
        case["level"] = d.level if d.level is not None else 1
    try:
        pic = _reference(d.data, d.prefix)
    except DecodeError as e:
        if not d.expect_error:
            raise RuntimeError(f"{d.id}: refdec rejects a case meant to decode: {e}") from None
        case["expected"] = {
            "result": "error",
            "error": type(e).__name__,
            "clause": e.clause,
            "offset": e.offset,
            "tile": e.tile,
            "message": str(e),
        }
        if d.error_note:
            case["expected"]["note"] = d.error_note
        _check_error_matches(d, e, WD_REQUIREMENTS)
    else:
        if d.expect_error:
            raise RuntimeError(f"{d.id}: refdec decodes a case meant to be rejected")
        png = out / f"{d.id}.png"
        refdec.write_png(pic, png)
        h, w = pic.samples.shape[:2]
        case["expected"] = {
            "result": "picture",
            "width": w,
            "height": h,
            "bit_depth": pic.bit_depth,
            "samples_sha256": samples_sha256(pic.samples, pic.bit_depth),
            "png": {"file": png.name, "sha256": hashlib.sha256(png.read_bytes()).hexdigest()},
            "groups_decoded": pic.groups_decoded,
        }
        case["heavy"] = case["heavy"] or w * h >= HEAVY_SAMPLES
        case["tolerance"] = _tolerance(
            d.data, d.prefix, pic.samples, pic.bit_depth, measure=not case["heavy"]
        )
    (out / f"{d.id}.json").write_text(
        json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return case


def _clause_key(c: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in c.split("."))


def _check_error_matches(d: Draft, e: Exception, wd: dict) -> None:
    """A negative case must fail for a requirement it violates (or say why not)."""
    clauses = {wd[r].clause for r in d.violates if r in wd} | set(d.clauses)
    text = str(e)
    ok = any(
        e.clause == c
        or e.clause.startswith(c + ".")
        or c.startswith(e.clause + ".")
        or f"WD {c}" in text
        for c in clauses
    )
    if not ok and not d.error_note:
        raise RuntimeError(
            f"{d.id}: refdec raises {type(e).__name__} (WD {e.clause}), which names none of "
            f"the clauses {sorted(clauses)}; explain it in error_note: {e}"
        )


def requirement_index(cases: list[dict], params) -> dict:  # noqa: ANN001
    """Every requirement of codestream conformance of the WD, with its negative cases."""
    out = {}
    for r in reqs.extract():
        ids = [c["id"] for c in cases if r.id in c["violates"]]
        entry: dict[str, Any] = {"clause": r.clause, "text": r.text, "cases": ids}
        if not ids:
            reason = reqs.not_violatable(r.id, params)
            if reason is None:
                raise RuntimeError(
                    f"no negative case violates {r.id} (WD {r.clause}, "
                    f"{r.source}): add one to Builder.negatives"
                )
            entry["not_violatable"] = reason
        out[r.id] = entry
    return out


def validate(case: dict, schema: dict) -> None:
    import jsonschema

    jsonschema.validate(case, schema)


def generate(out: Path, only: list[str] | None = None, log: Callable[[str], None] = print) -> dict:
    """Build the suite into ``out`` (emptied first); returns the index."""
    WD_REQUIREMENTS.update(reqs.by_id())
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if out.exists():
        for p in out.iterdir():
            if p.suffix in (".olic", ".json", ".png"):
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    seen = set()
    sets = []
    for model, (builder, weights) in MODELS.items():
        kit = Toolkit(model, weights)
        kit.torch.set_num_threads(1)  # the float analysis, reproducibly
        params_sha = hashlib.sha256(
            (kit.pipeline.PARAMS_DIR / kit.params_name).read_bytes()
        ).hexdigest()
        sets.append({"name": kit.params_name, "sha256": params_sha})
        for d in builder(kit).cases():
            if only and not any(fnmatch.fnmatch(d.id, pat) for pat in only):
                continue
            if d.id in seen:
                raise RuntimeError(f"duplicate case id {d.id}")
            unknown = [r for r in d.violates if r not in WD_REQUIREMENTS]
            if unknown:
                raise RuntimeError(f"{d.id} violates {unknown}, which the WD does not state")
            seen.add(d.id)
            t0 = time.perf_counter()
            case = finish(d, out, params_sha, kit.params_name)
            validate(case, schema)
            cases.append(case)
            exp = case["expected"]
            what = (
                f"{exp['width']}x{exp['height']} {exp['bit_depth']}-bit"
                if exp["result"] == "picture"
                else f"{exp['error']} (WD {exp['clause']})"
            )
            log(f"{d.id:34s} {len(d.data):8d} bytes  {what}  [{time.perf_counter() - t0:.1f} s]")
    index = {
        "format": FORMAT_VERSION,
        "generator": GENERATOR,
        "parameter_sets": sets,
        "cases": [c["id"] for c in cases],
        "requirements": requirement_index(cases, kit.params) if not only else {},
    }
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return index


def compare_suites(a: Path, b: Path) -> list[str]:
    """Differences between two suite folders (file names and bytes, PNG files aside)."""
    diffs = []
    names = {p.name for p in a.iterdir()} | {p.name for p in b.iterdir()}
    for name in sorted(names):
        pa, pb = a / name, b / name
        if not pa.exists() or not pb.exists():
            diffs.append(f"{name}: only in {'the new' if not pa.exists() else 'the old'} suite")
        elif name.endswith(".png"):
            continue  # PNG bytes depend on the zlib version; the JSON holds the sample hash
        elif name.endswith(".json") and name != "index.json":
            ja, jb = (json.loads(p.read_text(encoding="utf-8")) for p in (pa, pb))
            for j in (ja, jb):
                j.get("expected", {}).get("png", {}).pop("sha256", None)
            if ja != jb:
                keys = [k for k in set(ja) | set(jb) if ja.get(k) != jb.get(k)]
                diffs.append(f"{name}: differs in {sorted(keys)}")
        elif pa.read_bytes() != pb.read_bytes():
            diffs.append(f"{name}: differs")
    return diffs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m conformance.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=SUITE_DIR, help="suite folder to (re)build")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="GLOB",
        help="build only these cases (for development; the index then has no requirement map)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and compare with --out; exit 1 on any difference",
    )
    args = p.parse_args(argv)
    if args.only and not args.check and args.out.resolve() == SUITE_DIR.resolve():
        # The build empties its folder first: a partial build would delete the suite.
        p.error("--only builds a partial suite: give it another --out folder (or --check)")
    t0 = time.perf_counter()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), args.only, log=lambda s: None)
            diffs = compare_suites(args.out, Path(tmp))
        for d in diffs:
            print(d)
        print(f"{len(diffs)} difference(s) [{time.perf_counter() - t0:.0f} s]")
        return 1 if diffs else 0
    index = generate(args.out, args.only)
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(
        f"{len(index['cases'])} cases, {size / 1e6:.2f} MB in {args.out} "
        f"[{time.perf_counter() - t0:.0f} s]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
