"""Latent refinement (WD E.3.1): the encoder searches the latent it writes.

Pinned here: soft rounding turns into rounding as its temperature falls; refinement
never raises the rate-distortion cost it descends and lowers it on a real picture,
further in a few steps for their longer steps; the encoder refines by default where
the weights and the picture's size allow it;
a refined codestream decodes to exactly the reconstruction the encoder expects; the
search for a target rate lands within 3 % with refinement too; the encoder weights
that ``encoder.export`` writes carry what refinement needs, and weights without it, or
a picture beyond the size limit, get a clear error.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import encoder.pipeline as pipeline  # noqa: E402
import refdec  # noqa: E402
from encoder import read_image  # noqa: E402
from encoder.export import encoder_weights, quality_gains, quality_lambdas  # noqa: E402
from encoder.pipeline import (  # noqa: E402
    analyse,
    cheapest_hyper_step,
    choose_hyper_step,
    encode_detailed,
    hyper_step_costs,
    latents,
    load_codec,
    picture_tensor,
    reconstruct,
    refine_analysis,
)
from encoder.refine import rd_cost, refine_latent, soft_round  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "seeding.png"


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    image, _ = read_image(SAMPLE)
    return np.ascontiguousarray(image[96:224, 200:392])


def test_soft_rounding_tends_to_rounding():
    v = torch.linspace(-3.0, 3.0, 1201)
    away_from_halves = (v - torch.floor(v) - 0.5).abs() > 0.05
    cold = soft_round(v, 0.01)
    assert (cold - torch.round(v))[away_from_halves].abs().max() < 1e-3
    warm = soft_round(v, 0.5)
    assert torch.all(warm >= torch.floor(v)) and torch.all(warm <= torch.floor(v) + 1)
    assert torch.all(torch.diff(warm) >= 0)  # a relaxation, still monotone
    assert (warm - torch.round(v))[away_from_halves].abs().max() > 0.05


def _start(codec, image, quality):
    a = analyse(codec, image, 8)
    x = pipeline.picture_tensor(image, 8)
    gain, inv_gain = (
        codec.quality[k][quality][None, :, None, None] for k in ("gain", "inverse_gain")
    )
    lam = float(codec.quality["lambda"][quality])
    y, z = torch.from_numpy(a.y).float()[None], torch.from_numpy(a.z)[None]
    return x, y, z, gain, inv_gain, lam


@pytest.mark.parametrize("iterations", [0, 4, 30])
def test_refinement_never_raises_the_cost(crop, iterations):
    codec = load_codec()
    x, y, z, gain, inv_gain, lam = _start(codec, crop, 120)

    def cost(y_, z_):
        with torch.no_grad():
            return rd_cost(codec.model, x, y_ * gain, z_, gain, inv_gain, lam, None)[2].item()

    y2, z2 = refine_latent(codec.model, x, y, z, gain, inv_gain, lam, iterations)
    assert y2.shape == y.shape and z2.shape == z.shape
    before, after = cost(y, z), cost(y2, z2)
    assert after <= before
    if iterations == 30:
        assert after < 0.97 * before, (before, after)


def test_short_descents_take_longer_steps(crop, monkeypatch):
    """Six steps of TRAVEL / 6 end at a lower cost than six of the smallest step."""
    import encoder.refine as refine

    codec = load_codec()
    x, y, z, gain, inv_gain, lam = _start(codec, crop, 120)

    def cost_after(iterations: int) -> float:
        y2, z2 = refine_latent(codec.model, x, y, z, gain, inv_gain, lam, iterations)
        with torch.no_grad():
            return rd_cost(codec.model, x, y2 * gain, z2, gain, inv_gain, lam, None)[2].item()

    assert refine.step_size(6) == pytest.approx(refine.TRAVEL / 6)
    longer = cost_after(6)
    monkeypatch.setattr(refine, "TRAVEL", 0.0)
    assert refine.step_size(6) == refine.LEARNING_RATE
    assert longer < cost_after(6)


def test_encoder_refines_by_default_where_it_can(crop, tiny_codec, monkeypatch):
    codec = load_codec()
    h, w = crop.shape[:2]
    assert codec.default_refine(w, h) == pipeline.DEFAULT_REFINE > 0
    steps = []
    default = encode_detailed(crop, quality=100, codec=codec, progress=steps.append)
    assert sum(steps) == pipeline.DEFAULT_REFINE
    named = encode_detailed(
        crop, quality=100, codec=codec, refine_iterations=pipeline.DEFAULT_REFINE
    )
    assert default.data == named.data
    # Beyond the size limit, and with weights that cannot refine, the default does not
    # refine (and is no error, as naming a number of steps would be).
    plain = encode_detailed(crop, quality=100, codec=codec, refine_iterations=0)
    monkeypatch.setattr(pipeline, "REFINE_MAX_PIXELS", h * w - 1)
    assert codec.default_refine(w, h) == 0
    assert encode_detailed(crop, quality=100, codec=codec).data == plain.data
    assert tiny_codec[0].default_refine(w, h) == 0


def test_refined_codestream_decodes_to_the_encoders_reconstruction(crop):
    codec = load_codec()
    calls = []
    enc = encode_detailed(
        crop, quality=120, refine_iterations=30, codec=codec, progress=calls.append
    )
    assert sum(calls) == 30
    plain = encode_detailed(crop, quality=120, refine_iterations=0, codec=codec)
    assert not np.array_equal(enc.residuals, plain.residuals)
    want = reconstruct(enc.analysis, enc.residuals, 120, codec.params, 8, enc.output_filter)
    assert np.array_equal(refdec.decode(enc.data).samples, want)


def test_refinement_descends_on_the_stepped_hyper_latent(crop):
    """With a hyper-latent step 2^k the descent rounds z / 2^k (E.3.1 step 2): the
    refined encoding codes round(z / 2), costs less than the unrefined one with the same
    step, and decodes to the encoder's reconstruction."""
    codec = load_codec()
    x, y, z, gain, inv_gain, lam = _start(codec, crop, 30)

    def cost(y_, z_):
        with torch.no_grad():
            return rd_cost(codec.model, x, y_ * gain, z_ / 2, gain, inv_gain, lam, None, 2.0)[2]

    y2, z2 = refine_latent(codec.model, x, y, z, gain, inv_gain, lam, 12, z_step=2.0)
    assert cost(y2, z2) < cost(y, z)
    enc = encode_detailed(crop, quality=30, refine_iterations=6, codec=codec, hyper_step_log2=1)
    a = enc.analysis
    assert np.array_equal(a.z_hat, np.round(a.z / 2).astype(np.int32))
    want = reconstruct(a, enc.residuals, 30, codec.params, 8, enc.output_filter)
    assert np.array_equal(refdec.decode(enc.data).samples, want)


