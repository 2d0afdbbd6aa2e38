"""tools/widen_synthesis.py, tools/unit_activity.py, tools/hyper_gain_probe.py and
tools/dequant_offset_probe.py: the diagnostics and starts of training runs that
models/README describes."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from encoder.model import OpenLICModel, run_chain  # noqa: E402
from tests.conftest import TINY  # noqa: E402
from tools.unit_activity import activity  # noqa: E402
from tools.widen_synthesis import widen  # noqa: E402


@pytest.fixture
def tiny() -> OpenLICModel:
    torch.manual_seed(0)
    return OpenLICModel(TINY).eval()


def _patches(n: int = 2) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def test_widened_synthesis_computes_the_same_picture(tiny: OpenLICModel) -> None:
    wide = widen(tiny, (12, 8, 10), _patches(), seed=0)
    assert wide.cfg.synthesis_widths == (12, 8, 10)
    assert wide.g_s[0].conv.out_channels == 4 * 12
    y = torch.randn(1, TINY.m_latent, 4, 5) * 3
    with torch.no_grad():
        torch.testing.assert_close(run_chain(wide.g_s, y), run_chain(tiny.g_s, y))
        # The new units of the last hidden layer are on at some positions, off at others:
        # they have a gradient from the first step.
        t = y
        for layer in wide.g_s[:-1]:
            t = torch.relu(layer(t))
        on = (t[:, TINY.synthesis_widths[-1] :] > 0).float().mean()
    assert 0.05 < float(on) < 0.95


def test_widening_refuses_narrower_layers(tiny: OpenLICModel) -> None:
    with pytest.raises(SystemExit, match="none narrower"):
        widen(tiny, (8, 4, 4), _patches(), seed=0)


def test_unit_activity_reports_every_hidden_layer(tiny: OpenLICModel, tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "p.png"
    Image.fromarray(_patches(1)[0]).save(path)
    with torch.no_grad():  # unit 0 of g_s.1 never on, unit 1 always
        tiny.g_s[1].conv.bias[0:4] = -1e6
        tiny.g_s[1].conv.bias[4:8] = 1e6
    frac = activity(tiny, [path])
    assert list(frac) == ["h_s.0", "h_s.1", "g_s.0", "g_s.1", "g_s.2"]
    assert [len(v) for v in frac.values()] == [TINY.n_hyper, TINY.n_hyper, *TINY.synthesis_widths]
    assert frac["g_s.1"][0] == 0.0 and frac["g_s.1"][1] == 1.0


def test_progressive_tool_prints_every_prefix_and_draws_them(tmp_path, capsys) -> None:
    """tools/progressive.py (docs/progressive.rst): one table row per prefix, PSNR
    rising with the groups decoded, the same table in the file the page includes, and a
    strip of the distinct decodings plus the original."""
    from PIL import Image

    from tools.progressive import main as progressive

    picture = tmp_path / "p.png"
    # A textured region: on a smooth one the second half of the channels can be all
    # zero at this size, and the last group then changes nothing.
    Image.open("samples/seeding.png").convert("RGB").crop((300, 200, 396, 264)).save(picture)
    figure, table = tmp_path / "strip.png", tmp_path / "table.txt"
    argv = [str(picture), "--quality", "200", "--groups", "2", "--figure", str(figure)]
    assert progressive([*argv, "--table", str(table), "--crop", "0", "0", "48", "32"]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = [ln.split() for ln in printed if ln[:1].isdigit()]
    summary, blank, *written = table.read_text().splitlines()
    assert blank == "" and written == printed[-len(written) :]
    assert f"gives {rows[1][3]} dB of the final {rows[-1][3]} dB" in summary
    # ZS only, YS 0, YS 1, the OF segment the encoder sends at this quality, with EOC.
    assert [int(r[2]) for r in rows] == [0, 1, 2, 2, 2]
    psnr = [float(r[3]) for r in rows]
    assert psnr[0] < psnr[1] < psnr[2] < psnr[3] == psnr[4]  # the filter pays in PSNR
    strip = Image.open(figure)
    # Four distinct prefixes and the original: five panels of 48 samples and a margin.
    assert strip.width == 5 * (48 + 12)


def test_hyper_gain_probe_at_factor_one_is_the_model_and_coarser_z_costs_less(
    tiny: OpenLICModel,
) -> None:
    """tools/hyper_gain_probe.py (models/README): gain 1 and dead zone 0 code the
    picture as tools/quality_range.py does; a smaller gain spends fewer bits on z."""
    import encoder.export as export
    from tools.hyper_gain_probe import probe
    from tools.quality_range import code

    x = torch.from_numpy(_patches(1)[0]).permute(2, 0, 1)[None].float() / 255
    res = probe(tiny, [x], [1.0, 0.5], [0, 200])
    g, ig = (
        torch.from_numpy(t).float()
        for t in export.quality_gains(
            tiny, export.NUM_QUALITIES, export.QUALITY_BELOW, export.QUALITY_ABOVE
        )
    )
    for q in (0, 200):
        bpp, psnr = code(tiny, x, g[q], ig[q])
        assert res[(1.0, q)][0] == pytest.approx(bpp, rel=1e-5)
        assert res[(1.0, q)][2] == pytest.approx(psnr, rel=1e-5)
        assert res[(0.5, q)][1] < res[(1.0, q)][1]
    assert probe(tiny, [x], [0.0], [0], mode="dead-zone")[(0.0, 0)] == pytest.approx(res[(1.0, 0)])


def test_dequant_offset_probe_fits_the_mean_distance_to_the_integer(tiny: OpenLICModel) -> None:
    """tools/dequant_offset_probe.py (models/README): the offsets are the mean of
    sign(k) (k - r) per scale bin and |k| class; zero offsets decode the plain picture."""
    from tools.dequant_offset_probe import SCALE_EDGES, Coded, fit_offsets, probe, with_offsets

    c = Coded.__new__(Coded)
    c.r = torch.tensor([0.7, -0.6, 1.9, 0.2, -2.8, 0.9])
    c.k = torch.round(c.r)
    c.scale = torch.tensor([0.1, 0.1, 0.1, 0.1, 3.0, 3.0])
    delta = fit_offsets([c])
    assert delta.shape == (len(SCALE_EDGES) - 1, 2)
    assert delta[0, 0] == pytest.approx((0.3 + 0.4) / 2)  # 0.7 -> 1, -0.6 -> -1
    assert delta[0, 1] == pytest.approx(0.1)  # 1.9 -> 2
    assert delta[-1, 0] == pytest.approx(0.1) and delta[-1, 1] == pytest.approx(0.2)
    assert with_offsets(c, delta)[0] == pytest.approx(1 - 0.35)
    assert with_offsets(c, delta)[3] == 0  # zeros stay zeros

    x = torch.from_numpy(_patches(1)[0]).permute(2, 0, 1)[None].float() / 255
    res = probe(tiny, [x, x.flip(-1)], [0, 255])
    for delta, plain, shifted in res.values():
        assert np.all(np.abs(delta) <= 0.5) and math.isfinite(plain) and math.isfinite(shifted)
    g = torch.ones(1, TINY.m_latent, 1, 1)
    coded = Coded(tiny, x, g, g)
    zero = np.zeros((len(SCALE_EDGES) - 1, 2))
    assert coded.psnr(tiny, with_offsets(coded, zero)) == coded.psnr(tiny, coded.k)


def test_encoder_bd_of_a_set_against_itself_is_zero(tmp_path, capsys) -> None:  # noqa: ANN001
    """tools/encoder_bd.py (models/README): the shipped set against itself codes the same
    files, so every BD-rate it prints is 0."""
    from PIL import Image

    from tools.encoder_bd import main

    y, x = np.mgrid[0:40, 0:56]
    img = np.stack([(4 * x) % 256, (3 * y) % 256, (x * y) % 256], -1).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "p.png")
    argv = [str(tmp_path / "p.png"), "--sets", "shipped", "shipped", "--qualities", "0", "128"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.argv", ["encoder_bd.py", *argv])
        assert main() == 0
    out = capsys.readouterr().out.splitlines()
    # Per set, one line per quality: the higher quality codes more bits, at a higher PSNR.
    rows = [line.split() for line in out if line.strip().startswith("quality")]
    assert len(rows) == 4
    for low, high in (rows[0:2], rows[2:4]):
        assert float(high[2]) > float(low[2]) and float(high[4]) > float(low[4])
    last = out[-1]
    assert last == (
        "shipped against shipped: average curves +0.00 %, qualities up to 128 +0.00 %, "
        "picture by picture +0.00 %"
    )
