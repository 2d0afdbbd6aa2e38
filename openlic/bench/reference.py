"""Published rate-distortion results on Kodak, drawn beside ours as a reference.

The numbers are copied from CompressAI (InterDigital), ``results/image/kodak/``
JSON files of its repository (github.com/InterDigitalInc/CompressAI): the models
``bmshj2018-hyperprior`` (Balle et al., ICLR 2018, scale hyperprior) and
``mbt2018-mean`` (Minnen et al., NeurIPS 2018, mean-scale hyperprior without
context model), trained by CompressAI with MSE, evaluated on the 24 Kodak pictures
with its entropy coder (ANS, "Inference (ans)"), on CPU. Their rates are the sizes
of the entropy-coded strings **without headers** (ours include every byte of the
file); PSNR is on RGB and MS-SSIM on RGB, averaged over the 24 pictures.

These are published figures, not measurements of this run: they depend on
CompressAI's own evaluation and are listed here only to place our curve.
"""

from __future__ import annotations

SOURCE_URL = "https://github.com/InterDigitalInc/CompressAI/tree/master/results/image/kodak"

REFERENCES: dict[str, dict] = {
    "bmshj2018-hyperprior": {
        "label": "bmshj2018-hyperprior (CompressAI, published)",
        "source": "CompressAI, InterDigital, results/image/kodak/"
        "compressai-bmshj2018-hyperprior_mse_cpu.json",
        "bpp": [
            0.13129340277777776, 0.20889282226562503, 0.3198581271701389,
            0.47835625542534727, 0.6686842176649304, 0.9388258192274304,
            1.2591722276475694, 1.6602240668402775,
        ],
        "psnr_rgb": [
            27.58153679333392, 29.19669412138477, 30.972168705499175,
            32.838191117040694, 34.5262427611008, 36.74336461762285,
            38.58385584443213, 40.55687370015212,
        ],
        "msssim": [
            0.9173671156167984, 0.9420618464549383, 0.9610564212004343,
            0.9748740047216415, 0.9835608204205831, 0.9892508039871851,
            0.9928662578264872, 0.9954901412129402,
        ],
    },
    "mbt2018-mean": {
        "label": "mbt2018-mean (CompressAI, published)",
        "source": "CompressAI, InterDigital, results/image/kodak/"
        "compressai-mbt2018-mean_mse_cpu.json",
        "bpp": [
            0.12392171223958336, 0.19798109266493058, 0.3072441948784722,
            0.46061197916666674, 0.6616651746961806, 0.9144049750434027,
            1.2342088487413194, 1.619089762369792,
        ],
        "psnr_rgb": [
            27.699472968534337, 29.358805876639696, 31.128916719551516,
            32.95067527714903, 34.96831704422008, 36.91109403854906,
            38.83750942961362, 40.63331397919807,
        ],
        "msssim": [
            0.9178414369622866, 0.9430568714936575, 0.9614850729703903,
            0.9752046962579092, 0.983576275408268, 0.9892503147323927,
            0.993048628171285, 0.9953488285342852,
        ],
    },
}
