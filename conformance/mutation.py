"""Mutation testing of the reference decoder against the conformance suite.

    python -m conformance.mutation [--sample N] [--seed S] [--modules M ...]
                                   [--out docs/conformance-mutation.md]

Makes small changes (mutants) to the decoding path of a copy of ``refdec`` -- an
arithmetic, bitwise or comparison operator, an integer constant (a rounding offset, a
shift, a bound) plus or minus one, ``and``/``or``, ``min``/``max``, a unary minus
dropped -- and runs each mutant over the suite with the reference-decoder check of the
consistency test (samples hashes; error class, clause, offset, tile and message of the
negative cases). A mutant is *killed* when some case fails, when it raises, or when it
runs much longer than the original; otherwise it *survives*. Survivors are listed in
the report for a person to judge: equivalent mutants (no codestream can tell them
apart, such as a changed bound that the shipped parameter set never reaches) are
recorded in :data:`EQUIVALENT` with the reason; the others need new cases.

The repository's ``refdec`` is never touched: the mutants live in a temporary copy
that comes first on ``PYTHONPATH`` of a worker process, with its own numba cache. It
is slow (numba recompiles the kernels of a mutated module), so it is run by hand, not
in CI; ``--sample`` runs a seeded random sample of the mutants.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from conformance import coverage

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "conformance-mutation.md"

MODULES = tuple(m for m in coverage.MODULES if m != "errors")
"""refdec modules of the decoding path (those whose coverage is measured, less errors)."""

SKIP_FUNCTIONS = {
    "conv_layer_reference",
    "synthesis",
    "ParameterSet.macs_per_input_sample",
    "load_parameter_set",
    "_layers",
    "_check_chain",
    "_check_latent_range",
    "describe_values",
    "ranges_of",
    "marker_code",
    "Field.semantics",
    "Field.__post_init__",
    "IntLayer.accumulator_bound",
    "smallest_level",
    "Level.admits",
    "Segment.payload",
    "Segment.name",
    "split_segments",
    "ParsedCodestream.tile_stream",
    "ParsedCodestream.groups_present",
    "Structure.fixed_size",
    "hyper_synthesis",
    "decode_latent",
    "reconstruct_latent",
}
"""Functions outside the decoding of codestreams (as in conformance.coverage)."""

OTHER_KERNEL = {
    True: {"_conv_row", "_conv_parallel", "_conv_serial"},
    False: {"_conv_row_vectors", "_conv_vectors_parallel", "_conv_vectors_serial"},
}
"""The layer kernel a machine does not run, by refdec.simd.FAST (as in
conformance.coverage.other_kernel): its mutants cannot be killed there."""

EXTRA_CASES = ("size-17x33", "bd10-23x41", "prefix-k1", "neg-crc-ph")
"""Cases also decoded single-threaded, in bands of one latent row, and with an explicit
parameter file."""

EQUIVALENT: tuple[tuple[str, str, str, str, str], ...] = (
    # (module, function, text in the source line, mutation or "*"): why no codestream
    # can tell the mutant from the original.
    (
        "context",
        "context_prediction",
        "rows = band_rows or bands_for(layers, y_in.shape[1])",
        "*",
        "it changes only the height of the bands of the context networks, and any band "
        "height gives the same integers (WD 8.7 note)",
    ),
    (
        "context",
        "context_prediction",
        "end = row + d.shape[0]",
        "*",
        "with the parameter sets of the suite, every picture within the levels' limits "
        "runs its context networks in one band (band_rows gives thousands of latent rows), "
        "so a slice end past the band is clipped to the same rows; tests/test_exactness.py "
        "runs them in bands of 1 and 3 rows, where these mutants fail",
    ),
    (
        "decoder",
        "decode",
        "if row >= hdr.height:",
        ">= -> >",
        "a band that starts at the picture height converts no rows (to_samples of 0 "
        "rows), so not stopping before it changes nothing",
    ),
    (
        "entropy",
        "find_symbol",
        "hi = length - 1",
        "- -> +",
        "cdf[length-1] = 65536 > slot, so lo stays below length-1 and the bisection never "
        "tests an index at or beyond length: the same symbol is found",
    ),
    (
        "codestream",
        "<module>",
        ".size or 0",
        "*",
        "the fallback of 'or' is never taken: the field has a constant size",
    ),
    (
        "network",
        "halo",
        "",
        "// -> *",
        "the halo only grows: more context rows give the same output (WD 8.7 note)",
    ),
    (
        "network",
        "halo",
        "layer.kernel // 2",
        "2 -> 3",
        "kernel // 3 = kernel // 2 = 1 for the 3 x 3 kernels of the parameter set (the 2 "
        "of the depth-to-space factor, the other 2 of the line, is killed)",
    ),
    (
        "network",
        "halo",
        "layer.kernel // 2",
        "2 -> 1",
        "kernel // 1 makes the halo grow (the 2 of the depth-to-space factor on the same "
        "line, which makes it shrink, is killed by level1-max-samples)",
    ),
    (
        "network",
        "<module>",
        "BAND_BYTES",
        "*",
        "the memory budget of band_rows(): every band height gives the same output",
    ),
    (
        "syntax",
        "<module>",
        "OPTIONAL_",
        "*",
        "OPTIONAL_FIRST and OPTIONAL_LAST are not used: find_marker() reads Table 1",
    ),
    (
        "network",
        "halo",
        "reach, scale = 0, 1",
        "0 -> 1",
        "the halo only grows",
    ),
    (
        "network",
        "halo",
        "scale *=",
        "1 -> 2",
        "every layer of gs has depth-to-space: the else branch is never taken",
    ),
    (
        "network",
        "chain_bands",
        "min(h_in, y1 + h)",
        "min( -> max(",
        "the band only gets more rows of context below it",
    ),
    (
        "levels",
        "<module>",
        "SAMPLES_PER_TILE = 16 * 16 * 4",
        "*",
        "MaxTiles stays above the most tiles a picture within the size limits can have "
        "(R-LEVEL-TILES cannot be violated alone), checked for +1 and -1 only",
    ),
    (
        "network",
        "band_rows",
        "",
        "*",
        "the band height is a memory heuristic: every band height gives the same output",
    ),
    ("network", "IntLayer.kernel", "", "*", "used only by halo(), which only grows with it"),
    (
        "network",
        "<module>",
        "ACC_MAX",
        "*",
        "used only by the accumulator proof of the parameter-set check",
    ),
    ("params", "<module>", "MAX_RESIDUAL", "*", "used only by the parameter-set check (C.3)"),
    ("params", "<module>", "INT16_MIN", "*", "used only by the parameter-set check (C.3)"),
    (
        "entropy",
        "",
        "np.int64(0), x, pos",
        "*",
        "the value returned with an error status is discarded",
    ),
    (
        "entropy",
        "init_state",
        "np.int64(0), end",
        "*",
        "the value returned with an error status is discarded",
    ),
    (
        "entropy",
        "decode_escape",
        "if n > 0:",
        "0 -> -1",
        "bits(0) decodes the value 0 and leaves the state as it is, so reading it for n = 0 "
        "changes nothing",
    ),
    (
        "entropy",
        "decode_streams",
        "end.max() > len(data)",
        "*",
        "an argument check of an internal function (ValueError), not reachable from a "
        "codestream (later runs skip such checks)",
    ),
    (
        "output",
        "sample_dtype",
        "",
        "*",
        "the array type that holds the samples, not their values (WD 8.8 defines values "
        "only, and the suite compares values); tests/test_exactness.py pins the types",
    ),
    (
        "codestream",
        "PictureHeader.check_against",
        "self.quality >= params.num_qualities",
        ">= -> >",
        "quality is u(8) and the shipped parameter set has Q = 256 quality indices: no "
        "codestream for it reaches the bound",
    ),
    (
        "codestream",
        "walk",
        "f.size or 0",
        "0 -> -1",
        "a bound of 0 or less bytes for a loop of variable-size fields is never above the "
        "bytes left: both never reject",
    ),
    (
        "codestream",
        "parse_codestream",
        "min(max_bytes, len(data))",
        "min( -> max(",
        "max_bytes beyond the data is an argument of the interface, not a property of a "
        "codestream (the prefix cases are files cut at the prefix); tests/test_codestream.py "
        "pins it",
    ),
    (
        "syntax",
        "<module>",
        "Violation.IGNORE",
        "*",
        "the allowed values of the field that decoders ignore (version_minor) "
        "bind encoders only: the decoder reads and ignores any value",
    ),
    (
        "levels",
        "",
        "max_tiles",
        "*",
        "MaxTiles stays above the most tiles a picture within the size limits can have "
        "(see SAMPLES_PER_TILE), and sizes are checked first: R-LEVEL-TILES cannot be "
        "violated alone",
    ),
    (
        "entropy",
        "<module>",
        "ERR_TRAILING_BYTES = 6",
        "6 -> 7",
        "another number for the last error status, which is used only by name: it "
        "collides with no other status",
    ),
    (
        "levels",
        "Level.max_tiles",
        "self.max_samples // SAMPLES_PER_TILE",
        "// -> *",
        "a larger MaxTiles: see SAMPLES_PER_TILE, no picture within the size limits "
        "reaches even the smaller one",
    ),
    (
        "entropy",
        "find_symbol",
        "lo = 0",
        "0 -> -1",
        "cdf[0] = 0 <= slot: the bisection keeps cdf[lo] <= slot < cdf[hi] from either "
        "start and ends at the one s with cdf[s] <= slot < cdf[s+1]",
    ),
    (
        "entropy",
        "find_symbol",
        "hi = length - 1",
        "1 -> 0",
        "hi = length: the bisection reads only indices below hi, and cdf[length-1] = "
        "65536 > slot pulls hi to length-1 or below before anything else changes",
    ),
    (
        "entropy",
        "decode_escape",
        "if n > 0:",
        "> -> >=",
        "bits(0) decodes the value 0 and leaves the state as it is, so reading it for n = 0 "
        "changes nothing",
    ),
    (
        # The kernel before the padded layout of refdec.simd (27 Nov 2026); kept for the
        # journals that docs/conformance-mutation.md merges.
        "network",
        "_conv_row",
        "p = k // 2",
        "2 -> 3",
        "k // 3 = k // 2 = 1 for the 3 x 3 kernels, the only size of the shipped parameter set",
    ),
    (
        "params",
        "ParameterSet.mz",
        "z_table.shape[0]",
        "0 -> -1",
        "z_table is one-dimensional (one table index per hyper-latent channel): its first "
        "and last dimensions are the same",
    ),
    (
        "network",
        "halo",
        "(2 if layer.depth_to_space else 1)",
        "*",
        "the 1 is in the else branch, never taken: every layer of gs has depth-to-space "
        "(the other changes of this line are killed or make the halo grow)",
    ),
    (
        "network",
        "halo",
        "scale *= 2 if layer.depth_to_space else 1",
        "2 -> 1",
        "a smaller scale makes the halo grow",
    ),
    (
        "network",
        "halo",
        "scale *= 2 if layer.depth_to_space else 1",
        "1 -> 0",
        "every layer of gs has depth-to-space: the else branch is never taken",
    ),
    (
        "network",
        "chain_bands",
        "y1 = min(y0 + band_rows, h_in)",
        "min( -> max(",
        "each band then runs to the last row: its rows are exact (full context below) and "
        "the later bands write the same values over them",
    ),
    (
        "network",
        "chain_bands",
        "out[(y0 - a) * up : (y1 - a) * up]",
        "- -> +",
        "(y1 + a) lengthens the band by rows of its lower halo, which the band that owns "
        "them writes over afterwards (the first '-' is killed by level1-max-samples)",
    ),
)
"""Mutants judged equivalent after review of the survivors."""


def equivalent(r: dict) -> str | None:
    """Why the surviving mutant of result ``r`` is equivalent, or None."""
    for module, function, text, desc, why in EQUIVALENT:
        if (
            r["module"] == module
            and (not function or r["function"] == function)
            and text in r["source_line"]
            and desc in ("*", r["description"])
        ):
            return why
    return None


BINOPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
    ast.Pow: ast.Mult,
}
CMPOPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Pow: "**",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass
class Mutant:
    module: str
    index: int
    """Position of the mutated node among the candidates of the module."""
    variant: int
    line: int
    function: str
    description: str
    source_line: str

    @property
    def key(self) -> str:
        return f"{self.module}.py:{self.function}:{self.source_line.strip()} :: {self.description}"


def _variants(node: ast.AST) -> list[tuple[str, object]]:
    """The mutations of one node: (description, replacement op or value)."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in BINOPS:
        new = BINOPS[type(node.op)]
        out.append((f"{SYMBOL[type(node.op)]} -> {SYMBOL[new]}", new))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMPOPS:
        new = CMPOPS[type(node.ops[0])]
        out.append((f"{SYMBOL[type(node.ops[0])]} -> {SYMBOL[new]}", new))
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append((f"{SYMBOL[type(node.op)]} -> {SYMBOL[new]}", new))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out += [
            (f"{node.value} -> {node.value + 1}", node.value + 1),
            (f"{node.value} -> {node.value - 1}", node.value - 1),
        ]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        out.append(("drop " + ("-" if isinstance(node.op, ast.USub) else "not"), None))
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("min", "max")
    ):
        other = "max" if node.func.id == "min" else "min"
        out.append((f"{node.func.id}( -> {other}(", other))
    return out


