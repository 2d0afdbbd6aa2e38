"""Coverage of the reference decoder's decoding path by the conformance suite.

    python -m conformance.coverage            # writes docs/conformance-coverage.txt

Runs the reference decoder over every case of the suite under coverage.py with branch
coverage, and writes the report that the documentation publishes
(``docs/conformance.rst``).

What is measured: the modules of the decoding process (:data:`MODULES`), less the code
that no codestream can reach (:data:`EXCLUDED`): functions the decoder does not call,
the checks of the parameter-set and table files (which concern those files, are run
once when they load and are tested by the parameter-set tests), and argument checks
that raise ValueError for a programming error.

The numba kernels (:mod:`refdec.entropy`, :mod:`refdec.network`) are compiled, and
coverage.py cannot see compiled code. During the measurement every kernel therefore
runs as the Python function it is compiled from (``dispatcher.py_func``), which has the
same control flow, except the calls of a kernel whose work exceeds a budget (the larger
pictures): those run compiled. Each kernel runs in Python on the small cases at least,
so the figure is a lower bound of the coverage of the compiled decoder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "conformance-coverage.txt"

MODULES = (
    "decoder",
    "codestream",
    "syntax",
    "levels",
    "entropy",
    "hyper",
    "context",
    "latent",
    "network",
    "synthesis",
    "output",
    "output_filter",
    "params",
    "errors",
)
"""refdec modules of the decoding path (the file names without .py)."""

EXCLUDED = (
    # functions that refdec.decode does not call (helpers of the encoder, of
    # ``openlic info`` and of the tests)
    r"def conv_layer_reference\(",
    r"def conv_layer\(",
    r"def synthesis\(",
    r"def hyper_synthesis\(",
    r"def decode_latent\(",
    r"def whole_array_parameters\(",
    r"def reconstruct_latent\(",
    r"def macs_per_input_sample\(",
    r"def split_segments\(",
    r"def tile_stream\(",
    r"def groups_present\(",
    r"def payload\(",
    r"def name\(",
    r"def admits\(self, width",
    r"def smallest_level\(",
    r"def semantics\(",
    r"def filter_taps\(",
    r"def parameter_set_id\(",
    r"def shipped_parameter_set\(",
    # two available parameter sets whose hashes share the 8 bytes of the codestream's
    # (C.1): no shipped set can give it; tests/test_params.py makes it
    r"if len\(matches\) > 1:",
    # the checks of the parameter-set file, run when it loads (Annex C)
    r"def load_parameter_set\(",
    r"def _layers\(",
    r"def _check_chain\(",
    r"def _check_latent_range\(",
    r"def _context_networks\(",
    # programming errors of internal callers, not codestream errors
    r"raise ValueError\(",
    r"raise KeyError\(",
    r"raise AssertionError\(",
    r"def fixed_size\(",
    r"if TYPE_CHECKING:",
    r"class _ModelSizes\(Protocol\):",
)
"""coverage.py exclusion patterns (a matching ``def`` excludes the whole function)."""


def other_kernel(fast: bool) -> tuple[str, ...]:
    """Exclusion patterns of the layer kernel this machine does not run: the plain one
    where the JIT is on (``refdec.simd.FAST``), the vector one in the Python form.
    Both are tested against the text of WD 8.6.1 by tests/test_network.py."""
    if fast:
        return r"def _conv_row\(", r"def _conv_parallel\(", r"def _conv_serial\("
    return (
        r"def _conv_row_vectors\(",
        r"def _conv_vectors_parallel\(",
        r"def _conv_vectors_serial\(",
    )


PY_BUDGET_SYMBOLS = 60_000
"""rANS calls with more values than this run compiled during the measurement."""
PY_BUDGET_MACS = 400_000
"""Convolution calls with more multiply-accumulates than this run compiled."""
PY_CONV_CALLS = 6
"""At most this many convolution calls run in Python (each takes about a second)."""


@contextlib.contextmanager
def other_reference_decoders() -> Iterator[list]:
    """The other ways to call the reference decoder, which the suite must pass too:
    single-threaded, in bands of one latent row (the smallest bands, whose edges fall
    inside the picture), and with the parameter set given as a file (the shipped one,
    and another one, which the cases must then reject)."""
    from conformance import runner  # late: coverage starts before refdec is imported

    shipped = sorted((ROOT / "refdec" / "data").glob("*.olp"))[0]
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other.olp"
        other.write_bytes(shipped.read_bytes() + b"\0")
        yield [
            runner.reference_decoder(threads=False),
            runner.reference_decoder(band_rows=1),
            runner.reference_decoder(params_path=shipped),
            runner.reference_decoder(params_path=other),
        ]


def _hybrid_kernels() -> dict[str, int]:
    """Route refdec's numba kernels through their Python source where cheap enough."""
    from numba.core.registry import CPUDispatcher

    from refdec import entropy, network, output_filter

    counts = {"python": 0, "compiled": 0}

    def swap_inner(module) -> None:  # noqa: ANN001
        for name, obj in list(vars(module).items()):
            if isinstance(obj, CPUDispatcher):
                setattr(module, f"_compiled_{name}", obj)
                setattr(module, name, obj.py_func)

    def hybrid(module, name: str, cheap) -> None:  # noqa: ANN001
        compiled = getattr(module, f"_compiled_{name}")
        py = compiled.py_func

        def call(*args):  # noqa: ANN002, ANN202
            if cheap(*args):
                counts["python"] += 1
                return py(*args)
            counts["compiled"] += 1
            return compiled(*args)

        setattr(module, name, call)

    swap_inner(entropy)
    swap_inner(network)
    swap_inner(output_filter)  # always in Python: the cases with a filter are small
    hybrid(
        entropy,
        "decode_stream_into",
        lambda buf, s, e, idx, first, last, *rest: last - first <= PY_BUDGET_SYMBOLS,
    )
    hybrid(
        entropy, "decode_streams_into", lambda buf, s, e, idx, *rest: len(idx) <= PY_BUDGET_SYMBOLS
    )

    def cheap_conv():  # noqa: ANN202 - a budget of Python calls for each kernel
        calls = [0]

        def cheap(xp, w, *rest) -> bool:  # noqa: ANN001, ANN002
            out = rest[-1]  # the output samples; xp is the padded input
            if out.shape[0] * out.shape[1] * w.size <= PY_BUDGET_MACS and calls[0] < PY_CONV_CALLS:
                calls[0] += 1
                return True
            return False

        return cheap

    hybrid(network, "_CONV_PARALLEL", cheap_conv())
    hybrid(network, "_CONV_SERIAL", cheap_conv())
    return counts


