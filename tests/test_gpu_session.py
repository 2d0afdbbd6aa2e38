"""``tools/gpu_session.py``: what travels to a device machine fits, what comes back
fits, and the weights that come back resume a run here."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from encoder.train import main as train_main  # noqa: E402
from tests.test_train import TINY  # noqa: E402
from tools import gpu_session  # noqa: E402


@pytest.fixture()
def bank(tmp_path):
    path = tmp_path / "bank.npy"
    rng = np.random.default_rng(0)
    np.save(path, rng.integers(0, 256, (12, 256, 256, 3), dtype=np.uint8))
    return path


@pytest.fixture()
def val(tmp_path):
    path = tmp_path / "val.png"
    Image.fromarray(np.full((64, 96, 3), 100, np.uint8)).save(path)
    return path


def test_prepare_fills_what_the_transfer_leaves_and_ignores_it(tmp_path, bank, val, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "big.bin").write_bytes(bytes(1 << 20))
    # 4.25 MiB less the tree (1 MiB) and the margin (2 MiB) leave room for about 8 of
    # the 12 patches (160 KB each: noise).
    monkeypatch.setattr(gpu_session, "TRANSFER_BYTES", (4 << 20) + (1 << 18))
    count, size = gpu_session.prepare(bank, [val], repo)
    assert 0 < count < 12
    assert size <= gpu_session.TRANSFER_BYTES - (1 << 20) - gpu_session.MARGIN_BYTES
    assert (repo / "gpu" / "val" / "val.png").is_file()
    # git ignores the folder, so it travels only when a call carries it.
    assert gpu_session.travelling_bytes(repo) == 1 << 20


def test_parts_stay_under_their_size_and_join_into_the_moving_average(tmp_path):
    weights = {f"t{i}": torch.full((1000,), float(i)) for i in range(5)}
    state = {"config": {"m": 1}, "model": {}, "ema": weights, "step": 7}
    paths = gpu_session.write_parts(state, tmp_path, part_bytes=8000)
    assert len(paths) == 3  # 4,000 bytes a tensor, two to a part
    joined = gpu_session.join(tmp_path, tmp_path / "joined.pt")
    assert joined["step"] == 7 and joined["config"] == {"m": 1}
    assert all(torch.equal(joined["model"][k], v) for k, v in weights.items())
    with pytest.raises(SystemExit):
        gpu_session.write_parts(state, tmp_path, part_bytes=1000)


def test_train_there_and_resume_here(tmp_path, bank, val, monkeypatch):
    folder = tmp_path / "gpu"
    (folder / "val").mkdir(parents=True)
    Image.open(val).save(folder / "val" / "val.png")
    assert gpu_session.pack(bank, folder / "pack.zip", 1 << 30, quality=95, seed=0) == 12
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("OUT", str(out))
    # One step (--minutes 0) of a tiny model on the CPU, as the device would run it.
    options = ["--model-config", TINY, "--batch", "2", "--crop", "64", "--device", "cpu"]
    argv = ["train", "--folder", str(folder), "0", "--", *options]
    assert gpu_session.main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["log.jsonl", "weights-0.pt"]
    gpu_session.join(out, tmp_path / "joined.pt")
    resumed = tmp_path / "resumed"
    argv = ["--bank", str(folder / "bank.npy"), "--out", str(resumed), "--steps", "2"]
    argv += ["--resume", str(tmp_path / "joined.pt"), *options, "--no-progress"]
    assert train_main(argv) == 0
    assert torch.load(resumed / "last.pt", weights_only=False)["step"] == 2