class _Collector(ast.NodeVisitor):
    """Candidate nodes in the order of the walk, with their function."""

    def __init__(self) -> None:
        self.nodes: list[tuple[ast.AST, str]] = []
        self.function = "<module>"
        self.cls = ""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        name = f"{self.cls}.{node.name}" if self.cls else node.name
        from refdec.simd import FAST

        if name in SKIP_FUNCTIONS or name in OTHER_KERNEL[FAST]:
            return
        outer, self.function = self.function, name
        for stmt in node.body:
            self.visit(stmt)
        self.function = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:  # noqa: N802
        outer, self.cls = self.cls, node.name
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef):
                self.visit(stmt)
        self.cls = outer

    def visit_Assert(self, node: ast.Assert) -> None:  # noqa: N802
        return

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:  # noqa: N802
        return

    def visit_Raise(self, node: ast.Raise) -> None:  # noqa: N802
        exc = node.exc
        if (
            isinstance(exc, ast.Call)
            and isinstance(exc.func, ast.Name)
            and exc.func.id in ("ValueError", "TypeError", "NotImplementedError", "AssertionError")
        ):
            return
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:  # noqa: N802
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        first = node.body[0]
        if (
            len(node.body) == 1
            and isinstance(first, ast.Raise)
            and isinstance(first.exc, ast.Call)
            and isinstance(first.exc.func, ast.Name)
            and first.exc.func.id in ("ValueError", "TypeError")
        ):
            return  # an argument check for programming errors
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        return

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:  # noqa: N802
        if node.value is not None and self.function != "<module>":
            self.visit(node.value)

    def visit_arguments(self, node: ast.arguments) -> None:  # noqa: N802
        return  # defaults and annotations

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in ("perf_counter_ns", "perf_counter"):
            return  # informative timings
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:  # noqa: N802
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        if "parse" in keys and "synthesis" in keys:
            return  # Picture.timings_ns: informative
        self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        if _variants(node):
            self.nodes.append((node, self.function))
        super().generic_visit(node)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def mutants_of(module: str, refdec_dir: Path) -> list[Mutant]:
    path = refdec_dir / f"{module}.py"
    lines = path.read_text(encoding="utf-8").splitlines()
    col = _Collector()
    col.visit(_parse(path))
    out = []
    for i, (node, fn) in enumerate(col.nodes):
        for v, (desc, _) in enumerate(_variants(node)):
            line = getattr(node, "lineno", 0)
            out.append(Mutant(module, i, v, line, fn, desc, lines[line - 1] if line else ""))
    return out


