"""Speed, complexity and memory of the encoder and the reference decoder.

``openlic bench speed`` and ``openlic bench decode`` (the decoder part alone) code the
pictures at one quality index with the shipped model and measure, in one run:

* the encoder's time per picture (:func:`encoder.encode_detailed`, analysis in
  PyTorch float32, entropy coding in Python/numba);
* refdec's time per picture, end to end and per stage, after the numba kernels are
  compiled and cached (one warm-up decode first): ``parse`` (segments, header,
  parameter set), ``hyper`` (decoding of the hyper-latent and the integer hyper
  synthesis network), ``latent`` (table indices and entropy decoding of the
  residuals), ``synthesis`` (latent reconstruction, the integer synthesis network,
  output conversion);
* megapixels per second, end to end and per stage;
* the multiply-accumulates per pixel of each network (kMAC/px), from the layer shapes
  of the parameter set; refdec's banded synthesis recomputes a halo of latent rows
  around each band, reported as its executed MACs;
* the synthesis throughput (nominal MACs over the stage time, GMAC/s) against the
  integer multiply-accumulate peak of a plain numba kernel measured in the same run
  (:func:`numba_int_peak`: int16 x int16 products summed in int32 in a plain loop,
  which LLVM vectorises on its own, on all cores and on one); refdec's kernel exceeds
  it where :mod:`refdec.simd` computes blocks of 6 output samples by 32 output
  channels with AVX-512 (by 16 with AVX2);
* the same decoding with both networks replaced by a float32 PyTorch network of the
  same layers (:class:`openlic.bench.floatnet.FloatDecoder`), its time per stage,
  the ratio refdec / float32, and how far its pictures lie from refdec's;
* both decoders are timed with all cores and with one thread, and each keeps its
  faster setting (recorded per picture), so that neither is penalised by threads
  waiting for cores that other work holds;
* peak resident memory (``VmHWM``) of a fresh process that decodes (refdec only,
  no PyTorch) or encodes every picture (:mod:`openlic.bench.memprobe`).
"""

from __future__ import annotations

import datetime
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit, prange

from openlic.bench import BenchError
from openlic.bench.machine import load_average
from openlic.bench.metrics import psnr_rgb
from openlic.bench.rd import _clean, _progress, load_image

if TYPE_CHECKING:
    from encoder.pipeline import Codec

SCHEMA = 1
STAGES = ("parse", "hyper", "latent", "synthesis")


@njit(cache=True)
def _int_gemm_row(a, b, out, i):  # noqa: ANN001 - numba kernel
    for j in range(b.shape[0]):
        acc = np.int32(0)
        for k in range(a.shape[1]):
            acc = np.int32(acc + np.int32(a[i, k]) * np.int32(b[j, k]))
        out[i, j] = acc


@njit(parallel=True, cache=True)
def _int_gemm(a, b, out):  # noqa: ANN001
    for i in prange(a.shape[0]):
        _int_gemm_row(a, b, out, i)


@njit(cache=True)
def _int_gemm_serial(a, b, out):  # noqa: ANN001
    for i in range(a.shape[0]):
        _int_gemm_row(a, b, out, i)


def numba_int_peak(m: int = 2048, n: int = 256, k: int = 256, repeat: int = 10) -> dict:
    """GMAC/s of a plain numba int16 x int16 -> int32 product (best of ``repeat``).

    Measured with all cores (``parallel=True`` over rows) and on one core; the peak
    is the faster of the two. The result is checked against numpy's exact product.
    """
    rng = np.random.default_rng(0)
    a = rng.integers(-4096, 4096, (m, k)).astype(np.int16)
    b = rng.integers(-255, 256, (n, k)).astype(np.int16)
    out = np.empty((m, n), np.int32)
    exact = a[:64].astype(np.int64) @ b.astype(np.int64).T
    rates = {}
    for name, kernel in (("parallel", _int_gemm), ("serial", _int_gemm_serial)):
        kernel(a[:8], b, out[:8])  # compile (or load from the cache)
        best = math.inf
        for _ in range(repeat):
            t = time.perf_counter()
            kernel(a, b, out)
            best = min(best, time.perf_counter() - t)
        if not np.array_equal(out[:64], exact):
            raise BenchError("the numba integer kernel gave a wrong product")
        rates[name] = m * n * k / best / 1e9
    return {"gmac_per_s": max(rates.values()), **{f"{k}_gmac_per_s": v for k, v in
                                                   rates.items()}, "shape": [m, n, k]}


