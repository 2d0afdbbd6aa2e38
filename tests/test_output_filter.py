"""The output filter: OF segment syntax (WD 6.7, 7.7), order (5.3), the filter (8.9) and
the encoder's design of it (E.3.3)."""

from __future__ import annotations

import numpy as np
import pytest

import crosscheck
import refdec
from encoder.output_filter import design, quantise_weights
from encoder.pipeline import encode_detailed, load_codec, reconstruct
from encoder.writer import encode_segment, output_filter_payload, write_codestream
from refdec import syntax
from refdec.codestream import OutputFilter, PictureHeader, parse_codestream, split_segments
from refdec.errors import HeaderError, SegmentOrderError
from refdec.output_filter import activity, apply_output_filter, filter_classes

RNG = np.random.default_rng(8)


def random_filter(n: int, shift: int, low: int = -128, high: int = 127) -> OutputFilter:
    w = RNG.integers(low, high + 1, (n, 3, syntax.OF_TAPS))
    thresholds = tuple(int(t) for t in np.sort(RNG.choice(20000, n - 1, replace=False)))
    coefficients = tuple(tuple(tuple(taps) for taps in k) for k in w.tolist())
    return OutputFilter(shift, thresholds, coefficients)


def literal_filter(s: np.ndarray, of: OutputFilter, bit_depth: int) -> np.ndarray:
    """WD 8.9 transcribed sample by sample, in plain Python integers."""
    h, w, _ = s.shape

    def at(c: int, y: int, x: int) -> int:
        return int(s[min(max(y, 0), h - 1), min(max(x, 0), w - 1), c])

    def luma(y: int, x: int) -> int:
        return at(0, y, x) + at(1, y, x) + at(2, y, x)

    def d(y: int, x: int) -> int:
        lum = 2 * luma(y, x)
        hor = lum - luma(y, x - 1) - luma(y, x + 1)
        return abs(hor) + abs(lum - luma(y - 1, x) - luma(y + 1, x))

    out = np.empty_like(s)
    for y in range(h):
        for x in range(w):
            a = sum(
                d(min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1))
                for dy in range(-2, 3)
                for dx in range(-2, 3)
            )
            k = sum(a > t for t in of.thresholds)
            for c in range(3):
                o = [j for j in range(3) if j != c]
                pairs = ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0))
                f = [
                    at(c, y - dy, x - dx) + at(c, y + dy, x + dx) - 2 * at(c, y, x)
                    for dy, dx in pairs
                ]
                f += [
                    at(j, y, x - 1) + at(j, y, x + 1) + at(j, y - 1, x) + at(j, y + 1, x)
                    - 4 * at(j, y, x)
                    for j in o
                ]
                acc = sum(wi * fi for wi, fi in zip(of.coefficients[k][c], f))
                v = at(c, y, x) + ((acc + (1 << (of.shift - 1))) >> of.shift)
                out[y, x, c] = min(max(v, 0), (1 << bit_depth) - 1)
    return out


@pytest.mark.parametrize("bit_depth", [8, 10])
@pytest.mark.parametrize("size", [(1, 1), (2, 7), (9, 4), (13, 11)])
def test_filter_is_the_wd_arithmetic(size: tuple[int, int], bit_depth: int) -> None:
    peak = (1 << bit_depth) - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    for n, shift in ((1, 15), (3, 1), (8, 6)):
        s = RNG.integers(0, peak + 1, (*size, 3)).astype(dtype)
        of = random_filter(n, shift)
        got = apply_output_filter(s, of, bit_depth)
        assert got.dtype == s.dtype
        assert np.array_equal(got, literal_filter(s, of, bit_depth))


def test_bands_give_the_samples_of_the_whole_picture(monkeypatch) -> None:  # noqa: ANN001
    """refdec filters in bands of rows with rows of context (WD 8.1.1 note): bands of
    1 to 4 rows give the samples of 8.9 on the whole picture."""
    import refdec.output_filter

    s = RNG.integers(0, 256, (17, 9, 3)).astype(np.uint8)
    of = random_filter(4, 3)
    want = literal_filter(s, of, 8)
    for rows in (1, 2, 4):
        monkeypatch.setattr(refdec.output_filter, "BAND_ROWS", rows)
        assert np.array_equal(apply_output_filter(s, of, 8), want), rows


