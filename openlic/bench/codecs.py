"""The codecs of the rate-distortion benchmark, behind one interface.

Each codec turns an 8-bit RGB picture into a file at each of its quality parameters
and decodes that file back; the rate is the size of the **whole file**, headers
included. Codecs that are not installed report why (:meth:`Codec.unavailable`) and
are skipped by the benchmark.

=========  ==============================================================================
name       implementation and settings
=========  ==============================================================================
openlic    :func:`encoder.encode_detailed` (quality index), decoded by :func:`refdec.decode`
openlic-   the same encoder at a target rate (``bpp``: the rate control of WD E.3, as
matched    ``openlic encode --bpp``), at the JPEG AI test rates, for each picture
jpeg       Pillow with libjpeg-turbo: baseline, 4:2:0, standard Huffman tables
jpeg2000   Pillow with OpenJPEG: J2K codestream, 9/7 wavelet, colour transform, rate
           control to the target rate (one quality layer)
webp       Pillow with libwebp: lossy, method 6
avif       Pillow with libavif (AV1 by libaom; imagecodecs otherwise): 4:4:4, speed 6
jpegxl     libjxl through imagecodecs (Debian's cjxl/djxl otherwise): effort 7
hevc       x265 through ffmpeg: one intra picture, 4:4:4, psycho-visual tuning off
=========  ==============================================================================

HEVC: the picture is converted to Y'CbCr here (BT.709 matrix, full range, rounded
to 8 bits: :func:`openlic.bench.metrics.rgb_to_ycbcr`), passed to ffmpeg as raw
``yuv444p`` samples, coded by libx265 with ``-crf Q`` and
``psy-rd=0:psy-rdoq=0:keyint=1:info=0`` (no SEI message with the encoder settings;
the colour description is signalled in the VUI), written as a raw HEVC bitstream
(Annex B, no container: its size is the rate), decoded by ffmpeg to raw ``yuv444p``
and converted back to RGB here with the inverse matrix. Doing the colour conversion
here rather than in ffmpeg's scaler keeps it exact and documented (the scaler's
default would be BT.601 limited range).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openlic.bench import BenchError
from openlic.bench.metrics import rgb_to_ycbcr, ycbcr_to_rgb


@dataclass
class Point:
    """One coded picture: which curve, at which parameter, how many bits, what came out."""

    curve: str
    param: float
    bits: float
    recon: np.ndarray


@dataclass
class Curve:
    """How a curve is labelled and what its rate means."""

    label: str
    rate: str = "file size, headers included"


@dataclass
class Codec:
    """Base class; subclasses implement :meth:`compress` and :meth:`decompress`."""

    name: str = ""
    label: str = ""
    params: Sequence[float] = ()
    param_name: str = "quality"
    settings: str = ""
    curves: dict[str, Curve] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.curves:
            self.curves = {self.name: Curve(self.label)}

    def unavailable(self) -> str | None:
        """None if the codec can run here, otherwise why it cannot."""
        return None

    def version(self) -> str:
        return ""

    def signature(self) -> str:
        """Everything the results depend on (for the result cache)."""
        return json.dumps(
            [self.name, self.version(), self.settings, [float(p) for p in self.params]]
        )

    def compress(self, image: np.ndarray, param: float) -> bytes:
        raise NotImplementedError

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def points(self, image: np.ndarray) -> Iterator[Point]:
        for p in self.params:
            data = self.compress(image, p)
            rec = self.decompress(data, image.shape)
            if rec.shape != image.shape or rec.dtype != np.uint8:
                raise BenchError(
                    f"{self.name}: decoded picture is {rec.dtype} {rec.shape}, "
                    f"expected uint8 {image.shape}"
                )
            yield Point(self.name, float(p), 8.0 * len(data), rec)


# -- Pillow codecs ---------------------------------------------------------------------


def _pil_save(image: np.ndarray, fmt: str, **kwargs: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, fmt, **kwargs)
    return buf.getvalue()


def _pil_load(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _pil_feature(feature: str) -> str | None:
    from PIL import features

    try:
        return features.version(feature) if features.check(feature) else None
    except (ValueError, KeyError):
        return None


class JPEG(Codec):
    def __init__(self) -> None:
        super().__init__(
            "jpeg",
            "JPEG",
            (2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
            "quality",
            "Pillow, libjpeg-turbo; baseline, 4:2:0 chroma subsampling (Pillow's default), "
            "standard Huffman tables",
        )

    def version(self) -> str:
        import PIL

        turbo = _pil_feature("libjpeg_turbo")
        lib = f"libjpeg-turbo {turbo}" if turbo else f"libjpeg {_pil_feature('jpg')}"
        return f"{lib}, Pillow {PIL.__version__}"

    def unavailable(self) -> str | None:
        return None if _pil_feature("jpg") else "Pillow was built without JPEG support"

    def compress(self, image: np.ndarray, param: float) -> bytes:
        return _pil_save(image, "JPEG", quality=int(param))

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        return _pil_load(data)


class JPEG2000(Codec):
    def __init__(self) -> None:
        super().__init__(
            "jpeg2000",
            "JPEG 2000",
            (0.06, 0.12, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
            "target bpp",
            "Pillow, OpenJPEG; J2K codestream (no JP2 boxes), irreversible 9/7 wavelet, "
            "multi-component transform, one quality layer rate-controlled to the target",
        )

    def version(self) -> str:
        import PIL

        return f"OpenJPEG {_pil_feature('jpg_2000')}, Pillow {PIL.__version__}"

    def unavailable(self) -> str | None:
        return None if _pil_feature("jpg_2000") else "Pillow was built without OpenJPEG"

    def compress(self, image: np.ndarray, param: float) -> bytes:
        bits_per_pixel_raw = 8 * image.shape[2]
        return _pil_save(
            image,
            "JPEG2000",
            no_jp2=True,
            irreversible=True,
            mct=1,
            quality_mode="rates",
            quality_layers=[bits_per_pixel_raw / float(param)],
        )

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        return _pil_load(data)


class WebP(Codec):
    def __init__(self) -> None:
        super().__init__(
            "webp",
            "WebP",
            (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
            "quality",
            "Pillow, libwebp; lossy, method 6 (slowest, best)",
        )

    def version(self) -> str:
        import PIL

        return f"libwebp {_pil_feature('webp')}, Pillow {PIL.__version__}"

    def unavailable(self) -> str | None:
        return None if _pil_feature("webp") else "Pillow was built without libwebp"

    def compress(self, image: np.ndarray, param: float) -> bytes:
        return _pil_save(image, "WEBP", quality=int(param), method=6)

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        return _pil_load(data)


@functools.cache
def _imagecodecs() -> Any:
    try:
        import imagecodecs
    except ImportError:
        return None
    return imagecodecs


class AVIF(Codec):
    def __init__(self) -> None:
        super().__init__(
            "avif",
            "AVIF",
            (0, 5, 15, 25, 35, 45, 55, 65, 75, 85, 92),
            "quality",
            "libavif with libaom; 4:4:4, speed 6, full range",
        )

    def _backend(self) -> str | None:
        if _pil_feature("avif"):
            return "pillow"
        ic = _imagecodecs()
        if ic is not None and getattr(ic.AVIF, "available", False):
            return "imagecodecs"
        return None

    def version(self) -> str:
        backend = self._backend()
        if backend == "pillow":
            import PIL
            from PIL import AvifImagePlugin

            aom = AvifImagePlugin.get_codec_version("aom")
            return f"libavif {_pil_feature('avif')}, libaom {aom}, Pillow {PIL.__version__}"
        if backend == "imagecodecs":
            ic = _imagecodecs()
            return f"{ic.avif_version()}, imagecodecs {ic.__version__}"
        return ""

    def unavailable(self) -> str | None:
        if self._backend() is None:
            return "neither Pillow nor imagecodecs has AVIF support"
        return None

    def compress(self, image: np.ndarray, param: float) -> bytes:
        if self._backend() == "pillow":
            return _pil_save(image, "AVIF", quality=int(param), subsampling="4:4:4", speed=6)
        ic = _imagecodecs()
        return ic.avif_encode(
            image, level=int(param), speed=6, pixelformat=ic.AVIF.PIXEL_FORMAT.YUV444
        )

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        if self._backend() == "pillow":
            return _pil_load(data)
        return np.asarray(_imagecodecs().avif_decode(data))[..., :3]


class JPEGXL(Codec):
    def __init__(self) -> None:
        super().__init__(
            "jpegxl",
            "JPEG XL",
            (25.0, 15.0, 10.0, 7.0, 5.0, 3.5, 2.5, 1.8, 1.2, 0.8, 0.5),
            "distance",
            "libjxl; VarDCT, effort 7 (default), Butteraugli distance as the parameter",
        )

    def _backend(self) -> str | None:
        ic = _imagecodecs()
        if ic is not None and getattr(ic.JPEGXL, "available", False):
            return "imagecodecs"
        if shutil.which("cjxl") and shutil.which("djxl"):
            return "cjxl"
        return None

    def version(self) -> str:
        backend = self._backend()
        if backend == "imagecodecs":
            ic = _imagecodecs()
            return f"{ic.jpegxl_version()}, imagecodecs {ic.__version__}"
        if backend == "cjxl":
            out = _run(["cjxl", "--version"]).stdout.decode(errors="replace")
            return out.splitlines()[0].strip() if out else "cjxl"
        return ""

    def unavailable(self) -> str | None:
        if self._backend() is None:
            return (
                "no JPEG XL encoder: install imagecodecs (pip install 'openlic[bench]') "
                "or Debian's libjxl-tools"
            )
        return None

    def compress(self, image: np.ndarray, param: float) -> bytes:
        if self._backend() == "imagecodecs":
            return _imagecodecs().jpegxl_encode(image, distance=float(param), effort=7)
        with tempfile.TemporaryDirectory() as d:
            src, dst = Path(d) / "in.png", Path(d) / "out.jxl"
            src.write_bytes(_pil_save(image, "PNG"))
            _run(["cjxl", str(src), str(dst), "-d", str(param), "-e", "7", "--quiet"])
            return dst.read_bytes()

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        if self._backend() == "imagecodecs":
            return np.asarray(_imagecodecs().jpegxl_decode(data))[..., :3]
        with tempfile.TemporaryDirectory() as d:
            src, dst = Path(d) / "in.jxl", Path(d) / "out.png"
            src.write_bytes(data)
            _run(["djxl", str(src), str(dst), "--quiet"])
            return _pil_load(dst.read_bytes())


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=600, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{cmd[0]} failed: {e}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"{' '.join(cmd[:2])} ... failed: {msg[-1] if msg else proc.returncode}")
    return proc


X265_PARAMS_DOC = "psy-rd=0:psy-rdoq=0:keyint=1:info=0"


class HEVC(Codec):
    X265_PARAMS = (
        "psy-rd=0:psy-rdoq=0:keyint=1:info=0:log-level=error:"
        "range=full:colorprim=bt709:transfer=bt709:colormatrix=bt709"
    )

    def __init__(self) -> None:
        super().__init__(
            "hevc",
            "HEVC intra (x265)",
            (51, 47, 44, 40, 36, 32, 28, 24, 20, 16),
            "CRF",
            "ffmpeg with libx265, preset medium; one intra picture, Main 4:4:4 8-bit; "
            "BT.709 full-range Y'CbCr converted outside ffmpeg; "
            f"-x265-params {X265_PARAMS_DOC}; raw HEVC bitstream (no container)",
        )

    @staticmethod
    @functools.cache
    def _versions() -> str:
        ff = _run(["ffmpeg", "-hide_banner", "-version"]).stdout.decode(errors="replace")
        ff_v = ff.split()[2] if ff.startswith("ffmpeg version") else "?"
        probe = subprocess.run(
            ["ffmpeg", "-hide_banner", "-f", "lavfi", "-i", "color=size=64x64", "-frames:v",
             "1", "-c:v", "libx265", "-f", "null", "-"],
            capture_output=True, timeout=120,
        )
        x265 = "?"
        for line in probe.stderr.decode(errors="replace").splitlines():
            if "encoder version" in line:
                x265 = line.split("encoder version")[-1].strip()
        return f"x265 {x265}, ffmpeg {ff_v}"

    def version(self) -> str:
        return self._versions()

    def unavailable(self) -> str | None:
        if not shutil.which("ffmpeg"):
            return "ffmpeg is not installed (Debian: apt-get install -y ffmpeg)"
        enc = subprocess.run(
            ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, timeout=60
        ).stdout.decode(errors="replace")
        if "libx265" not in enc:
            return "this ffmpeg has no libx265 encoder"
        return None

    def compress(self, image: np.ndarray, param: float) -> bytes:
        h, w = image.shape[:2]
        ycc = np.clip(np.round(rgb_to_ycbcr(image)), 0, 255).astype(np.uint8)
        planes = np.ascontiguousarray(ycc.transpose(2, 0, 1))
        with tempfile.TemporaryDirectory() as d:
            src, dst = Path(d) / "in.yuv", Path(d) / "out.hevc"
            src.write_bytes(planes.tobytes())
            _run([
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", f"{w}x{h}",
                "-color_range", "pc", "-colorspace", "bt709",
                "-color_primaries", "bt709", "-color_trc", "bt709", "-i", str(src),
                "-frames:v", "1", "-c:v", "libx265", "-preset", "medium",
                "-crf", str(param), "-x265-params", self.X265_PARAMS,
                "-f", "hevc", str(dst),
            ])
            return dst.read_bytes()

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        h, w = shape[:2]
        with tempfile.TemporaryDirectory() as d:
            src, dst = Path(d) / "in.hevc", Path(d) / "out.yuv"
            src.write_bytes(data)
            _run([
                "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "hevc",
                "-i", str(src), "-f", "rawvideo", "-pix_fmt", "yuv444p", str(dst),
            ])
            raw = np.frombuffer(dst.read_bytes(), np.uint8)
        if raw.size != 3 * h * w:
            raise BenchError(f"hevc: decoded {raw.size} samples, expected {3 * h * w}")
        ycc = raw.reshape(3, h, w).transpose(1, 2, 0).astype(np.float64)
        return np.clip(np.round(ycbcr_to_rgb(ycc)), 0, 255).astype(np.uint8)



# -- OpenLIC ---------------------------------------------------------------------------

DEFAULT_QUALITIES = (0, 32, 64, 96, 128, 160, 192, 224, 255)
JPEG_AI_RATES = (0.06, 0.12, 0.25, 0.50, 0.75)
"""The test rates of the JPEG AI call for proposals (bits per pixel)."""


class OpenLIC(Codec):
    """The integer codec (file size, refdec's output) and, optionally, the float model.

    The curve ``openlic`` is the encoder with ``refine_iterations`` steps of latent
    refinement (WD E.3.1; None: the encoder's default, as ``openlic encode`` without
    ``--refine``); unless that is 0, every quality also gives ``openlic-fast``, the
    encoder without refinement (``--refine 0``). With a float checkpoint (the training
    checkpoint the parameter set was exported from), every quality also gives two
    points of the float model run end to end
    (:class:`openlic.bench.floatnet.FloatModel`) on the residuals of the encoder without
    refinement: ``openlic-float`` with the rate of that integer codestream, and
    ``openlic-float-est`` with the rate estimated from the float model's likelihoods
    (no headers).
    """

    def __init__(
        self,
        *,
        params_path: Path | None = None,
        float_checkpoint: Path | None = None,
        qualities: Sequence[int] = DEFAULT_QUALITIES,
        refine_iterations: int | None = None,
        codec: Any = None,
    ) -> None:
        steps = "the encoder's default" if refine_iterations is None else refine_iterations
        super().__init__(
            "openlic",
            "OpenLIC",
            tuple(qualities),
            "quality index",
            f"encoder.encode_detailed at each quality index, latent refinement: {steps}; "
            "decoded by refdec",
        )
        self.params_path = params_path
        self.float_checkpoint = float_checkpoint
        self.refine_iterations = refine_iterations
        self._codec = codec
        self._ready_made = codec is not None
        self._float: Any = None
        self._signature: str | None = None
        self.curves = {"openlic": Curve("OpenLIC (integer decoder)")}
        if refine_iterations != 0:
            self.curves["openlic-fast"] = Curve("OpenLIC without refinement (--refine 0)")
        if float_checkpoint is not None:
            self.curves["openlic-float"] = Curve(
                "OpenLIC float model",
                "rate of the integer codestream without refinement at the same quality",
            )
            self.curves["openlic-float-est"] = Curve(
                "OpenLIC float model, estimated rate",
                "estimated from the float model's likelihoods, no headers",
            )

    def unavailable(self) -> str | None:
        try:
            import torch  # noqa: F401

            import encoder  # noqa: F401
        except ImportError as e:
            return f"the encoder cannot be imported ({e}); install the 'train' extra"
        return None

    def codec(self) -> Any:
        if self._codec is None:
            from encoder.pipeline import load_codec

            try:
                self._codec = load_codec(self.params_path)
            except (OSError, ValueError) as e:
                raise BenchError(f"cannot load the OpenLIC model: {e}") from None
        return self._codec

    def float_model(self) -> Any:
        if self.float_checkpoint is not None and self._float is None:
            from openlic.bench.floatnet import FloatModel, load_float_checkpoint

            model = load_float_checkpoint(self.float_checkpoint, self.codec().model)
            self._float = FloatModel(model, self.codec().params.num_qualities)
        return self._float

    def version(self) -> str:
        sha = self.codec().params_sha256.hex()
        name = self.params_path.name if self.params_path else "shipped parameter set"
        return f"{name}, SHA-256 {sha[:16]}"

    def signature(self) -> str:
        if self._signature is None:
            extra = ""
            if self.float_checkpoint is not None:
                extra = hashlib.sha256(Path(self.float_checkpoint).read_bytes()).hexdigest()
            self._signature = json.dumps(
                [super().signature(), extra, self.refine_iterations, self._encoder_digest()]
            )
        return self._signature

    def _encoder_digest(self) -> str:
        """The encoder weights and the encoder's code, on which the codestreams depend
        (its choice of residuals, E.3.2), not only the parameter set; and the float
        model's code, on which its curves depend."""
        import encoder
        from encoder.pipeline import weights_path

        h = hashlib.sha256()
        if not self._ready_made:  # a codec given ready-made has no file of its own
            h.update(weights_path(self.params_path).read_bytes())
        for source in sorted(Path(encoder.__file__).parent.glob("*.py")):
            h.update(source.read_bytes())
        h.update(Path(__file__).with_name("floatnet.py").read_bytes())
        return h.hexdigest()

    def compress(self, image: np.ndarray, param: float) -> bytes:
        """The codestream of the ``openlic`` curve at the quality index ``param``."""
        from encoder import encode

        return encode(image, bit_depth=8, quality=int(param),
                      refine_iterations=self.refine_iterations, codec=self.codec())

    def decompress(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        import refdec

        kwargs = {"params_path": self.params_path} if self.params_path else {}
        return refdec.decode(data, **kwargs).samples

    def points(self, image: np.ndarray) -> Iterator[Point]:
        import refdec
        from encoder import encode_detailed
        from refdec.output_filter import apply_output_filter

        codec = self.codec()
        fm = self.float_model()
        state = fm.analyse(image) if fm is not None else None
        kwargs = {"params_path": self.params_path} if self.params_path else {}

        def coded(curve: str, q: int, refine: int | None) -> Any:
            enc = encode_detailed(image, bit_depth=8, quality=q, refine_iterations=refine,
                                  codec=codec)
            pic = refdec.decode(enc.data, **kwargs)
            return enc, Point(curve, float(q), 8.0 * len(enc.data), pic.samples)

        for q in map(int, self.params):
            enc, point = coded("openlic", q, self.refine_iterations)
            yield point
            fast = enc
            if self.refine_iterations != 0:
                fast, point = coded("openlic-fast", q, 0)
                yield point
            if fm is not None:
                rec, est_bits = fm.reconstruct(
                    state, q, fast.residuals, fast.analysis.z_hat, fast.analysis.hyper_step_log2
                )
                if fast.output_filter is not None:
                    # The same codestream's filter (WD 8.9) on the float model's
                    # samples: the curves then differ only in the networks.
                    rec = apply_output_filter(rec, fast.output_filter, 8)
                yield Point("openlic-float", float(q), 8.0 * len(fast.data), rec)
                yield Point("openlic-float-est", float(q), est_bits, rec)


class OpenLICMatched(OpenLIC):
    """OpenLIC at target rates: each picture coded at each rate of ``rates`` by the
    encoder's rate control (``encode_detailed(bpp=...)``, ``openlic encode --bpp``: the
    quality index whose refined codestream, headers included, lies nearest the target,
    WD E.3), the curve ``openlic-matched``.

    This is how the JPEG AI call for proposals codes its test set (every picture at
    every test rate), and how the JPEG 2000 anchor here is coded (rate control to the
    target). An average curve at fixed quality indices gives each picture the bits its
    content costs; at matched rates every picture gets the same rate, the allocation
    the average of PSNR values favours (docs/results.rst, "Rate-matched").
    """

    def __init__(
        self,
        *,
        params_path: Path | None = None,
        rates: Sequence[float] = JPEG_AI_RATES,
        refine_iterations: int | None = None,
        codec: Any = None,
    ) -> None:
        super().__init__(params_path=params_path, qualities=(),
                         refine_iterations=refine_iterations, codec=codec)
        self.name = "openlic-matched"
        self.label = "OpenLIC at matched rates"
        self.params = tuple(float(r) for r in rates)
        self.param_name = "target bpp"
        steps = "the encoder's default" if refine_iterations is None else refine_iterations
        self.settings = (
            "encoder.encode_detailed with a target rate (openlic encode --bpp), latent "
            f"refinement: {steps}; decoded by refdec"
        )
        self.curves = {
            "openlic-matched": Curve("OpenLIC at matched rates (openlic encode --bpp)")
        }

    def compress(self, image: np.ndarray, param: float) -> bytes:
        """The codestream nearest the target rate ``param`` (bits per pixel)."""
        from encoder import encode

        return encode(image, bit_depth=8, bpp=float(param),
                      refine_iterations=self.refine_iterations, codec=self.codec())

    # Each target rate coded (compress) and decoded by refdec, not OpenLIC's sweep.
    points = Codec.points


# -- registry --------------------------------------------------------------------------

CLASSICAL = ("jpeg", "jpeg2000", "webp", "avif", "jpegxl", "hevc")
ALL = ("openlic", "openlic-matched", *CLASSICAL)


def make_codec(name: str, **openlic_kwargs: Any) -> Codec:
    """The codec ``name``; ``openlic_kwargs`` go to :class:`OpenLIC`, and those that
    apply to it to :class:`OpenLICMatched`."""
    classes = {
        "jpeg": JPEG, "jpeg2000": JPEG2000, "webp": WebP, "avif": AVIF,
        "jpegxl": JPEGXL, "hevc": HEVC,
    }
    if name == "openlic":
        return OpenLIC(**openlic_kwargs)
    if name == "openlic-matched":
        keys = ("params_path", "refine_iterations", "codec")
        shared = {k: v for k, v in openlic_kwargs.items() if k in keys}
        return OpenLICMatched(**shared)
    if name not in classes:
        raise BenchError(f"unknown codec '{name}' (choose from {', '.join(ALL)})")
    return classes[name]()
