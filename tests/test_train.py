"""``openlic train``: smoke steps, checkpoints, resuming, determinism, DDP on gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from encoder.train import main as train_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = json.dumps(
    {
        "n_analysis": 8,
        "m_latent": 8,
        "mz_hyper": 4,
        "n_hyper": 8,
        "synthesis_widths": [8, 8, 4],
        "linear_analysis": False,  # a linear start needs the shipped widths
    }
)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(3):
        arr = rng.integers(0, 256, (90 + 10 * i, 130, 3)).astype(np.uint8)
        Image.fromarray(arr).save(d / f"{i}.png" if i else d / f"{i}.jpg")
    return d


def args(images: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [
        "--data",
        str(images),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--batch",
        "2",
        "--crop",
        "64",
        "--model-config",
        TINY,
        "--no-progress",
        "--eval-every",
        "2",
        "--val",
        str(images / "1.png"),
        *extra,
    ]


def test_smoke_steps_write_checkpoint_and_log(images, tmp_path):
    assert train_main(args(images, tmp_path, 2)) == 0
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert state["step"] == 2
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert any("val" in r for r in records)
    # Every record carries the per-anchor training rate and PSNR of the samples since
    # the last record, keyed by the anchors that were drawn.
    anchors = records[-1]["anchors"]
    assert anchors and all(0 <= int(k) < 7 for k in anchors)
    assert all(a["bpp"] > 0 and a["psnr"] > 0 for a in anchors.values())


def test_resume_continues_from_checkpoint(images, tmp_path):
    train_main(args(images, tmp_path, 2))
    first = torch.load(tmp_path / "last.pt", weights_only=False)
    train_main(args(images, tmp_path, 3, "--resume", str(tmp_path / "last.pt")))
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert state["step"] == 3
    # The moving average goes on from the saved one: one more step of decay 0.999 moves
    # it by a thousandth of the way to the new weights, far less than the step itself.
    name = "g_s.0.conv.weight"
    ema_moved = (state["ema"][name] - first["ema"][name]).abs().max()
    weights_moved = (state["model"][name] - first["model"][name]).abs().max()
    assert 0 < ema_moved < 0.01 * weights_moved


def test_same_seed_same_weights(images, tmp_path):
    for name in ("a", "b"):
        train_main(args(images, tmp_path / name, 2, "--bank-dir", str(tmp_path / "bank")))
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_distributed_gloo_two_processes(images, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "encoder.train",
        *args(images, tmp_path, 2),
    ]
    try:
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        # The processes' own output says where they stopped.
        out = (e.stdout or b"") + (e.stderr or b"")
        pytest.fail(f"{e}\n{out.decode(errors='replace')[-4000:]}")
    assert torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 2


def test_every_process_waits_for_the_patch_bank(images, tmp_path, monkeypatch):
    """A process that finds the bank already cut still enters the barrier: skipping it
    left the first process waiting there for ever (a hang seen under load)."""
    import argparse

    import encoder.train as train

    a = argparse.Namespace(
        bank=None, data=[images], bank_dir=tmp_path, out=tmp_path, seed=0, no_progress=True
    )
    waits = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(train.dist, "barrier", lambda: waits.append(1))
    first = train._patch_bank(a, argparse.ArgumentParser(), 0, [])  # cuts the bank
    second = train._patch_bank(a, argparse.ArgumentParser(), 1, [])  # finds it
    assert waits == [1, 1] and np.array_equal(first, second)


def test_resume_from_weights_only_checkpoint(images, tmp_path):
    """The committed checkpoints keep weights and step only: training warms up again."""
    train_main(args(images, tmp_path, 2))
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["optimizer"]
    torch.save(state, tmp_path / "weights.pt")
    train_main(args(images, tmp_path, 3, "--resume", str(tmp_path / "weights.pt")))
    assert torch.load(tmp_path / "last.pt", weights_only=False)["step"] == 3


def test_decoder_only_moves_the_synthesis_and_nothing_that_sets_the_rate(images, tmp_path):
    train_main(args(images, tmp_path, 2))
    first = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    train_main(args(images, tmp_path, 4, "--resume", str(tmp_path / "last.pt"), "--decoder-only"))
    after = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    moved = {k for k in first if not torch.equal(first[k], after[k])}
    assert "g_s.0.conv.weight" in moved and "log_inv_gain" in moved
    # The analysis, the hyperprior and the gains stay: the latents and their rates.
    assert moved <= {k for k in first if k.startswith("g_s.")} | {"log_inv_gain"}


def test_relative_learning_rate_moves_every_tensor_by_the_same_fraction(images, tmp_path):
    train_main(args(images, tmp_path, 2))
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["optimizer"]
    state["model"]["g_s.0.conv.weight"] *= 0.01  # one layer far smaller than the rest
    torch.save(state, tmp_path / "weights.pt")
    extra = ("--resume", str(tmp_path / "weights.pt"), "--relative-lr", "--lr", "1e-3")
    train_main(args(images, tmp_path, 3, *extra, "--warmup", "1", "--ema", "0"))
    after = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    # Adam's first step moves each element by about the learning rate (the sign of its
    # gradient): here 1e-3 of its tensor's size, whatever that size.
    for name in ("g_s.0.conv.weight", "g_s.1.conv.weight", "g_s.3.conv.weight", "g_a.0.weight"):
        before = state["model"][name]
        moved = (after[name] - before).pow(2).mean().sqrt() / before.pow(2).mean().sqrt()
        assert 2e-4 < moved < 1.01e-3, name


def test_a_ready_bank_and_a_time_slot(tmp_path):
    # --bank trains on the given patches without --data; --minutes 0 ends the run
    # after its first step, with a checkpoint.
    bank = tmp_path / "bank.npy"
    np.save(bank, np.random.default_rng(1).integers(0, 256, (3, 256, 256, 3), dtype=np.uint8))
    out = tmp_path / "run"
    argv = ["--bank", str(bank), "--out", str(out), "--steps", "50", "--batch", "2"]
    argv += ["--crop", "64", "--model-config", TINY, "--no-progress", "--minutes", "0"]
    assert train_main(argv) == 0
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 1
    with pytest.raises(SystemExit):
        train_main(["--bank", str(tmp_path / "missing.npy"), "--out", str(out)])


def test_defaults_are_the_shipped_recipe():
    from encoder.model import ModelConfig
    from encoder.train import RECIPE_MODEL, curriculum

    linear = ModelConfig.from_dict({**ModelConfig().to_dict(), **RECIPE_MODEL})
    assert linear.linear_analysis and linear.m_latent == 256
    plain = ModelConfig()
    kw = {"freeze": None, "slow": None}
    assert curriculum(linear, fresh=True, distributed=False, **kw) == (2000, 0.1)
    assert curriculum(linear, fresh=False, distributed=False, **kw) == (0, 0.1)  # resumed
    assert curriculum(linear, fresh=True, distributed=True, **kw) == (0, 0.1)  # torchrun
    assert curriculum(plain, fresh=True, distributed=False, **kw) == (0, 1.0)
    given = curriculum(linear, fresh=True, distributed=False, freeze=5, slow=0.5)
    assert given == (5, 0.5)


def test_bf16_analysis_is_wired_and_spares_the_linear_shortcut(images, tmp_path, monkeypatch):
    from encoder.model import ModelConfig, OpenLICModel
    from encoder.train import native_bf16

    # The option reaches the training forward pass (validation stays in float32).
    seen: list[bool] = []
    analysis = OpenLICModel.analysis

    def spy(self, x, *, bf16=False):
        if self.training:
            seen.append(bf16)
        return analysis(self, x, bf16=bf16)

    monkeypatch.setattr(OpenLICModel, "analysis", spy)
    for mode in ("on", "off", "auto"):
        train_main([*args(images, tmp_path / mode, 1), "--bf16-analysis", mode])
    assert seen == [True, False, native_bf16(torch.device("cpu"))]
    monkeypatch.undo()

    torch.manual_seed(0)
    model = OpenLICModel(ModelConfig(linear_analysis=True, m_latent=16, n_analysis=16))
    x = torch.rand(1, 3, 64, 64)
    exact = model.analysis(x)
    # Nonlinear layers in bfloat16: close to float32 (8-bit significands), not equal.
    diff = (model.analysis(x, bf16=True) - exact).abs().max()
    assert 0 < diff < 0.02 * exact.abs().max()
    # The linear shortcut alone: float32 either way.
    with torch.no_grad():
        model.g_a[-1].weight.zero_()
        model.g_a[-1].bias.zero_()
    assert torch.equal(model.analysis(x, bf16=True), model.analysis(x))


def test_learning_rate_decay(images, tmp_path):
    from encoder.train import decayed

    assert decayed(1.0, 0.1, -5, 10) == 1.0  # before the decay
    assert decayed(1.0, 0.1, 0, 10) == 1.0
    assert decayed(1.0, 0.1, 5, 10) == pytest.approx(0.55)  # half-way down the cosine
    assert decayed(1.0, 0.1, 10, 10) == pytest.approx(0.1)
    assert decayed(1.0, 0.1, 30, 10) == pytest.approx(0.1)  # after it
    assert decayed(1.0, 0.1, 5, 0) == 1.0  # no decay
    # The run follows it: the last of 4 steps is 3 steps into a decay of 4.
    argv = args(images, tmp_path, 4, "--lr", "1e-3", "--lr-final", "1e-4", "--warmup", "1")
    train_main([*argv, "--decay-steps", "4"])
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[-1]["lr"] == pytest.approx(decayed(1e-3, 1e-4, 3, 4))


def test_parameter_groups_of_the_recipe():
    from encoder.model import ModelConfig, OpenLICModel
    from encoder.train import parameter_group

    model = OpenLICModel(ModelConfig(linear_analysis=True))
    groups: dict[str, set[str]] = {}
    for name, _ in model.named_parameters():
        groups.setdefault(parameter_group(name), set()).add(name.split(".")[0])
    # The synthesis and the linear shortcut learn slowly, the gains fast; g_a is frozen
    # with the slow group at a linear start; the hyperprior trains throughout.
    assert groups == {
        "slow": {"g_s", "g_a_linear"},
        "analysis": {"g_a"},
        "gain": {"log_gain", "log_inv_gain", "log_z_scale"},
        "hyper": {"h_a", "h_s", "h_s_out"},
    }


def test_validation_loss_of_the_training_figure():
    from tools.plot_training import validation_losses

    records = [
        {"step": 200, "loss": 1.0},  # no validation: skipped
        {"step": 400, "val": {"0": {"bpp": 0.5, "psnr": 20.0}, "6": {"bpp": 2.0, "psnr": 40.0}}},
    ]
    losses = validation_losses(records, (0.001, 0, 0, 0, 0, 0, 0.1))
    # bpp + lambda * 255^2 * MSE, the MSE of samples in 0..1 from the PSNR.
    assert losses[0] == [(400, pytest.approx(0.5 + 0.001 * 255**2 * 0.01))]
    assert losses[6] == [(400, pytest.approx(2.0 + 0.1 * 255**2 * 1e-4))]


def test_train_speed_benchmark_runs(capsys):
    from tools.train_speed import SETTINGS, main

    main(["--batch", "1", "--crop", "64", "--steps", "1", "--rounds", "1"])
    out = capsys.readouterr().out
    assert all(name in out for name in SETTINGS)


def test_hyper_step_in_training(images, tmp_path, monkeypatch):
    from encoder.model import ModelConfig, OpenLICModel
    from encoder.pipeline import HYPER_STEP_CHOICES

    # The forward pass with the step 2^k of WD 8.3.1: the hyper synthesis reads
    # multiples of 2^k, and the rate is that of z / 2^k under the scale sigma_z / 2^k.
    torch.manual_seed(0)
    model = OpenLICModel(ModelConfig(**{**json.loads(TINY), "synthesis_widths": (8, 8, 4)}))
    with torch.no_grad():
        model.h_a[-1].weight.mul_(100)  # hyper-latents of a few steps, as a trained model's
    x = torch.rand(2, 3, 128, 128)
    inputs: list[torch.Tensor] = []
    synthesis = OpenLICModel.hyper_synthesis
    monkeypatch.setattr(
        OpenLICModel, "hyper_synthesis", lambda self, z: inputs.append(z) or synthesis(self, z)
    )
    anchors = torch.tensor([0, 6])
    torch.manual_seed(1)
    plain = model(x, anchors)
    torch.manual_seed(1)
    zero = model(x, anchors, hyper_step_log2=torch.tensor([0, 0]))
    torch.manual_seed(1)
    stepped = model(x, anchors, hyper_step_log2=torch.tensor([2, 0]))
    assert torch.equal(plain["lik_z"], zero["lik_z"]) and torch.equal(inputs[0], inputs[1])
    z_hat = inputs[2]
    assert torch.equal(z_hat[0] % 4, torch.zeros_like(z_hat[0])) and z_hat[0].abs().max() > 0
    assert torch.equal(z_hat[1], inputs[0][1])  # the other sample keeps the step 1
    # A coarser step codes the hyper-latent in fewer bits.
    assert (-stepped["lik_z"][0].log2().sum()) < (-plain["lik_z"][0].log2().sum())
    assert torch.equal(stepped["lik_z"][1], plain["lik_z"][1])
    monkeypatch.undo()

    # --hyper-step-anchors A: the samples of the A lowest anchors draw their step from
    # the encoder's choices, the others keep the step 1.
    drawn: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    forward = OpenLICModel.forward

    def spy(self, x, k, **kw):
        drawn.append((k, kw.get("hyper_step_log2")))
        return forward(self, x, k, **kw)

    monkeypatch.setattr(OpenLICModel, "forward", spy)
    train_main(args(images, tmp_path / "off", 2))
    assert [s for _, s in drawn] == [None, None]
    drawn.clear()
    train_main([*args(images, tmp_path / "on", 6), "--hyper-step-anchors", "3"])
    k = torch.cat([k for k, _ in drawn])
    steps = torch.cat([s for _, s in drawn])
    assert set(steps[k < 3].tolist()) == set(HYPER_STEP_CHOICES)
    assert not steps[k >= 3].any()