def band_macs(layers: list, hy: int, wy: int, band_rows: int) -> int:
    """MACs refdec's banded synthesis executes, halo rows included."""
    from openlic.bench.floatnet import network_macs
    from refdec.network import halo

    h = halo(layers)
    total = 0
    for y0 in range(0, hy, band_rows):
        y1 = min(y0 + band_rows, hy)
        a, b = max(0, y0 - h), min(hy, y1 + h)
        total += network_macs(layers, b - a, wy)
    return total


def synthetic_codestream(codec: Codec, size: int, quality: int, seed: int = 0) -> bytes:
    """A ``size`` x ``size`` 8-bit codestream for ``codec`` without running the analysis.

    The hyper-latent is drawn uniformly from -2..2 and the latent (before the gain of
    ``quality``) from a standard normal distribution, independently of the means the
    hyper synthesis predicts, so the residuals are large and every tile stream is busy:
    a hard case for the entropy decoder rather than a picture.
    """
    from encoder.pipeline import Analysis, _codestream, groups_for
    from refdec.hyper import hyper_synthesis

    p = codec.params
    hy = wy = -(-size // 16)
    hz = wz = -(-hy // 4)
    rng = np.random.default_rng(seed)
    z_hat = rng.integers(-2, 3, (p.mz, hz, wz)).astype(np.int32)
    mean_fp, ls_fp = hyper_synthesis(z_hat, p, hy, wy, 0)
    y = rng.standard_normal((p.m, hy, wy))
    a = Analysis(size, size, y, z_hat.astype(np.float64), 0, z_hat, mean_fp, ls_fp)
    data, _, _ = _codestream(codec, a, quality, 8, 5, groups_for(p, None))
    return data


def _memprobe(args: list[str]) -> dict | None:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "openlic.bench.memprobe", *args],
            capture_output=True, text=True, timeout=3600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except ValueError:
        return None


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t
        if dt < best:
            best, result = dt, r
    return best, result


def run_speed(
    images: Sequence[Path],
    *,
    quality: int | None = None,
    params_path: Path | None = None,
    encode_timing: bool = True,
    memory: bool = True,
    large_size: int = 0,
    repeat: int = 1,
    refine_iterations: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    machine: dict | None = None,
) -> dict:
    """Run the speed benchmark; returns the results (the content of ``speed.json``).

    With ``memory``, the peak memory of decoding and encoding every picture is measured
    in fresh processes, and with ``large_size`` also that of decoding one synthetic
    ``large_size`` x ``large_size`` codestream (:func:`synthetic_codestream`). The
    encoder refines its latent with ``refine_iterations`` steps (WD E.3.1; None: the
    encoder's default); unless that is 0, the encoder without refinement is also timed
    (best of ``repeat``) and probed.
    """
    import numba
    import torch

    import refdec
    from encoder import encode_detailed
    from encoder.pipeline import DEFAULT_QUALITY, HYPER_STEP_CHOICES, load_codec
    from openlic.bench.floatnet import FloatDecoder, network_macs, torch_macs
    from refdec.network import BAND_BYTES, band_rows

    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        codec = load_codec(params_path)
    except (OSError, ValueError) as e:
        raise BenchError(f"cannot load the OpenLIC model: {e}") from None
    q = DEFAULT_QUALITY if quality is None else quality
    if not 0 <= q < codec.params.num_qualities:
        raise BenchError(f"quality must lie in 0..{codec.params.num_qualities - 1}")
    params = codec.params
    kw = {"params_path": params_path} if params_path else {}
    fdec = FloatDecoder(params)

    log("measuring the numba integer multiply-accumulate peak")
    peak = numba_int_peak()
    # Warm-up: compile (or load from numba's cache) every kernel, and warm PyTorch.
    first = load_image(images[0])
    data0 = encode_detailed(first, bit_depth=8, quality=q, codec=codec, refine_iterations=0).data
    refdec.decode(data0, **kw)
    fdec.decode(data0, params_path)

    torch_threads = torch.get_num_threads()
    rows: list[dict] = []
    streams: list[bytes] = []
    enc_macs_cache: dict[tuple[int, int], int] = {}
    bar = _progress(len(images), progress, "picture")
    try:
        for path in images:
            image = load_image(path)
            h, w = image.shape[:2]
            def encoding(refine: int | None, image: np.ndarray = image) -> Any:
                return encode_detailed(
                    image, bit_depth=8, quality=q, refine_iterations=refine, codec=codec
                )

            t_enc, enc = _best(
                lambda: encoding(refine_iterations), repeat if encode_timing else 1
            )
            data = enc.data
            streams.append(data)
            t_fast = None
            if encode_timing and refine_iterations != 0:
                t_fast, _ = _best(lambda: encoding(0), repeat)
            # Each decoder at its best thread setting: all cores or one. On a machine
            # that other work shares, a parallel run can be several times slower than a
            # serial one (threads wait at barriers for a descheduled peer).
            t_dec, pic, dec_threads = math.inf, None, None
            for par in (True, False):
                t, p = _best(lambda data=data, par=par: refdec.decode(data, threads=par, **kw),
                             repeat)
                if t < t_dec:
                    t_dec, pic, dec_threads = t, p, numba.get_num_threads() if par else 1
            t_flt, fsamples, ftimes, flt_threads = math.inf, None, None, None
            for n in sorted({torch_threads, 1}, reverse=True):
                torch.set_num_threads(n)
                try:
                    t, (fs, ft) = _best(lambda data=data: fdec.decode(data, params_path), repeat)
                finally:
                    torch.set_num_threads(torch_threads)
                if t < t_flt:
                    t_flt, fsamples, ftimes, flt_threads = t, fs, ft, n
            hdr = pic.header
            hy, wy, hz, wz = hdr.latent_height, hdr.latent_width, hdr.hyper_height, hdr.hyper_width
            if (h, w) not in enc_macs_cache:
                x = torch.zeros(1, 3, h + (-h % 64), w + (-w % 64))
                model = codec.model
                y = model.analysis(x)
                enc_macs_cache[(h, w)] = torch_macs(model, x, model.analysis) + torch_macs(
                    model.h_a, y
                )
            diff = np.abs(fsamples.astype(np.int32) - pic.samples.astype(np.int32))
            rows.append({
                "name": path.name, "width": w, "height": h, "bytes": len(data),
                "bpp": 8 * len(data) / (h * w),
                "encode_s": t_enc if encode_timing else None,
                "encode_fast_s": t_fast,
                "decode_s": t_dec,
                "decode_threads": dec_threads,
                "float_threads": flt_threads,
                "stages_s": {k: pic.timings_ns.get(k, 0) / 1e9 for k in STAGES},
                "float_decode_s": t_flt,
                "float_stages_s": {k: v / 1e9 for k, v in ftimes.items()},
                "float_psnr_vs_refdec": psnr_rgb(pic.samples, fsamples),
                "float_max_abs_diff": int(diff.max()),
                "macs": {
                    "hyper": network_macs(list(params.hs), hz, wz),
                    "context": sum(network_macs(list(c), hy, wy) for c in params.ctx),
                    "synthesis": network_macs(list(params.gs), hy, wy),
                    "synthesis_executed": band_macs(
                        list(params.gs), hy, wy, band_rows(list(params.gs), wy)
                    ),
                    "encoder_analysis": enc_macs_cache[(h, w)],
                },
            })
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    mem: dict[str, Any] = {}
    if memory:
        log("measuring peak memory in fresh processes")
        with tempfile.TemporaryDirectory() as d:
            files = []
            for i, s in enumerate(streams):
                f = Path(d) / f"{i}.olic"
                f.write_bytes(s)
                files.append(str(f))
            extra = ["--params", str(params_path)] if params_path else []
            mem["decode"] = _memprobe(["decode", *files, *extra])
            if encode_timing:
                steps = [] if refine_iterations is None else ["--refine", str(refine_iterations)]
                mem["encode"] = _memprobe(
                    ["encode", "--quality", str(q), *steps, *map(str, images), *extra]
                )
                if refine_iterations != 0:
                    mem["encode_fast"] = _memprobe(
                        ["encode", "--quality", str(q), "--refine", "0", *map(str, images),
                         *extra]
                    )
            if large_size:
                log(f"decoding a synthetic {large_size} x {large_size} codestream")
                big = Path(d) / "large.olic"
                big.write_bytes(synthetic_codestream(codec, large_size, q))
                probe = _memprobe(["decode", str(big), *extra])
                if probe:
                    samples_mib = 3 * large_size**2 / 2**20
                    mem["decode_large"] = {
                        **probe,
                        "size": large_size,
                        "codestream_bytes": big.stat().st_size,
                        "samples_mib": round(samples_mib, 1),
                        "bound_mib": round(3 * samples_mib + 256, 1),
                    }

    return _clean({
        "schema": SCHEMA,
        "kind": "speed",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**(machine or {}), "load_average_end": load_average()},
        "model": {"params_sha256": codec.params_sha256.hex(), "quality": q,
                  "band_bytes": BAND_BYTES},
        "threads": {"numba": numba.get_num_threads(), "torch": torch.get_num_threads()},
        "repeat": repeat,
        # The default's steps for pictures within the refinement limit (those timed).
        "refine_iterations": (
            codec.default_refine(1, 1) if refine_iterations is None else refine_iterations
        ),
        # The float decoder passes by which the encoder chooses the hyper-latent step
        # of every quality index it codes (WD E.3 step 2), with or without refinement.
        "hyper_step_passes": len(HYPER_STEP_CHOICES) if codec.quality is not None else 0,
        "numba_int_peak": peak,
        "pictures": rows,
        "summary": summarise(rows, peak["gmac_per_s"]),
        "memory": mem,
    })