def test_python_form_of_the_kernels_computes_as_the_compiled_one(monkeypatch) -> None:  # noqa: ANN001
    """The kernels' Python source (NUMBA_DISABLE_JIT=1, the coverage run of
    conformance.coverage) gives the same samples on 8-bit input: no wrap-around of
    uint8 numpy scalars."""
    import refdec.output_filter as m

    s = RNG.integers(0, 256, (9, 12, 3)).astype(np.uint8)
    of = random_filter(3, 2)
    compiled = apply_output_filter(s, of, 8)
    for name in ("_gradients", "_window_sums", "_classify", "_filter", "_clamp"):
        monkeypatch.setattr(m, name, getattr(m, name).py_func)
    assert np.array_equal(apply_output_filter(s, of, 8), compiled)


def test_extreme_pictures_saturate_without_overflow() -> None:
    y, x = np.mgrid[0:12, 0:12]
    s = (((y + x) % 2) * 1023).astype(np.uint16)[..., None].repeat(3, 2)
    for value in (-128, 127):
        of = OutputFilter(1, (), ((tuple([value] * 8),) * 3,))
        assert np.array_equal(apply_output_filter(s, of, 10), literal_filter(s, of, 10))


def test_a_flat_picture_passes_unchanged() -> None:
    """Every tap is a second difference (WD 8.9.3 note)."""
    s = np.full((6, 9, 3), 77, np.uint8)
    assert np.array_equal(apply_output_filter(s, random_filter(4, 1), 8), s)


def test_classes_follow_the_thresholds() -> None:
    s = RNG.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    a = activity(s)
    t = (int(np.percentile(a, 30)), int(np.percentile(a, 70)))
    cls = filter_classes(a, t)
    assert np.array_equal(cls, (a > t[0]).astype(int) + (a > t[1]))
    assert not filter_classes(a, (2**32 - 1,)).any()


# -- syntax and order -----------------------------------------------------------------


EOC_BYTES = len(encode_segment(syntax.MARKER_EOC, b""))
"""The EOC segment: marker, a length of one byte, crc."""


def small_codestream(of: OutputFilter | None = None, optional=()) -> bytes:  # noqa: ANN001
    h = PictureHeader(1, 0, 1, 1, 15, 15, 8, 1, 13, 0, 3, 5, 2, 0, bytes(8))
    return write_codestream(h, b"zzzz", [[b"aaaa"], [b"bbbb"]], optional, output_filter=of)


def test_of_segment_round_trips() -> None:
    of = random_filter(5, 9)
    parsed = parse_codestream(small_codestream(of))
    assert parsed.output_filter == of
    assert parse_codestream(small_codestream()).output_filter is None
    n = of.num_classes
    assert len(output_filter_payload(of)) == 2 + 4 * (n - 1) + 24 * n  # R-OF-LENGTH


def _with_of_payload(payload: bytes) -> bytes:
    data = small_codestream()
    eoc = len(data) - EOC_BYTES
    return data[:eoc] + encode_segment(syntax.MARKER_OF, payload) + data[eoc:]


def test_bad_of_payloads_name_clause_7_7_and_the_field() -> None:
    of = random_filter(3, 6)
    good = output_filter_payload(of)
    # The OF payload's first byte: after the marker and a one-byte length (<= 82 bytes).
    at = len(small_codestream()) - EOC_BYTES + 3
    thresholds = of.thresholds[0].to_bytes(4, "big") * 2
    cases = {
        "filter_classes_minus1": (bytes([8]) + good[1:], at),
        "filter_shift 0": (good[:1] + b"\x00" + good[2:], at + 1),
        "filter_shift 16": (good[:1] + b"\x10" + good[2:], at + 1),
        "class_threshold[1]": (good[:2] + thresholds + good[10:], at + 6),
        # Found before the coefficients are read: they need more bytes than are left.
        "too short for filter_coeff": (good[:-1], at + 2 + 4 * 2),
        "after its last field": (good + b"\x00", at + len(good)),
        "empty": (b"", at),
    }
    for name, (payload, offset) in cases.items():
        with pytest.raises(HeaderError) as e:
            parse_codestream(_with_of_payload(payload))
        assert e.value.clause == "7.7", name
        assert e.value.offset == offset, name


