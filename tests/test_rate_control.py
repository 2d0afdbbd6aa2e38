"""``encode(..., bpp=B)``: the whole file lands within 3 % of the target rate."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from encoder import encode_detailed, read_image  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "seeding.png"


@pytest.mark.parametrize("target", [0.12, 0.25, 0.5])
def test_rate_lands_within_three_percent(target):
    image, depth = read_image(SAMPLE)
    enc = encode_detailed(image, bit_depth=depth, bpp=target)
    rate = 8 * len(enc.data) / (image.shape[0] * image.shape[1])
    assert abs(rate - target) <= 0.03 * target, (rate, enc.quality)
