"""Running a decoder over the conformance suite (WD Annex D.3).

Two kinds of decoder under test:

* :class:`CommandDecoder`: any program, run once per case from a command template such
  as ``"mydec {input} {output}"``. The runner substitutes ``{input}`` (the codestream
  file), ``{output}`` (the file to write: ``.png`` or ``.npy``), ``{bytes}`` (the size
  of the input in bytes) and ``{case}`` (the case id), splits the template like a POSIX
  shell (without running one) and runs the program with a timeout. The program shall
  exit with status 0 and write the picture for a codestream it decodes, and exit with a
  non-zero status without writing the output file for one it rejects.
* :class:`PythonDecoder`: a function called in-process, ``fn(data, prefix) -> samples``
  or ``(samples, bit_depth)``, that raises an exception for a codestream it rejects
  (and :class:`NotSupported` for one it does not implement).
  :func:`reference_decoder` wraps :func:`refdec.decode` this way.

Each case gets one result: ``Pass``, ``Fail`` (the decoder did not do what the case
requires: wrong samples, size or bit depth, a conforming codestream rejected, a
non-conforming one accepted, or output written for a rejected one), ``Error`` (the
decoder could not be run, died from a signal, or wrote an output file that is not a
picture), ``Timeout``, or ``NotSupported`` (a prefix case for a decoder without prefix
decoding, a case above the decoder's level, or the decoder said so).

Conformance classes (WD D.2): ``exact`` needs the SHA-256 of the output samples to be
that of the case; ``tolerance`` needs the exact width, height and bit depth, the same
decisions on every negative case, and a PSNR and a peak error within the thresholds of
the case's ``tolerance`` field.

    >>> from conformance import runner
    >>> cases = runner.load_suite()
    >>> report = runner.run(cases, runner.reference_decoder())   # doctest: +SKIP
    >>> report.ok                                                 # doctest: +SKIP
    True
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from conformance.samples import OutputError, compare, read_output, read_png, samples_sha256

SUITE_DIR = Path(__file__).resolve().parent / "suite"
SCHEMA_PATH = Path(__file__).resolve().parent / "case.schema.json"

PASS, FAIL, ERROR, TIMEOUT, NOT_SUPPORTED = "Pass", "Fail", "Error", "Timeout", "NotSupported"
STATUSES = (PASS, FAIL, ERROR, TIMEOUT, NOT_SUPPORTED)
CLASSES = ("exact", "tolerance")
PLACEHOLDERS = ("{input}", "{output}", "{bytes}", "{case}")
DEFAULT_TIMEOUT = 60.0


class SuiteError(Exception):
    """The suite cannot be read, or a case file is not valid."""


class NotSupported(Exception):  # noqa: N818 - the name of the result it produces
    """Raised by an in-process decoder for a codestream it does not implement."""


# -- the suite ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One case of the suite: its description (the JSON file) and its folder."""

    meta: dict[str, Any]
    folder: Path

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def path(self) -> Path:
        """The codestream file."""
        return self.folder / self.meta["codestream"]["file"]

    @property
    def expected(self) -> dict[str, Any]:
        return self.meta["expected"]

    @property
    def expects_picture(self) -> bool:
        return self.expected["result"] == "picture"

    @property
    def prefix(self) -> bool:
        return bool(self.meta["prefix"])

    def data(self) -> bytes:
        return self.path.read_bytes()

    def expected_samples(self) -> np.ndarray:
        """The expected picture, from the case's PNG file."""
        samples, _ = read_png(self.folder / self.expected["png"]["file"])
        return samples


