"""RD curves (PSNR-RGB and MS-SSIM against bits per pixel) as PNG figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openlic.bench import BenchError

STYLE = {
    "openlic": {"color": "#d62728", "linewidth": 2.4, "marker": "o", "zorder": 5},
    "openlic-fast": {"color": "#ff7f0e", "linewidth": 1.6, "marker": "o", "zorder": 5},
    "openlic-matched": {"color": "#8b0000", "linestyle": "-.", "marker": "D", "zorder": 6},
    "openlic-float": {"color": "#d62728", "linestyle": "--", "marker": "x", "zorder": 4},
    "openlic-float-est": {"color": "#ff9896", "linestyle": ":", "marker": "x", "zorder": 4},
    "jpeg": {"color": "#7f7f7f", "marker": "s"},
    "jpeg2000": {"color": "#8c564b", "marker": "v"},
    "webp": {"color": "#2ca02c", "marker": "^"},
    "avif": {"color": "#9467bd", "marker": "D"},
    "jpegxl": {"color": "#1f77b4", "marker": "P"},
    "hevc": {"color": "#e377c2", "marker": "*"},
    "bmshj2018-hyperprior": {"color": "#17becf", "linestyle": "--", "marker": "."},
    "mbt2018-mean": {"color": "#bcbd22", "linestyle": "--", "marker": "."},
}

PER_PICTURE_FIGURE = "bd-per-picture.png"
PER_PICTURE_ANCHORS = ("jpeg2000", "webp")
"""The anchors of the per-picture figure: those of the project's rate-distortion
target besides JPEG."""

FIGURES = {
    "rd-psnr.png": ("psnr_rgb", "PSNR on RGB (dB)"),
    "rd-msssim.png": ("msssim_db", "MS-SSIM (dB), -10 log10(1 - MS-SSIM)"),
}


def plot_rd(results: dict, out_dir: Path, *, max_bpp: float = 2.0) -> list[Path]:
    """Write :data:`FIGURES` into ``out_dir``, and :data:`PER_PICTURE_FIGURE` where the
    results have per-picture BD-rates; returns their paths."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BenchError(
            "the plots need matplotlib, which is not installed (pip install 'openlic[bench]')"
        ) from None
    plt.rcParams["svg.hashsalt"] = "openlic"
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(results.get("pictures", []))
    curves = [
        (name, results["curves"][name]["label"], pts)
        for name, pts in results.get("average", {}).items()
    ]
    curves += [
        (name, ref["label"], ref["points"]) for name, ref in results.get("references", {}).items()
    ]
    written = []
    for fname, (key, ylabel) in FIGURES.items():
        fig, ax = plt.subplots(figsize=(9.0, 4.6), dpi=100)
        for name, label, pts in curves:
            xy = sorted(
                (p["bpp"], p[key])
                for p in pts
                if p.get(key) is not None and p["bpp"] is not None and p["bpp"] <= max_bpp
            )
            if not xy:
                continue
            style = dict(STYLE.get(name, {}))
            style.setdefault("linewidth", 1.4)
            ax.plot([x for x, _ in xy], [y for _, y in xy], label=label, markersize=4, **style)
        ax.set_xlabel("bits per pixel (whole file; published curves: without headers)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0, max_bpp)
        ax.grid(True, alpha=0.3)
        folder = Path(results.get("picture_folder") or "pictures").name
        ax.set_title(f"Average over {n} picture{'s' if n != 1 else ''} of {folder}", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        fig.tight_layout()
        path = out_dir / fname
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    per = results.get("bd_per_picture") or {}
    anchors = [a for a in PER_PICTURE_ANCHORS if a in per]
    if anchors:
        written.append(_plot_per_picture(plt, results, anchors, out_dir / PER_PICTURE_FIGURE))
    return written


def _plot_per_picture(plt: Any, results: dict, anchors: list[str], path: Path) -> Path:
    """Horizontal bars: the PSNR-RGB BD-rate of OpenLIC on each picture, per anchor."""
    names = [p["name"] for p in results["pictures"]]
    per = results["bd_per_picture"]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.28 * len(names)), dpi=100)
    height = 0.8 / len(anchors)
    for i, a in enumerate(anchors):
        values = per[a]["psnr_rgb"]["pictures"]
        ys = [k + (i - (len(anchors) - 1) / 2) * height for k in range(len(names))]
        xs = [values.get(n) if values.get(n) is not None else 0.0 for n in names]
        mean = per[a]["psnr_rgb"]["mean"]
        label = results["curves"][a]["label"] + (f" (mean {mean:+.1f} %)" if mean is not None
                                                 else "")
        ax.barh(ys, xs, height=height, color=STYLE[a]["color"], label=label)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), [Path(n).stem for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("BD-rate of OpenLIC, PSNR-RGB (%): negative, fewer bits")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
