"""Benchmarks (openlic.bench): BD-rate, metrics, codecs, the RD and speed runs, the page.

Fast: tiny pictures and the tiny random model of conftest.py. Codecs and packages that
are not installed (the 'bench' extra, ffmpeg, cjxl) make their tests skip.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from openlic import cli
from openlic.bench import BenchError, metrics
from openlic.bench.codecs import CLASSICAL, Codec, Point, make_codec

ROOT = Path(__file__).resolve().parents[1]


def picture(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (np.sin(xx / 6.0)[..., None] + np.cos(yy[..., None] / 9.0 + np.arange(3)) + 2) / 4
    return np.clip((base + 0.01 * rng.standard_normal((h, w, 3))) * 255, 0, 255).astype(
        np.uint8
    )


def write_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(image).save(path)
    return path


# -- BD-rate -----------------------------------------------------------------------------


@pytest.fixture
def bd():
    pytest.importorskip("scipy")
    from openlic.bench import bdrate

    return bdrate


RATES = [0.1, 0.2, 0.4, 0.8, 1.6]
PSNRS = [27.0, 30.5, 33.6, 36.4, 39.0]


def test_bd_rate_identical_curves_is_zero(bd):
    assert bd.bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)
    assert bd.bd_quality(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)


def test_bd_rate_scaled_rates(bd):
    """Every rate times 0.9 at the same quality: exactly -10 %; times 1.25: +25 %."""
    assert bd.bd_rate(RATES, PSNRS, [0.9 * r for r in RATES], PSNRS) == pytest.approx(-10.0)
    assert bd.bd_rate(RATES, PSNRS, [1.25 * r for r in RATES], PSNRS) == pytest.approx(25.0)
    # Anchor and test swapped: 1/0.9 - 1.
    assert bd.bd_rate([0.9 * r for r in RATES], PSNRS, RATES, PSNRS) == pytest.approx(
        100 / 9
    )


def test_bd_psnr_shifted_curve(bd):
    assert bd.bd_quality(RATES, PSNRS, RATES, [p + 0.7 for p in PSNRS]) == pytest.approx(0.7)


def test_bd_rate_partial_overlap_uses_common_range(bd):
    """Only the overlapping range counts (PCHIP reproduces a straight line exactly)."""

    def line(rates):
        return [30 + 4 * math.log2(r / 0.2) for r in rates]

    anchor = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    test = [0.3, 0.5, 0.7]  # inside the anchor's range, 20 % cheaper
    assert bd.bd_rate(anchor, line(anchor), [0.8 * r for r in test], line(test)) == (
        pytest.approx(-20.0)
    )


def test_bd_rate_without_overlap_is_none(bd):
    assert bd.bd_rate(RATES, PSNRS, RATES, [p + 20 for p in PSNRS]) is None
    assert bd.bd_quality(RATES, PSNRS, [r * 100 for r in RATES], PSNRS) is None
    assert bd.bd_rate(RATES[:1], PSNRS[:1], RATES, PSNRS) is None


def test_dominated_points_are_dropped(bd):
    r, q = bd.monotone_curve([0.4, 0.1, 0.2, 0.3, 0.5], [33, 27, 30, 29, float("nan")])
    assert list(r) == [0.1, 0.2, 0.4]
    assert list(q) == [27, 30, 33]


def test_quality_at_rate(bd):
    assert bd.quality_at_rate(RATES, PSNRS, 0.4) == pytest.approx(33.6)
    assert bd.quality_at_rate(RATES, PSNRS, 0.05) is None
    assert bd.quality_at_rate(RATES, PSNRS, 0.0995) == 27.0  # within 1 % of the end
    assert bd.quality_at_rate(RATES, PSNRS, 1.61) == 39.0
    assert bd.quality_at_rate(RATES, PSNRS, 1.7) is None
    v = bd.quality_at_rate(RATES, PSNRS, 0.3)
    assert 30.5 < v < 33.6


# -- metrics -----------------------------------------------------------------------------


def test_psnr_known_values():
    a = picture()
    b = a.astype(np.int16)
    b[::2] += 1
    b[1::2] -= 1
    b = np.clip(b, 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert metrics.psnr_rgb(a, b) == pytest.approx(10 * math.log10(255**2 / mse))
    assert metrics.psnr_rgb(a, a) == metrics.PSNR_CAP
    assert metrics.psnr_ycbcr(a, a) == metrics.PSNR_CAP


def test_psnr_ycbcr_weights_luma_six_to_one():
    a = np.full((8, 8, 3), 128, np.uint8)
    grey = a + 2  # a luma error only: Cb and Cr unchanged, so their PSNR is capped
    p_y = 10 * math.log10(255**2 / 4)
    assert metrics.psnr_ycbcr(a, grey) == pytest.approx((6 * p_y + 2 * metrics.PSNR_CAP) / 8)


def test_ycbcr_round_trip_and_bt709():
    rgb = picture().astype(np.float64)
    assert np.allclose(metrics.ycbcr_to_rgb(metrics.rgb_to_ycbcr(rgb)), rgb, atol=1e-9)
    white = metrics.rgb_to_ycbcr(np.array([[255.0, 255.0, 255.0]]))
    assert np.allclose(white, [[255, 128, 128]])
    red = metrics.rgb_to_ycbcr(np.array([[255.0, 0.0, 0.0]]))
    assert red[0, 0] == pytest.approx(0.2126 * 255)
    assert red[0, 2] == pytest.approx(255.5)  # Cr of pure red: 128 + 127.5


def test_msssim():
    pytest.importorskip("pytorch_msssim")
    a = picture(192, 192)
    assert metrics.msssim(a, a) == pytest.approx(1.0, abs=1e-6)
    noisy = np.clip(a + np.random.default_rng(1).normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    v = metrics.msssim(a, noisy)
    assert 0.5 < v < 1.0
    assert metrics.msssim_db(v) == pytest.approx(-10 * math.log10(1 - v))
    assert math.isnan(metrics.msssim(a[:100], a[:100]))  # too small for 5 scales


# -- codecs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_codec_round_trip(name):
    codec = make_codec(name)
    why = codec.unavailable()
    if why:
        pytest.skip(f"{name}: {why}")
    codec.params = (codec.params[len(codec.params) // 2], codec.params[-1])
    img = picture(48, 80)
    pts = list(codec.points(img))
    assert [p.param for p in pts] == list(codec.params)
    for p in pts:
        assert p.recon.shape == img.shape and p.recon.dtype == np.uint8
        assert p.bits == 8 * len(codec.compress(img, p.param))
    assert pts[-1].bits > pts[0].bits or name == "jpeg2000"
    assert metrics.psnr_rgb(img, pts[-1].recon) > 30
    assert codec.version()


def test_unknown_codec():
    with pytest.raises(BenchError, match="unknown codec"):
        make_codec("mp3")


class Quantiser(Codec):
    """A deterministic toy codec: samples quantised with step ``param``; counts calls."""

    calls = 0

    def __init__(self) -> None:
        super().__init__("toy", "Toy", (32, 16, 8, 4), "step", "toy settings")

    def points(self, image):
        Quantiser.calls += 1
        for step in self.params:
            rec = (np.round(image / step) * step).clip(0, 255).astype(np.uint8)
            bits = image.size * math.log2(256 / step)
            yield Point(self.name, float(step), bits, rec)


# -- the RD run --------------------------------------------------------------------------


@pytest.fixture
def pictures(tmp_path):
    d = tmp_path / "pics"
    d.mkdir()
    for i in range(2):
        write_png(d / f"p{i}.png", picture(40, 56, seed=i))
    (d / "notes.txt").write_text("not a picture")
    return d


def test_run_rd(pictures, tmp_path):
    pytest.importorskip("scipy")
    from openlic.bench import rd

    images = rd.list_images(pictures)
    assert [p.name for p in images] == ["p0.png", "p1.png"]
    cache = rd.ResultCache(tmp_path / "cache")
    Quantiser.calls = 0
    codecs = [Quantiser(), make_codec("jpeg")]
    res = rd.run_rd(images, codecs, cache=cache, progress=False, log=lambda m: None)
    assert Quantiser.calls == 2
    assert set(res["average"]) == {"toy", "jpeg"}
    toy = res["average"]["toy"]
    assert [p["param"] for p in toy] == [32, 16, 8, 4]
    assert toy[0]["bpp"] == pytest.approx(3 * math.log2(256 / 32), rel=1e-5)
    assert toy[-1]["psnr_rgb"] > toy[0]["psnr_rgb"]
    assert res["bd"] == {}  # no curve named openlic to compare
    assert set(res["jpeg_ai_rates"]["toy"]) == {"0.06", "0.12", "0.25", "0.50", "0.75"}
    assert len(res["per_image"]["toy"]["p1.png"]) == 4
    # A second run reads every result from the cache.
    again = rd.run_rd(images, [Quantiser()], cache=cache, progress=False, log=lambda m: None)
    assert Quantiser.calls == 2
    assert again["average"]["toy"] == toy
    # JSON on disk, and the comparison of a run with itself.
    rd.write_json(res, tmp_path / "rd.json")
    loaded = json.loads((tmp_path / "rd.json").read_text())
    assert loaded["average"] == res["average"]
    lines, ok = rd.compare(res, loaded)
    assert ok, lines
    worse = json.loads(json.dumps(loaded))
    worse["average"]["toy"][1]["psnr_rgb"] += 0.2
    assert not rd.compare(res, worse)[1]


def test_run_rd_reuses_an_earlier_runs_results(pictures, tmp_path):
    """--reuse: the rows of a codec whose signature an earlier rd.json recorded, on the
    same pictures, are taken from it; a codec with other settings is coded again."""
    pytest.importorskip("scipy")
    from openlic.bench import rd

    images = rd.list_images(pictures)
    Quantiser.calls = 0
    first = rd.run_rd(images, [Quantiser()], progress=False, log=lambda m: None)
    rd.write_json(first, tmp_path / "rd.json")
    earlier = json.loads((tmp_path / "rd.json").read_text())
    again = rd.run_rd(images, [Quantiser()], progress=False, log=lambda m: None, reuse=earlier)
    assert Quantiser.calls == 2 and again["results_reused"] == [2, 2]
    for a, b in zip(again["average"]["toy"], first["average"]["toy"]):
        assert a["bpp"] == pytest.approx(b["bpp"], rel=1e-5)
        assert a["psnr_rgb"] == pytest.approx(b["psnr_rgb"], rel=1e-5)
    other = Quantiser()
    other.params = (32, 16)
    rd.run_rd(images, [other], progress=False, log=lambda m: None, reuse=earlier)
    assert Quantiser.calls == 4


def test_bd_of_openlic_and_fast_against_toy(pictures):
    """BD-rate of the curve named openlic against an anchor, end to end; the encoder
    without refinement is a second test curve, against the anchors and OpenLIC."""
    pytest.importorskip("scipy")
    from openlic.bench import rd, report
    from openlic.bench.codecs import Curve

    class Both(Quantiser):
        def __init__(self) -> None:
            super().__init__()
            self.name = "openlic"
            self.curves = {"openlic": Curve("OpenLIC"), "openlic-fast": Curve("Fast")}

        def points(self, image):
            for p in super().points(image):
                yield Point("openlic", p.param, 0.7 * p.bits, p.recon)
                yield Point("openlic-fast", p.param, 0.8 * p.bits, p.recon)

    res = rd.run_rd(rd.list_images(pictures), [Quantiser(), Both()], progress=False,
                    log=lambda m: None)
    assert res["bd"]["toy"]["bd_rate_psnr_rgb"] == pytest.approx(-30.0, abs=1e-3)
    assert res["bd_fast"]["toy"]["bd_rate_psnr_rgb"] == pytest.approx(-20.0, abs=1e-3)
    assert res["bd_fast"]["openlic"]["bd_rate_psnr_rgb"] == pytest.approx(100 / 7, abs=1e-3)
    text = report.render(res, None)
    assert "BD-rate of OpenLIC without latent refinement" in text and "+14.3 %" in text
    assert _docutils_errors(text) == []


def test_per_picture_bd_and_matched_curve_sections(pictures):
    """Per picture: 0.7 of the toy's bits on p0 and 0.9 on p1 give -30 and -10 %, mean
    -20; the rate-matched curve (0.8 of the bits) is a third test curve."""
    pytest.importorskip("scipy")
    from openlic.bench import rd, report
    from openlic.bench.codecs import Curve

    class Three(Quantiser):
        def __init__(self) -> None:
            super().__init__()
            self.name = "openlic"
            self.curves = {"openlic": Curve("OpenLIC"),
                           "openlic-matched": Curve("OpenLIC at matched rates")}

        def points(self, image):
            factor = (0.7, 0.9)[self.seen]  # run_rd codes p0.png, then p1.png
            self.seen += 1
            for p in super().points(image):
                yield Point("openlic", p.param, factor * p.bits, p.recon)
                yield Point("openlic-matched", p.param, 0.8 * p.bits, p.recon)

    three = Three()
    three.seen = 0
    res = rd.run_rd(rd.list_images(pictures), [Quantiser(), three], progress=False,
                    log=lambda m: None)
    per = res["bd_per_picture"]["toy"]["psnr_rgb"]
    assert per["pictures"] == {"p0.png": pytest.approx(-30.0, abs=1e-3),
                               "p1.png": pytest.approx(-10.0, abs=1e-3)}
    assert per["mean"] == pytest.approx(-20.0, abs=1e-3)
    assert (per["min"], per["max"]) == (pytest.approx(-30.0, abs=1e-3),
                                        pytest.approx(-10.0, abs=1e-3))
    assert (per["better"], per["n"]) == (2, 2)
    # The average curve sees 0.8 of the toy's bits on average: -20 % too.
    assert res["bd"]["toy"]["bd_rate_psnr_rgb"] == pytest.approx(-20.0, abs=1e-3)
    assert res["bd_matched"]["toy"]["bd_rate_psnr_rgb"] == pytest.approx(-20.0, abs=1e-3)
    text = report.render(res, None)
    assert "BD-rate picture by picture" in text and "-20.0 % (median -20.0)" in text
    assert "-30.0 to -10.0 %" in text and "2 of 2" in text
    assert "Rate-matched" in text
    assert _docutils_errors(text) == []


def test_rate_control_deviations_of_the_matched_curve():
    from openlic.bench import report

    rd = {"pictures": [{"name": "a.png", "width": 10, "height": 10}],
          "per_image": {"openlic-matched": {"a.png": [[0.5, 51.0, 30.0], [1.0, 98.0, 33.0]]}}}
    assert report._rate_misses(rd) == [pytest.approx(2.0), pytest.approx(-2.0)]
    assert report._rate_misses({"pictures": []}) == []


def test_openlic_codec_at_matched_rates(tiny_codec):
    """Each point is the encoder's own search for the target rate, decoded by refdec."""
    pytest.importorskip("torch")
    import refdec
    from encoder import encode_detailed
    from openlic.bench.codecs import OpenLIC, OpenLICMatched

    codec, path = tiny_codec
    c = make_codec("openlic-matched", params_path=path, codec=codec, refine_iterations=0,
                   float_checkpoint=path, qualities=(3,))  # the last two are OpenLIC's alone
    assert isinstance(c, OpenLICMatched) and list(c.curves) == ["openlic-matched"]
    assert c.params == (0.06, 0.12, 0.25, 0.5, 0.75) and "latent refinement: 0" in c.settings
    plain = OpenLIC(params_path=path, qualities=(), refine_iterations=0, codec=codec)
    assert c.signature() != plain.signature()
    image = picture(40, 56)
    pts = list(OpenLICMatched(params_path=path, rates=(0.3, 1.5), refine_iterations=0,
                              codec=codec).points(image))
    assert [(p.curve, p.param) for p in pts] == [("openlic-matched", 0.3),
                                                ("openlic-matched", 1.5)]
    for p in pts:
        enc = encode_detailed(image, bpp=p.param, refine_iterations=0, codec=codec)
        assert p.bits == 8 * len(enc.data)
        assert np.array_equal(p.recon, refdec.decode(enc.data, params_path=path).samples)


