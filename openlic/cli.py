"""The ``openlic`` command.

Subcommands::

    openlic encode IN.png OUT.olic [--quality Q | --bpp B] [--params FILE]
    openlic decode IN.olic OUT.png [--max-bytes N] [--params FILE]
    openlic info IN.olic [--json]
    openlic train ...            (the training loop of encoder.train)
    openlic bench rd|speed|decode|report|all ...   (benchmarks; see openlic.bench)
    openlic conformance run --decoder "CMD {input} {output}" | list   (WD Annex D)

Exit codes (also in ``openlic --help``):

* 0: success;
* 1: usage error, I/O error, or a component that is not installed (PyTorch for
  ``encode`` and ``train``);
* 2: the codestream is invalid or corrupt (the message names the WD clause);
* 3: internal error, that is a bug in OpenLIC: the traceback is printed.

``openlic conformance run`` exits with 2 when the decoder under test fails a case
(a result Fail, Error or Timeout), and with 0 when every case passes.

Every error of kind 1 or 2 is reported as one line ``openlic: error: ...`` on
standard error, without a traceback. Output files are written atomically: a failed
run leaves no partial file and does not touch an existing one.

The reference decoder does not need PyTorch: :mod:`encoder` is imported only by
``encode``, ``train`` and ``bench``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from openlic import __version__
from openlic.atomic import atomic_path, atomic_write

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  usage or I/O error, or a needed component is not installed
  2  invalid or corrupt codestream
  3  internal error (a bug; the traceback is printed)
"""


class CliError(Exception):
    """An error reported as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 1 and a one-line message on usage errors."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


# -- access to the codec components ---------------------------------------------------


def _require_torch() -> None:
    """Raise a :class:`CliError` if PyTorch cannot be imported (encode and train)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise CliError(
            "this command needs PyTorch, which is not installed; "
            "install the 'train' extra: pip install 'openlic[train]'"
        ) from None


def _require(module: str, attr: str) -> Callable[..., Any]:
    """``module.attr``, or a :class:`CliError` that says what is missing."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] == "torch":
            _require_torch()
        raise CliError(f"cannot import {module}: {e}") from None
    except ImportError as e:
        raise CliError(f"cannot import {module}: {e}") from None
    fn = getattr(mod, attr, None)
    if fn is None or inspect.ismodule(fn):
        raise CliError(f"{module}.{attr} is not available in this version of OpenLIC")
    return fn


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise CliError(f"cannot read '{path}': {e.strerror or e}") from None


def _existing_file(path: str | None, what: str) -> None:
    if path is not None and not Path(path).is_file():
        raise CliError(f"{what} '{path}' does not exist or is not a file")


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """A header field, whether the header is a mapping or an object."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


# -- subcommands -----------------------------------------------------------------------


def encode_file(
    src: str,
    dst: str,
    *,
    quality: int | None = None,
    bpp: float | None = None,
    params: str | None = None,
    refine: int | None = None,
    rdo: bool = True,
    hyper_step: int | None = None,
    output_filter: bool = True,
    progress: bool = False,
) -> tuple[bytes, Any, int]:
    """Encode the picture file ``src`` to the codestream file ``dst``.

    ``refine`` sets the steps of latent refinement (WD E.3.1; None: the encoder's
    default, 0: none), with a progress bar on stderr when ``progress``; ``rdo`` False
    rounds the residuals instead of choosing them by rate and distortion (WD E.3.2);
    ``hyper_step`` is ``hyper_step_log2`` (WD 7.2; None: the encoder's default);
    ``output_filter`` False leaves out the output filter (WD 8.9, E.3.3).
    Returns the codestream, the picture array and its bit depth.
    """
    _existing_file(src, "input picture")
    _existing_file(params, "parameter set")
    _require_torch()
    read_image = _require("encoder", "read_image")
    encode = _require("encoder", "encode")
    kwargs: dict[str, Any] = {}
    if quality is not None:
        kwargs["quality"] = quality
    if bpp is not None:
        kwargs["bpp"] = bpp
    if params is not None:
        if not _accepts(encode, "params_path"):
            raise CliError("this version of the encoder does not support --params")
        kwargs["params_path"] = params
    if refine is not None:
        if not _accepts(encode, "refine_iterations"):
            raise CliError("this version of the encoder does not support --refine")
        kwargs["refine_iterations"] = refine
    if not rdo:
        if not _accepts(encode, "rdo"):
            raise CliError("this version of the encoder does not support --no-rdo")
        kwargs["rdo"] = False
    if hyper_step is not None:
        if not _accepts(encode, "hyper_step_log2"):
            raise CliError("this version of the encoder does not support --hyper-step")
        kwargs["hyper_step_log2"] = hyper_step
    if not output_filter:
        if not _accepts(encode, "output_filter"):
            raise CliError("this version of the encoder does not support --no-output-filter")
        kwargs["output_filter"] = False
    try:
        image, bit_depth = read_image(src)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read picture '{src}': {e}") from None
    bar = None
    if progress and refine != 0:
        from tqdm import tqdm

        from encoder.pipeline import DEFAULT_REFINE

        def refined(steps: int) -> None:
            # Opened at the first step, so that an encoding the encoder does not refine
            # (a picture beyond its size limit) shows no bar. A search for --bpp refines
            # at several qualities: its total is not known.
            nonlocal bar
            if bar is None:
                total = (DEFAULT_REFINE if refine is None else refine) if bpp is None else None
                bar = tqdm(total=total, desc="refining", unit="step", dynamic_ncols=True,
                           leave=False)
            bar.update(steps)

        kwargs["progress"] = refined
    try:
        data = encode(image, bit_depth=bit_depth, **kwargs)
    except ValueError as e:
        raise CliError(f"cannot encode '{src}': {e}") from None
    finally:
        if bar is not None:
            bar.close()
    _write_bytes(dst, data)
    return data, image, bit_depth


