"""Would a larger output filter pay? A probe of the shipped encoder, no change of the WD.

The output filter of WD 8.9 has up to eight classes of local activity and eight
symmetric taps per component, its coefficients sent as bytes (7.7). The decoded
pictures show more error on the rows and columns at the edges of the 16 x 16 blocks of
the latent than inside them, and the encoder's filter gains more with more classes, so
three extensions of the WD suggest themselves: classes by the position in the block as
well as by activity, more activity classes, and more taps. This probe measures what
each would gain, without changing the WD: for every picture and quality index, the
default encoder's codestream without its filter (``output_filter=False``) is decoded,
and for every variant the coefficients of least squared error are fitted in floating
point (unrounded: an upper bound of what the rounded ones give) to compute

* the PSNR-RGB gain of the filtered picture over the unfiltered one, summed over the
  pictures as one squared error;
* the bits the variant's coefficients and thresholds would take in an OF segment coded
  as now (a byte per coefficient, four per threshold), as a share of the files' bits;

and, before any filter, the mean squared error of the positions on the first or last
row or column of a block against that of the positions two or more samples inside, and
the PSNR gain there would be if the edges had the error of the inside (the most that
classes by block position could recover).

Variants: ``N`` activity classes (thresholds at quantiles, as the encoder chooses them,
WD E.3.3), times the block-position classes ``none``, ``edge`` (on the first or last
row or column of a block, or not) or ``hv`` (on a first or last column, on a first or
last row, both, neither), with the 8 taps of WD 8.9.3 or these and 6 more
(:data:`EXTRA_TAPS`). Usage::

    python tools/output_filter_probe.py $(ls ../shared/data/bsds500/val/*.jpg | sed -n 13,20p)

Measure on training or validation pictures, never on the test set.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

import refdec
from encoder.output_filter import quantile_thresholds, solve
from encoder.pipeline import encode_detailed, load_codec
from refdec.codestream import LATENT_STRIDE
from refdec.output_filter import activity, filter_classes, filter_taps
from refdec.syntax import OF_TAPS

EXTRA_TAPS = ((2, 1), (1, 2), (2, -1), (1, -2), (2, 2), (2, -2))
"""Further symmetric taps ``s(-dy, -dx) + s(dy, dx) - 2 s(0, 0)``: with those of WD
8.9.3, every offset of the 5 x 5 window."""
POSITIONS = {"none": 1, "edge": 2, "hv": 4}
"""Block-position classings and how many classes each makes."""


def position_classes(height: int, width: int, mode: str) -> np.ndarray:
    """The block-position class (uint8) of every position: 0 inside a block; ``edge``:
    1 on its first or last row or column; ``hv``: 1 on a first or last column, 2 on a
    first or last row, 3 on both."""
    if mode not in POSITIONS:
        raise ValueError(f"position classing must be one of {sorted(POSITIONS)}, got {mode!r}")
    last = LATENT_STRIDE - 1
    on_col = np.isin(np.arange(width) % LATENT_STRIDE, (0, last))[None, :]
    on_row = np.isin(np.arange(height) % LATENT_STRIDE, (0, last))[:, None]
    if mode == "none":
        return np.zeros((height, width), np.uint8)
    if mode == "edge":
        return (on_col | on_row).astype(np.uint8)
    return (on_col.astype(np.uint8) + 2 * on_row.astype(np.uint8)).astype(np.uint8)


def taps(decoded: np.ndarray, c: int, extra: bool) -> np.ndarray:
    """(H, W, T) float64 taps of component ``c``: those of WD 8.9.3, and with ``extra``
    those of :data:`EXTRA_TAPS` after them (coordinates clamped, as in 8.9.1)."""
    base = filter_taps(decoded.astype(np.float64), c)
    if not extra:
        return base
    h, w = decoded.shape[:2]
    r = max(max(abs(dy), abs(dx)) for dy, dx in EXTRA_TAPS)
    s = np.pad(decoded[:, :, c].astype(np.float64), r, mode="edge")

    def at(dy: int, dx: int) -> np.ndarray:
        return s[r + dy : r + dy + h, r + dx : r + dx + w]

    more = [at(-dy, -dx) + at(dy, dx) - 2 * at(0, 0) for dy, dx in EXTRA_TAPS]
    return np.concatenate([base, np.stack(more, axis=-1)], axis=-1)


def fitted_sse(
    original: np.ndarray, decoded: np.ndarray, classes: np.ndarray, extra: bool
) -> float:
    """Squared error, summed over the components, of ``decoded`` corrected by the
    least-squares filter of each class (``classes``: an (H, W) array of class numbers)."""
    total = 0.0
    cls = classes.reshape(-1)
    for c in range(3):
        x = taps(decoded, c, extra).reshape(cls.size, -1)
        t = (original[:, :, c].astype(np.float64) - decoded[:, :, c]).reshape(-1)
        for k in np.unique(cls):
            xk, tk = x[cls == k], t[cls == k]
            xx, xt = xk.T @ xk, xk.T @ tk
            wk = solve(xx, xt)
            total += float(tk @ tk - 2 * wk @ xt + wk @ xx @ wk)
    return total


def coefficient_bits(num_classes: int, num_taps: int) -> int:
    """Bits of the thresholds and coefficients of an OF segment with these numbers of
    classes and taps, coded as in WD 7.7 (the segment's framing and the two bytes of
    its header left out: they are the same for every variant)."""
    return 8 * (3 * num_classes * num_taps + 4 * (num_classes - 1))


def probe(
    pictures: list[np.ndarray],
    qualities: list[int],
    activity_classes: list[int],
    positions: list[str],
) -> dict[int, dict]:
    """Per quality: ``bits`` (of the files without filter), ``sse`` (unfiltered),
    ``block_sse`` and ``block_count`` (16 x 16: squared error and number of samples at
    each position in a block) and ``variants``: per variant ``(N, position, extra)``,
    ``(sse, coefficient bits)``; all summed over the pictures."""
    codec = load_codec()
    out: dict[int, dict] = {}
    for q in qualities:
        res: dict = {"bits": 0, "sse": 0.0, "pixels": 0, "variants": {}}
        res["block_sse"] = np.zeros((LATENT_STRIDE, LATENT_STRIDE))
        res["block_count"] = np.zeros((LATENT_STRIDE, LATENT_STRIDE))
        for img in pictures:
            enc = encode_detailed(img, quality=q, codec=codec, output_filter=False)
            dec = refdec.decode(enc.data).samples
            h, w = dec.shape[:2]
            res["bits"] += 8 * len(enc.data)
            res["pixels"] += h * w
            err = np.sum((dec.astype(np.float64) - img) ** 2, axis=2)
            res["sse"] += float(err.sum())
            # The position of every sample within its block, as one index.
            at = (np.arange(h)[:, None] % LATENT_STRIDE) * LATENT_STRIDE + (
                np.arange(w)[None, :] % LATENT_STRIDE
            )
            blocks = (LATENT_STRIDE, LATENT_STRIDE)
            cells = LATENT_STRIDE * LATENT_STRIDE
            res["block_sse"] += np.bincount(at.ravel(), err.ravel(), cells).reshape(blocks)
            res["block_count"] += np.bincount(at.ravel(), minlength=cells).reshape(blocks)
            a = activity(dec)
            for n in activity_classes:
                thresholds = quantile_thresholds(a, n)
                act = filter_classes(a, thresholds).astype(np.int64)
                for mode in positions:
                    classes = act + (len(thresholds) + 1) * position_classes(h, w, mode)
                    k = (len(thresholds) + 1) * POSITIONS[mode]
                    for extra in (False, True):
                        n_taps = OF_TAPS + len(EXTRA_TAPS) * extra
                        sse = fitted_sse(img, dec, classes, extra)
                        sse_sum, bits_sum = res["variants"].get((n, mode, extra), (0.0, 0))
                        bits_sum += coefficient_bits(k, n_taps)
                        res["variants"][(n, mode, extra)] = (sse_sum + sse, bits_sum)
        out[q] = res
    return out


def edge_excess(block_sse: np.ndarray, block_count: np.ndarray) -> tuple[float, float]:
    """The mean squared error of the block-edge positions over that of the positions
    two or more samples inside the block, and the PSNR gain (dB) if the edges had the
    error of the inside."""
    mse = block_sse / block_count
    edge = position_classes(LATENT_STRIDE, LATENT_STRIDE, "edge").astype(bool)
    inside = mse[2:-2, 2:-2].mean()
    ideal = np.where(edge, inside, mse)
    gain = 10 * math.log10(float(np.sum(block_sse)) / float(np.sum(ideal * block_count)))
    return float(mse[edge].mean() / inside), gain


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--qualities", type=int, nargs="+", default=[64, 128, 192, 255])
    ap.add_argument("--classes", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--positions", nargs="+", default=list(POSITIONS), choices=list(POSITIONS))
    args = ap.parse_args()
    pictures = [np.asarray(Image.open(p).convert("RGB")) for p in args.images]
    results = probe(pictures, args.qualities, args.classes, args.positions)
    print("quality  block-edge error over the inside's  gain if the edges had the inside's")
    for q, res in results.items():
        ratio, gain = edge_excess(res["block_sse"], res["block_count"])
        print(f"{q:<8} {ratio:<35.3f} {gain:+.3f} dB")
    print("quality  bpp     classes  position  taps  gain (dB)  coefficients (% of bits)")
    for q, res in results.items():
        for (n, mode, extra), (sse, bits) in res["variants"].items():
            gain = 10 * math.log10(res["sse"] / sse)
            print(
                f"{q:<8} {res['bits'] / res['pixels']:<7.3f} {n:<8} {mode:<9} "
                f"{OF_TAPS + len(EXTRA_TAPS) * extra:<5} {gain:+.3f}     "
                f"{100 * bits / res['bits']:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