def test_openlic_codec_with_refinement(tiny_codec):
    pytest.importorskip("torch")
    from encoder.export import encoder_weights
    from encoder.pipeline import Codec as EncoderCodec
    from openlic.bench.codecs import OpenLIC

    codec, path = tiny_codec
    quality = encoder_weights(codec.model, path.read_bytes())["quality"]
    refining = EncoderCodec(codec.model, codec.params, codec.params_sha256, quality)
    c = OpenLIC(params_path=path, qualities=(0, 255), refine_iterations=4, codec=refining)
    assert "latent refinement: 4" in c.settings and "openlic-fast" in c.curves
    fast = OpenLIC(params_path=path, qualities=(0, 255), refine_iterations=0, codec=refining)
    assert c.signature() != fast.signature() and list(fast.curves) == ["openlic"]
    pts = list(c.points(picture(40, 56)))
    assert [(p.curve, p.param) for p in pts] == [
        (n, q) for q in (0.0, 255.0) for n in ("openlic", "openlic-fast")
    ]
    for p in pts:
        assert p.recon.shape == (40, 56, 3)
    # The refined codestream differs from the plain one: the two curves are two encoders.
    by = {(p.curve, p.param): p for p in pts}
    assert any(
        by["openlic", q].bits != by["openlic-fast", q].bits
        or not np.array_equal(by["openlic", q].recon, by["openlic-fast", q].recon)
        for q in (0.0, 255.0)
    )


