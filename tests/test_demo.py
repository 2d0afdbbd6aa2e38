"""openlic.demo: the figures it prints, and a run where the codec is complete."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pytest

from openlic import demo
from openlic.cli import CliError

ROOT = Path(__file__).resolve().parents[1]


def test_psnr() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    assert demo.psnr(a, a, 8) == math.inf
    b = a.copy()
    b[0, 0, 0] = 255  # MSE = 255^2 / 48
    assert demo.psnr(a, b, 8) == pytest.approx(10 * math.log10(48))
    c = np.full((2, 2, 3), 1023, np.uint16)
    assert demo.psnr(c, c - 1, 10) == pytest.approx(20 * math.log10(1023))
    with pytest.raises(ValueError):
        demo.psnr(a, a[:2], 8)


def test_sample_picture_is_bundled() -> None:
    from PIL import Image

    with Image.open(demo.DEFAULT_IMAGE) as im:
        assert im.size == (768, 512)
        assert im.mode == "RGB"
    assert "CC0" in (ROOT / "samples" / "README.md").read_text(encoding="utf-8")


def test_report_lists_every_figure(tmp_path: Path) -> None:
    text = demo.report(
        {
            "image": tmp_path / "a.png",
            "width": 768,
            "height": 512,
            "bit_depth": 8,
            "quality": 3,
            "stream_path": tmp_path / "a.olic",
            "png_path": tmp_path / "b.png",
            "bytes": 12345,
            "bpp": 0.2512,
            "psnr": 31.416,
            "t_import": 1.0,
            "t_encode": 2.0,
            "t_decode": 3.0,
            "numba_cache": tmp_path,
        }
    )
    for fragment in (
        "768 x 512",
        "12,345 bytes",
        "0.2512 bits per pixel",
        "31.42 dB",
        "encode",
        "decode",
        "numba cache",
    ):
        assert fragment in text


def test_missing_picture_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CliError):
        demo.run(tmp_path / "none.png", tmp_path / "out", None)
    assert demo.main(["--image", str(tmp_path / "none.png"), "--out-dir", str(tmp_path)]) == 1


def test_demo_on_a_small_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    for module, attr in [
        ("encoder", "encode"),
        ("encoder", "read_image"),
        ("refdec", "decode"),
        ("refdec", "write_png"),
    ]:
        if not hasattr(importlib.import_module(module), attr):
            pytest.skip(f"{module}.{attr} is not written yet")
    if not list((ROOT / "refdec" / "data").glob("*.olp")):
        pytest.skip("no shipped parameter set in refdec/data yet")
    from PIL import Image

    small = tmp_path / "small.png"
    Image.open(demo.DEFAULT_IMAGE).crop((160, 32, 288, 128)).save(small)  # 128 x 96
    assert demo.main(["--image", str(small), "--out-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "bits per pixel" in out and "PSNR" in out
    assert (tmp_path / "out" / "demo.olic").stat().st_size > 0
    with Image.open(tmp_path / "out" / "demo.png") as im:
        assert im.size == (128, 96)
