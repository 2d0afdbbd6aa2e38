"""Hyper-latent decoding and the input of the hyper synthesis (WD 8.3.1, 8.3.2)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from refdec.hyper import HYPER_STEP_TABLE_SHIFT, hyper_input, hyper_symbol_tables
from refdec.params import NUM_SCALES
from refdec.syntax import PH

SPEC = Path(__file__).resolve().parents[1] / "spec"


def test_a_shift_for_every_allowed_step() -> None:
    assert [k for k in range(256) if PH.field("hyper_step_log2").admits(k)] == list(
        range(len(HYPER_STEP_TABLE_SHIFT))
    )


def test_shift_is_k_ln2_in_table_spacings() -> None:
    spacing = (math.log(256) - math.log(0.11)) / (NUM_SCALES - 1)  # Annex B.1
    assert HYPER_STEP_TABLE_SHIFT == tuple(
        round(k * math.log(2) / spacing) for k in range(len(HYPER_STEP_TABLE_SHIFT))
    )


def test_the_wd_states_the_shifts() -> None:
    text = (SPEC / "08-decoding.rst").read_text(encoding="utf-8")
    m = re.search(r"HyperStepShift = \\\{([\d, ]+)\\\}", text)
    assert m, "8.3.1 no longer states HyperStepShift"
    assert tuple(int(v) for v in m.group(1).split(",")) == HYPER_STEP_TABLE_SHIFT


class _Params:
    z_table = np.array([0, 5, 6, 11, 40], np.int32)


@pytest.mark.parametrize(
    ("k", "want"), [(0, [0, 5, 6, 11, 40]), (1, [0, 0, 0, 5, 34]), (2, [0, 0, 0, 0, 29])]
)
def test_tables_move_down_and_stop_at_table_0(k: int, want: list[int]) -> None:
    tables = hyper_symbol_tables(_Params(), 2, 3, k)  # type: ignore[arg-type]
    assert tables.tolist() == [t for t in want for _ in range(6)]


def test_input_is_scaled_then_clipped() -> None:
    z = np.array([[[-200, -64, -1, 0, 1, 63, 64, 10**9]]], np.int32)
    assert hyper_input(z, 0, 255).tolist() == [[[-200, -64, -1, 0, 1, 63, 64, 255]]]
    assert hyper_input(z, 2, 255).tolist() == [[[-255, -255, -4, 0, 4, 252, 255, 255]]]
    assert hyper_input(z, 1, 255).dtype == np.int16