def decode_file(
    src: str,
    dst: str,
    *,
    max_bytes: int | None = None,
    params: str | None = None,
) -> Any:
    """Decode the codestream file ``src`` to the PNG file ``dst``; return the picture."""
    _existing_file(params, "parameter set")
    data = _read_bytes(src)
    decode = _require("refdec", "decode")
    write_png = _require("refdec", "write_png")
    kwargs: dict[str, Any] = {}
    if max_bytes is not None:
        kwargs["max_bytes"] = max_bytes
    if params is not None:
        kwargs["params_path"] = params
    picture = decode(data, **kwargs)
    _write_with(dst, lambda tmp: write_png(picture, tmp))
    return picture


def _write_bytes(dst: str, data: bytes) -> None:
    try:
        atomic_write(dst, data)
    except OSError as e:
        raise CliError(f"cannot write '{dst}': {e.strerror or e}") from None


def _write_with(dst: str, writer: Callable[[Path], Any]) -> None:
    """Call ``writer(tmp)`` and move ``tmp`` to ``dst`` once it has succeeded."""
    try:
        with atomic_path(dst) as tmp:
            writer(tmp)
    except OSError as e:
        raise CliError(f"cannot write '{dst}': {e.strerror or e}") from None


def _shipped_params(model: str | None) -> str | None:
    """The parameter file of the shipped model ``model`` (``--model``), if given: a
    parameter set of refdec with the encoder's weights for it (the test parameter set of
    the conformance suite has none)."""
    if model is None:
        return None
    from refdec.params import DATA_DIR

    weights = Path(__file__).resolve().parents[1] / "encoder" / "weights"
    names = sorted(p.stem for p in DATA_DIR.glob("*.olp") if (weights / f"{p.stem}.pt").is_file())
    if model not in names:
        raise CliError(f"no shipped model '{model}' (shipped: {', '.join(names)})")
    return str(DATA_DIR / f"{model}.olp")


def _cmd_encode(args: argparse.Namespace) -> int:
    if args.model and args.params:
        raise CliError("give either --model or --params, not both")
    data, image, bit_depth = encode_file(
        args.input,
        args.output,
        quality=args.quality,
        bpp=args.bpp,
        params=args.params or _shipped_params(args.model),
        refine=args.refine,
        rdo=args.rdo,
        hyper_step=args.hyper_step,
        output_filter=args.output_filter,
        progress=not args.quiet,
    )
    if not args.quiet:
        h, w = image.shape[:2]
        print(
            f"{args.output}: {len(data)} bytes, {8 * len(data) / (w * h):.4f} bpp "
            f"({w}x{h}, {bit_depth} bits)"
        )
    return EXIT_OK