def apply(m: Mutant, refdec_dir: Path) -> str:
    """The source of the module with mutant ``m`` applied."""
    tree = _parse(refdec_dir / f"{m.module}.py")
    col = _Collector()
    col.visit(tree)
    node, _ = col.nodes[m.index]
    _, new = _variants(node)[m.variant]
    if isinstance(node, ast.BinOp | ast.AugAssign | ast.BoolOp):
        node.op = new()  # type: ignore[assignment, operator]
    elif isinstance(node, ast.Compare):
        node.ops = [new()]  # type: ignore[operator]
    elif isinstance(node, ast.Constant):
        node.value = new
    elif isinstance(node, ast.UnaryOp):
        replacement = copy.copy(node.operand)
        node.__class__ = ast.Call  # keep the node in place: wrap as (operand)
        node.__dict__.clear()
        node.__dict__.update(
            {"func": ast.Name("_identity", ast.Load()), "args": [replacement], "keywords": []}
        )
        ast.copy_location(node, replacement)
    elif isinstance(node, ast.Call):
        node.func = ast.Name(new, ast.Load())  # type: ignore[arg-type]
    src = ast.unparse(ast.fix_missing_locations(tree))
    if "_identity(" in src:
        src = src.replace("_identity(", "(")
    return src + "\n"


