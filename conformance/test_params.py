"""The test parameter set of the conformance suite: ``python -m conformance.test_params``.

No shipped model has context networks yet (WD 8.4.1; ``models/README.md`` says why), yet
a decoder must implement them. The suite therefore carries codestreams for a small
parameter set whose context networks have random weights, large enough to change the
means and the tables of every channel group: ``refdec/data/conformance-context.olp``,
distributed with the WD like the models (C.4), and the float weights that the
generator encodes with, ``conformance/params/conformance-context.pt``. It is a test
vector, not a codec: its pictures are poor.

Both files are made once, from fixed seeds and crops of ``samples/seeding.png``; this
command makes them again (then regenerate the suite: ``python -m conformance.generate``).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

NAME = "conformance-context"
ROOT = Path(__file__).resolve().parents[1]
PARAMS_PATH = ROOT / "refdec" / "data" / f"{NAME}.olp"
WEIGHTS_PATH = ROOT / "conformance" / "params" / f"{NAME}.pt"
SEED = 20261127
ANALYSIS_GAIN = 30.0


def build() -> tuple[bytes, dict]:
    """The parameter file and the encoder weights of the test model."""
    import torch
    from PIL import Image

    from encoder.export import encoder_weights, export
    from encoder.model import ModelConfig, OpenLICModel

    cfg = ModelConfig(
        n_analysis=16,
        m_latent=16,
        mz_hyper=8,
        n_hyper=16,
        synthesis_widths=(16, 16, 8),
        context_groups=4,
        n_context=16,
    )
    torch.manual_seed(SEED)
    model = OpenLICModel(cfg)
    with torch.no_grad():
        # The context networks start at zero (encoder.model); random last layers make
        # every group's corrections matter.
        for chain in model.ctx:
            torch.nn.init.normal_(chain[-1].weight, std=0.3)
        # A random analysis gives latents well inside one quantisation step; larger
        # ones give every group residuals to code with the corrected tables.
        model.g_a[-1].weight.mul_(ANALYSIS_GAIN)
        model.g_a[-1].bias.mul_(ANALYSIS_GAIN)
    with Image.open(ROOT / "samples" / "seeding.png") as im:
        picture = np.asarray(im.convert("RGB"))
    crops = np.stack([picture[y : y + 64, x : x + 64] for y in (0, 200, 400) for x in (0, 300)])
    data = export(model.eval(), crops)
    return data, encoder_weights(model, data)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m conformance.test_params", description=__doc__
    ).parse_args(argv)
    import torch

    data, weights = build()
    PARAMS_PATH.write_bytes(data)
    WEIGHTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, WEIGHTS_PATH)
    print(f"{PARAMS_PATH}: {len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
