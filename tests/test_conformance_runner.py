"""The conformance runner tests itself: deliberately wrong decoders must fail.

The wrong decoders are in conformance/selftest/decoders.py. Most checks run them
in-process on a few chosen cases (fast); a few run them as programs through
``openlic conformance run`` to check the command protocol, the reports and the exit
codes.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from conformance import runner
from conformance.selftest import decoders as wrong
from openlic.cli import main

PY = shlex.quote(sys.executable)
DEC = f"{PY} -m conformance.selftest.decoders"

PICTURES = [
    "size-17x33",
    "size-64x64",
    "size-1x37",
    "bd10-23x41",
    "bd10-64x64",
    "quality-0",
    "escape-latent-small",
    "opt-many",
    "tiles-log2-5",
]
NEGATIVES = ["neg-crc-ph", "neg-truncated-in-payload", "neg-final-state", "neg-no-zs"]
PREFIXES = ["prefix-k1", "prefix-k2-in-ys"]


@pytest.fixture(scope="module")
def suite() -> dict[str, runner.Case]:
    return {c.id: c for c in runner.load_suite()}


def pick(suite: dict[str, runner.Case], ids: list[str]) -> list[runner.Case]:
    return [suite[i] for i in ids]


def statuses(fn, cases, **kw) -> dict[str, str]:  # noqa: ANN001
    report = runner.run(cases, runner.PythonDecoder(fn), **kw)
    return {r.case: r.status for r in report.results}


def test_reference_decoder_passes(suite) -> None:  # noqa: ANN001
    cases = pick(suite, PICTURES + NEGATIVES + PREFIXES)
    assert set(statuses(wrong.reference, cases, check_errors=True).values()) == {"Pass"}


def test_off_by_one_sample_fails(suite) -> None:  # noqa: ANN001
    cases = pick(suite, PICTURES + NEGATIVES)
    got = statuses(wrong.off_by_one, cases)
    assert {got[i] for i in PICTURES} == {"Fail"}
    assert {got[i] for i in NEGATIVES} == {"Pass"}
    # One sample off by one is within the tolerance class.
    got = statuses(wrong.off_by_one, pick(suite, PICTURES), conformance_class="tolerance")
    assert set(got.values()) == {"Pass"}


def test_off_by_one_report_says_where(suite) -> None:  # noqa: ANN001
    report = runner.run(pick(suite, ["size-17x33"]), runner.PythonDecoder(wrong.off_by_one))
    r = report.results[0]
    assert r.details["differing_samples"] == 1 and r.details["peak_error"] == 1
    assert r.details["first_difference"]["y"] == 16 and r.details["first_difference"]["x"] == 8
    assert not report.ok


def test_wrong_crop_fails(suite) -> None:  # noqa: ANN001
    got = statuses(
        wrong.crop,
        pick(suite, ["size-17x33", "size-1x37", "size-129x47", "size-64x64", "size-16x16"]),
    )
    assert got == {
        "size-17x33": "Fail",
        "size-1x37": "Fail",
        "size-129x47": "Fail",
        "size-64x64": "Pass",
        "size-16x16": "Pass",
    }


def test_ignoring_10_bits_fails(suite) -> None:  # noqa: ANN001
    ids = ["bd10-23x41", "bd10-64x64", "bd10-q0", "escape-latent-10bit", "size-17x33"]
    got = statuses(wrong.ignore_10bit, pick(suite, ids))
    assert got == {**{i: "Fail" for i in ids[:-1]}, "size-17x33": "Pass"}
    got = statuses(wrong.ignore_10bit, pick(suite, ids[:2]), conformance_class="tolerance")
    assert set(got.values()) == {"Fail"}


def test_accepting_corrupt_codestreams_fails(suite) -> None:  # noqa: ANN001
    negatives = [c for c in suite.values() if c.expected["result"] == "error"]
    got = statuses(wrong.accept_corrupt, negatives)
    assert set(got.values()) == {"Fail"}, {k: v for k, v in got.items() if v != "Fail"}
    assert statuses(wrong.accept_corrupt, pick(suite, ["size-17x33"])) == {"size-17x33": "Pass"}


def test_timeout(suite) -> None:  # noqa: ANN001
    t0 = time.perf_counter()
    got = statuses(wrong.timeout, pick(suite, ["size-1x1", "neg-crc-ph"]), timeout=0.2, jobs=2)
    assert set(got.values()) == {"Timeout"}
    assert time.perf_counter() - t0 < 5


def test_float_decoder_is_in_the_tolerance_class_only(suite) -> None:  # noqa: ANN001
    ids = [
        "size-17x33",
        "bd10-23x41",
        "quality-255",
        "content-checker-q-max",
        "escape-latent-all-prefixes",
        "prefix-k1",
    ]
    cases = pick(suite, ids + NEGATIVES)
    exact = statuses(wrong.float32, cases)
    assert "Fail" in {exact[i] for i in ids}
    assert {exact[i] for i in NEGATIVES} == {"Pass"}
    tolerance = statuses(wrong.float32, cases, conformance_class="tolerance")
    assert set(tolerance.values()) == {"Pass"}, tolerance


@pytest.mark.slow
def test_float_decoders_pass_the_tolerance_class_on_the_whole_suite(suite) -> None:  # noqa: ANN001
    cases = [c for c in suite.values() if not c.meta["heavy"]]
    for fn in (wrong.float64, wrong.float32):
        got = statuses(fn, cases, conformance_class="tolerance")
        assert set(got.values()) == {"Pass"}, {k: v for k, v in got.items() if v != "Pass"}


def test_error_identity_is_checked_only_on_request(suite) -> None:  # noqa: ANN001
    class HeaderError(Exception):
        clause = "7.2"
        offset = 0

    def reject(data: bytes, prefix: bool) -> None:
        raise HeaderError("no")

    cases = pick(suite, ["neg-crc-ph"])
    assert statuses(reject, cases) == {"neg-crc-ph": "Pass"}
    assert statuses(reject, cases, check_errors=True) == {"neg-crc-ph": "Fail"}


def test_not_supported(suite) -> None:  # noqa: ANN001
    cases = pick(
        suite, ["prefix-k1", "level2-small", "level3-8193x8", "size-1x1", "neg-level2-width-8193"]
    )
    dec = runner.PythonDecoder(wrong.reference, supports_prefix=False)
    got = {r.case: r.status for r in runner.run(cases, dec, max_level=1).results}
    assert got == {
        "prefix-k1": "NotSupported",
        "level2-small": "NotSupported",
        "level3-8193x8": "NotSupported",
        "size-1x1": "Pass",
        "neg-level2-width-8193": "Pass",
    }

    def refuse(data: bytes, prefix: bool) -> None:
        raise runner.NotSupported("no 10-bit here")

    report = runner.run(pick(suite, ["bd10-23x41"]), runner.PythonDecoder(refuse))
    assert report.results[0].status == "NotSupported" and report.ok


def test_judge(suite) -> None:  # noqa: ANN001
    pic, neg = suite["size-17x33"], suite["neg-crc-ph"]
    good, bd = wrong.reference(pic.data(), False)
    Out = runner.Outcome  # noqa: N806
    assert runner.judge(pic, Out("picture", good, bd))[0] == "Pass"
    assert runner.judge(pic, Out("picture", good.astype(np.int64), None))[0] == "Pass"
    assert runner.judge(pic, Out("picture", good[:-1], bd))[0] == "Fail"
    assert runner.judge(pic, Out("picture", good, 10))[0] == "Fail"
    over = good.astype(np.int64)
    over[0, 0, 0] = 256
    assert "outside" in runner.judge(pic, Out("picture", over, None))[1]
    assert runner.judge(pic, Out("rejected", message="x"))[0] == "Fail"
    assert runner.judge(neg, Out("rejected", message="x"))[0] == "Pass"
    assert runner.judge(neg, Out("rejected", message="x", wrote_output=True))[0] == "Fail"
    assert runner.judge(neg, Out("picture", good, bd))[0] == "Fail"
    assert runner.judge(neg, Out("error", message="crash"))[0] == "Error"
    assert runner.judge(pic, Out("timeout"))[0] == "Timeout"


def test_reports(suite, tmp_path: Path) -> None:  # noqa: ANN001
    cases = pick(suite, ["size-17x33", "neg-crc-ph", "prefix-k1"])
    dec = runner.PythonDecoder(wrong.off_by_one, supports_prefix=False)
    report = runner.run(cases, dec, suite="s")
    report.write_json(tmp_path / "r.json")
    report.write_junit(tmp_path / "r.xml")
    j = json.loads((tmp_path / "r.json").read_text())
    assert j["summary"] == {"Pass": 1, "Fail": 1, "Error": 0, "Timeout": 0, "NotSupported": 1}
    assert not j["ok"] and [c["status"] for c in j["cases"]] == ["Fail", "Pass", "NotSupported"]
    ts = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert ts is not None
    assert (ts.get("tests"), ts.get("failures"), ts.get("errors"), ts.get("skipped")) == (
        "3",
        "1",
        "0",
        "1",
    )
    kinds = {tc.get("name"): [e.tag for e in tc] for tc in ts.iter("testcase")}
    assert kinds == {"size-17x33": ["failure"], "neg-crc-ph": [], "prefix-k1": ["skipped"]}


# -- the command line: decoders run as programs ----------------------------------------


def cli(*args: str) -> int:
    return main(["conformance", *args])


def test_cli_reference_decoder_as_a_program(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    js, xml = tmp_path / "r.json", tmp_path / "r.xml"
    code = cli(
        "run",
        "--decoder",
        f"{DEC} reference {{input}} {{output}}",
        "--prefix-decoder",
        f"{DEC} reference --max-bytes {{bytes}} {{input}} {{output}}",
        "--cases",
        "size-17x33",
        "bd10-23x41",
        "prefix-k1",
        "neg-crc-ph",
        "--jobs",
        "2",
        "--json",
        str(js),
        "--junit",
        str(xml),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(js.read_text())["summary"]["Pass"] == 4
    assert ET.parse(xml).getroot().find("testsuite").get("failures") == "0"  # type: ignore[union-attr]
    assert "4 cases: 4 Pass, 0 Fail" in out


def test_cli_npy_output_and_prefix_not_supported(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    code = cli(
        "run",
        "--decoder",
        f"{DEC} reference {{input}} {{output}}",
        "--format",
        "npy",
        "--cases",
        "bd10-23x41",
        "prefix-k1",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 0, capsys.readouterr().out
    s = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert (s["Pass"], s["NotSupported"]) == (1, 1)


def test_cli_wrong_decoders_fail(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    js = tmp_path / "r.json"
    for mode, case, status in (
        ("off-by-one", "size-17x33", "Fail"),
        ("accept-corrupt", "neg-crc-ph", "Fail"),
        ("crash", "size-1x1", "Error"),
        ("timeout", "size-1x1", "Timeout"),
    ):
        code = cli(
            "run",
            "--decoder",
            f"{DEC} {mode} {{input}} {{output}}",
            "--cases",
            case,
            "--timeout",
            "4",
            "--json",
            str(js),
            "--quiet",
        )
        assert code == 2, (mode, capsys.readouterr())
        assert json.loads(js.read_text())["cases"][0]["status"] == status, mode


def test_cli_reference_in_process_and_list(capsys) -> None:  # noqa: ANN001
    assert cli("run", "--reference", "--cases", "neg-*", "--quiet") == 0
    assert "Pass" in capsys.readouterr().out
    assert cli("list", "--cases", "size-*") == 0
    assert "size-1x1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "--decoder"),
        (["run", "--decoder", "dec {input}"], "{output}"),
        (["run", "--decoder", "dec 'x {input} {output}"], "cannot split"),
        (["run", "--reference", "--suite", "/nonexistent"], "suite index"),
        (["run", "--reference", "--cases", "no-such-case"], "no case matches"),
        (["run", "--reference", "--jobs", "0"], "--jobs"),
        ([], "missing action"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str, capsys) -> None:  # noqa: ANN001
    assert cli(*args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("openlic: error:")


def test_cli_decoder_that_cannot_start(capsys) -> None:  # noqa: ANN001
    code = cli(
        "run",
        "--decoder",
        "/nonexistent/decoder {input} {output}",
        "--cases",
        "size-1x1",
        "--quiet",
    )
    assert code == 2
    assert "1 Error" in capsys.readouterr().out