def test_encoder_chooses_the_coarser_hyper_latent_at_low_rates_only(crop):
    """E.3 step 2: by default the encoder picks k by the cost J of the unrefined latent;
    on this picture the step 2 wins at the lowest quality and loses at the highest."""
    codec = load_codec()
    x, (y, z) = picture_tensor(crop, 8), latents(codec, crop, 8)
    assert [choose_hyper_step(codec, x, y, z, q) for q in (0, 255)] == [1, 0]
    for q in (0, 255):
        enc = encode_detailed(crop, quality=q, refine_iterations=0, codec=codec)
        assert enc.analysis.hyper_step_log2 == choose_hyper_step(codec, x, y, z, q)
        forced = encode_detailed(
            crop, quality=q, refine_iterations=0, codec=codec, hyper_step_log2=1 - (q == 0)
        )
        assert forced.analysis.hyper_step_log2 == 1 - (q == 0)


def test_the_chosen_step_s_cost_starts_the_descent(crop):
    """The chooser's cost of the unrefined latent is exactly the starting cost the
    descent would compute, so the encoder passes it on (one pass of the float decoder
    networks saved) and refines to the same latent."""
    codec = load_codec()
    x, (y, z) = picture_tensor(crop, 8), latents(codec, crop, 8)
    costs = hyper_step_costs(codec, x, y, z, 0)
    k = cheapest_hyper_step(costs)
    *_, gain, inv_gain, lam = _start(codec, crop, 0)
    step = 2.0**k
    with torch.no_grad():
        j = rd_cost(codec.model, x, y[None] * gain, z[None] / step, gain, inv_gain, lam, None, step)
    assert costs[k] == j[2].item()
    given = refine_analysis(codec, crop, 8, y, z, k, 0, 4, start_cost=costs[k])
    computed = refine_analysis(codec, crop, 8, y, z, k, 0, 4)
    assert np.array_equal(given.y, computed.y) and np.array_equal(given.z, computed.z)


