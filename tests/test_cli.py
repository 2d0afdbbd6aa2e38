"""The openlic command: usage errors, I/O errors, exit codes, atomic output."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlic import __version__, cli
from openlic.atomic import atomic_path, atomic_write

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "seeding.png"


def needs(module: str, attr: str) -> None:
    """Skip unless ``module.attr`` exists (APIs that are still being written)."""
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        pytest.skip(f"{module} cannot be imported: {e}")
    if not hasattr(mod, attr):
        pytest.skip(f"{module}.{attr} is not written yet")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("openlic: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, err)


# -- help and usage ------------------------------------------------------------------


def test_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for word in ("encode", "decode", "info", "train", "exit codes"):
        assert word in out


@pytest.mark.parametrize("command", ["encode", "decode", "info"])
def test_subcommand_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert f"usage: openlic {command}" in out
    assert "exit codes" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"openlic {__version__}"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "missing command"),
        (("frobnicate",), "invalid choice"),
        (("decode",), "required"),
        (("decode", "a.olic"), "required"),
        (("decode", "a.olic", "b.png", "--max-bytes", "0"), "at least 1"),
        (("decode", "a.olic", "b.png", "--max-bytes", "ten"), "not an integer"),
        (("encode", "a.png", "b.olic", "--quality", "1", "--bpp", "1"), "not allowed"),
        (("encode", "a.png", "b.olic", "--bpp", "-1"), "positive"),
        (("encode", "a.png", "b.olic", "--quality", "-1"), "negative"),
        (("info", "a.olic", "--colour"), "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_1(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == cli.EXIT_USAGE
    assert out == ""
    assert_one_line_error(err, fragment)


# -- I/O errors ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["decode", "info"])
def test_missing_codestream_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "nothing.olic"
    args = [command, str(missing)] + ([str(tmp_path / "out.png")] if command == "decode" else [])
    code, _, err = run_cli(capsys, *args)
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "cannot read", "nothing.olic")
    assert not (tmp_path / "out.png").exists()


def test_codestream_is_a_directory_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "info", str(tmp_path))
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "cannot read")


def test_missing_picture_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "encode", str(tmp_path / "none.png"), str(tmp_path / "a.olic"))
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "none.png", "does not exist")
    assert not (tmp_path / "a.olic").exists()


def test_missing_params_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    stream = tmp_path / "a.olic"
    stream.write_bytes(b"\x89OLIC\r\n\x1a")
    code, _, err = run_cli(
        capsys, "decode", str(stream), str(tmp_path / "a.png"), "--params", "nope.olp"
    )
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "parameter set", "nope.olp")


def test_encode_without_torch_exit_1(tmp_path: Path) -> None:
    """encode says in one line that PyTorch is missing; no traceback."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from openlic.cli import main\n"
        f"sys.exit(main(['encode', {str(SAMPLE)!r}, {str(tmp_path / 'a.olic')!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == cli.EXIT_USAGE, proc.stderr
    assert_one_line_error(proc.stderr, "PyTorch", "openlic[train]")