def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_case(meta: dict, schema: dict | None = None) -> None:
    """Validate a case description against ``case.schema.json`` (needs jsonschema)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema or _schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
    if error is not None:
        if error.context:  # oneOf: the alternative that came closest
            error = jsonschema.exceptions.best_match(error.context) or error
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise SuiteError(f"case {meta.get('id', '?')}: {where}: {error.message}")


def load_suite(
    folder: Path | str = SUITE_DIR,
    patterns: Sequence[str] | None = None,
    *,
    validate: bool = True,
) -> list[Case]:
    """The cases of a suite folder, in the order of its ``index.json``.

    ``patterns`` (shell-style, such as ``"neg-*"``) select cases by id. Every case file
    is validated against the schema unless ``validate`` is false.
    """
    folder = Path(folder)
    index_path = folder / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        ids = list(index["cases"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SuiteError(f"cannot read the suite index {index_path}: {e}") from None
    schema = _schema() if validate else None
    cases = []
    for case_id in ids:
        if patterns and not any(fnmatch.fnmatchcase(case_id, p) for p in patterns):
            continue
        path = folder / f"{case_id}.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SuiteError(f"cannot read case file {path}: {e}") from None
        if validate:
            validate_case(meta, schema)
        if meta["id"] != case_id:
            raise SuiteError(f"{path} holds case {meta['id']!r}")
        cases.append(Case(meta, folder))
    if patterns and not cases:
        raise SuiteError(f"no case matches {' '.join(patterns)}")
    return cases


# -- decoder outcomes -----------------------------------------------------------------


@dataclass
class Outcome:
    """What a decoder did with one codestream."""

    kind: str
    """'picture', 'rejected', 'error', 'timeout' or 'not_supported'."""
    samples: np.ndarray | None = None
    bit_depth: int | None = None
    message: str = ""
    wrote_output: bool = False
    """For 'rejected': whether an output file was written all the same."""
    error_class: str | None = None
    """For in-process decoders that raise: the exception's class name."""
    error_clause: str | None = None
    error_offset: int | None = None
    error_tile: int | None = None
    error_message: str | None = None


class Decoder:
    """A decoder under test."""

    name = "decoder"
    supports_prefix = False

    def decode(self, case: Case, workdir: Path, timeout: float) -> Outcome:
        raise NotImplementedError


class CommandDecoder(Decoder):
    """A decoder run as a program from a command template (see the module docs)."""

    def __init__(
        self,
        template: str,
        *,
        prefix_template: str | None = None,
        output_format: str = "png",
        unsupported_exit: int | None = None,
    ) -> None:
        for t in (template, prefix_template):
            if t is None:
                continue
            missing = [p for p in ("{input}", "{output}") if p not in t]
            if missing:
                raise ValueError(f"the decoder command {t!r} lacks {' and '.join(missing)}")
            try:
                shlex.split(t)
            except ValueError as e:
                raise ValueError(f"cannot split the decoder command {t!r}: {e}") from None
        if output_format not in ("png", "npy"):
            raise ValueError(f"output format must be png or npy, not {output_format!r}")
        self.template = template
        self.prefix_template = prefix_template
        self.output_format = output_format
        self.unsupported_exit = unsupported_exit
        self.supports_prefix = prefix_template is not None
        self.name = template

    def argv(self, template: str, case: Case, output: Path) -> list[str]:
        values = {
            "{input}": str(case.path),
            "{output}": str(output),
            "{bytes}": str(case.meta["codestream"]["size"]),
            "{case}": case.id,
        }
        out = []
        for token in shlex.split(template):
            for key, value in values.items():
                token = token.replace(key, value)
            out.append(token)
        return out

    def decode(self, case: Case, workdir: Path, timeout: float) -> Outcome:
        template = self.prefix_template if case.prefix else self.template
        if template is None:
            return Outcome("not_supported", message="prefix decoding not configured")
        output = workdir / f"{case.id}.{self.output_format}"
        output.unlink(missing_ok=True)  # left by an earlier run in --keep-outputs
        argv = self.argv(template, case, output)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            return Outcome("error", message=f"cannot run {argv[0]!r}: {e.strerror or e}")
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return Outcome("timeout", message=f"no result within {timeout:g} s")
        last = _last_line(err)
        if proc.returncode < 0:
            name = _signal_name(-proc.returncode)
            return Outcome("error", message=f"killed by {name}" + (f": {last}" if last else ""))
        if proc.returncode != 0:
            if self.unsupported_exit is not None and proc.returncode == self.unsupported_exit:
                return Outcome("not_supported", message=last or "decoder: not supported")
            return Outcome(
                "rejected",
                message=f"exit status {proc.returncode}" + (f": {last}" if last else ""),
                wrote_output=output.exists(),
            )
        if not output.exists():
            return Outcome("error", message="exit status 0 but no output file was written")
        try:
            samples, bit_depth = read_output(output)
        except OutputError as e:
            return Outcome("error", message=str(e))
        return Outcome("picture", samples=samples, bit_depth=bit_depth)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _last_line(err: bytes | None) -> str:
    lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip()[:300] if lines else ""


PythonDecodeFn = Callable[[bytes, bool], Any]
"""``fn(data, prefix)``: the samples, or ``(samples, bit_depth)``; raises to reject."""