def summarise(rows: list[dict], peak_gmacs: float) -> dict:
    """Totals over the pictures: times, MP/s, kMAC/px, GMAC/s, ratios."""
    n = len(rows)
    pixels = sum(r["width"] * r["height"] for r in rows)
    mp = pixels / 1e6

    def total(key: str, sub: str | None = None) -> float:
        return sum((r[key][sub] if sub else r[key]) or 0.0 for r in rows)

    dec = total("decode_s")
    stages = {k: total("stages_s", k) for k in STAGES}
    fst = {k: total("float_stages_s", k) for k in STAGES}
    macs = {k: total("macs", k) for k in
            ("hyper", "synthesis", "synthesis_executed", "encoder_analysis")}
    enc = total("encode_s") if rows and rows[0]["encode_s"] is not None else None
    fast = rows and rows[0].get("encode_fast_s") is not None
    enc_fast = total("encode_fast_s") if fast else None
    float_e2e = sum(fst.values())
    return {
        "pictures": n,
        "megapixels": mp,
        "bpp": float(np.mean([r["bpp"] for r in rows])) if rows else None,
        "encode_s_per_picture": enc / n if enc is not None else None,
        "encode_mp_per_s": mp / enc if enc else None,
        "encode_fast_s_per_picture": enc_fast / n if enc_fast is not None else None,
        "encode_fast_mp_per_s": mp / enc_fast if enc_fast else None,
        "decode_s_per_picture": dec / n,
        "decode_mp_per_s": mp / dec,
        "stage_s_per_picture": {k: v / n for k, v in stages.items()},
        "stage_mp_per_s": {k: (mp / v if v else None) for k, v in stages.items()},
        "entropy_s_per_picture": (stages["parse"] + stages["latent"]) / n,
        "kmac_per_pixel": {
            "hyper": macs["hyper"] / pixels / 1e3,
            "context": macs.get("context", 0) / pixels / 1e3,
            "synthesis": macs["synthesis"] / pixels / 1e3,
            "synthesis_executed": macs["synthesis_executed"] / pixels / 1e3,
            "decoder": (macs["hyper"] + macs.get("context", 0) + macs["synthesis"])
            / pixels
            / 1e3,
            "encoder_analysis": macs["encoder_analysis"] / pixels / 1e3,
        },
        "synthesis_gmac_per_s": macs["synthesis"] / stages["synthesis"] / 1e9,
        "synthesis_executed_gmac_per_s": macs["synthesis_executed"] / stages["synthesis"] / 1e9,
        "numba_int_peak_gmac_per_s": peak_gmacs,
        "synthesis_fraction_of_peak": macs["synthesis_executed"] / stages["synthesis"] / 1e9
        / peak_gmacs,
        "float": {
            "stage_s_per_picture": {k: v / n for k, v in fst.items()},
            "decode_s_per_picture": float_e2e / n,
            "ratio_refdec_to_float": {
                "end_to_end": dec / float_e2e,
                "hyper": stages["hyper"] / fst["hyper"],
                "synthesis": stages["synthesis"] / fst["synthesis"],
            },
            "min_psnr_vs_refdec": min(r["float_psnr_vs_refdec"] for r in rows),
            "max_abs_diff": max(r["float_max_abs_diff"] for r in rows),
        },
    }


