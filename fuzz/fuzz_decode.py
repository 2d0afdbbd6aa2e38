"""Fuzz the whole decoder: ``refdec.decode`` from codestream bytes to samples (WD 8).

    python fuzz/fuzz_decode.py fuzz/corpus/decode -max_len=4096 -timeout=10 -rss_limit_mb=2048

The input is a codestream; the custom mutator of fuzz/common.py repairs most CRCs. A
codestream of the tiny model (fuzz/work/tiny.olp, passed as ``params_path``) or of
the shipped model decodes; others fail the parameter-set lookup (Annex C). Every
input is first parsed (cheap): one that declares more than ``MAX_SAMPLES`` samples
(128 x 128, well inside level 1) is not decoded further, so that an input takes
milliseconds; the limits of the levels are checked by the parse itself. Each
remaining input is decoded whole and as a prefix. Oracles: the only exception is
DecodeError; a decoded picture has the declared size and sample type and samples
within the bit depth; the prefix of the whole length decodes to the same samples.

The numba kernels (refdec.entropy, refdec.network, refdec.simd, refdec.output_filter)
are compiled, with
numba's bounds checking on (an out-of-bounds access raises IndexError instead of
reading memory; the vector loads of refdec.simd are not checked, the padded layout of
refdec.network keeps them inside the arrays),
into a cache under /tmp; they are not instrumented (atheris rewrites Python bytecode,
which numba would then fail to compile, and compiled code reports no coverage), so
coverage guidance comes from the Python of the other refdec modules. To let libFuzzer
keep the inputs that reach new outcomes inside the kernels all the same, each outcome
(error class and clause, the channel group and tile an entropy error names, the groups
decoded, the bit depth) calls one of ``OUTCOMES`` instrumented functions: a new outcome
is new coverage. fuzz_entropy covers the entropy kernels instrumented, in pure Python.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

common.configure(jit=True)

import atheris  # noqa: E402
import numpy as np  # noqa: E402

with atheris.instrument_imports(
    include=["refdec"],
    exclude=["refdec.entropy", "refdec.network", "refdec.simd", "refdec.output_filter"],
):
    import refdec
    from refdec.codestream import parse_codestream
    from refdec.errors import DecodeError

PARAMS = str(common.TINY_PARAMS)
OUTCOMES = 1024


def _outcome_functions() -> list:
    """``OUTCOMES`` distinct instrumented functions, one per outcome bucket."""
    out = []
    for k in range(OUTCOMES):
        scope: dict = {}
        exec(f"def outcome_{k}():\n    return {k}\n", scope)  # noqa: S102
        out.append(atheris.instrument_func(scope[f"outcome_{k}"]))
    return out


_OUTCOME = _outcome_functions()


def signal(*what: object) -> None:
    """Record an outcome as coverage (a stable bucket of its description)."""
    _OUTCOME[zlib.crc32(repr(what).encode()) % OUTCOMES]()


def describe(parsed, result) -> tuple:  # noqa: ANN001
    """The outcome of one decode: the error and where it lies, or what was decoded."""
    if isinstance(result, DecodeError):
        group = None
        if result.offset is not None:
            group = next(
                (
                    g.index
                    for g in parsed.groups
                    if any(o <= result.offset <= o + n for o, n in g.tiles)
                ),
                None,
            )
        return type(result).__name__, result.clause, group, result.tile
    return "ok", result.groups_decoded, result.bit_depth


def TestOneInput(data: bytes) -> None:
    try:
        parsed = parse_codestream(data, max_bytes=len(data))
    except DecodeError:
        return
    hdr = parsed.header
    if hdr.width * hdr.height > common.MAX_SAMPLES:
        return
    whole = None
    try:
        whole = refdec.decode(data, params_path=PARAMS)
    except DecodeError as e:
        signal("whole", *describe(parsed, e))
    else:
        signal("whole", *describe(parsed, whole))
        dtype = np.uint8 if hdr.bit_depth == 8 else np.uint16
        assert whole.samples.shape == (hdr.height, hdr.width, 3)
        assert whole.samples.dtype == dtype
        assert int(whole.samples.max(initial=0)) < 1 << hdr.bit_depth
    try:
        prefix = refdec.decode(data, max_bytes=len(data) * data[-1] // 255, params_path=PARAMS)
    except DecodeError as e:
        signal("prefix", *describe(parsed, e))
    else:
        signal("prefix", *describe(parsed, prefix))
        assert prefix.samples.shape == (hdr.height, hdr.width, 3)
    if whole is not None:
        same = refdec.decode(data, max_bytes=len(data), params_path=PARAMS)
        assert np.array_equal(same.samples, whole.samples)


def main() -> None:
    if not common.TINY_PARAMS.is_file():
        sys.exit(f"{common.TINY_PARAMS} is missing: run python fuzz/build_corpus.py first")
    # Compile the numba kernels (cold, with bounds checking, this takes longer than
    # -timeout) by decoding the seeds once before libFuzzer starts its clock.
    for arg in sys.argv[1:]:
        if Path(arg).is_dir():
            for seed in sorted(Path(arg).iterdir())[:50]:
                TestOneInput(seed.read_bytes())
    atheris.Setup(sys.argv, TestOneInput, custom_mutator=common.codestream_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