def _cmd_decode(args: argparse.Namespace) -> int:
    picture = decode_file(args.input, args.output, max_bytes=args.max_bytes, params=args.params)
    if not args.quiet:
        h, w = picture.samples.shape[:2]
        print(f"{args.output}: {w}x{h}, {picture.bit_depth} bits")
    return EXIT_OK


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__dict__"):
        return vars(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def format_info(info: dict[str, Any]) -> str:
    """Human-readable form of :func:`refdec.info`'s dictionary."""
    lines: list[str] = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            width = max((len(str(k)) for k in value), default=0)
            for k, v in value.items():
                lines.append(f"  {str(k):<{width}}  {_plain(v)}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key}: {len(value)}")
            cols: list[str] = []
            for row in value:
                cols += [c for c in row if c not in cols]
            cells = [[_plain(row.get(c, "")) for c in cols] for row in value]
            widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
            lines.append("  " + "  ".join(c.ljust(wd) for c, wd in zip(cols, widths)).rstrip())
            for r in cells:
                lines.append("  " + "  ".join(x.ljust(wd) for x, wd in zip(r, widths)).rstrip())
        else:
            lines.append(f"{key}: {_plain(value)}")
    return "\n".join(lines)


def _plain(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return " ".join(_plain(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, default=_jsonable)
    return str(v)


def _cmd_info(args: argparse.Namespace) -> int:
    data = _read_bytes(args.input)
    info = _require("refdec", "info")(data)
    if args.json:
        print(json.dumps(info, indent=2, default=_jsonable))
    else:
        print(format_info(info))
    return EXIT_OK


def _cmd_train(argv: list[str]) -> int:
    _require_torch()
    train_main = _require("encoder.train", "main")
    try:
        return int(train_main(argv) or 0)
    except SystemExit as e:
        # argparse in encoder.train exits with 2 on usage errors: that is our code 1.
        if e.code in (None, 0):
            return EXIT_OK
        return EXIT_USAGE if e.code == 2 or not isinstance(e.code, int) else e.code


# -- bench -------------------------------------------------------------------------------

DEFAULT_RESULTS = "docs/results"
DEFAULT_PAGE = "docs/results.rst"
DEFAULT_CACHE = "out/bench-cache"


def _bench_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a benchmark function, turning its :class:`BenchError` into a one-line error."""
    from openlic.bench import BenchError

    try:
        return fn(*args, **kwargs)
    except BenchError as e:
        raise CliError(str(e)) from None


def _bench_images(args: argparse.Namespace) -> list[Path]:
    from openlic.bench.rd import list_images

    return _bench_call(list_images, args.images, args.limit)


def _log(message: str) -> None:
    print(f"openlic bench: {message}", file=sys.stderr)


def _machine() -> dict:
    from openlic.bench.machine import describe

    return describe()


def _bench_codecs(
    args: argparse.Namespace, default: Sequence[str] | None = None, **openlic_kwargs: Any
) -> list:
    """The codecs of ``--codecs`` (by default ``default``, or all); OpenLIC with
    ``--params``, ``--refine`` and ``openlic_kwargs``."""
    from openlic.bench import codecs as bcodecs

    names = default or bcodecs.ALL
    if args.codecs:
        names = [c.strip() for c in args.codecs.split(",")]
    openlic_kwargs["params_path"] = Path(args.params) if args.params else None
    if args.refine is not None:
        openlic_kwargs["refine_iterations"] = args.refine
    return [
        _bench_call(bcodecs.make_codec, n, **openlic_kwargs) if n.startswith("openlic")
        else _bench_call(bcodecs.make_codec, n)
        for n in names
    ]


def _bench_rd(args: argparse.Namespace, *, write: bool = True) -> dict:
    _require_torch()
    from openlic.bench import plots, rd

    _existing_file(args.params, "parameter set")
    _existing_file(args.float_checkpoint, "float checkpoint")
    _existing_file(getattr(args, "compare", None), "results file")
    _existing_file(args.reuse, "results file")
    reuse = json.loads(_read_bytes(args.reuse)) if args.reuse else None
    images = _bench_images(args)
    extra: dict[str, Any] = {
        "float_checkpoint": Path(args.float_checkpoint) if args.float_checkpoint else None,
    }
    if args.qualities:
        extra["qualities"] = args.qualities
    codecs = _bench_codecs(args, **extra)
    cache = rd.ResultCache(None if args.no_cache else Path(args.cache))
    results = _bench_call(
        rd.run_rd, images, codecs, cache=cache, progress=not args.no_progress, log=_log,
        machine=_machine(), folder=str(args.images), reuse=reuse,
    )
    print(rd.summary(results))
    compare_to = getattr(args, "compare", None)
    out = args.out if args.out is not None else (None if compare_to else DEFAULT_RESULTS)
    if out is not None and write:
        rd.write_json(results, Path(out) / "rd.json")
        _bench_call(plots.plot_rd, results, Path(out))
        _log(f"wrote {Path(out) / 'rd.json'} and the RD figures")
    if compare_to:
        old = json.loads(_read_bytes(compare_to))
        lines, ok = rd.compare(results, old)
        print(f"compared with {compare_to}:")
        print("\n".join("  " + x for x in lines))
        if not ok:
            raise CliError(f"the results differ from {compare_to} beyond the tolerance")
    return results


def _bench_speed(args: argparse.Namespace, *, decode_only: bool = False) -> dict:
    _require_torch()
    from openlic.bench import rd, speed

    _existing_file(args.params, "parameter set")
    images = _bench_images(args)
    results = _bench_call(
        speed.run_speed, images, quality=args.quality,
        params_path=Path(args.params) if args.params else None,
        encode_timing=not decode_only, memory=not decode_only and not args.no_memory,
        large_size=0 if decode_only else args.large_size,
        repeat=args.repeat, refine_iterations=0 if decode_only else args.refine,
        progress=not args.no_progress, log=_log, machine=_machine(),
    )
    print(speed.summary_text(results))
    out = Path(args.out if args.out is not None else DEFAULT_RESULTS)
    name = "decode.json" if decode_only else "speed.json"
    rd.write_json(results, out / name)
    _log(f"wrote {out / name}")
    return results


DEFAULT_COMPARE_PICTURE = "kodim23.png"
DEFAULT_COMPARE_BPP = 0.25


def _bench_compare(args: argparse.Namespace) -> dict:
    _require_torch()
    from openlic.bench import codecs as bcodecs
    from openlic.bench.compare import run_compare

    _existing_file(args.params, "parameter set")
    images = _bench_images(args)
    wanted = getattr(args, "picture", None)
    picture = next((p for p in images if p.name == (wanted or DEFAULT_COMPARE_PICTURE)), None)
    if picture is None:
        if wanted:
            raise CliError(f"no picture '{wanted}' in '{args.images}'")
        picture = images[0]
    # OpenLIC at matched rates is OpenLIC again: the comparison codes each codec at the
    # target rate anyway.
    codecs = _bench_codecs(args, [n for n in bcodecs.ALL if n != "openlic-matched"])
    out = Path(args.out if args.out is not None else DEFAULT_RESULTS)
    result = _bench_call(
        run_compare, picture, codecs, getattr(args, "bpp", None) or DEFAULT_COMPARE_BPP, out,
        crop=tuple(args.crop) if getattr(args, "crop", None) else None, log=_log,
    )
    _log(f"wrote {out / 'compare.json'} and {out / 'compare.png'}")
    return result


def _bench_report(args: argparse.Namespace) -> None:
    from openlic.bench import plots, report

    out = Path(args.out if args.out is not None else DEFAULT_RESULTS)
    rd_json = report.load(out / "rd.json")
    if rd_json is None and report.load(out / "speed.json") is None:
        raise CliError(f"no results in '{out}': run 'openlic bench rd' or 'bench speed' first")
    if rd_json is not None and not getattr(args, "no_plots", False):
        _bench_call(plots.plot_rd, rd_json, out)
    report.write_page(out, Path(args.page))
    _log(f"wrote {args.page}")


def _cmd_bench(args: argparse.Namespace) -> int:
    what = args.bench_command
    if what is None:
        raise CliError(
            "missing bench command: choose rd, speed, decode, compare, report or all "
            "(see 'openlic bench --help')"
        )
    if what == "rd":
        _bench_rd(args)
    elif what == "speed":
        _bench_speed(args)
    elif what == "decode":
        _bench_speed(args, decode_only=True)
    elif what == "compare":
        _bench_compare(args)
    elif what == "report":
        _bench_report(args)
    else:  # all
        _bench_rd(args)
        _bench_compare(args)
        _bench_speed(args)
        args.no_plots = True  # bench rd has just drawn them
        _bench_report(args)
    return EXIT_OK


# -- argument parsing ----------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return v


def _nonnegative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(
        prog="openlic",
        description="OpenLIC learned image codec: encoder, reference decoder and tools.",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    p.add_argument("--version", action="version", version=f"openlic {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    e = sub.add_parser(
        "encode",
        help="encode a PNG picture into an OpenLIC codestream (needs PyTorch)",
        description="Encode a PNG picture (RGB or grey, 8 or 16 bits per sample) into an "
        "OpenLIC codestream with the training encoder. Needs the 'train' extra (PyTorch).",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    e.add_argument("input", metavar="IN", help="input picture (PNG)")
    e.add_argument("output", metavar="OUT", help="output codestream (.olic)")
    rate = e.add_mutually_exclusive_group()
    rate.add_argument(
        "--quality",
        type=_nonnegative_int,
        metavar="Q",
        help="quality index 0..Q-1 of the parameter set (higher: more bits); "
        "default: the encoder's default",
    )
    rate.add_argument(
        "--bpp",
        type=_positive_float,
        metavar="B",
        help="target rate in bits per pixel; the encoder picks the quality",
    )
    e.add_argument(
        "--refine",
        type=_nonnegative_int,
        default=None,
        metavar="N",
        help="refine the latent for the picture with N descent steps of the float "
        "decoder (WD E.3.1): smaller files at the same PSNR, slower; 0 turns it off "
        "(about 4 times faster, files about 3 %% larger); default: the encoder's "
        "default (8 steps, for pictures up to 4 megapixels)",
    )
    e.add_argument(
        "--no-rdo",
        dest="rdo",
        action="store_false",
        help="without refinement (--refine 0), round the residuals to the nearest "
        "integer instead of choosing them by rate and distortion (WD E.3.2; about 2 %% "
        "larger files at the same PSNR); a refined latent is always rounded",
    )
    e.add_argument(
        "--hyper-step",
        type=_nonnegative_int,
        default=None,
        metavar="K",
        help="code the hyper-latent with the step 2^K, K = 0, 1 or 2 (WD 7.2, 8.3: "
        "fewer bits for the hyper-latent, less precise predictions of the latent); "
        "default: the encoder chooses 0 or 1 for the picture by its rate-distortion cost",
    )
    e.add_argument(
        "--no-output-filter",
        dest="output_filter",
        action="store_false",
        help="do not add the output filter (WD 8.9, E.3.3), which the encoder otherwise "
        "fits to the picture and sends where it saves more than its bytes cost",
    )
    e.add_argument(
        "--model",
        metavar="NAME",
        help="shipped model to encode with (the models with encoder weights in "
        "encoder/weights); default: openlic-1",
    )
    e.add_argument(
        "--params", metavar="FILE", help="parameter set (.olp) with its weights (.pt) beside it"
    )
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    e.set_defaults(func=_cmd_encode)

    d = sub.add_parser(
        "decode",
        help="decode an OpenLIC codestream into a PNG picture with the reference decoder",
        description="Decode an OpenLIC codestream with the reference decoder (refdec) and "
        "write the picture as PNG (8 or 16 bits per sample).",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    d.add_argument("input", metavar="IN", help="input codestream (.olic)")
    d.add_argument("output", metavar="OUT", help="output picture (PNG)")
    d.add_argument(
        "--max-bytes",
        type=_positive_int,
        metavar="N",
        help="decode only the prefix codestream within the first N bytes (WD 8.1)",
    )
    d.add_argument("--params", metavar="FILE", help="parameter set (.olp); default: shipped")
    d.add_argument("--quiet", action="store_true", help="print nothing on success")
    d.set_defaults(func=_cmd_decode)

    i = sub.add_parser(
        "info",
        help="print the picture header and the segments of a codestream",
        description="Print the picture header and the list of segments of an OpenLIC "
        "codestream.",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    i.add_argument("input", metavar="IN", help="input codestream (.olic)")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=_cmd_info)

    # Listed for the help text; main() hands "train ..." to encoder.train unparsed.
    sub.add_parser(
        "train",
        help="train the model (needs PyTorch; 'openlic train --help' for its options)",
        add_help=False,
    )
    _add_bench_parser(sub, fmt)
    _add_conformance_parser(sub, fmt)
    return p


# -- conformance -------------------------------------------------------------------------


def _add_conformance_parser(sub: Any, fmt: type) -> None:
    c = sub.add_parser(
        "conformance",
        help="test a decoder against the conformance suite (WD Annex D)",
        description="Test a decoder against the conformance suite (WD Annex D): 'run' "
        "runs a decoder on every case and reports Pass, Fail, Error, Timeout or "
        "NotSupported per case; 'list' lists the cases.",
        epilog=importlib.import_module("conformance.runner").COMMAND_HELP,
        formatter_class=fmt,
    )
    importlib.import_module("conformance.runner").add_arguments(c, _Parser)
    c.set_defaults(func=_cmd_conformance)


def _cmd_conformance(args: argparse.Namespace) -> int:
    runner = importlib.import_module("conformance.runner")
    try:
        return runner.command(args)
    except runner.UsageError as e:
        raise CliError(str(e)) from None


def _quality_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"need non-negative integers: {text!r}")
    return values


def _add_bench_parser(sub: Any, fmt: type) -> None:
    b = sub.add_parser(
        "bench",
        help="benchmarks: rate-distortion against other codecs, speed (needs PyTorch)",
        description="Benchmarks of OpenLIC. 'rd': rate-distortion against the classical "
        "codecs installed here and BD-rates; 'speed': encoder and decoder speed, "
        "complexity and memory; 'decode': the decoder part of 'speed'; 'compare': one "
        "picture coded by every codec at one rate, side by side; 'report': regenerate "
        "the results page of the documentation from the JSON results; 'all': rd, "
        "compare, speed and report in one go (what scripts/bench.sh runs). Needs the "
        "'train' and 'bench' extras.",
        epilog=EXIT_CODES_HELP,
        formatter_class=fmt,
    )
    bsub = b.add_subparsers(dest="bench_command", metavar="BENCH", parser_class=_Parser)
    b.set_defaults(func=_cmd_bench, bench_command=None)

    def common(p: argparse.ArgumentParser, *, images: bool = True) -> None:
        if images:
            p.add_argument("--images", required=True, metavar="DIR",
                           help="folder of 8-bit RGB PNG pictures (e.g. Kodak)")
            p.add_argument("--limit", type=_positive_int, metavar="N",
                           help="use only the first N pictures (in name order)")
            p.add_argument("--params", metavar="FILE",
                           help="OpenLIC parameter set (.olp, encoder weights .pt beside "
                           "it); default: shipped")
            p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.add_argument("--out", metavar="DIR", default=None,
                       help=f"folder of the JSON results and figures (default: "
                       f"{DEFAULT_RESULTS})")

    def rd_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--codecs", metavar="LIST",
                       help="comma-separated codecs (default: all): openlic, openlic-matched "
                       "(OpenLIC at the JPEG AI rates by its rate control), jpeg, "
                       "jpeg2000, webp, avif, jpegxl, hevc")
        p.add_argument("--qualities", type=_quality_list, metavar="Q1,Q2,...",
                       help="OpenLIC quality indices (default: 0,32,...,224,255)")
        p.add_argument("--float-checkpoint", metavar="CKPT",
                       help="float training checkpoint the parameter set was exported "
                       "from: adds the float model's curves and the quantisation loss")
        p.add_argument("--refine", type=_nonnegative_int, default=None, metavar="N",
                       help="refine the latent with N descent steps, as openlic encode "
                       "--refine N (default: the encoder's default); unless 0, the "
                       "encoder without refinement is measured too")
        p.add_argument("--cache", metavar="DIR", default=DEFAULT_CACHE,
                       help=f"result cache, to resume a run (default: {DEFAULT_CACHE})")
        p.add_argument("--no-cache", action="store_true", help="use no result cache")
        p.add_argument("--reuse", metavar="JSON",
                       help="an earlier rd.json: take its results where it measured the "
                       "same codec (settings, versions, code) on the same picture")

    def speed_options(p: argparse.ArgumentParser, *, memory: bool = True) -> None:
        p.add_argument("--quality", type=_nonnegative_int, metavar="Q",
                       help="OpenLIC quality index (default: the encoder's default)")
        p.add_argument("--repeat", type=_positive_int, default=1, metavar="R",
                       help="time each picture R times and keep the best (default 1)")
        if memory:
            p.add_argument("--no-memory", action="store_true",
                           help="skip the peak-memory measurement (fresh processes)")
            p.add_argument("--large-size", type=_nonnegative_int, default=8192, metavar="N",
                           help="also measure the peak memory of decoding a synthetic N x N "
                           "codestream (default 8192; 0: skip)")

    r = bsub.add_parser(
        "rd", help="rate-distortion against other codecs, BD-rates, figures",
        description="Code every picture with OpenLIC over its quality range and with "
        "every classical codec installed here (others are skipped with a message); "
        "write rd.json and the RD figures into --out.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(r)
    rd_options(r)
    r.add_argument("--compare", metavar="JSON",
                   help="compare with an earlier rd.json (e.g. docs/results/rd.json); "
                   "writes nothing unless --out is given; exit 1 beyond the tolerance")
    s = bsub.add_parser(
        "speed", help="encoder and decoder speed, kMAC/px, memory, float32 ratio",
        description="Encode and decode every picture at one quality; write speed.json.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(s)
    speed_options(s)
    s.add_argument("--refine", type=_nonnegative_int, default=None, metavar="N",
                   help="time the encoder with N refinement steps, as openlic encode "
                   "--refine N (default: the encoder's default); unless 0, the encoder "
                   "without refinement is timed and probed too")
    d = bsub.add_parser(
        "decode", help="decoder speed only: s/picture, MP/s, GMAC/s, float32 ratio",
        description="Decode every picture (coded first, untimed) with refdec after JIT "
        "caching; write decode.json.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(d)
    speed_options(d, memory=False)
    c = bsub.add_parser(
        "compare", help="one picture coded by every codec at one rate, side by side",
        description="Code one picture of --images with OpenLIC and every classical codec "
        "installed here at the largest rate each reaches without exceeding --bpp; write "
        "compare.json and compare.png (the region --crop of every decoded picture beside "
        "the original) into --out.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(c)
    c.add_argument("--picture", metavar="NAME",
                   help=f"file name of the picture in --images (default: "
                   f"{DEFAULT_COMPARE_PICTURE} if there, else the first)")
    c.add_argument("--bpp", type=_positive_float, default=DEFAULT_COMPARE_BPP, metavar="B",
                   help=f"target rate, whole file (default {DEFAULT_COMPARE_BPP})")
    c.add_argument("--crop", type=_nonnegative_int, nargs=4, metavar=("X", "Y", "W", "H"),
                   help="region shown (default: 256 x 256 at the centre)")
    c.add_argument("--codecs", metavar="LIST",
                   help="comma-separated codecs (default: all): openlic, jpeg, jpeg2000, "
                   "webp, avif, jpegxl, hevc")
    c.add_argument("--refine", type=_nonnegative_int, default=None, metavar="N",
                   help="OpenLIC refinement steps, as openlic encode --refine N (default: "
                   "the encoder's default)")
    rp = bsub.add_parser(
        "report", help="regenerate the results page from the JSON results",
        description="Draw the RD figures and write the results page from rd.json and "
        "speed.json in --out.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(rp, images=False)
    rp.add_argument("--page", default=DEFAULT_PAGE, metavar="FILE",
                    help=f"page to write (default: {DEFAULT_PAGE})")
    a = bsub.add_parser(
        "all", help="rd, compare, speed and report in one go (scripts/bench.sh)",
        description="Run 'bench rd', 'bench compare' (with its defaults) and 'bench speed' "
        "and regenerate the results page.",
        epilog=EXIT_CODES_HELP, formatter_class=fmt,
    )
    common(a)
    rd_options(a)
    speed_options(a)
    a.add_argument("--page", default=DEFAULT_PAGE, metavar="FILE",
                   help=f"page to write (default: {DEFAULT_PAGE})")


def _report(message: str) -> None:
    print(f"openlic: error: {' '.join(str(message).split())}", file=sys.stderr)


def _is_decode_error(exc: BaseException) -> bool:
    errors = sys.modules.get("refdec.errors")
    return errors is not None and isinstance(exc, errors.DecodeError)


def run_guarded(fn: Callable[[], int]) -> int:
    """Run ``fn`` and turn exceptions into the documented exit codes."""
    try:
        return fn()
    except CliError as e:
        _report(str(e))
        return e.code
    except KeyboardInterrupt:
        print("openlic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:
        if _is_decode_error(e):
            _report(f"invalid codestream: {e}")
            return EXIT_INVALID
        traceback.print_exc()
        _report(f"internal error (please report this bug): {type(e).__name__}: {e}")
        return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``openlic`` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)

    def run() -> int:
        if args_list[:1] == ["train"]:
            return _cmd_train(args_list[1:])
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            raise CliError(
                "missing command: choose encode, decode, info, train, bench or conformance "
                "(see 'openlic --help')"
            )
        return args.func(args)

    try:
        return run_guarded(run)
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
