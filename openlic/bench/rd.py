"""The rate-distortion benchmark (``openlic bench rd``).

Every codec codes every picture at each of its parameters; each point records the
whole file size in bits, the bits per pixel and the metrics of
:mod:`openlic.bench.metrics`. The **average curve** of a codec averages, at each
parameter, the bits per pixel and each metric over the pictures (MS-SSIM in dB is
taken of the average MS-SSIM), as CompressAI and most papers do. BD-rates
(:mod:`openlic.bench.bdrate`) compare average curves: OpenLIC is the test, each
other curve the anchor (negative: OpenLIC needs fewer bits for the same quality).
The quantisation loss is the BD-rate of the integer decoder against the float model
(positive: the integer decoder needs more bits).

The values at the JPEG AI test rates (0.06, 0.12, 0.25, 0.50 and 0.75 bpp) are read
off the average curves by the same piecewise cubic interpolation in log rate (not by
coding each picture at those rates); rates outside a curve are left empty, except
within 1 % of its end (:func:`openlic.bench.bdrate.quality_at_rate`).

Results of each (codec, picture) pair are cached in a folder (by default
``out/bench-cache``) under a key made of the codec's settings and version and the
picture's SHA-256, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openlic.bench import BenchError, bdrate
from openlic.bench.codecs import JPEG_AI_RATES, Codec
from openlic.bench.machine import load_average
from openlic.bench.metrics import all_metrics, msssim_available, msssim_db
from openlic.bench.reference import CROSS_CHECKS, REFERENCES, SOURCE_URL

METRICS = ("psnr_rgb", "psnr_ycbcr", "msssim", "msssim_db")
BD_METRICS = ("psnr_rgb", "psnr_ycbcr", "msssim_db")
TEST_CURVE = "openlic"
MATCHED_CURVE = "openlic-matched"
"""OpenLIC coded at the JPEG AI test rates by its rate control (a third test curve)."""
FAST_CURVE = "openlic-fast"
"""The encoder without latent refinement (``--refine 0``), a second test curve, and the
one the float model's curves share their residuals with (the quantisation loss)."""
SCHEMA = 1


def list_images(folder: Path | str, limit: int | None = None) -> list[Path]:
    """The PNG pictures of ``folder`` in name order, at most ``limit`` of them."""
    d = Path(folder)
    if not d.is_dir():
        raise BenchError(f"picture folder '{d}' does not exist or is not a folder")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise BenchError(f"no PNG pictures in '{d}'")
    return files[:limit] if limit else files


def load_image(path: Path) -> np.ndarray:
    """An 8-bit RGB picture as (H, W, 3) uint8."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("RGB", "L", "P", "RGBA"):
                raise BenchError(
                    f"'{path}' is {im.mode}: the benchmark takes 8-bit RGB pictures"
                )
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except OSError as e:
        raise BenchError(f"cannot read picture '{path}': {e}") from None


def _clean(x: Any) -> Any:
    """JSON-ready: NaN to None, floats to 6 significant digits."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not math.isfinite(x) else float(f"{x:.6g}")
    if isinstance(x, np.integer):
        return int(x)
    return x


def signature_digest(codec: Codec) -> str:
    """A short digest of everything the results of ``codec`` depend on
    (:meth:`Codec.signature`); ``rd.json`` records it for each codec."""
    return hashlib.sha256(codec.signature().encode()).hexdigest()[:16]


def reused_rows(earlier: dict | None, codec: Codec, name: str, sha: str) -> list[dict] | None:
    """The rows of ``codec`` on picture ``name`` from an earlier run's results, where
    that run measured the same codec (the same signature digest) on the same picture
    (the same SHA-256 of its samples); None otherwise. Values come back as ``rd.json``
    stored them, to six significant digits."""
    if not earlier:
        return None
    if earlier.get("codecs", {}).get(codec.name, {}).get("signature") != signature_digest(codec):
        return None
    pic = next((p for p in earlier.get("pictures", []) if p["name"] == name), None)
    if pic is None or pic["sha256"] != sha:
        return None
    pixels = pic["width"] * pic["height"]
    cols = earlier["per_image_columns"]
    rows = []
    for curve, meta in earlier["curves"].items():
        if meta["codec"] != codec.name:
            continue
        for values in earlier["per_image"][curve].get(name, []):
            r = dict(zip(cols, values))
            ms = r["msssim"]
            rows.append({"curve": curve, **r, "bpp": r["bits"] / pixels,
                         "msssim_db": None if ms is None else msssim_db(ms)})
    return rows or None