def test_decoder_side_does_not_import_torch() -> None:
    """refdec and the decode/info commands work where PyTorch is not installed."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import refdec, refdec.errors, openlic.cli, openlic.atomic\n"
        "for name in ('refdec.decoder', 'refdec.codestream'):\n"
        "    try:\n"
        "        __import__(name)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name == 'torch': raise\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# -- invalid codestreams -----------------------------------------------------------------

GARBAGE = [
    pytest.param(b"", id="empty"),
    pytest.param(b"GIF89a" + bytes(100), id="not-openlic"),
    pytest.param(b"\x89OLIC\r\n\x1a", id="signature-only"),
    pytest.param(b"\x89OLIC\r\n\x1a\xff\x01\x00\x00\x00\x30" + bytes(20), id="truncated-ph"),
    pytest.param(bytes(range(256)) * 4, id="noise"),
]


@pytest.mark.parametrize("data", GARBAGE)
def test_decode_invalid_codestream_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes
) -> None:
    needs("refdec", "decode")
    stream, out = tmp_path / "bad.olic", tmp_path / "bad.png"
    stream.write_bytes(data)
    code, _, err = run_cli(capsys, "decode", str(stream), str(out))
    assert code == cli.EXIT_INVALID
    assert_one_line_error(err, "invalid codestream", "WD ")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [stream], "a temporary file was left behind"


@pytest.mark.parametrize("data", GARBAGE)
def test_info_invalid_codestream_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes
) -> None:
    needs("refdec", "info")
    stream = tmp_path / "bad.olic"
    stream.write_bytes(data)
    code, _, err = run_cli(capsys, "info", str(stream))
    assert code == cli.EXIT_INVALID
    assert_one_line_error(err, "invalid codestream", "WD ")


def test_decode_error_maps_to_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any refdec.errors.DecodeError gives exit 2 and one line naming the clause."""
    import refdec
    from refdec.errors import ChecksumError

    def fake_decode(data: bytes, **kwargs: object) -> None:
        raise ChecksumError("CRC mismatch\nsecond line", offset=42)

    monkeypatch.setattr(refdec, "decode", fake_decode, raising=False)
    monkeypatch.setattr(refdec, "write_png", lambda p, path: None, raising=False)
    stream = tmp_path / "a.olic"
    stream.write_bytes(b"x")
    code, _, err = run_cli(capsys, "decode", str(stream), str(tmp_path / "a.png"))
    assert code == cli.EXIT_INVALID
    assert_one_line_error(err, "WD 5.2", "byte 42", "CRC mismatch second line")


def test_internal_error_exit_3_with_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import refdec

    def broken(data: bytes) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(refdec, "info", broken, raising=False)
    stream = tmp_path / "a.olic"
    stream.write_bytes(b"x")
    code, _, err = run_cli(capsys, "info", str(stream))
    assert code == cli.EXIT_INTERNAL
    assert "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("openlic: error: internal error")


def test_missing_api_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import refdec

    monkeypatch.delattr(refdec, "info", raising=False)
    stream = tmp_path / "a.olic"
    stream.write_bytes(b"x")
    code, _, err = run_cli(capsys, "info", str(stream))
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "refdec.info is not available")


# -- info output -------------------------------------------------------------------------


def test_info_text_and_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import refdec

    info = {
        "size": 123,
        "header": {"width": 768, "height": 512, "parameter_set_hash": "ab" * 32},
        "segments": [
            {"offset": 8, "marker": "0xFF01", "name": "PH", "length": 59},
            {"offset": 79, "marker": "0xFF0F", "name": "EOC", "length": 0},
        ],
    }
    monkeypatch.setattr(refdec, "info", lambda data: info, raising=False)
    stream = tmp_path / "a.olic"
    stream.write_bytes(b"x")
    code, out, _ = run_cli(capsys, "info", str(stream))
    assert code == 0
    assert "width" in out and "768" in out and "PH" in out and "EOC" in out
    code, out, _ = run_cli(capsys, "info", str(stream), "--json")
    assert code == 0
    assert json.loads(out) == info


def test_format_info_handles_bytes_and_arrays() -> None:
    text = cli.format_info({"header": {"hash": b"\x01\x02"}, "v": [1, 2]})
    assert "0102" in text and "1 2" in text
    assert json.loads(json.dumps({"a": np.arange(3)}, default=cli._jsonable)) == {"a": [0, 1, 2]}


# -- the installed command -------------------------------------------------------------


def test_console_script_and_module() -> None:
    exe = Path(sys.executable).parent / "openlic"
    commands = [[sys.executable, "-m", "openlic", "--version"]]
    if exe.exists():
        commands.append([str(exe), "--version"])
    for cmd in commands:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"openlic {__version__}"


