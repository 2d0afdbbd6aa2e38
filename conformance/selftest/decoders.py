"""Decoders for the self-tests of the conformance runner, most of them wrong on purpose.

Each is a function ``fn(data, prefix) -> (samples, bit_depth)`` for the in-process
runner (:class:`conformance.runner.PythonDecoder`) and a mode of the command line::

    python -m conformance.selftest.decoders MODE IN OUT [--max-bytes N]

which writes ``OUT`` as PNG, or as ``.npy`` samples when its name ends in ``.npy``, and
exits with status 1 (without writing ``OUT``) when it rejects the codestream. Modes:

``reference``      the reference decoder: passes every case.
``off-by-one``     one sample, in the middle of the picture, is off by one.
``crop``           crops the synthesis output from its centre, not its top-left corner:
                   right size, wrong samples unless the size is a multiple of 16.
``ignore-10bit``   outputs every picture as 8-bit (10-bit samples shifted right by 2).
``accept-corrupt`` outputs a grey picture instead of rejecting a codestream.
``timeout``        never finishes.
``crash``          dies from a signal (SIGABRT).
``float``          floating-point reconstruction (float64): fails the exact class,
                   passes the tolerance class.
``float32``        the same in float32.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

Decoded = tuple[np.ndarray, int]


def _max_bytes(data: bytes, prefix: bool) -> int | None:
    return len(data) if prefix else None


def reference(data: bytes, prefix: bool) -> Decoded:
    import refdec

    p = refdec.decode(data, max_bytes=_max_bytes(data, prefix))
    return p.samples, p.bit_depth


def off_by_one(data: bytes, prefix: bool) -> Decoded:
    samples, bd = reference(data, prefix)
    s = samples.copy()
    y, x = s.shape[0] // 2, s.shape[1] // 2
    s[y, x, 1] = s[y, x, 1] - 1 if s[y, x, 1] > 0 else 1
    return s, bd


def crop(data: bytes, prefix: bool) -> Decoded:
    """The decoding process with a wrong step 8.8: a centred crop."""
    from refdec.codestream import parse_codestream
    from refdec.decoder import decode_latent
    from refdec.entropy import decode_stream
    from refdec.hyper import hyper_symbol_tables, hyper_synthesis
    from refdec.output import to_samples
    from refdec.params import find_parameter_set
    from refdec.synthesis import synthesis

    parsed = parse_codestream(data, max_bytes=_max_bytes(data, prefix))
    hdr = parsed.header
    params = find_parameter_set(hdr.parameter_set_hash)
    parsed.check_against(params)
    hz, wz = hdr.hyper_height, hdr.hyper_width
    k = hdr.hyper_step_log2
    z = decode_stream(parsed.z_stream, hyper_symbol_tables(params, hz, wz, k))
    mean_fp, ls_fp = hyper_synthesis(
        z.reshape(params.mz, hz, wz), params, hdr.latent_height, hdr.latent_width, k
    )
    _, y_in = decode_latent(parsed, params, mean_fp, ls_fp)
    x_fp = synthesis(y_in, list(params.gs))
    full_h, full_w = x_fp.shape[:2]
    full = to_samples(x_fp, params.f_out, hdr.bit_depth, full_w, full_h)
    y0, x0 = (full_h - hdr.height) // 2, (full_w - hdr.width) // 2
    return full[y0 : y0 + hdr.height, x0 : x0 + hdr.width], hdr.bit_depth


def ignore_10bit(data: bytes, prefix: bool) -> Decoded:
    samples, bd = reference(data, prefix)
    if bd == 10:
        return (samples >> 2).astype(np.uint8), 8
    return samples, bd


def accept_corrupt(data: bytes, prefix: bool) -> Decoded:
    from refdec.errors import DecodeError

    try:
        return reference(data, prefix)
    except DecodeError:
        return np.full((16, 16, 3), 128, np.uint8), 8


def timeout(data: bytes, prefix: bool) -> Decoded:
    time.sleep(3600)
    raise AssertionError("unreachable")


def crash(data: bytes, prefix: bool) -> Decoded:
    os.abort()
    raise AssertionError("unreachable")


def float64(data: bytes, prefix: bool) -> Decoded:
    from conformance.float_decoder import decode_float

    return decode_float(data, max_bytes=_max_bytes(data, prefix), dtype=np.float64)


def float32(data: bytes, prefix: bool) -> Decoded:
    from conformance.float_decoder import decode_float

    return decode_float(data, max_bytes=_max_bytes(data, prefix), dtype=np.float32)


MODES: dict[str, Callable[[bytes, bool], Decoded]] = {
    "reference": reference,
    "off-by-one": off_by_one,
    "crop": crop,
    "ignore-10bit": ignore_10bit,
    "accept-corrupt": accept_corrupt,
    "timeout": timeout,
    "crash": crash,
    "float": float64,
    "float32": float32,
}


def write(samples: np.ndarray, bit_depth: int, path: Path) -> None:
    if path.suffix == ".npy":
        np.save(path, samples)
        return
    from refdec.imageio import write_png

    write_png(samples, bit_depth, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.selftest.decoders")
    p.add_argument("mode", choices=sorted(MODES))
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--max-bytes", type=int, help="decode as a prefix codestream")
    args = p.parse_args(argv)
    data = args.input.read_bytes()
    if args.max_bytes is not None:
        data = data[: args.max_bytes]
    try:
        samples, bd = MODES[args.mode](data, args.max_bytes is not None)
    except Exception as e:  # noqa: BLE001 - any error is a rejection
        print(f"rejected: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    write(samples, bd, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