def measure(suite: Path | None = None, report: Path = REPORT) -> dict:
    """Run the suite under coverage; write the text report; return the totals."""
    import coverage

    include = [str(ROOT / "refdec" / f"{m}.py") for m in MODULES]
    cov = coverage.Coverage(branch=True, include=include, config_file=False, data_file=None)
    for pattern in EXCLUDED:
        cov.exclude(pattern)
    cov.start()
    try:
        import refdec
        from conformance import runner
        from refdec.simd import FAST

        for pattern in other_kernel(FAST):
            cov.exclude(pattern)

        cases = runner.load_suite(suite or runner.SUITE_DIR)
        # Compile (or load) every kernel before the Python versions take over.
        refdec.decode(next(c for c in cases if c.expects_picture).data())
        counts = _hybrid_kernels()
        t0 = time.perf_counter()
        rep = runner.run(cases, runner.reference_decoder(), check_errors=True, timeout=600)
        # The other ways to call the decoder, on the cases that are not heavy: single-
        # threaded (refdec.decode(threads=False)), in bands of one latent row
        # (band_rows=1), and with the parameter set given as a file (openlic decode
        # --params FILE), the right one or another one.
        light = [c for c in cases if not c.meta["heavy"]]
        with other_reference_decoders() as decoders:
            for decoder in decoders:
                rep.results += runner.run(light, decoder, check_errors=True, timeout=600).results
        seconds = time.perf_counter() - t0
    finally:
        cov.stop()
    with tempfile.TemporaryDirectory() as tmp:
        cov.json_report(outfile=str(Path(tmp) / "c.json"))
        totals = json.loads((Path(tmp) / "c.json").read_text())["totals"]
    lines = f"{totals['covered_lines']}/{totals['num_statements']}"
    branches = f"{totals['covered_branches']}/{totals['num_branches']}"
    result = {
        "cases": len(cases),
        "runs": len(rep.results),
        "passed": rep.counts["Pass"],
        "lines": totals["covered_lines"] / max(1, totals["num_statements"]) * 100,
        "branches": totals["covered_branches"] / max(1, totals["num_branches"]) * 100,
        "total": totals["percent_covered"],
        "kernel_calls": counts,
        "seconds": seconds,
    }
    import io

    text = io.StringIO()
    cov.report(file=text, show_missing=True, skip_empty=True)
    head = [
        "Coverage of the reference decoder's decoding path by the conformance suite",
        "",
        "command:   python -m conformance.coverage",
        f"cases:     {result['cases']}, decoded {result['runs']} times, {result['passed']} pass:",
        "           every case multi-threaded; the cases not marked heavy also single-",
        "           threaded, in bands of one latent row, and with the parameter set",
        "           given as a file (the right one, and another one, which the decoder",
        "           must not use)",
        f"lines:     {lines} = {result['lines']:.1f} %",
        f"branches:  {branches} = {result['branches']:.1f} %",
        f"total:     {result['total']:.1f} % (lines and branches together)",
        f"kernels:   {counts['python']} kernel calls traced in Python, "
        f"{counts['compiled']} compiled",
        "excluded:  " + "\n           ".join(EXCLUDED + other_kernel(FAST)),
        "           (the last three: the layer kernel this machine does not run)",
        "",
    ]
    if not rep.ok:
        bad = [r for r in rep.results if r.status != "Pass"]
        head += [f"NOT PASSING: {r.case}: {r.status} {r.message}" for r in bad] + [""]
    report.write_text(
        "\n".join(head) + "\n" + text.getvalue().replace(str(ROOT) + "/", ""), encoding="utf-8"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m conformance.coverage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", type=Path, help="suite folder (default: conformance/suite)")
    p.add_argument("--out", type=Path, default=REPORT, help=f"report file (default {REPORT})")
    args = p.parse_args(argv)
    r = measure(args.suite, args.out)
    print(
        f"lines {r['lines']:.1f} %, branches {r['branches']:.1f} %, total {r['total']:.1f} % "
        f"over {r['cases']} cases ({r['seconds']:.0f} s); report in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