def test_cross_check_against_published_measurement():
    """Our curve equal to the published one gives 0; 10 % cheaper gives -10 %."""
    pytest.importorskip("scipy")
    from openlic.bench import rd
    from openlic.bench.reference import CROSS_CHECKS

    ref = CROSS_CHECKS["jpeg"]
    same = [{"param": i, "bpp": b, "psnr_rgb": p, "msssim": m,
             "msssim_db": metrics.msssim_db(m)}
            for i, (b, p, m) in enumerate(zip(ref["bpp"], ref["psnr_rgb"], ref["msssim"]))]
    cheaper = [dict(p, bpp=0.9 * p["bpp"]) for p in same]
    checks = rd.cross_checks({"jpeg": same})
    assert checks["jpeg"]["bd_rate_psnr_rgb"] == pytest.approx(0.0, abs=1e-9)
    assert checks["jpeg"]["bd_rate_msssim_db"] == pytest.approx(0.0, abs=1e-9)
    assert rd.cross_checks({"jpeg": cheaper})["jpeg"]["bd_rate_psnr_rgb"] == pytest.approx(-10)
    assert rd.cross_checks({}) == {}


def test_missing_codec_is_skipped(pictures):
    pytest.importorskip("scipy")
    from openlic.bench import rd

    class Missing(Quantiser):
        def unavailable(self):
            return "not installed here"

    messages = []
    res = rd.run_rd(rd.list_images(pictures), [Missing()], progress=False,
                    log=messages.append)
    assert res["skipped"] == {"toy": "not installed here"}
    assert any("not installed here" in m for m in messages)