class ResultCache:
    """Rows of one (codec, picture) pair, stored as JSON under a content key."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _path(self, codec: Codec, image_sha: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / codec.name / f"{image_sha[:16]}-{signature_digest(codec)}.json"

    def get(self, codec: Codec, image_sha: str) -> list[dict] | None:
        p = self._path(codec, image_sha)
        if p is None or not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return None

    def put(self, codec: Codec, image_sha: str, rows: list[dict]) -> None:
        p = self._path(codec, image_sha)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(_clean(rows)))
        tmp.replace(p)


def measure(codec: Codec, image: np.ndarray, *, with_msssim: bool = True) -> list[dict]:
    """Rows (curve, param, bits, bpp, metrics) of every point of ``codec`` on ``image``."""
    pixels = image.shape[0] * image.shape[1]
    rows = []
    for pt in codec.points(image):
        rows.append(
            {"curve": pt.curve, "param": pt.param, "bits": pt.bits, "bpp": pt.bits / pixels,
             **all_metrics(image, pt.recon, with_msssim=with_msssim)}
        )
    return rows


def average_curve(per_image: dict[str, list[dict]]) -> list[dict]:
    """Average, at each parameter present for every picture, of bpp and the metrics."""
    names = list(per_image)
    params = None
    for rows in per_image.values():
        ps = [r["param"] for r in rows]
        params = ps if params is None else [p for p in params if p in ps]
    out = []
    for p in params or []:
        sel = [next(r for r in per_image[n] if r["param"] == p) for n in names]
        avg: dict[str, Any] = {"param": p}
        for key in ("bpp", "psnr_rgb", "psnr_ycbcr", "msssim"):
            vals = [r[key] for r in sel]
            ok = all(v is not None and math.isfinite(v) for v in vals)
            avg[key] = float(np.mean(vals)) if ok else None
        avg["msssim_db"] = msssim_db(avg["msssim"]) if avg["msssim"] is not None else None
        out.append(avg)
    return out


def _col(points: Sequence[dict], key: str) -> list[float]:
    return [float("nan") if p.get(key) is None else p[key] for p in points]


def bd_table(curves: dict[str, list[dict]], test: str = TEST_CURVE) -> dict[str, dict]:
    """BD-rate (per metric) and BD-PSNR of ``test`` against every other curve."""
    if test not in curves:
        return {}
    t = curves[test]
    out = {}
    for name, pts in curves.items():
        if name == test:
            continue
        row: dict[str, Any] = {}
        for m in BD_METRICS:
            curves4 = (_col(pts, "bpp"), _col(pts, m), _col(t, "bpp"), _col(t, m))
            row[f"bd_rate_{m}"] = bdrate.bd_rate(*curves4)
            row[f"overlap_{m}"] = bdrate.overlap(*curves4)
        row["bd_psnr_rgb"] = bdrate.bd_quality(
            _col(pts, "bpp"), _col(pts, "psnr_rgb"), _col(t, "bpp"), _col(t, "psnr_rgb")
        )
        row["bd_msssim_db"] = bdrate.bd_quality(
            _col(pts, "bpp"), _col(pts, "msssim_db"), _col(t, "bpp"), _col(t, "msssim_db")
        )
        out[name] = row
    return out


def per_picture_bd(
    per_curve: dict[str, dict[str, list[dict]]], test: str = TEST_CURVE
) -> dict[str, dict]:
    """BD-rate of ``test`` against every other curve computed picture by picture, on
    each picture's own points, and summarised by their mean (as the common test
    conditions of JVET and AOM summarise a test set), median and range.

    For each anchor and metric of :data:`BD_METRICS`: ``mean``, ``median``, ``min``,
    ``max``, ``better`` (pictures where ``test`` needs fewer bits), ``n`` (pictures
    whose curves overlap) and ``pictures`` (name -> BD-rate, None without overlap).
    """
    if test not in per_curve:
        return {}
    mine = per_curve[test]
    out: dict[str, dict] = {}
    for name, imgs in per_curve.items():
        if name == test:
            continue
        row: dict[str, Any] = {}
        for m in BD_METRICS:
            values = {}
            for img, rows in imgs.items():
                if img in mine:
                    values[img] = bdrate.bd_rate(
                        _col(rows, "bpp"), _col(rows, m), _col(mine[img], "bpp"),
                        _col(mine[img], m),
                    )
            found = [v for v in values.values() if v is not None]
            row[m] = {
                "mean": float(np.mean(found)) if found else None,
                "median": float(np.median(found)) if found else None,
                "min": min(found, default=None),
                "max": max(found, default=None),
                "better": sum(v < 0 for v in found),
                "n": len(found),
                "pictures": values,
            }
        out[name] = row
    return out


def rates_table(curves: dict[str, list[dict]], rates: Sequence[float] = JPEG_AI_RATES) -> dict:
    """Metrics of every curve at the JPEG AI test rates (interpolated; None outside)."""
    out = {}
    for name, pts in curves.items():
        out[name] = {
            f"{r:.2f}": {
                m: bdrate.quality_at_rate(_col(pts, "bpp"), _col(pts, m), r)
                for m in ("psnr_rgb", "psnr_ycbcr", "msssim")
            }
            for r in rates
        }
    return out


def reference_curves() -> dict[str, list[dict]]:
    """The published CompressAI curves as average curves (no YCbCr PSNR)."""
    out = {}
    for name, ref in REFERENCES.items():
        out[name] = [
            {"param": None, "bpp": b, "psnr_rgb": p, "psnr_ycbcr": None, "msssim": s,
             "msssim_db": msssim_db(s)}
            for b, p, s in zip(ref["bpp"], ref["psnr_rgb"], ref["msssim"])
        ]
    return out


def cross_checks(averages: dict[str, list[dict]]) -> dict[str, dict]:
    """BD-rate of our measurement of a codec against an independent published one.

    Near 0 % when both cover the same pictures with the same library and settings;
    see :data:`openlic.bench.reference.CROSS_CHECKS`.
    """
    out = {}
    for name, ref in CROSS_CHECKS.items():
        if name not in averages:
            continue
        ours = averages[name]
        theirs_db = [msssim_db(v) for v in ref["msssim"]]
        out[name] = {
            "label": ref["label"],
            "source": ref["source"],
            "bd_rate_psnr_rgb": bdrate.bd_rate(
                ref["bpp"], ref["psnr_rgb"], _col(ours, "bpp"), _col(ours, "psnr_rgb")
            ),
            "bd_psnr_rgb": bdrate.bd_quality(
                ref["bpp"], ref["psnr_rgb"], _col(ours, "bpp"), _col(ours, "psnr_rgb")
            ),
            "bd_rate_msssim_db": bdrate.bd_rate(
                ref["bpp"], theirs_db, _col(ours, "bpp"), _col(ours, "msssim_db")
            ),
        }
    return out


def run_rd(
    images: Sequence[Path],
    codecs: Sequence[Codec],
    *,
    cache: ResultCache | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    machine: dict | None = None,
    folder: str = "",
    reuse: dict | None = None,
) -> dict:
    """Run the benchmark; returns the results (the content of ``rd.json``).

    ``reuse``: the results of an earlier run, whose rows are taken where it measured
    the same codec on the same picture (:func:`reused_rows`) instead of coding again.
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    cache = cache or ResultCache(None)
    usable, skipped = [], {}
    for c in codecs:
        why = c.unavailable()
        if why:
            skipped[c.name] = why
            log(f"skipping {c.label}: {why}")
        else:
            usable.append(c)
    why_ms = msssim_available()
    if why_ms:
        log(f"MS-SSIM is not computed: {why_ms}")
    per_curve: dict[str, dict[str, list[dict]]] = {}
    info: dict[str, dict] = {}
    for c in usable:
        info[c.name] = {
            "label": c.label, "version": c.version(), "settings": c.settings,
            "param_name": c.param_name, "params": list(c.params),
            "signature": signature_digest(c),
        }
    pictures = []
    cached = reused = 0
    bar = _progress(len(images) * len(usable), progress)
    try:
        for path in images:
            image = load_image(path)
            sha = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()
            pictures.append({"name": path.name, "width": image.shape[1],
                             "height": image.shape[0], "sha256": sha})
            for c in usable:
                if bar is not None:
                    bar.set_postfix_str(f"{path.name} {c.name}")
                rows = cache.get(c, sha)
                cached += rows is not None
                if rows is None:
                    rows = reused_rows(reuse, c, path.name, sha)
                    reused += rows is not None
                if rows is None:
                    # Rounded as stored, so that cached and fresh results agree exactly.
                    rows = _clean(measure(c, image, with_msssim=not why_ms))
                    cache.put(c, sha, rows)
                for r in rows:
                    per_curve.setdefault(r["curve"], {}).setdefault(path.name, []).append(r)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    curves_meta: dict[str, dict] = {}
    for c in usable:
        for name, cv in c.curves.items():
            if name in per_curve:
                curves_meta[name] = {"codec": c.name, "label": cv.label, "rate": cv.rate}
    averages = {name: average_curve(per_curve[name]) for name in curves_meta}
    refs = reference_curves()
    all_curves = {**averages, **refs}
    return _clean({
        "schema": SCHEMA,
        "kind": "rd",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**(machine or {}), "load_average_end": load_average()},
        "picture_folder": folder,
        "pictures": pictures,
        "results_from_cache": [cached, len(images) * len(usable)],
        "results_reused": [reused, len(images) * len(usable)],
        "codecs": info,
        "skipped": skipped,
        "msssim": None if not why_ms else why_ms,
        "curves": curves_meta,
        "average": averages,
        "references": {
            name: {"label": ref["label"], "source": ref["source"], "url": SOURCE_URL,
                   "points": refs[name]}
            for name, ref in REFERENCES.items()
        },
        "bd": bd_table(all_curves),
        "bd_fast": bd_table(all_curves, FAST_CURVE),
        "bd_matched": bd_table(all_curves, MATCHED_CURVE),
        "bd_per_picture": per_picture_bd(per_curve),
        "cross_checks": cross_checks(averages),
        "jpeg_ai_rates": rates_table(all_curves),
        "per_image": {
            name: {img: [[r["param"], r["bits"], r["psnr_rgb"], r["psnr_ycbcr"], r["msssim"]]
                         for r in rows] for img, rows in per_curve[name].items()}
            for name in curves_meta
        },
        "per_image_columns": ["param", "bits", "psnr_rgb", "psnr_ycbcr", "msssim"],
    })