def test_refined_ten_bit_codestream_is_exact(crop):
    codec = load_codec()
    ten = (crop[:64, :96].astype(np.uint16) << 2) | 3
    enc = encode_detailed(ten, bit_depth=10, quality=150, refine_iterations=6, codec=codec)
    want = reconstruct(enc.analysis, enc.residuals, 150, codec.params, 10, enc.output_filter)
    assert np.array_equal(refdec.decode(enc.data).samples, want)


def test_refined_rate_search_lands_within_three_percent(crop):
    target = 0.6
    enc = encode_detailed(crop, bpp=target, refine_iterations=25)
    rate = 8 * len(enc.data) / (crop.shape[0] * crop.shape[1])
    assert abs(rate - target) <= 0.03 * target, (rate, enc.quality)


def test_exported_encoder_weights_carry_the_refinement(tiny_codec, tmp_path, crop):
    codec, params_path = tiny_codec
    olp = tmp_path / "tiny.olp"
    olp.write_bytes(params_path.read_bytes())
    torch.save(encoder_weights(codec.model, olp.read_bytes()), olp.with_suffix(".pt"))
    loaded = load_codec(olp)
    m, q = codec.model.cfg.m_latent, loaded.params.num_qualities
    assert loaded.quality["gain"].shape == loaded.quality["inverse_gain"].shape == (q, m)
    g, _ = quality_gains(codec.model)
    assert np.allclose(loaded.quality["gain"].numpy(), g, rtol=1e-6)
    enc = encode_detailed(crop[:64, :64], quality=200, refine_iterations=6, codec=loaded)
    assert np.array_equal(
        refdec.decode(enc.data, params_path=olp).samples,
        reconstruct(enc.analysis, enc.residuals, 200, loaded.params, 8, enc.output_filter),
    )


def test_trade_offs_of_the_anchors_are_the_training_ones(tiny_codec):
    model = tiny_codec[0].model
    k = len(model.cfg.lambdas)
    assert np.allclose(quality_lambdas(model, k, 0.0, 0.0), model.cfg.lambdas)
    lam = quality_lambdas(model)
    assert np.all(np.diff(lam) > 0) and lam[0] < model.cfg.lambdas[0]


def test_weights_without_decoder_networks_are_refused(tiny_codec, crop):
    codec = tiny_codec[0]
    assert codec.quality is None
    y, z = latents(codec, crop[:64, :64], 8)
    with pytest.raises(ValueError, match="export them again"):
        refine_analysis(codec, crop[:64, :64], 8, y, z, 0, 10, 5)


def test_pictures_beyond_the_refinement_limit_are_refused(monkeypatch, crop):
    monkeypatch.setattr(pipeline, "REFINE_MAX_PIXELS", 64 * 64)
    with pytest.raises(ValueError, match="refinement is limited"):
        encode_detailed(crop, quality=10, refine_iterations=5)


def test_negative_iterations_are_refused(crop):
    with pytest.raises(ValueError, match="0 or more"):
        encode_detailed(crop, quality=10, refine_iterations=-1)


def test_refinement_descends_through_the_context_networks(tiny_context_codec, tmp_path, crop):
    """With context networks the encoder weights carry them, the descent differentiates
    through them (the cost of the groups after the first depends on the latent of the
    groups before), and the refined codestream is still exact."""
    codec, params_path = tiny_context_codec
    olp = tmp_path / "ctx.olp"
    olp.write_bytes(params_path.read_bytes())
    torch.save(encoder_weights(codec.model, olp.read_bytes()), olp.with_suffix(".pt"))
    loaded = load_codec(olp)
    last = codec.model.ctx[0][-1].weight
    assert torch.equal(loaded.model.ctx[0][-1].weight, last.detach().half().float())
    x, y, z, gain, inv_gain, lam = _start(loaded, crop[:64, :64], 150)

    def gradient_of_group_0(model) -> torch.Tensor:  # noqa: ANN001
        yg = (y * gain).requires_grad_(True)
        cost = rd_cost(model, x, yg, z, gain, inv_gain, lam, 0.5)[2]
        return torch.autograd.grad(cost, [yg])[0][:, :2]

    blind = copy.deepcopy(loaded.model)
    with torch.no_grad():
        for chain in blind.ctx:
            chain[-1].weight.zero_()
    assert not torch.allclose(gradient_of_group_0(loaded.model), gradient_of_group_0(blind))
    enc = encode_detailed(crop[:64, :64], quality=150, refine_iterations=6, codec=loaded)
    assert np.array_equal(
        refdec.decode(enc.data, params_path=olp).samples,
        reconstruct(enc.analysis, enc.residuals, 150, loaded.params, 8, enc.output_filter),
    )