def test_of_segment_order() -> None:
    of = output_filter_payload(random_filter(2, 4))
    data = small_codestream()
    # PH ZS YS0 YS1 EOC: the OF segment before YS1, twice, or after a COM segment.
    cut = [8] + [s.end for s in split_segments(data)[:4]]
    seg = encode_segment(syntax.MARKER_OF, of)
    with pytest.raises(SegmentOrderError, match="OF segment after 1 of the 2 YS"):
        parse_codestream(data[: cut[3]] + seg + data[cut[3] :])
    with pytest.raises(SegmentOrderError, match="a second OF"):
        parse_codestream(data[: cut[4]] + seg + seg + data[cut[4] :])
    com = encode_segment(syntax.MARKER_COM, b"x")
    assert parse_codestream(data[: cut[4]] + com + seg + data[cut[4] :]).output_filter


# -- the encoder ---------------------------------------------------------------------


def test_design_sharpens_a_blurred_picture_and_declines_a_perfect_one() -> None:
    from scipy.ndimage import uniform_filter

    y, x = np.mgrid[0:96, 0:128]
    original = np.clip(
        np.stack([np.sin(x / 3.0), np.cos(y / 4.0), np.sin((x + y) / 5.0)], -1) * 100 + 128
        + RNG.normal(0, 6, (96, 128, 3)), 0, 255
    ).astype(np.uint8)
    blurred = uniform_filter(original.astype(float), (3, 3, 1)).round().astype(np.uint8)
    of = design(original, blurred, 8, lam=0.01)
    assert of is not None
    err = lambda a: np.sum((a.astype(int) - original) ** 2)  # noqa: E731
    assert err(apply_output_filter(blurred, of, 8)) < 0.8 * err(blurred)
    assert design(original, original, 8, lam=0.01) is None


def test_design_in_bands_sums_as_the_whole_picture(monkeypatch) -> None:  # noqa: ANN001
    """The sums of least squares, gathered in bands of rows with the taps' two rows of
    context, are those of the whole picture (to rounding)."""
    import encoder.output_filter as m

    original = RNG.integers(0, 256, (40, 24, 3)).astype(np.uint8)
    decoded = np.clip(original.astype(int) + RNG.integers(-9, 10, original.shape), 0, 255)
    decoded = decoded.astype(np.uint8)
    classes = filter_classes(activity(decoded), m.quantile_thresholds(activity(decoded), 4))
    whole = m.normal_equations(original, decoded, classes, 4)
    monkeypatch.setattr(m, "BAND_PIXELS", 3 * 24)  # bands of 3 rows
    for got, want in zip(m.normal_equations(original, decoded, classes, 4), whole):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-9)


def test_quantised_weights_fit_a_byte() -> None:
    shift, q = quantise_weights(np.array([[[0.9, -0.01] + [0.0] * 6] * 3]))
    assert 127 >= np.abs(q).max() > 64 and q[0, 0, 0] == round(0.9 * (1 << shift))
    shift, q = quantise_weights(np.zeros((1, 3, 8)))
    assert shift == 15 and not q.any()


def test_encoder_filter_is_what_the_decoders_apply() -> None:
    """A high-quality encoding gets a filter, the encoder's reconstruction includes it,
    and refdec and the cross-check decoder output exactly that."""
    from conformance.generate import photo

    shipped_codec = load_codec()
    img = photo(160, 96, 100, 300)[0]
    enc = encode_detailed(img, quality=224, codec=shipped_codec, refine_iterations=0)
    assert enc.output_filter is not None
    want = reconstruct(enc.analysis, enc.residuals, 224, shipped_codec.params, 8, enc.output_filter)
    plain = reconstruct(enc.analysis, enc.residuals, 224, shipped_codec.params, 8)
    assert np.sum((want.astype(int) - img) ** 2) < np.sum((plain.astype(int) - img) ** 2)
    assert np.array_equal(refdec.decode(enc.data).samples, want)
    assert np.array_equal(crosscheck.decode(enc.data)[0], want)
    off = encode_detailed(img, quality=224, codec=shipped_codec, refine_iterations=0,
                          output_filter=False)
    assert off.output_filter is None and parse_codestream(off.data).output_filter is None