def _progress(total: int, enabled: bool, unit: str = "codec-picture") -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=unit, dynamic_ncols=True, leave=False)


TOLERANCE = {"bpp_rel": 0.01, "psnr_rgb": 0.05, "psnr_ycbcr": 0.05, "msssim": 0.001}


def compare(new: dict, old: dict) -> tuple[list[str], bool]:
    """Differences between two runs on the common curves and parameters.

    Returns lines of text (one per curve: the largest differences) and whether every
    difference lies within :data:`TOLERANCE`.
    """
    lines, ok = [], True
    if [p["sha256"] for p in new.get("pictures", [])] != [
        p["sha256"] for p in old.get("pictures", [])
    ]:
        lines.append("note: the two runs are not on the same pictures")
        ok = False
    for name, pts in new.get("average", {}).items():
        ref = {p["param"]: p for p in old.get("average", {}).get(name, [])}
        common = [(p, ref[p["param"]]) for p in pts if p["param"] in ref]
        if not common:
            lines.append(f"{name}: not in the other run")
            continue
        worst = {k: 0.0 for k in TOLERANCE}
        for a, b in common:
            worst["bpp_rel"] = max(worst["bpp_rel"], abs(a["bpp"] / b["bpp"] - 1))
            for k in ("psnr_rgb", "psnr_ycbcr", "msssim"):
                if a.get(k) is not None and b.get(k) is not None:
                    worst[k] = max(worst[k], abs(a[k] - b[k]))
        bad = [k for k, v in worst.items() if v > TOLERANCE[k]]
        ok = ok and not bad
        lines.append(
            f"{name}: {len(common)} points; max |d bpp| {100 * worst['bpp_rel']:.3f}%, "
            f"|d PSNR-RGB| {worst['psnr_rgb']:.4f} dB, "
            f"|d PSNR-YCbCr| {worst['psnr_ycbcr']:.4f} dB, |d MS-SSIM| {worst['msssim']:.5f}"
            + (f"  OUT OF TOLERANCE ({', '.join(bad)})" if bad else "  ok")
        )
    return lines, ok