def test_refine_gain_tool_measures_each_number_of_steps():
    from tools.refine_gain import measure

    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(128, 40, (64, 96, 3)), 0, 255).astype(np.uint8)
    curves, seconds = measure(load_codec(), [image], [32, 128], [0, 6])
    assert set(curves) == set(seconds) == {0, 6}
    assert curves[0].shape == curves[6].shape == (2, 2)
    # refinement changed what was coded at each quality (the rate, the PSNR or both)
    assert np.all(np.any(curves[6] != curves[0], axis=1))
    assert np.all(curves[0][1] > curves[0][0])  # the higher quality: more bits, higher PSNR
    assert all(s > 0 for s in seconds.values())  # timed, never compared (a noisy machine)


def test_hyper_step_gain_tool_measures_each_mode(crop):
    from tools.hyper_step_gain import MODES, measure

    # A photograph: on noise the step the encoder picks before refinement can lose after.
    res = measure(load_codec(), [np.ascontiguousarray(crop[:64, :96])], [0, 255])
    assert set(res) == set(MODES)
    assert all(r.shape == (1, 2, 3) for r in res.values())
    assert res["k=0"][0, :, 2].tolist() == [0, 0] and res["k=1"][0, :, 2].tolist() == [1, 1]
    assert res["k=1"][0, 0, 0] < res["k=0"][0, 0, 0]  # the coarser hyper-latent, fewer bits
    chosen = res["chosen"][0]
    for i, k in enumerate(chosen[:, 2].astype(int)):  # the chosen step's own encoding
        assert np.array_equal(chosen[i, :2], res[f"k={k}"][0, i, :2])


def test_wd_and_help_state_the_encoders_refinement_settings():
    """WD E.3.1, the command's help and the user docs give the numbers the code uses."""
    import re

    from encoder import refine
    from openlic.cli import build_parser

    root = Path(__file__).resolve().parents[1]
    n = pipeline.DEFAULT_REFINE
    wd = (root / "spec" / "annex-e-encoder.rst").read_text()
    assert f"with *N* = {n} steps" in wd
    assert f"\\mathrm{{Max}}({refine.LEARNING_RATE:g}, {refine.TRAVEL:g} / N)" in wd
    fall = 1 - refine.FINAL_STEP
    assert f"{refine.FINAL_STEP:g} \\, s_0` at the last" in wd and f"{fall:g} \\, i / (N - 1)" in wd
    def flat(text: str) -> str:
        return re.sub(r"\s+", " ", text)

    encode = build_parser()._subparsers._group_actions[0].choices["encode"]
    assert f"({n} steps, for pictures up to 4 megapixels)" in flat(encode.format_help())
    assert f"with {n} descent" in flat((root / "docs" / "cli.rst").read_text())
    api = flat((root / "docs" / "python-api.rst").read_text())
    assert f"``encoder.pipeline.DEFAULT_REFINE`` ({n})" in api
    assert refine.REFINE_MAX_PIXELS == 4 * 2**20  # "4 megapixels" in the help and docs


def test_adam_is_torchs():
    """encoder.refine.Adam gives exactly the tensors of torch.optim.Adam (CPU defaults)."""
    from encoder.refine import Adam

    g = torch.Generator().manual_seed(0)
    start = [torch.randn(4, 5, generator=g), torch.randn(3, generator=g)]
    ours = [t.clone().requires_grad_(True) for t in start]
    theirs = [t.clone().requires_grad_(True) for t in start]
    mine, ref = Adam(ours, 0.02), torch.optim.Adam(theirs, lr=0.02)
    for _ in range(5):
        grads = [torch.randn(t.shape, generator=g) for t in start]
        mine.step(grads)
        for t, gr in zip(theirs, grads):
            t.grad = gr.clone()
        ref.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