class PythonDecoder(Decoder):
    """An in-process decoder (see the module docs).

    A call that exceeds the timeout is reported as ``Timeout`` and left running in a
    daemon thread, which Python cannot stop.
    """

    def __init__(self, fn: PythonDecodeFn, *, name: str = "", supports_prefix: bool = True):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "python decoder")
        self.supports_prefix = supports_prefix

    def decode(self, case: Case, workdir: Path, timeout: float) -> Outcome:
        if case.prefix and not self.supports_prefix:
            return Outcome("not_supported", message="prefix decoding not supported")
        data = case.data()
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = self.fn(data, case.prefix)
            except BaseException as e:  # noqa: BLE001 - any exception is a rejection
                box["error"] = e

        worker = threading.Thread(target=call, daemon=True, name=f"decode-{case.id}")
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            return Outcome("timeout", message=f"no result within {timeout:g} s")
        if "error" in box:
            e = box["error"]
            if isinstance(e, NotSupported):
                return Outcome("not_supported", message=str(e))
            return Outcome(
                "rejected",
                message=f"{type(e).__name__}: {e}",
                error_class=type(e).__name__,
                error_clause=getattr(e, "clause", None),
                error_offset=getattr(e, "offset", None),
                error_tile=getattr(e, "tile", None),
                error_message=str(e),
            )
        value = box.get("value")
        bit_depth = None
        if isinstance(value, tuple):
            value, bit_depth = value
        if not isinstance(value, np.ndarray) or value.ndim != 3 or value.shape[2] != 3:
            return Outcome("error", message="the decoder returned no (H, W, 3) array")
        return Outcome("picture", samples=value, bit_depth=bit_depth)


def reference_decoder(
    *, threads: bool = True, params_path: Path | str | None = None, band_rows: int | None = None
) -> PythonDecoder:
    """The reference decoder, in-process, with prefix decoding (the arguments are those
    of :func:`refdec.decode`)."""
    import refdec

    def decode(data: bytes, prefix: bool) -> tuple[np.ndarray, int]:
        p = refdec.decode(
            data,
            max_bytes=len(data) if prefix else None,
            threads=threads,
            params_path=params_path,
            band_rows=band_rows,
        )
        return p.samples, p.bit_depth

    return PythonDecoder(decode, name="refdec (in-process)")


# -- results --------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    status: str
    message: str = ""
    seconds: float = 0.0
    category: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.case,
            "category": self.category,
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 4),
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class Report:
    decoder: str
    conformance_class: str
    results: list[Result]
    suite: str
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.results) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """True when no case is Fail, Error or Timeout."""
        return all(r.status in (PASS, NOT_SUPPORTED) for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "decoder": self.decoder,
            "class": self.conformance_class,
            "ok": self.ok,
            "summary": self.counts,
            "seconds": round(self.seconds, 3),
            "cases": [r.as_dict() for r in self.results],
        }

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")

    def junit(self) -> ET.Element:
        """The report as JUnit XML: Fail is a failure, Error and Timeout are errors,
        NotSupported is skipped."""
        c = self.counts
        suites = ET.Element("testsuites")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="openlic-conformance",
            tests=str(len(self.results)),
            failures=str(c[FAIL]),
            errors=str(c[ERROR] + c[TIMEOUT]),
            skipped=str(c[NOT_SUPPORTED]),
            time=f"{self.seconds:.3f}",
        )
        props = ET.SubElement(suite, "properties")
        for k, v in (
            ("decoder", self.decoder),
            ("class", self.conformance_class),
            ("suite", self.suite),
        ):
            ET.SubElement(props, "property", name=k, value=v)
        for r in self.results:
            tc = ET.SubElement(
                suite,
                "testcase",
                classname=f"conformance.{r.category or 'case'}",
                name=r.case,
                time=f"{r.seconds:.3f}",
            )
            if r.status == FAIL:
                ET.SubElement(tc, "failure", message=r.message, type="Fail").text = r.message
            elif r.status in (ERROR, TIMEOUT):
                ET.SubElement(tc, "error", message=r.message, type=r.status).text = r.message
            elif r.status == NOT_SUPPORTED:
                ET.SubElement(tc, "skipped", message=r.message or "not supported")
        return suites

    def write_junit(self, path: Path | str) -> None:
        tree = ET.ElementTree(self.junit())
        ET.indent(tree)
        tree.write(str(path), encoding="utf-8", xml_declaration=True)


# -- judging --------------------------------------------------------------------------