def test_list_images_errors(tmp_path):
    from openlic.bench import rd

    with pytest.raises(BenchError, match="does not exist"):
        rd.list_images(tmp_path / "none")
    with pytest.raises(BenchError, match="no PNG"):
        rd.list_images(tmp_path)


# -- OpenLIC, the float model and the float32 decoder ------------------------------------


def test_openlic_codec_with_float_model(tiny_codec, tmp_path):
    torch = pytest.importorskip("torch")
    from openlic.bench.codecs import OpenLIC

    codec, path = tiny_codec
    ckpt = tmp_path / "float.pt"
    torch.save({"config": codec.model.cfg.to_dict(), "model": codec.model.state_dict()}, ckpt)
    c = OpenLIC(params_path=path, float_checkpoint=ckpt, qualities=(0, 255),
                refine_iterations=0, codec=codec)
    img = picture(40, 56)
    pts = list(c.points(img))
    assert [(p.curve, p.param) for p in pts] == [
        (n, q) for q in (0.0, 255.0) for n in ("openlic", "openlic-float", "openlic-float-est")
    ]
    assert pts[0].bits == pts[1].bits  # the float model is given the integer file size
    for p in pts:
        assert p.recon.shape == img.shape and p.recon.dtype == np.uint8
    # The integer decoder computes the float model up to quantisation.
    assert metrics.psnr_rgb(pts[0].recon, pts[1].recon) > 25


