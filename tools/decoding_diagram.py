"""Figure 1 of the WD (clause 8.1.1): the decoding process as a block diagram.

    python tools/decoding_diagram.py docs/figures/decoding-process

writes ``decoding-process.svg`` (HTML) and ``decoding-process.png`` (the PDF of the WD).
Every process box names the clauses that specify it (:data:`PROCESSES`); a test checks
that those clauses exist and that the committed figure shows them, so the figure cannot
cite a clause the WD has renumbered.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402


class Box(NamedTuple):
    """A process of the decoder: its centre (x, y) in figure units, its text and the
    clauses that specify it (the figure writes them under the text)."""

    x: float
    y: float
    text: str
    clauses: tuple[str, ...]


PROCESSES: dict[str, Box] = {
    "parse": Box(3.0, 9.0, "Segments: markers,\nCRC, order", ("5.2", "5.3", "6")),
    "header": Box(7.0, 9.0, "Picture header,\nsizes, profile, level", ("7.2", "5.4", "A")),
    "select": Box(11.0, 9.0, "Select the\nparameter set", ("C.1",)),
    "z": Box(3.0, 7.0, "Hyper-latent $\\hat{z}$\n(rANS, z_table)", ("8.3.1", "8.2")),
    "hs": Box(7.0, 7.0, "Hyper synthesis hs:\n$\\mu_{fp}$, $ls_{fp}$", ("8.3.2", "8.6")),
    "ctx": Box(3.0, 4.6, "Context prediction\nctx.g (when $G_C \\geq 2$, $g \\geq 1$)", ("8.4.1",)),
    "index": Box(7.0, 4.6, "Scale index of\nevery element", ("8.4.2",)),
    "residual": Box(11.0, 4.6, "Residuals $r$\n(rANS, tile streams)", ("8.4.3", "8.2")),
    "latent": Box(7.0, 2.9, "Latent $y_{in}$\n(gain, inverse gain)", ("8.5",)),
    "gs": Box(7.0, 1.0, "Synthesis gs:\n$x_{fp}$", ("8.7", "8.6")),
    "output": Box(11.0, 1.0, "Output samples, crop;\noutput filter (OF)", ("8.8", "8.9")),
}
"""The process boxes, keyed by name."""

SEGMENTS = ("SIG", "PH", "ZS", "YS$_0$", "...", "YS$_{G-1}$", "[OF]", "EOC")
BOX_W, BOX_H = 3.1, 1.15


def label(box: Box) -> str:
    """The text of a box with its clauses ("8.4.1", "Annex A")."""
    cited = ", ".join(f"Annex {c}" if c.isalpha() else c for c in box.clauses)
    return f"{box.text}\n[{cited}]"


def draw(out: Path) -> list[Path]:
    """Draw the figure; returns the files written (``out`` with .svg and .png)."""
    plt.rcParams.update({"font.size": 9, "svg.fonttype": "none", "svg.hashsalt": "openlic"})
    fig, ax = plt.subplots(figsize=(9.0, 7.4))
    ax.set_xlim(-0.6, 13.4)
    ax.set_ylim(0.2, 10.2)
    ax.axis("off")

    def box(b: Box, colour: str = "#e8f0fa") -> None:
        ax.add_patch(
            FancyBboxPatch(
                (b.x - BOX_W / 2, b.y - BOX_H / 2),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=colour,
                edgecolor="#2b4c7e",
                linewidth=1.0,
            )
        )
        ax.text(b.x, b.y, label(b), ha="center", va="center", linespacing=1.25)

    def arrow(a: tuple[float, float], b: tuple[float, float], text: str = "", **kw) -> None:
        ax.add_patch(
            FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=11, color="#333333", **kw)
        )
        if text:
            ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.18, text, ha="center", fontsize=8)

    # The codestream, as the segments of clause 5 in their order.
    for i, name in enumerate(SEGMENTS):
        ax.add_patch(
            plt.Rectangle((-0.5 + 1.35 * i, 9.75), 1.3, 0.4, facecolor="#f3f3f3", edgecolor="#555")
        )
        ax.text(0.15 + 1.35 * i, 9.95, name, ha="center", va="center", fontsize=8)
    ax.text(10.4, 9.95, "codestream (clause 5)", va="center", fontsize=8, style="italic")

    # The loop over the channel groups (clause 8.1.1, step 5).
    ax.add_patch(
        FancyBboxPatch(
            (1.1, 2.05),
            11.8,
            3.35,
            boxstyle="round,pad=0.05,rounding_size=0.2",
            facecolor="none",
            edgecolor="#888888",
            linestyle="--",
        )
    )
    ax.text(1.3, 2.25, "for every channel group $g = 0 \\ldots G-1$", fontsize=8, style="italic")

    for b in PROCESSES.values():
        box(b)
    p = PROCESSES
    half_w, half_h = BOX_W / 2, BOX_H / 2
    arrow((p["parse"].x + half_w, 9.0), (p["header"].x - half_w, 9.0), "PH")
    arrow((p["header"].x + half_w, 9.0), (p["select"].x - half_w, 9.0), "hash")
    arrow((p["parse"].x, 9.0 - half_h), (p["z"].x, 7.0 + half_h), "")
    ax.text(p["parse"].x + 0.1, 8.05, "ZS", fontsize=8)
    arrow((p["z"].x + half_w, 7.0), (p["hs"].x - half_w, 7.0), "$\\hat{z}$")
    arrow((p["hs"].x, 7.0 - half_h), (p["index"].x, 4.6 + half_h), "")
    ax.text(p["hs"].x + 0.1, 5.8, "$\\mu_{fp}$, $ls_{fp}$", fontsize=8)
    arrow((p["ctx"].x + half_w, 4.6), (p["index"].x - half_w, 4.6), "$\\Delta\\mu$, $\\Delta ls$")
    arrow((p["index"].x + half_w, 4.6), (p["residual"].x - half_w, 4.6), "idx")
    arrow(
        (p["residual"].x, 4.6 - half_h),
        (p["latent"].x + half_w, 2.9),
        connectionstyle="angle,angleA=-90,angleB=0,rad=0",
    )
    ax.text(p["residual"].x + 0.1, 3.3, "$r$", fontsize=8)
    arrow((p["residual"].x, 6.0), (p["residual"].x, 4.6 + half_h))
    ax.text(p["residual"].x + 0.1, 5.55, "YS$_g$", fontsize=8)
    # The reconstructed groups feed the context networks of the later groups.
    arrow(
        (p["latent"].x - half_w, 2.9),
        (p["ctx"].x, 4.6 - half_h),
        connectionstyle="angle,angleA=180,angleB=-90,rad=0",
    )
    ax.text(p["ctx"].x + 0.1, 3.3, "groups before $g$", fontsize=8)
    arrow((p["latent"].x, 2.9 - half_h), (p["gs"].x, 1.0 + half_h))
    ax.text(p["gs"].x + 0.1, 1.85, "$y_{in}$ (all groups)", fontsize=8)
    arrow((p["gs"].x + half_w, 1.0), (p["output"].x - half_w, 1.0), "$x_{fp}$")
    # The OF segment, when present, gives the output filter its coefficients.
    arrow((p["output"].x, 2.05), (p["output"].x, 1.0 + half_h))
    ax.text(p["output"].x + 0.1, 1.75, "OF", fontsize=8)
    ax.text(12.85, 1.2, "picture", ha="center", fontsize=8, style="italic")
    arrow((p["output"].x + half_w, 1.0), (13.3, 1.0))

    # What the parameter set (Annex C) supplies.
    ax.text(
        p["select"].x,
        7.4,
        "parameter set (Annex C):\nhs, ctx.g, gs (8.6),\ngain tables, z_table,\nfractional bits",
        ha="center",
        va="center",
        fontsize=8,
        style="italic",
        bbox={"facecolor": "#fff8e6", "edgecolor": "#b08a2e", "boxstyle": "round,pad=0.3"},
    )
    arrow((p["select"].x, 9.0 - half_h), (p["select"].x, 8.1))
    fig.tight_layout()
    written = []
    for ext in ("svg", "png"):
        path = out.with_suffix(f".{ext}")
        fig.savefig(path, dpi=150, metadata={"Date": None} if ext == "svg" else None)
        written.append(path)
    plt.close(fig)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="output path without extension")
    args = ap.parse_args()
    for path in draw(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