def judge(
    case: Case,
    outcome: Outcome,
    conformance_class: str = "exact",
    *,
    check_errors: bool | str = False,
) -> tuple[str, str, dict[str, Any]]:
    """(status, message, details) of one case given what the decoder did.

    With ``check_errors``, a rejection by an in-process decoder passes only if it raised
    the error class, clause, offset and tile of the case (as refdec does); with
    ``check_errors="strict"`` also its message.
    """
    exp = case.expected
    if outcome.kind == "timeout":
        return TIMEOUT, outcome.message, {}
    if outcome.kind == "not_supported":
        return NOT_SUPPORTED, outcome.message, {}
    if outcome.kind == "error":
        return ERROR, outcome.message, {}
    if exp["result"] == "error":
        want = f"{exp['error']} (WD {exp['clause']})"
        if outcome.kind == "picture":
            return FAIL, f"decoded a codestream that must be rejected with {want}", {}
        if outcome.wrote_output:
            return FAIL, f"rejected it ({outcome.message}) but wrote an output file", {}
        if check_errors:
            got = (
                outcome.error_class,
                outcome.error_clause,
                outcome.error_offset,
                outcome.error_tile,
            )
            if got != (exp["error"], exp["clause"], exp["offset"], exp["tile"]):
                return (
                    FAIL,
                    (
                        f"rejected with {got[0]} (WD {got[1]}) at byte {got[2]} (tile {got[3]}), "
                        f"expected {want} at byte {exp['offset']} (tile {exp['tile']})"
                    ),
                    {},
                )
            if check_errors == "strict" and outcome.error_message != exp["message"]:
                return (
                    FAIL,
                    f"rejected with {outcome.error_message!r}, expected {exp['message']!r}",
                    {},
                )
        return PASS, f"rejected: {outcome.message}", {}
    # The case decodes.
    if outcome.kind == "rejected":
        return FAIL, f"rejected a codestream that decodes: {outcome.message}", {}
    samples = np.asarray(outcome.samples)
    h, w = samples.shape[:2]
    if (w, h) != (exp["width"], exp["height"]):
        return FAIL, f"size {w}x{h}, expected {exp['width']}x{exp['height']}", {}
    bd = exp["bit_depth"]
    if outcome.bit_depth is not None and outcome.bit_depth != bd:
        return FAIL, f"bit depth {outcome.bit_depth}, expected {bd}", {}
    if samples.size and (samples.min() < 0 or samples.max() > (1 << bd) - 1):
        return FAIL, f"samples outside 0..{(1 << bd) - 1} of {bd}-bit output", {}
    if samples_sha256(samples, bd) == exp["samples_sha256"]:
        return PASS, "samples identical", {}
    expected = case.expected_samples()
    differing, peak, psnr = compare(samples, expected, bd)
    details = {
        "differing_samples": differing,
        "peak_error": peak,
        "psnr_db": None if psnr == float("inf") else round(psnr, 3),
    }
    where = np.argwhere(samples.astype(np.int64) != expected.astype(np.int64))
    if len(where):
        y, x, c = (int(v) for v in where[0])
        details["first_difference"] = {
            "y": y,
            "x": x,
            "component": c,
            "got": int(samples[y, x, c]),
            "expected": int(expected[y, x, c]),
        }
    summary = f"{differing} sample(s) differ, peak error {peak}, PSNR {psnr:.2f} dB"
    if conformance_class == "exact":
        return FAIL, summary, details
    tol = case.meta["tolerance"]
    if peak <= tol["max_abs_error"] and psnr >= tol["min_psnr_db"]:
        return PASS, f"within tolerance: {summary}", details
    return (
        FAIL,
        (
            f"outside tolerance (peak <= {tol['max_abs_error']}, PSNR >= "
            f"{tol['min_psnr_db']:g} dB): {summary}"
        ),
        details,
    )