def test_float_checkpoint_in_training_order_decodes_the_encoders_residuals(tiny_codec, tmp_path):
    torch = pytest.importorskip("torch")
    import copy

    import refdec
    from encoder.export import reorder_latent_channels
    from encoder.pipeline import encode_detailed
    from openlic.bench.floatnet import FloatModel, load_float_checkpoint

    codec, path = tiny_codec
    # A checkpoint as training leaves it: the latent channels before the export's order.
    trained = copy.deepcopy(codec.model)
    m = trained.cfg.m_latent
    reorder_latent_channels(trained, torch.randperm(m, generator=torch.Generator().manual_seed(0)))
    ckpt = tmp_path / "float.pt"
    torch.save({"config": trained.cfg.to_dict(), "model": trained.state_dict()}, ckpt)
    model = load_float_checkpoint(ckpt, codec.model)
    assert torch.equal(model.g_s[0].conv.weight, codec.model.g_s[0].conv.weight.float())
    img = picture(40, 56)
    enc = encode_detailed(img, quality=200, codec=codec)
    fm = FloatModel(model, codec.params.num_qualities)
    rec, _ = fm.reconstruct(fm.analyse(img), 200, enc.residuals)
    assert metrics.psnr_rgb(refdec.decode(enc.data, params_path=path).samples, rec) > 25


@pytest.mark.parametrize("k", [1, 2])
def test_float_model_reads_the_hyper_latent_with_the_coded_step(k):
    """The shipped model at quality 0 with the hyper-latent step 2^k (WD 7.2): the
    float model must read the coded ``z_hat`` times the step, as refdec does (8.3.2),
    or its means miss the residuals (before the fix its picture lay 23 dB (k = 1) and
    20 dB (k = 2) from refdec's on a 128 x 192 crop of the same picture)."""
    pytest.importorskip("torch")
    from PIL import Image

    import refdec
    from encoder.pipeline import encode_detailed, load_codec
    from openlic.bench.floatnet import FloatModel, load_float_checkpoint

    codec = load_codec()
    model = load_float_checkpoint(ROOT / "models/openlic-1/train.pt", codec.model)
    img = np.asarray(Image.open(ROOT / "samples/seeding.png").convert("RGB"))[:64, :128]
    enc = encode_detailed(img, quality=0, hyper_step_log2=k, refine_iterations=0, codec=codec)
    fm = FloatModel(model, codec.params.num_qualities)
    rec, _ = fm.reconstruct(
        fm.analyse(img), 0, enc.residuals, enc.analysis.z_hat, enc.analysis.hyper_step_log2
    )
    assert metrics.psnr_rgb(refdec.decode(enc.data).samples, rec) > 45


def test_float_checkpoint_of_another_model_is_refused(tiny_codec, tmp_path):
    torch = pytest.importorskip("torch")
    from encoder.model import OpenLICModel
    from openlic.bench.floatnet import load_float_checkpoint

    codec, _ = tiny_codec
    torch.manual_seed(123)
    other = OpenLICModel(codec.model.cfg)
    ckpt = tmp_path / "other.pt"
    torch.save({"config": other.cfg.to_dict(), "model": other.state_dict()}, ckpt)
    with pytest.raises(BenchError, match="not the model"):
        load_float_checkpoint(ckpt, codec.model)
    with pytest.raises(BenchError, match="cannot load"):
        load_float_checkpoint(tmp_path / "missing.pt", codec.model)


def test_float_decoder_matches_refdec(tiny_codec):
    pytest.importorskip("torch")
    import refdec
    from encoder import encode_detailed
    from openlic.bench.floatnet import FloatDecoder, network_macs

    codec, path = tiny_codec
    img = picture(40, 56)
    data = encode_detailed(img, quality=200, codec=codec).data
    want = refdec.decode(data, params_path=path).samples
    got, times = FloatDecoder(codec.params).decode(data, path)
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want).max() <= 8
    assert set(times) == {"parse", "hyper", "latent", "synthesis"}
    layer = codec.params.gs[0]
    o, i, k, _ = layer.weight.shape
    assert network_macs([layer], 3, 4) == 12 * o * i * k * k


