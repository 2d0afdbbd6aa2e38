"""The channel-group context model (WD 8.4.1): parameter sets, encoding and decoding.

The tiny context model of ``conftest.py`` has random context networks, so every
correction of WD 8.4.1 is exercised; what is pinned is exactness and the requirements,
not compression.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import torch

import refdec
from encoder.model import ModelConfig, OpenLICModel
from encoder.pipeline import _codestream, analyse, encode_detailed, quantise, reconstruct
from refdec.codestream import parse_codestream
from refdec.container import read_container, write_container
from refdec.decoder import decode_latent
from refdec.errors import HeaderError, ParameterSetError
from refdec.params import PARAMS_MAGIC, load_parameter_set
from tests.test_exactness import digest, picture


def test_parameter_set_has_the_context_networks(tiny_context_codec):
    params = tiny_context_codec[0].params
    assert params.context_groups == 4 and len(params.ctx) == 3
    for g, chain in enumerate(params.ctx, start=1):
        assert chain[0].in_channels == g * 2 and chain[-1].out_channels == 2 * 2


def test_corrections_change_the_entropy_parameters(tiny_context_codec):
    """Without its corrections the same codestream would decode differently: the
    context networks are not idle in this fixture."""
    codec, _ = tiny_context_codec
    enc = encode_detailed(picture(48, 64, 8), quality=120, codec=codec)
    parsed = parse_codestream(enc.data)
    mean_fp, ls_fp = enc.analysis.mean_fp.copy(), enc.analysis.ls_fp.copy()
    decode_latent(parsed, codec.params, mean_fp, ls_fp)
    assert np.array_equal(mean_fp[:2], enc.analysis.mean_fp[:2])  # group 0: hyperprior only
    assert not np.array_equal(ls_fp[2:], enc.analysis.ls_fp[2:])
    assert not np.array_equal(mean_fp[2:], enc.analysis.mean_fp[2:])


@pytest.mark.parametrize("groups", [0, 1, 2, 3])
def test_prefix_decodes_with_zero_residuals_after_it(tiny_context_codec, groups):
    """WD 8.1.2: the absent groups' residuals are zero, and their means are still
    corrected from the groups before (absent ones included)."""
    codec, path = tiny_context_codec
    enc = encode_detailed(picture(40, 56, 8, seed=3), quality=200, codec=codec)
    parsed = parse_codestream(enc.data)
    cut = parsed.groups[groups].tiles[0][0] if groups < 4 else len(enc.data)
    got = refdec.decode(enc.data, max_bytes=cut, params_path=path)
    assert got.groups_decoded == groups
    r = enc.residuals.copy()
    r[2 * groups :] = 0
    assert digest(got.samples) == digest(reconstruct(enc.analysis, r, 200, codec.params, 8))


def test_encoder_refuses_other_group_counts(tiny_context_codec):
    codec, _ = tiny_context_codec
    with pytest.raises(ValueError, match="need 4 channel groups"):
        encode_detailed(picture(16, 16, 8), quality=10, codec=codec, channel_groups=2)
    enc = encode_detailed(picture(16, 16, 8), quality=10, codec=codec)
    assert parse_codestream(enc.data).header.num_channel_groups == 4


def test_decoder_refuses_other_group_counts(tiny_context_codec):
    """R-GROUPS-CONTEXT: a codestream with 2 groups for a 4-group context model."""
    codec, path = tiny_context_codec
    a = analyse(codec, picture(16, 16, 8), 8)
    # An encoder that ignores the context networks, writing 2 groups under the set's hash.
    blind = dataclasses.replace(codec, params=dataclasses.replace(codec.params, ctx=()))
    data, _, _ = _codestream(blind, a, 5, 8, 5, 2)
    with pytest.raises(HeaderError, match="context groups") as info:
        refdec.decode(data, params_path=path)
    assert info.value.clause == "7.2"


def test_quantise_with_given_residuals_is_the_encoders_latent(tiny_context_codec):
    codec, _ = tiny_context_codec
    a = analyse(codec, picture(30, 20, 8), 8)
    first = quantise(a, 77, codec.params, 4)
    again = quantise(a, 77, codec.params, 4, first.residuals.copy())
    assert np.array_equal(first.y_in, again.y_in) and np.array_equal(first.idx, again.idx)


def test_context_networks_start_at_zero():
    """A context model initialised from one without starts as that model."""
    cfg = ModelConfig(n_analysis=8, m_latent=8, mz_hyper=4, n_hyper=8, synthesis_widths=(8, 8, 4))
    torch.manual_seed(1)
    plain = OpenLICModel(cfg)
    ctx = OpenLICModel(ModelConfig.from_dict({**cfg.to_dict(), "context_groups": 2}))
    missing = ctx.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("ctx.") for k in missing)
    x, k = torch.rand(1, 3, 64, 64), torch.tensor([3])
    torch.manual_seed(2)
    a = plain(x, k)
    torch.manual_seed(2)
    b = ctx(x, k)
    assert all(torch.equal(a[key], b[key]) for key in a)


def _mutated(path, change: Callable[[dict[str, np.ndarray]], None]) -> bytes:
    rec = {k: v.copy() for k, v in read_container(path.read_bytes(), PARAMS_MAGIC).items()}
    change(rec)
    return write_container(rec, PARAMS_MAGIC)


def _groups(value: int) -> Callable[[dict], None]:
    def change(rec: dict) -> None:
        rec["context.groups"] = np.array([value], np.int32)

    return change


def _drop_chain(rec: dict) -> None:
    for key in [k for k in rec if k.startswith("ctx.2.")]:
        del rec[key]


def _upsampling(rec: dict) -> None:
    rec["ctx.1.0.config"][0] = 1


def _output(rec: dict) -> None:
    last = max(int(k.split(".")[2]) for k in rec if k.startswith("ctx.3."))
    for field in ("weight", "bias", "shift"):
        rec[f"ctx.3.{last}.{field}"] = rec[f"ctx.3.{last}.{field}"][:-1].copy()


def _input(rec: dict) -> None:
    rec["ctx.2.0.weight"] = rec["ctx.2.0.weight"][:, :-1].copy()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_groups(1), "2..255"),  # P-CONTEXT-GROUPS
        (_groups(3), "divide M"),  # P-CONTEXT-GROUPS
        (_drop_chain, "no ctx.2 layers"),  # P-CTX-CHAINS
        (_upsampling, "no depth-to-space"),  # P-CTX-PLAIN
        (_output, "must end in"),  # P-CTX-OUTPUT
        (_input, "takes 3 channels"),  # P-CHAIN-CHANNELS
    ],
)
def test_context_requirements_are_checked(tiny_context_codec, change, message):
    with pytest.raises(ParameterSetError, match=message):
        load_parameter_set(_mutated(tiny_context_codec[1], change))


def test_crosscheck_decodes_the_context_model_as_refdec(tiny_context_codec, monkeypatch):
    """The decoder written from the WD alone (crosscheck/) agrees with refdec on a
    context model, for the whole codestream and for a prefix (WD 8.1.2)."""
    import hashlib

    import crosscheck

    codec, path = tiny_context_codec
    monkeypatch.setattr(
        crosscheck, "_available", lambda: {hashlib.sha256(path.read_bytes()).hexdigest()[:16]: path}
    )
    enc = encode_detailed(picture(45, 70, 10, seed=5), bit_depth=10, quality=150, codec=codec)
    samples, depth = crosscheck.decode(enc.data)
    assert depth == 10
    assert digest(samples) == digest(refdec.decode(enc.data, params_path=path).samples)
    cut = parse_codestream(enc.data).groups[2].tiles[0][0]
    samples, _ = crosscheck.decode(enc.data[:cut], prefix=True)
    want = refdec.decode(enc.data, max_bytes=cut, params_path=path).samples
    assert digest(samples) == digest(want)