def test_console_script_usage_error_exit_1(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "openlic", "decode", str(tmp_path / "x.olic")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert_one_line_error(proc.stderr, "required")


# -- round trip (needs the encoder, the decoder and a shipped parameter set) -----------


def test_encode_decode_info_round_trip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("torch")
    for module, attr in [
        ("encoder", "encode"),
        ("encoder", "read_image"),
        ("refdec", "decode"),
        ("refdec", "write_png"),
        ("refdec", "info"),
    ]:
        needs(module, attr)
    if not list((ROOT / "refdec" / "data").glob("*.olp")):
        pytest.skip("no shipped parameter set in refdec/data yet")
    from PIL import Image

    small = tmp_path / "small.png"
    Image.open(SAMPLE).crop((200, 40, 296, 104)).save(small)  # 96 x 64
    stream, png = tmp_path / "small.olic", tmp_path / "small_dec.png"

    code, out, err = run_cli(capsys, "encode", str(small), str(stream))
    assert code == 0, err
    assert stream.stat().st_size > 0 and "bpp" in out
    code, out, err = run_cli(capsys, "decode", str(stream), str(png))
    assert code == 0, err
    decoded = np.asarray(Image.open(png))
    assert decoded.shape == (64, 96, 3)
    code, out, err = run_cli(capsys, "info", str(stream), "--json")
    assert code == 0, err
    json.loads(out)


@pytest.fixture
def sample_crop(tmp_path: Path) -> Path:
    """A 128 x 96 crop of the bundled sample picture, as PNG."""
    from PIL import Image

    small = tmp_path / "small.png"
    Image.open(SAMPLE).crop((200, 40, 328, 136)).save(small)
    return small


def test_encode_no_rdo_rounds_the_residuals(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_crop: Path
) -> None:
    pytest.importorskip("torch")
    small = sample_crop
    sizes = {}
    for name, extra in (("rdo", ()), ("round", ("--no-rdo",))):
        out = tmp_path / f"{name}.olic"
        args = ("encode", str(small), str(out), "--quality", "64", "--refine", "0", *extra)
        code, _, err = run_cli(capsys, *args)
        assert code == 0, err
        sizes[name] = out.stat().st_size
    assert sizes["rdo"] < sizes["round"]


def test_encode_hyper_step_is_written_and_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_crop: Path
) -> None:
    pytest.importorskip("torch")
    from refdec.codestream import parse_codestream

    sizes = {}
    for k in (0, 1):
        out = tmp_path / f"k{k}.olic"
        args = ("encode", str(sample_crop), str(out), "--quality", "20", "--refine", "0")
        code, _, err = run_cli(capsys, *args, "--hyper-step", str(k))
        assert code == 0, err
        assert parse_codestream(out.read_bytes()).header.hyper_step_log2 == k
        sizes[k] = out.stat().st_size
    assert sizes[1] < sizes[0]  # a coarser hyper-latent, fewer bits
    out = tmp_path / "k3.olic"
    code, _, err = run_cli(capsys, "encode", str(sample_crop), str(out), "--hyper-step", "3")
    assert code != 0 and "hyper_step_log2 must be 0, 1 or 2, got 3" in err
    assert not out.exists()


def test_encode_output_filter_is_sent_where_it_pays_and_can_be_left_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_crop: Path
) -> None:
    """WD 8.9, E.3.3: at a high quality the encoder adds an OF segment (openlic info
    lists it), --no-output-filter leaves it out."""
    pytest.importorskip("torch")
    filters = {}
    for name, extra in (("default", ()), ("off", ("--no-output-filter",))):
        out = tmp_path / f"{name}.olic"
        args = ("encode", str(sample_crop), str(out), "--quality", "230", "--refine", "0")
        code, _, err = run_cli(capsys, *args, *extra)
        assert code == 0, err
        code, text, err = run_cli(capsys, "info", str(out), "--json")
        assert code == 0, err
        info = json.loads(text)
        filters[name] = info["output_filter"]
        assert ("OF" in [s["name"] for s in info["segments"]]) == (filters[name] is not None)
    assert filters["default"] is not None and filters["default"]["classes"] >= 1
    assert filters["off"] is None