def test_numba_peak_and_band_macs(tiny_codec):
    from openlic.bench.floatnet import network_macs
    from openlic.bench.speed import band_macs, numba_int_peak

    peak = numba_int_peak(64, 16, 32, repeat=2)
    assert peak["gmac_per_s"] > 0
    gs = list(tiny_codec[0].params.gs)
    assert band_macs(gs, 5, 7, 8) == network_macs(gs, 5, 7)
    assert band_macs(gs, 20, 7, 4) > network_macs(gs, 20, 7)


def test_run_speed(tiny_codec, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import encoder.pipeline
    from openlic.bench import speed

    # The least-squares output filter of the tiny random model's pictures has wild
    # coefficients that magnify any difference of its input: without it, the float
    # decoder's distance to refdec below is that of the networks.
    monkeypatch.setattr(encoder.pipeline, "design_output_filter", lambda *args: None)

    codec, path = tiny_codec
    # load_codec wants the encoder weights beside the parameter set.
    d = tmp_path / "model"
    d.mkdir()
    olp = d / "tiny.olp"
    olp.write_bytes(path.read_bytes())
    from encoder.export import encoder_weights

    torch.save(encoder_weights(codec.model, olp.read_bytes()), d / "tiny.pt")
    imgs = [write_png(tmp_path / f"{i}.png", picture(40, 56, seed=i)) for i in range(2)]
    res = speed.run_speed(imgs, quality=100, params_path=olp, large_size=72, progress=False,
                          refine_iterations=3, log=lambda m: None)
    s = res["summary"]
    assert s["pictures"] == 2
    assert s["decode_s_per_picture"] > 0 and s["encode_s_per_picture"] > 0
    assert s["encode_fast_s_per_picture"] > 0 and "(--refine 3)" in speed.summary_text(res)
    assert s["kmac_per_pixel"]["synthesis"] > 0
    assert s["float"]["max_abs_diff"] <= 8
    assert "refdec/float32" in speed.summary_text(res)
    # Peak memory, measured in fresh processes, including the synthetic large picture.
    mem = res["memory"]
    assert mem["decode"]["peak_mib"] >= mem["decode"]["baseline_mib"] > 0
    assert mem["encode"]["peak_mib"] >= mem["encode"]["baseline_mib"] > 0
    assert mem["encode_fast"]["peak_mib"] >= mem["encode_fast"]["baseline_mib"] > 0
    big = mem["decode_large"]
    assert big["size"] == 72 and big["samples_mib"] == round(3 * 72 * 72 / 2**20, 1)
    assert big["bound_mib"] == round(3 * big["samples_mib"] + 256, 1)
    assert "bound" in speed.summary_text(res)
    from openlic.bench import report

    page = report.render(None, res)
    assert "one synthetic 72 x 72 codestream" in page and "+ 256 MiB" in page
    assert "``--refine 3``: WD E.3.1" in page and "without refinement (``--refine 0``)" in page
    # The encoder's complexity counts the float decoder passes that choose the step.
    assert res["hyper_step_passes"] == 2 and "+ 2 x " in page and "hyper-latent step" in page
    assert _docutils_errors(page) == []


def test_synthetic_codestream_decodes(tiny_codec):
    import refdec
    from openlic.bench.speed import synthetic_codestream

    codec, path = tiny_codec
    data = synthetic_codestream(codec, 40, 100)
    pic = refdec.decode(data, params_path=path)
    assert pic.samples.shape == (40, 40, 3) and pic.header.quality == 100
    assert synthetic_codestream(codec, 40, 100) == data  # seeded


# -- the page and the command ------------------------------------------------------------


def _docutils_errors(text: str) -> list[str]:
    docutils = pytest.importorskip("docutils.core")
    import io

    err = io.StringIO()
    docutils.publish_doctree(
        text, settings_overrides={"warning_stream": err, "report_level": 2,
                                  "halt_level": 5},
    )
    # Sphinx-only roles and directives are unknown to plain docutils.
    sphinx_only = ("Unknown interpreted text role", "No role entry", '"ref"')
    return [ln for ln in err.getvalue().splitlines()
            if ("ERROR" in ln or "WARNING" in ln) and not any(x in ln for x in sphinx_only)]


def test_page_renders_from_results(pictures, tmp_path):
    pytest.importorskip("scipy")
    from openlic.bench import rd, report

    res = rd.run_rd(rd.list_images(pictures), [Quantiser()], progress=False,
                    log=lambda m: None, machine={"cpu": "Test CPU", "cores": 2})
    text = report.render(res, None)
    assert "Test CPU" in text and "Toy" in text and "2 pictures" in text
    assert "Not measured yet" in text  # no speed results
    assert _docutils_errors(text) == []


def test_committed_page_matches_its_data():
    """docs/results.rst is exactly what its JSON renders to: no figure edited by hand."""
    from openlic.bench import report

    results = ROOT / "docs" / "results"
    if not (results / "rd.json").is_file() and not (results / "speed.json").is_file():
        pytest.skip("no committed results")
    rd_json = report.load(results / "rd.json")
    speed_json = report.load(results / "speed.json")
    page = (ROOT / "docs" / "results.rst").read_text()
    compare = report.load(results / "compare.json")
    assert page == report.render(rd_json, speed_json, compare=compare, fig_dir="results"), (
        "docs/results.rst is out of date: run 'openlic bench report'"
    )
    if rd_json is not None:
        for fig in ("rd-psnr.png", "rd-msssim.png"):
            assert (results / fig).is_file()
    if compare is not None:
        assert (results / "compare.png").is_file()


def test_figures_quoted_from_the_results_page_match_it(capsys):
    """The WD (E.3.1), the README and the CLI's help quote measurements of the results
    page; they must be those of the committed page, not of an earlier model."""
    from openlic.bench import report

    rd_json = report.load(ROOT / "docs" / "results" / "rd.json")
    speed_json = report.load(ROOT / "docs" / "results" / "speed.json")
    if rd_json is None or speed_json is None:
        pytest.skip("no committed results")
    fast = rd_json["bd_fast"]["openlic"]  # --refine 0 against the default encoder
    misses = report._rate_misses(rd_json)
    assert misses, "the committed page has no rate-matched curve (openlic bench rd)"
    speed = speed_json["summary"]
    slow_s, fast_s = speed["encode_s_per_picture"], speed["encode_fast_s_per_picture"]

    def flat(path: str) -> str:
        return " ".join((ROOT / path).read_text().split())

    code, help_text, _ = run_cli(capsys, "encode", "--help")
    assert code == 0
    about = (
        f"about {slow_s / fast_s:.0f} times faster, files about "
        f"{fast['bd_rate_psnr_rgb']:.0f} % larger"
    )
    quotes = [
        (
            flat("spec/annex-e-encoder.rst"),
            f"without refinement needs {fast['bd_rate_psnr_rgb']:.1f} % more bits than the "
            f"default at equal PSNR-RGB (and {-fast['bd_rate_msssim_db']:.1f} % fewer at "
            "equal MS-SSIM",
        ),
        (
            flat("spec/annex-e-encoder.rst"),
            f"the default takes {slow_s:.2f} s per picture against {fast_s:.2f} s",
        ),
        (
            flat("spec/annex-e-encoder.rst"),
            f"every codestream landed within {max(map(abs, misses)):.1f} % of its target, "
            f"{sum(map(abs, misses)) / len(misses):.2f} % on average",
        ),
        (
            flat("README.md"),
            f"in {speed['decode_s_per_picture']:.3f} s a picture, "
            f"{speed['float']['ratio_refdec_to_float']['end_to_end']:.2f} times the float32 "
            "decoder's time",
        ),
        (flat("docs/cli.rst"), about),
        (" ".join(help_text.split()), about),
    ]
    stale = [quote for text, quote in quotes if quote not in text]
    assert not stale, f"update these quotes of docs/results (E.3.1, README, CLI help): {stale}"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("openlic: error: "), err
    for f in fragments:
        assert f in lines[0], (f, err)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("bench",), "missing bench command"),
        (("bench", "rd"), "--images"),
        (("bench", "rd", "--images", "/nonexistent/dir"), "does not exist"),
        (("bench", "speed", "--images", ".", "--repeat", "0"), "at least 1"),
        (("bench", "rd", "--images", ".", "--qualities", "a,b"), "not a list"),
        (("bench", "rd", "--images", ".", "--float-checkpoint", "none.pt"), "none.pt"),
        (("bench", "frobnicate"), "invalid choice"),
    ],
)
def test_bench_usage_errors(capsys, args, fragment):
    pytest.importorskip("torch")
    code, _, err = run_cli(capsys, *args)
    assert code == cli.EXIT_USAGE
    one_line_error(err, fragment)


