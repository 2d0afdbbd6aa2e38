"""The encoder on awkward input: clear errors or documented conversions, no debris.

Every failing ``openlic encode`` exits 1 with one line and leaves no output file; a
good output file is never replaced by a failed run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
import pytest
from PIL import Image

pytest.importorskip("torch")

from encoder import read_image  # noqa: E402
from openlic.cli import main  # noqa: E402

RNG = np.random.default_rng(5)
RGB = RNG.integers(0, 256, (20, 30, 3)).astype(np.uint8)


def run_encode(src: Path, dst: Path, capsys) -> tuple[int, str]:
    code = main(["encode", str(src), str(dst), "--quality", "10"])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.png", b""),
        ("text.png", b"this is not a picture\n" * 10),
        ("truncated.png", None),
    ],
)
def test_unreadable_input_fails_cleanly(tmp_path, capsys, name, content):
    src = tmp_path / name
    if content is None:
        Image.fromarray(RGB).save(src)
        src.write_bytes(src.read_bytes()[:60])
    else:
        src.write_bytes(content)
    dst = tmp_path / "out.olic"
    code, err = run_encode(src, dst, capsys)
    assert code == 1
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not dst.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left behind


def test_failed_run_keeps_the_old_output(tmp_path, capsys):
    good = tmp_path / "good.olic"
    good.write_bytes(b"previous content")
    src = tmp_path / "bad.png"
    src.write_bytes(b"")
    code, _ = run_encode(src, good, capsys)
    assert code == 1 and good.read_bytes() == b"previous content"


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "1"])
def test_modes_convert_to_rgb(tmp_path, mode):
    src = tmp_path / ("in.jpg" if mode == "CMYK" else "in.png")
    Image.fromarray(RGB).convert(mode).save(src)
    arr, depth = read_image(src)
    assert depth == 8 and arr.shape == (20, 30, 3) and arr.dtype == np.uint8
    want = np.asarray(Image.open(src).convert("RGB"))
    assert np.array_equal(arr, want)


def write_png16(path: Path, arr: np.ndarray, significant: int | None = None) -> None:
    h, w, _ = arr.shape
    kw = {"bitdepth": significant} if significant else {"bitdepth": 16}
    with open(path, "wb") as f:
        png.Writer(w, h, greyscale=False, **kw).write_array(f, arr.ravel())


def test_sixteen_bit_png_is_rounded_to_ten_bits(tmp_path):
    src = tmp_path / "in16.png"
    arr = RNG.integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    write_png16(src, arr)
    got, depth = read_image(src)
    assert depth == 10
    assert np.array_equal(got, (arr.astype(np.int64) * 1023 + 32767) // 65535)


def test_ten_bit_png_with_sbit_keeps_its_samples(tmp_path):
    src = tmp_path / "in10.png"
    arr = RNG.integers(0, 1024, (5, 7, 3)).astype(np.uint16)
    write_png16(src, arr, significant=10)
    got, depth = read_image(src)
    assert depth == 10 and np.array_equal(got, arr)


def test_one_by_one_picture_round_trips(tmp_path, capsys):
    src = tmp_path / "1x1.png"
    Image.fromarray(RGB[:1, :1]).save(src)
    assert run_encode(src, tmp_path / "1x1.olic", capsys)[0] == 0
    assert main(["decode", str(tmp_path / "1x1.olic"), str(tmp_path / "1x1.dec.png")]) == 0
    assert Image.open(tmp_path / "1x1.dec.png").size == (1, 1)


def test_picture_beyond_every_level_is_refused_before_encoding():
    from encoder import encode

    # A (1, 16385) view of a broadcast array: no memory is spent on it.
    wide = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (1, 16385, 3))
    with pytest.raises(ValueError, match="no level admits"):
        encode(wide, quality=10)