def run(
    cases: Iterable[Case],
    decoder: Decoder,
    *,
    conformance_class: str = "exact",
    jobs: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
    max_level: int | None = None,
    check_errors: bool | str = False,
    stop_on_failure: bool = False,
    keep_outputs: Path | None = None,
    suite: str = "",
    progress: Callable[[Case, Result], None] | None = None,
) -> Report:
    """Run ``decoder`` on every case and judge the results (see :func:`judge`).

    With ``stop_on_failure`` (and one job), stop after the first case that does not pass.
    """
    if conformance_class not in CLASSES:
        raise ValueError(f"conformance class must be one of {CLASSES}")
    cases = list(cases)
    lock = threading.Lock()
    t_start = time.perf_counter()

    def one(case: Case, workdir: Path) -> Result:
        t0 = time.perf_counter()
        if max_level is not None and case.expects_picture and case.meta["level"] > max_level:
            outcome = Outcome(
                "not_supported",
                message=f"level {case.meta['level']} above the decoder's level {max_level}",
            )
        else:
            try:
                outcome = decoder.decode(case, workdir, timeout)
            except Exception as e:  # noqa: BLE001 - a bug of the decoder adapter
                outcome = Outcome("error", message=f"{type(e).__name__}: {e}")
        status, message, details = judge(
            case, outcome, conformance_class, check_errors=check_errors
        )
        result = Result(
            case.id, status, message, time.perf_counter() - t0, case.meta["category"], details
        )
        if progress is not None:
            with lock:
                progress(case, result)
        return result

    with tempfile.TemporaryDirectory(prefix="openlic-conformance-") as tmp:
        workdir = Path(keep_outputs) if keep_outputs else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if jobs <= 1:
            results = []
            for c in cases:
                results.append(one(c, workdir))
                if stop_on_failure and results[-1].status not in (PASS, NOT_SUPPORTED):
                    break
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(lambda c: one(c, workdir), cases))
    name = getattr(decoder, "name", "decoder")
    return Report(name, conformance_class, results, suite, time.perf_counter() - t_start)


# -- command line (openlic conformance) -------------------------------------------------


def format_result(case: Case, r: Result) -> str:
    return f"{r.status:<12} {case.id:<34} {r.message}"


def summary_line(report: Report) -> str:
    c = report.counts
    parts = ", ".join(f"{c[s]} {s}" for s in STATUSES if c[s] or s in (PASS, FAIL))
    verdict = "conforms on this suite" if report.ok else "DOES NOT CONFORM"
    return (
        f"{len(report.results)} cases: {parts} ({report.conformance_class} class, "
        f"{report.seconds:.1f} s): {verdict}"
    )


def list_cases(cases: list[Case]) -> list[str]:
    lines = []
    for c in cases:
        exp = c.expected
        what = (
            f"{exp['width']}x{exp['height']} {exp['bit_depth']}-bit"
            if exp["result"] == "picture"
            else f"rejects: {exp['error']} (WD {exp['clause']})"
        )
        flags = ("prefix " if c.prefix else "") + ("heavy" if c.meta["heavy"] else "")
        lines.append(f"{c.id:<34} {c.meta['category']:<18} {what:<34} {flags}".rstrip())
    return lines


class UsageError(Exception):
    """A bad command line or an unreadable suite (exit status 1 of ``openlic``)."""


EXIT_OK, EXIT_USAGE, EXIT_NONCONFORMING = 0, 1, 2

COMMAND_HELP = """\
The decoder command is split like a POSIX shell command line (no shell runs it) and
{input}, {output}, {bytes} and {case} are replaced in each word by the codestream
file, the output file (.png or .npy, see --format), the codestream size in bytes and
the case id. It must exit with status 0 and write the picture for a codestream it
decodes, and exit non-zero without writing the output for one it rejects.

exit codes:
  0  every case passed (or is not supported by the decoder)
  1  usage or I/O error (bad options, unreadable suite)
  2  at least one case is Fail, Error or Timeout: the decoder does not conform
"""


