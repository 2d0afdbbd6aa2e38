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

:data:`CROSS_CHECKS` holds CompressAI's published measurements of JPEG and WebP on the
same 24 pictures: an independent measurement that ours of the same codecs is
compared with (:func:`openlic.bench.rd.cross_checks`).
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


CROSS_CHECKS: dict[str, dict] = {
    # An independent measurement of two of the classical codecs on the same 24 Kodak
    # pictures: CompressAI's own runs of Pillow (7.1.2) with quality 5, 10, ..., 95,
    # rates from the whole file. Our measurement of the same codec should agree with
    # it (a BD-rate near 0) when it covers the same 24 pictures.
    "jpeg": {
        "label": "JPEG (CompressAI, Pillow 7.1.2, published)",
        "source": "CompressAI, InterDigital, results/image/kodak/jpeg.json",
        "bpp": [
            0.22115325927734372, 0.32661437988281244, 0.42312622070312506,
            0.5083855523003472, 0.5878660413953993, 0.6601265801323783,
            0.728946261935764, 0.786026848687066, 0.8497187296549479,
            0.9060007731119791, 0.9643800523546006, 1.0372119479709203,
            1.1273964775933163, 1.23984612358941, 1.3688269721137154,
            1.5718070136176217, 1.8588163587782118, 2.350199381510416,
            3.4013400607638893,
        ],
        "psnr_rgb": [
            23.779894921045457, 26.57723034342358, 28.042246379237767,
            29.04180914810682, 29.78473021842612, 30.378313496658652,
            30.903164761925012, 31.307827225129476, 31.70484530103775,
            32.05865273799422, 32.39929573599792, 32.789915599755076,
            33.234742421489976, 33.792594320368266, 34.39429509119509,
            35.239001425077355, 36.32886455167303, 37.9121247026983,
            40.556657112988766,
        ],
        "msssim": [
            0.8030709524949392, 0.8898622319102287, 0.9235836813847224,
            0.9427085692683855, 0.9533494859933853, 0.9606156249841055,
            0.9661434814333916, 0.9696919098496437, 0.9726496761043867,
            0.9752530703941981, 0.9772666270534197, 0.9792757481336594,
            0.9813638602693876, 0.9837072988351186, 0.9857503150900205,
            0.9881909117102623, 0.9905517573157946, 0.9929814984401067,
            0.9956368828813235,
        ],
    },
    "webp": {
        "label": "WebP (CompressAI, Pillow 7.1.2 defaults, published)",
        "source": "CompressAI, InterDigital, results/image/kodak/webp.json",
        "bpp": [
            0.23441908094618058, 0.2963358561197917, 0.3528645833333333,
            0.4070485432942709, 0.4608018663194445, 0.5127054850260416,
            0.5674065483940972, 0.6207394070095487, 0.6746758355034722,
            0.7218170166015625, 0.7708774142795137, 0.8236745198567709,
            0.874026828342014, 0.9342905680338544, 0.9983876546223959,
            1.2163136800130208, 1.52008056640625, 2.0103539360894094,
            2.928478664822048,
        ],
        "psnr_rgb": [
            28.328423711178047, 29.15120466864292, 29.82085123995705,
            30.406978660790273, 30.939177449342804, 31.44262071523305,
            31.935957285610844, 32.42482398631663, 32.883460109461126,
            33.23755297085759, 33.60666386484625, 33.97166322888808,
            34.3281792852023, 34.69344958764347, 35.104168463128424,
            36.36904624994511, 37.77825929813315, 39.55695217506825,
            41.75924866052373,
        ],
        "msssim": [
            0.9257391567031542, 0.9396422306696574, 0.9485039884845415,
            0.9549540728330612, 0.9602156182130178, 0.9641667927304903,
            0.9676028564572334, 0.9705141683419546, 0.9729976480205854,
            0.9750594049692154, 0.9771071672439575, 0.978692372639974,
            0.9803250730037689, 0.9816511248548826, 0.9832107946276665,
            0.9868994504213333, 0.9901696890592575, 0.9932736456394196,
            0.9959782809019089,
        ],
    },
}