def test_bench_unknown_codec(capsys, pictures):
    pytest.importorskip("torch")
    code, _, err = run_cli(capsys, "bench", "rd", "--images", str(pictures), "--codecs", "mp3")
    assert code == cli.EXIT_USAGE
    one_line_error(err, "unknown codec 'mp3'")


def test_bench_report_without_results(capsys, tmp_path):
    code, _, err = run_cli(capsys, "bench", "report", "--out", str(tmp_path),
                           "--page", str(tmp_path / "p.rst"))
    assert code == cli.EXIT_USAGE
    one_line_error(err, "no results")


def test_bench_rd_and_report_commands(capsys, pictures, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    code, stdout, err = run_cli(
        capsys, "bench", "rd", "--images", str(pictures), "--codecs", "jpeg", "--out",
        str(out), "--no-cache", "--no-progress",
    )
    assert code == 0, err
    assert "JPEG" in stdout
    assert {p.name for p in out.iterdir()} >= {"rd.json", "rd-psnr.png", "rd-msssim.png"}
    page = tmp_path / "docs" / "results.rst"
    code, _, err = run_cli(capsys, "bench", "report", "--out", str(out), "--page", str(page))
    assert code == 0, err
    text = page.read_text()
    assert "../results/rd-psnr.png" in text
    # --compare with the run just written: within tolerance, nothing written.
    code, stdout, err = run_cli(
        capsys, "bench", "rd", "--images", str(pictures), "--codecs", "jpeg", "--no-cache",
        "--no-progress", "--compare", str(out / "rd.json"),
    )
    assert code == 0, err
    assert "jpeg: 12 points" in stdout


# -- visual comparison (openlic bench compare) ----------------------------------------


class SizedCodec:
    """A codec whose file has ``size(param)`` bytes and decodes to the picture itself,
    for checking the rate search alone."""

    def __init__(self, params, size):
        from openlic.bench.codecs import Codec

        self.codec = Codec("fake", "Fake", tuple(params))
        self.codec.compress = lambda image, p: bytes(int(size(p)))
        self.codec.decompress = lambda data, shape: np.zeros(shape, np.uint8)


@pytest.mark.parametrize(
    ("params", "size", "best"),
    [
        ((2, 95), lambda q: 100 + 10 * q, 40.0),  # integer, rate rising with the parameter
        ((51, 16), lambda crf: 100 + 10 * (60 - crf), 20.0),  # integer, rate falling
        ((25.0, 0.5), lambda d: 1000 / d, 1000 / 500),  # continuous (a JPEG XL distance)
    ],
)
def test_at_rate_finds_the_largest_rate_within_the_target(params, size, best):
    from openlic.bench.compare import at_rate

    image = picture(40, 50)  # 2,000 pixels: a target of 2 bpp allows 500 bytes
    got = at_rate(SizedCodec(params, size).codec, image, 2.0)
    assert got["bpp"] <= 2.0
    assert got["param"] == pytest.approx(best, rel=2e-3)
    assert got["recon"].shape == image.shape


def test_at_rate_refuses_a_target_below_the_codec_range():
    from openlic.bench import BenchError
    from openlic.bench.compare import at_rate

    with pytest.raises(BenchError, match="lowest rate .* above the target 0.5"):
        at_rate(SizedCodec((2, 95), lambda q: 1000).codec, picture(40, 50), 0.5)


def test_bench_compare_command_and_its_report_section(capsys, pictures, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    from openlic.bench import report

    out = tmp_path / "results"
    args = ["--images", str(pictures), "--out", str(out), "--no-progress"]
    code, _, err = run_cli(capsys, "bench", "compare", *args, "--codecs", "jpeg,webp",
                           "--bpp", "3", "--crop", "8", "4", "32", "24")
    assert code == 0, err
    cmp = json.loads((out / "compare.json").read_text())
    assert cmp["picture"] == "p0.png"  # no kodim23.png here: the first picture
    assert [c["codec"] for c in cmp["coded"]] == ["jpeg", "webp"]
    assert all(c["bpp"] <= 3 for c in cmp["coded"])
    assert (out / "compare.png").is_file()
    code, _, err = run_cli(capsys, "bench", "compare", *args, "--codecs", "jpeg",
                           "--crop", "40", "0", "32", "24")
    one_line_error(err, "outside the 56 x 40 picture")
    code, _, err = run_cli(capsys, "bench", "compare", *args, "--picture", "kodim99.png")
    one_line_error(err, "no picture 'kodim99.png'")
    rd = json.loads((ROOT / "docs" / "results" / "rd.json").read_text())
    text = report.render(rd, None, compare=cmp)
    assert "Visual comparison" in text and "results/compare.png" in text
    assert _docutils_errors(text) == []


def test_psnr_gap_reads_the_test_curve_at_the_anchor_rates():
    """tools/psnr_gap.py: a test curve 1 dB above the anchor at every rate gives +1 dB
    at each anchor rate inside it, and nothing at a rate beyond its end."""
    from tools.psnr_gap import gaps

    bits = [1000.0, 2000.0, 4000.0, 8000.0]
    anchor = [[p, b, 30.0 + i, 33.0 + i, 0.9] for i, (p, b) in enumerate(zip([1, 2, 3, 4], bits))]
    test = [[q, b, 31.0 + i, 34.0 + i, 0.9] for i, (q, b) in enumerate(zip([0, 1, 2], bits))]
    rd_json = {
        "pictures": [{"name": "a.png", "width": 10, "height": 10}],
        "per_image_columns": ["param", "bits", "psnr_rgb", "psnr_ycbcr", "msssim"],
        "per_image": {"openlic": {"a.png": test}, "jpeg2000": {"a.png": anchor}},
    }
    g = gaps(rd_json, "openlic", "jpeg2000", "psnr_rgb")["a.png"]
    assert sorted(g) == [1, 2, 3]
    assert all(v == pytest.approx(1.0) for v in g.values())