def add_arguments(parser: Any, parser_class: Any = None) -> None:
    """The options of ``openlic conformance`` (``run`` and ``list``)."""
    import argparse

    fmt = argparse.RawDescriptionHelpFormatter
    kw = {"parser_class": parser_class} if parser_class else {}
    sub = parser.add_subparsers(dest="conformance_command", metavar="ACTION", **kw)
    parser.set_defaults(conformance_command=None)
    r = sub.add_parser(
        "run",
        help="run a decoder over the conformance suite",
        description="Run a decoder over the conformance suite (WD Annex D) and report a "
        "result per case: Pass, Fail, Error, Timeout or NotSupported.",
        epilog=COMMAND_HELP,
        formatter_class=fmt,
    )
    who = r.add_mutually_exclusive_group()
    who.add_argument(
        "--decoder", metavar="CMD", help='decoder command template, e.g. "mydec {input} {output}"'
    )
    who.add_argument(
        "--reference",
        action="store_true",
        help="run the reference decoder in-process (checks the suite itself)",
    )
    r.add_argument(
        "--prefix-decoder",
        metavar="CMD",
        help='command for the prefix cases (WD 5.5), e.g. "openlic decode '
        '--max-bytes {bytes} {input} {output}"; without it they are NotSupported',
    )
    r.add_argument(
        "--format",
        choices=("png", "npy"),
        default="png",
        help="output the decoder writes: PNG (16-bit with sBIT 10 for 10-bit "
        "pictures) or .npy (H x W x 3 integer samples); default png",
    )
    r.add_argument(
        "--class",
        dest="conformance_class",
        choices=CLASSES,
        default="exact",
        help="conformance class (WD D.2): exact (default) or tolerance",
    )
    r.add_argument(
        "--jobs", "-j", type=int, default=1, metavar="N", help="run N cases at a time (default 1)"
    )
    r.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds allowed per case (default {DEFAULT_TIMEOUT:g})",
    )
    r.add_argument(
        "--max-level",
        type=int,
        metavar="L",
        help="the decoder's level: decodable cases above it are NotSupported",
    )
    r.add_argument(
        "--unsupported-exit",
        type=int,
        metavar="CODE",
        help="exit status by which the decoder says it does not support a "
        "codestream (NotSupported)",
    )
    r.add_argument("--cases", nargs="+", metavar="GLOB", help="run only these case ids")
    r.add_argument(
        "--skip-heavy",
        action="store_true",
        help="leave out the cases marked heavy (the largest pictures)",
    )
    r.add_argument(
        "--suite",
        metavar="DIR",
        default=str(SUITE_DIR),
        help="suite folder (default: the installed suite)",
    )
    r.add_argument("--json", metavar="FILE", help="write a JSON report")
    r.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    r.add_argument("--keep-outputs", metavar="DIR", help="keep the decoder's output files")
    r.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    r.add_argument("--verbose", "-v", action="store_true", help="print passing cases too")
    lst = sub.add_parser(
        "list",
        help="list the cases of the suite",
        description="List the cases of the conformance suite.",
        formatter_class=fmt,
    )
    lst.add_argument("--suite", metavar="DIR", default=str(SUITE_DIR), help="suite folder")
    lst.add_argument("--cases", nargs="+", metavar="GLOB", help="only these case ids")
    lst.add_argument("--json", action="store_true", help="print the case files as JSON")


def command(args: Any, out: Callable[[str], None] = print) -> int:
    """Carry out ``openlic conformance ...``; returns the exit status.

    Raises :class:`UsageError` for usage and I/O errors.
    """
    what = args.conformance_command
    if what is None:
        raise UsageError("missing action: choose run or list (see 'openlic conformance --help')")
    try:
        cases = load_suite(args.suite, args.cases)
    except SuiteError as e:
        raise UsageError(str(e)) from None
    except ImportError as e:
        raise UsageError(f"cannot validate the suite: {e} (pip install jsonschema)") from None
    if what == "list":
        if args.json:
            out(json.dumps([c.meta for c in cases], indent=2, ensure_ascii=False))
        else:
            for line in list_cases(cases):
                out(line)
        return EXIT_OK
    if not args.decoder and not args.reference:
        raise UsageError("give the decoder to test: --decoder CMD (or --reference)")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be positive, not {args.timeout:g}")
    if args.skip_heavy:
        cases = [c for c in cases if not c.meta["heavy"]]
    if args.reference:
        decoder: Decoder = reference_decoder()
    else:
        try:
            decoder = CommandDecoder(
                args.decoder,
                prefix_template=args.prefix_decoder,
                output_format=args.format,
                unsupported_exit=args.unsupported_exit,
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
    for path in (args.json, args.junit, args.keep_outputs):
        if path and not Path(path).resolve().parent.is_dir():
            raise UsageError(f"the folder of '{path}' does not exist")

    def progress(case: Case, r: Result) -> None:
        if args.quiet or (r.status == PASS and not args.verbose):
            return
        out(format_result(case, r))

    report = run(
        cases,
        decoder,
        conformance_class=args.conformance_class,
        jobs=args.jobs,
        timeout=args.timeout,
        max_level=args.max_level,
        keep_outputs=Path(args.keep_outputs) if args.keep_outputs else None,
        suite=str(args.suite),
        progress=progress,
    )
    try:
        if args.json:
            report.write_json(args.json)
        if args.junit:
            report.write_junit(args.junit)
    except OSError as e:
        raise UsageError(f"cannot write the report: {e.strerror or e}") from None
    out(summary_line(report))
    return EXIT_OK if report.ok else EXIT_NONCONFORMING