# -- running -------------------------------------------------------------------------


def _order(cases: list) -> list:  # noqa: ANN001
    """Cheap and discriminating cases first, heavy ones last."""

    def cost(c) -> tuple:  # noqa: ANN001
        exp = c.expected
        area = exp["width"] * exp["height"] if exp["result"] == "picture" else 0
        return (c.meta["heavy"], area > 20000, exp["result"] == "picture", area)

    return sorted(cases, key=cost)


def worker(suite: str | None) -> int:
    """Run inside the mutant's process: the suite against refdec, stop at a failure."""
    from conformance import runner

    cases = _order(runner.load_suite(suite or runner.SUITE_DIR))
    t0 = time.perf_counter()
    try:
        rep = runner.run(
            cases,
            runner.reference_decoder(),
            check_errors="strict",
            stop_on_failure=True,
            timeout=600,
        )
    except Exception as e:  # noqa: BLE001 - a mutant may break anything
        print(json.dumps({"killed": True, "by": f"{type(e).__name__}: {e}"[:300]}))
        return 0
    if rep.ok:
        # The other ways to call the decoder, on a few small cases: single-threaded, in
        # bands of one latent row, and with the parameter set given as a file (the right
        # one, and another one).
        small = [c for c in cases if c.id in EXTRA_CASES]
        with coverage.other_reference_decoders() as decoders:
            for decoder in decoders:
                more = runner.run(
                    small,
                    decoder,
                    check_errors="strict",
                    stop_on_failure=True,
                    timeout=600,
                )
                rep.results += more.results
                if not more.ok:
                    break
    bad = [r for r in rep.results if r.status != "Pass"]
    print(
        json.dumps(
            {
                "killed": bool(bad),
                "by": f"{bad[0].case}: {bad[0].status}: {bad[0].message}"[:300] if bad else "",
                "cases_run": len(rep.results),
                "seconds": time.perf_counter() - t0,
            }
        )
    )
    return 0