def test_encode_refine_shows_progress_and_decodes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample_crop: Path
) -> None:
    pytest.importorskip("torch")
    from encoder.pipeline import DEFAULT_REFINE

    small = sample_crop
    stream = tmp_path / "small.olic"
    code, out, err = run_cli(capsys, "encode", str(small), str(stream), "--refine", "8")
    assert code == 0, err
    assert "refining" in err and "/8" in err  # the progress bar, on stderr
    assert refdec_decode_shape(stream) == (96, 128, 3)
    code, out, err = run_cli(capsys, "encode", str(small), str(stream), "--refine", "8", "--quiet")
    assert code == 0 and out == "" and err == "", err
    code, _, err = run_cli(capsys, "encode", str(small), str(stream), "--refine", "-3")
    assert code != 0
    assert_one_line_error(err, "--refine", "must not be negative")
    # By default the encoder refines (with a bar); --refine 0 does not.
    code, _, err = run_cli(capsys, "encode", str(small), str(stream))
    assert code == 0 and "refining" in err and f"/{DEFAULT_REFINE}" in err, err
    default = stream.read_bytes()
    code, _, err = run_cli(capsys, "encode", str(small), str(stream), "--refine", "0")
    assert code == 0 and "refining" not in err, err
    assert stream.read_bytes() != default


def test_default_encoding_of_a_large_picture_shows_no_refinement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from PIL import Image

    import encoder.pipeline

    # Beyond the refinement limit (lowered here), the default encodes without a bar.
    monkeypatch.setattr(encoder.pipeline, "REFINE_MAX_PIXELS", 32 * 32)
    src = tmp_path / "in.png"
    Image.open(SAMPLE).crop((0, 0, 64, 64)).save(src)
    code, _, err = run_cli(capsys, "encode", str(src), str(tmp_path / "out.olic"))
    assert code == 0 and "refining" not in err, err


def refdec_decode_shape(stream: Path) -> tuple[int, ...]:
    import refdec

    return refdec.decode(stream.read_bytes()).samples.shape


# -- atomic output -----------------------------------------------------------------------


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "a.bin"
    dest.write_bytes(b"old")
    atomic_write(dest, b"new")
    assert dest.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [dest]
    umask = os.umask(0)
    os.umask(umask)
    assert dest.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_path_failure_keeps_old_file(tmp_path: Path) -> None:
    dest = tmp_path / "pic.png"
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png"
        tmp.write_bytes(b"partial")
        raise RuntimeError("writer failed")
    assert dest.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [dest]


def test_unwritable_output_exit_1(tmp_path: Path) -> None:
    with pytest.raises(cli.CliError) as e:
        cli._write_bytes(str(tmp_path / "no" / "such" / "dir.olic"), b"x")
    assert e.value.code == cli.EXIT_USAGE
    assert "cannot write" in str(e.value)


def test_encode_with_each_shipped_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``--model`` picks a shipped model: the codestream names its parameter set."""
    pytest.importorskip("torch")
    import hashlib

    from encoder.pipeline import shipped_models
    from refdec.codestream import parse_codestream
    from refdec.params import DATA_DIR

    assert "openlic-1" in shipped_models()
    for model in shipped_models():
        out = tmp_path / f"{model}.olic"
        code, _, err = run_cli(
            capsys, "encode", str(SAMPLE), str(out), "--model", model, "--quality", "40", "--quiet"
        )
        assert code == 0, err
        sha = hashlib.sha256((DATA_DIR / f"{model}.olp").read_bytes()).digest()
        assert parse_codestream(out.read_bytes()).header.parameter_set_hash == sha[:8]


def test_encode_unknown_model_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(
        capsys, "encode", str(SAMPLE), str(tmp_path / "a.olic"), "--model", "openlic-9"
    )
    assert code == cli.EXIT_USAGE
    assert_one_line_error(err, "no shipped model 'openlic-9'", "openlic-1")
    assert not (tmp_path / "a.olic").exists()
