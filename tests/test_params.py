"""Parameter sets (WD Annex C): each requirement refused by the loader when violated."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from refdec.container import read_container, write_container
from refdec.errors import ParameterSetError
from refdec.params import DATA_DIR, PARAMS_MAGIC, load_parameter_set

SHIPPED = (DATA_DIR / "openlic-1.olp").read_bytes()


def mutated(change: Callable[[dict[str, np.ndarray]], None]) -> bytes:
    rec = {k: v.copy() for k, v in read_container(SHIPPED, PARAMS_MAGIC).items()}
    change(rec)
    return write_container(rec, PARAMS_MAGIC)


def set_weight_to_max(rec):
    rec["gs.0.weight"][:] = 32767  # sum |W| * in_max far beyond 2^31


def extra_upsampling(rec):
    """A fifth depth-to-space layer 3 -> 3 channels: chains fine, upsamples 32 times."""
    rec["gs.4.weight"] = np.zeros((12, 3, 1, 1), np.int16)
    rec["gs.4.bias"] = np.zeros(12, np.int32)
    rec["gs.4.shift"] = np.zeros(12, np.int32)
    rec["gs.4.config"] = np.array([1, -100, 100], np.int32)


def empty_z_table(rec):
    rec["z.table"] = np.zeros(0, np.int32)


def huge_inverse_gain(rec):
    rec["gain.inverse"][0, 0] = 2**31 - 1
    rec["latent.f_mu"][0] = 24


def wrong_chain(rec):
    rec["gs.1.weight"] = rec["gs.1.weight"][:, :-1].copy()


def negative_gain(rec):
    rec["gain.mean"][3, 2] = 0


def missing_scalar(rec):
    del rec["output.f_out"]


def shift_out_of_range(rec):
    rec["hs.0.shift"][0] = 32


@pytest.mark.parametrize(
    "change, clause",
    [
        (set_weight_to_max, "8.6.2"),
        (extra_upsampling, "C.1"),
        (empty_z_table, "C.1"),
        (huge_inverse_gain, "C.3"),
        (wrong_chain, "8.6.4"),
        (negative_gain, "C.1"),
        (missing_scalar, "C.1"),
        (shift_out_of_range, "C.1"),
    ],
)
def test_violations_are_refused(change, clause):
    with pytest.raises(ParameterSetError) as err:
        load_parameter_set(mutated(change))
    assert err.value.clause == clause


def test_shipped_set_loads_and_round_trips_through_the_container():
    p = load_parameter_set(SHIPPED)
    assert p.m == p.gain_mean.shape[1] and len(p.gs) == 4
    assert mutated(lambda rec: None) == SHIPPED


def test_parameter_set_is_found_by_the_first_8_bytes_of_its_hash(tmp_path, monkeypatch):
    """WD C.1 step 1: a set whose SHA-256 begins with parameter_set_hash; none, or two
    with different hashes, is an error at the field's offset."""
    import hashlib

    from refdec import params

    data = (DATA_DIR / "openlic-1.olp").read_bytes()
    sha = hashlib.sha256(data).digest()
    assert params.parameter_set_id(data) == sha[:8]
    assert params.find_parameter_set(sha[:8]).m == load_parameter_set(data).m
    with pytest.raises(ParameterSetError, match="is available") as info:
        params.find_parameter_set(bytes(8), hash_offset=27)
    assert info.value.offset == 27
    # A second file whose hash shares the 8 bytes (made here by pretending: finding one
    # takes about 2^32 hash computations) makes the choice ambiguous.
    shipped = params.shipped_parameter_sets()
    twin = sha[:8] + bytes(24)
    monkeypatch.setattr(params, "shipped_parameter_sets", lambda: {**shipped, twin: tmp_path})
    with pytest.raises(ParameterSetError, match="ambiguous"):
        params.find_parameter_set(sha[:8])