def _run_worker(copy_root: Path, cache: Path, timeout: float, suite: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy_root), str(ROOT), env.get("PYTHONPATH", "")])
    env["NUMBA_CACHE_DIR"] = str(cache)
    cmd = [sys.executable, "-m", "conformance.mutation", "--worker"]
    if suite:
        cmd += ["--suite", suite]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=str(copy_root)
        )
    except subprocess.TimeoutExpired:
        return {"killed": True, "by": f"timeout after {timeout:.0f} s", "seconds": timeout}
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {
            "killed": True,
            "by": f"crash (exit {p.returncode}): {err}"[:300],
            "seconds": time.perf_counter() - t0,
        }
    out = json.loads(lines[-1])
    out["wall"] = time.perf_counter() - t0
    return out


def run_mutants(
    mutants: list[Mutant], suite: str | None, log=print, journal: Path | None = None
) -> list[dict]:  # noqa: ANN001
    with tempfile.TemporaryDirectory(prefix="openlic-mutation-") as tmp:
        root = Path(tmp) / "src"
        shutil.copytree(
            ROOT / "refdec", root / "refdec", ignore=shutil.ignore_patterns("__pycache__")
        )
        warm = Path(tmp) / "numba-warm"
        base = _run_worker(root, warm, 3600, suite)
        if base.get("killed"):
            raise RuntimeError(f"the unmutated decoder fails the suite: {base}")
        # Check that the worker really imported the copy.
        probe = subprocess.run(
            [sys.executable, "-c", "import refdec; print(refdec.__file__)"],
            env={**os.environ, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            cwd=str(root),
        )
        if not probe.stdout.strip().startswith(str(root)):
            raise RuntimeError(f"the worker imports {probe.stdout.strip()}, not the copy")
        limit = 3 * base["wall"] + 180
        log(f"baseline: {base['cases_run']} cases, {base['wall']:.0f} s; limit {limit:.0f} s")
        results = []
        for k, m in enumerate(mutants):
            path = root / "refdec" / f"{m.module}.py"
            original = path.read_bytes()
            stat = path.stat()
            try:
                path.write_text(apply(m, ROOT / "refdec"), encoding="utf-8")
                cache = Path(tmp) / "numba-mutant"
                shutil.rmtree(cache, ignore_errors=True)
                shutil.copytree(warm, cache)
                res = _run_worker(root, cache, limit, suite)
            finally:
                path.write_bytes(original)
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            rec = {**asdict(m), "key": m.key, **res}
            results.append(rec)
            if journal is not None:
                with open(journal, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
            state = "killed " if res["killed"] else "SURVIVED"
            log(
                f"[{k + 1}/{len(mutants)}] {state} {m.module}.py:{m.line} {m.function}: "
                f"{m.description}  ({res.get('by', '')[:80]})"
            )
    return results


def current_results(records: list[dict], mutants: list[Mutant]) -> tuple[list[dict], int]:
    """The latest result of each mutant of the current code, and how many records were
    left out as stale.

    A record belongs to the mutant with its key (module, function, source line and
    mutation) and, as keys repeat (the same mutation twice on a line), the same rank
    among the mutants of that key, in source order. So results survive edits elsewhere
    in the code, which renumber the nodes; a record whose line changed is stale.
    """
    latest: dict[tuple, dict] = {}
    for r in records:  # later records of the same node override earlier ones
        latest[(r["module"], r["index"], r["variant"], r["key"])] = r
    by_key: dict[str, list[dict]] = {}
    for ident in sorted(latest, key=lambda i: (i[0], i[1], i[2])):
        by_key.setdefault(ident[3], []).append(latest[ident])
    current: dict[str, list[Mutant]] = {}
    for m in mutants:
        current.setdefault(m.key, []).append(m)
    results, stale = [], 0
    for key, recs in by_key.items():
        ms = current.get(key, [])
        # A record of this very node first; then, as runs of other code may number a
        # key's nodes differently but not reorder them, the others by rank.
        exact = {(r["index"], r["variant"]): r for r in recs}
        rest = [
            r
            for r in recs
            if not any((m.index, m.variant) == (r["index"], r["variant"]) for m in ms)
        ]
        for m in ms:
            r = exact.get((m.index, m.variant)) or (rest.pop(0) if rest else None)
            if r is not None:
                results.append({**r, "line": m.line, "index": m.index, "variant": m.variant})
        stale += len(rest)
    return results, stale


def write_report(results: list[dict], total: int, args: argparse.Namespace, path: Path) -> dict:
    killed = [r for r in results if r["killed"]]
    survivors = [r for r in results if not r["killed"]]
    equiv = [r for r in survivors if equivalent(r)]
    real = [r for r in survivors if not equivalent(r)]
    denom = len(results) - len(equiv)
    score = 100.0 * len(killed) / denom if denom else 100.0
    cmds = getattr(args, "commands", None) or [
        "python -m conformance.mutation"
        + (f" --sample {args.sample} --seed {args.seed}" if args.sample else "")
    ]
    by_module: dict[str, list[int]] = {}
    for r in results:
        k = by_module.setdefault(r["module"], [0, 0])
        k[0] += r["killed"]
        k[1] += 1
    lines = [
        "# Mutation testing of the reference decoder against the conformance suite",
        "",
        "Run by hand, not in CI (see `conformance/mutation.py`):",
        "",
        *[f"    nice -n 19 {c}" for c in cmds],
        "",
        f"- mutants of the decoding path: {total}; run: {len(results)}"
        + (" (random samples)" if len(results) < total else ""),
        f"- killed: {len(killed)}; survived: {len(survivors)}, of which {len(equiv)} "
        "judged equivalent",
        f"- **score: {score:.1f} %** of the non-equivalent mutants killed",
        "",
        "| module | killed / run |",
        "| --- | --- |",
        *[f"| {m}.py | {k} / {n} |" for m, (k, n) in sorted(by_module.items())],
        "",
        "## Surviving mutants",
        "",
    ]
    if not survivors:
        lines.append("None.")
    for r in survivors:
        why = equivalent(r)
        lines.append(
            f"- `{r['module']}.py:{r['line']}` in `{r['function']}`: "
            f"`{r['source_line'].strip()}`, **{r['description']}**"
            + (f" -- equivalent: {why}" if why else " -- NOT EQUIVALENT: needs a case")
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "score": score,
        "killed": len(killed),
        "run": len(results),
        "equivalent": len(equiv),
        "survivors": [r["key"] for r in real],
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(
        prog="python -m conformance.mutation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--suite", help="suite folder (default: conformance/suite)")
    p.add_argument("--modules", nargs="+", default=list(MODULES), choices=MODULES)
    p.add_argument("--sample", type=int, help="run a random sample of this many mutants")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--json", type=Path, help="write every result as JSON")
    p.add_argument(
        "--journal",
        type=Path,
        help="append each result to this JSON-lines "
        "file as it comes (to report on an interrupted run)",
    )
    p.add_argument(
        "--rerun-survivors",
        type=Path,
        metavar="JOURNAL",
        help="run again the mutants that survived in a journal (after adding cases)",
    )
    p.add_argument(
        "--report-from",
        type=Path,
        nargs="+",
        metavar="JOURNAL",
        help="write the report from a journal instead of running mutants",
    )
    p.add_argument(
        "--command",
        dest="commands",
        action="append",
        help="with --report-from: a command that made the journals, for the report",
    )
    p.add_argument("--out", type=Path, default=REPORT, help="the Markdown report")
    args = p.parse_args(argv)
    args.argv = [a for a in argv if a != "--worker"]
    if args.worker:
        return worker(args.suite)
    mutants = [m for mod in args.modules for m in mutants_of(mod, ROOT / "refdec")]
    total = len(mutants)
    if args.list:
        for m in mutants:
            print(f"{m.module}.py:{m.line} {m.function}: {m.description}")
        print(f"{total} mutants")
        return 0
    if args.report_from:
        records = [
            json.loads(x)
            for journal in args.report_from
            for x in journal.read_text().splitlines()
            if x
        ]
        results, stale = current_results(records, mutants)
        if stale:
            print(f"{stale} results of mutants that no longer exist (the code changed) left out")
        print(json.dumps(write_report(results, total, args, args.out), indent=2))
        return 0
    chosen = mutants
    if args.sample and args.sample < total:
        # A random sample in random order, so that an interrupted run is a sample too.
        chosen = random.Random(args.seed).sample(mutants, args.sample)
    done: list[dict] = []
    if args.rerun_survivors:
        old = [json.loads(x) for x in args.rerun_survivors.read_text().splitlines() if x]
        keep = {r["key"] for r in old if not r["killed"] and not equivalent(r)}
        done = [r for r in old if r["key"] not in keep]
        chosen = [m for m in mutants if m.key in keep]
        results = done + run_mutants(chosen, args.suite, journal=args.journal)
        print(json.dumps(write_report(results, total, args, args.out), indent=2))
        return 0
    if args.journal and args.journal.exists():  # resume an interrupted run
        done = [json.loads(x) for x in args.journal.read_text().splitlines() if x]
        seen = {(r["module"], r["index"], r["variant"]) for r in done}
        chosen = [m for m in chosen if (m.module, m.index, m.variant) not in seen]
    results = done + run_mutants(chosen, args.suite, journal=args.journal)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    summary = write_report(results, total, args, args.out)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