def test_probe_classes_mark_the_block_edges() -> None:
    """tools/output_filter_probe.py (models/README): the block-position classes mark the
    first and last rows and columns of every 16 x 16 block of the latent grid."""
    from tools.output_filter_probe import position_classes

    hv = position_classes(35, 33, "hv")
    edge_cols = {0, 15, 16, 31, 32}
    edge_rows = {0, 15, 16, 31, 32}
    for y in range(35):
        for x in range(33):
            assert hv[y, x] == (x in edge_cols) + 2 * (y in edge_rows)
    assert np.array_equal(position_classes(35, 33, "edge"), (hv > 0).astype(np.uint8))
    assert not position_classes(35, 33, "none").any()
    with pytest.raises(ValueError, match="position classing"):
        position_classes(4, 4, "diagonal")


def test_probe_fits_never_lose_with_finer_classes_or_more_taps() -> None:
    """Least squares over nested classes and nested taps: each refinement of the probe's
    variants fits at least as well, and its 8-tap fit is the filter the encoder fits
    (E.3.3) before rounding."""
    from encoder.output_filter import normal_equations, solve
    from tools.output_filter_probe import fitted_sse, position_classes

    y, x = np.mgrid[0:48, 0:40]
    original = np.stack([(3 * y + 2 * x) % 256, (y * x) % 256, (5 * x) % 256], -1).astype(np.uint8)
    decoded = np.clip(original + RNG.integers(-9, 10, original.shape), 0, 255).astype(np.uint8)
    a = activity(decoded)
    act = filter_classes(a, (int(np.median(a)),)).astype(np.int64)
    plain = fitted_sse(original, decoded, act, extra=False)
    assert fitted_sse(original, decoded, act, extra=True) <= plain + 1e-6
    edge = act + 2 * position_classes(48, 40, "edge")
    assert fitted_sse(original, decoded, edge, extra=False) <= plain + 1e-6
    xx, xt, tt = normal_equations(original, decoded, act.astype(np.uint8), 2)
    w = solve(xx, xt)
    encoder_sse = np.sum(tt) - 2 * np.sum(w * xt) + np.einsum("kci,kcij,kcj->", w, xx, w)
    assert plain == pytest.approx(encoder_sse, rel=1e-6)
    assert plain < np.sum((decoded.astype(float) - original) ** 2)


def test_probe_edge_excess_is_zero_for_an_even_error() -> None:
    """The probe's block-edge excess: 1 and 0 dB where every position errs alike; where
    the edges err twice as much, the ratio is 2 and the gain that of the error removed."""
    from tools.output_filter_probe import edge_excess, position_classes

    count = np.full((16, 16), 10.0)
    assert edge_excess(3 * count, count) == pytest.approx((1.0, 0.0))
    edge = position_classes(16, 16, "edge").astype(bool)
    sse = np.where(edge, 2.0, 1.0) * count
    ratio, gain = edge_excess(sse, count)
    assert ratio == pytest.approx(2.0)
    assert gain == pytest.approx(10 * np.log10(sse.sum() / count.sum()))


def test_probe_prints_every_variant(tmp_path, capsys) -> None:  # noqa: ANN001
    """The probe's command line on a small picture: the block-edge line of each quality,
    then one line per variant (classes x positions x taps)."""
    from PIL import Image

    from tools.output_filter_probe import main

    y, x = np.mgrid[0:40, 0:56]
    img = np.stack([(4 * x) % 256, (3 * y) % 256, (x * y) % 256], -1).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "p.png")
    argv = [str(tmp_path / "p.png"), "--qualities", "64", "--classes", "1", "2"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["output_filter_probe.py", *argv])
        assert main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 1 + 2 * 3 * 2
    assert all(line.startswith("64 ") for line in lines[1:2] + lines[3:])