def summary(results: dict) -> str:
    """A short text summary: average points and BD-rates."""
    n = len(results["pictures"])
    out = [f"{n} picture{'s' if n != 1 else ''}"]
    for name, pts in results["average"].items():
        label = results["curves"][name]["label"]
        out.append(f"{label}:")
        for p in pts:
            ms = "-" if p["msssim"] is None else f"{p['msssim']:.4f}"
            out.append(
                f"  {p['param']:>7g}  {p['bpp']:.4f} bpp  {p['psnr_rgb']:.2f} dB RGB  "
                f"{p['psnr_ycbcr']:.2f} dB YCbCr  MS-SSIM {ms}"
            )
    out.append("BD-rate of OpenLIC (PSNR-RGB / PSNR-YCbCr / MS-SSIM):")
    for name, row in results["bd"].items():
        vals = [row[f"bd_rate_{m}"] for m in BD_METRICS]
        txt = " / ".join("n/a" if v is None else f"{v:+.1f}%" for v in vals)
        out.append(f"  vs {name}: {txt}")
    return "\n".join(out)


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    per_image = results.get("per_image")
    body = {k: v for k, v in results.items() if k != "per_image"}
    text = json.dumps(body, indent=1)
    if per_image is not None:
        # One line per picture: the per-picture rows would otherwise take most of the file.
        lines = [
            f'  "{name}": {{\n' + ",\n".join(
                f"   {json.dumps(img)}: {json.dumps(rows, separators=(',', ':'))}"
                for img, rows in imgs.items()
            ) + "\n  }"
            for name, imgs in per_image.items()
        ]
        text = text[:-2] + ',\n "per_image": {\n' + ",\n".join(lines) + "\n }\n}"
    json.loads(text)  # must stay valid JSON
    tmp.write_text(text + "\n")
    tmp.replace(path)