def summary_text(results: dict) -> str:
    s = results["summary"]
    lines = [
        f"{s['pictures']} picture{'s' if s['pictures'] != 1 else ''}, "
        f"quality {results['model']['quality']}, "
        f"{s['bpp']:.3f} bpp on average",
    ]
    if s["encode_s_per_picture"] is not None:
        lines.append(
            f"encode (--refine {results['refine_iterations']}): "
            f"{s['encode_s_per_picture']:.3f} s/picture, {s['encode_mp_per_s']:.3f} MP/s"
        )
    if s.get("encode_fast_s_per_picture") is not None:
        lines.append(
            f"encode with --refine 0: {s['encode_fast_s_per_picture']:.3f} s/picture, "
            f"{s['encode_fast_mp_per_s']:.3f} MP/s"
        )
    lines.append(
        f"decode (refdec): {s['decode_s_per_picture']:.3f} s/picture, "
        f"{s['decode_mp_per_s']:.3f} MP/s"
    )
    for k in STAGES:
        lines.append(f"  {k:<10} {1e3 * s['stage_s_per_picture'][k]:8.1f} ms/picture")
    k = s["kmac_per_pixel"]
    lines.append(
        f"kMAC/px: hyper {k['hyper']:.2f}, synthesis {k['synthesis']:.2f} "
        f"({k['synthesis_executed']:.2f} executed with band halos), "
        f"encoder analysis {k['encoder_analysis']:.2f}"
    )
    lines.append(
        f"synthesis: {s['synthesis_gmac_per_s']:.2f} GMAC/s nominal, "
        f"{s['synthesis_executed_gmac_per_s']:.2f} executed; numba int peak "
        f"{s['numba_int_peak_gmac_per_s']:.2f} GMAC/s "
        f"({100 * s['synthesis_fraction_of_peak']:.0f}% of peak, executed MACs)"
    )
    f = s["float"]
    r = f["ratio_refdec_to_float"]
    lines.append(
        f"float32 PyTorch decoder: {f['decode_s_per_picture']:.3f} s/picture; "
        f"refdec/float32 time: {r['end_to_end']:.2f} end to end, "
        f"{r['hyper']:.2f} hyper, {r['synthesis']:.2f} synthesis; "
        f"float vs refdec pictures: min PSNR {f['min_psnr_vs_refdec']:.1f} dB, "
        f"max |diff| {f['max_abs_diff']}"
    )
    for what, m in results.get("memory", {}).items():
        if m:
            lines.append(
                f"peak memory ({what}): {m['peak_mib']:.0f} MiB "
                f"({m['baseline_mib']:.0f} MiB after imports)"
                + (f"; bound {m['bound_mib']:.0f} MiB, {m['seconds']:.1f} s"
                   if "bound_mib" in m else "")
            )
    return "\n".join(lines)
