"""The one table of transfer syntaxes and the decoders that handle them.

Each transfer syntax maps to decoders in order of preference. A decoder names the package that
provides it (its requirement) and knows whether that package is importable and built with the
codec (`Decoder.is_available`). `decoder_for` picks the first available one; when none is,
`UnsupportedTransferSyntax` names the syntax and the package that would decode it.

Decoders for encapsulated syntaxes take one frame's compressed bytes and return the samples as
the codec produced them: ``(rows, columns)`` or ``(rows, columns, samples)``, plus the
photometric interpretation of what they return (a JPEG decoder turns YBR into RGB itself).
Native (uncompressed) syntaxes are decoded with numpy by `dcmview_core.frames`.

Measured choice (see the package README): imagecodecs (BSD) decodes every compressed syntax
here, including 12-bit JPEG, which pydicom's permissive plugins cannot; its OpenJPEG and
CharLS builds match the dedicated plugins in speed, so it is the only codec dependency.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dcmview_core.errors import DecodeError, UnsupportedTransferSyntax

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
ENCAPSULATED_UNCOMPRESSED_LE = "1.2.840.10008.1.2.1.98"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"

NATIVE_SYNTAXES = frozenset(
    {IMPLICIT_VR_LE, EXPLICIT_VR_LE, DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE}
)
"""Uncompressed syntaxes whose frames sit at fixed byte offsets (deflated: after inflating)."""

SYNTAX_NAMES: dict[str, str] = {
    IMPLICIT_VR_LE: "Implicit VR Little Endian",
    EXPLICIT_VR_LE: "Explicit VR Little Endian",
    ENCAPSULATED_UNCOMPRESSED_LE: "Encapsulated Uncompressed Explicit VR Little Endian",
    DEFLATED_EXPLICIT_VR_LE: "Deflated Explicit VR Little Endian",
    EXPLICIT_VR_BE: "Explicit VR Big Endian",
    JPEG_BASELINE: "JPEG Baseline (Process 1)",
    JPEG_EXTENDED: "JPEG Extended (Process 2 & 4)",
    JPEG_LOSSLESS: "JPEG Lossless, Non-Hierarchical (Process 14)",
    JPEG_LOSSLESS_SV1: "JPEG Lossless, Non-Hierarchical, First-Order Prediction",
    JPEG_LS_LOSSLESS: "JPEG-LS Lossless",
    JPEG_LS_NEAR_LOSSLESS: "JPEG-LS Near-Lossless",
    JPEG_2000_LOSSLESS: "JPEG 2000 Lossless",
    JPEG_2000: "JPEG 2000",
    HTJ2K_LOSSLESS: "High-Throughput JPEG 2000 Lossless",
    HTJ2K_LOSSLESS_RPCL: "High-Throughput JPEG 2000 with RPCL Options Lossless",
    HTJ2K: "High-Throughput JPEG 2000",
    RLE_LOSSLESS: "RLE Lossless",
    "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
    "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile",
    "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
}


@dataclass(frozen=True, slots=True)
class CodecParams:
    """What a decoder needs to know about the frame it decodes (from the dataset)."""

    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric_interpretation: str


DecodeFn = Callable[[bytes, CodecParams], tuple[np.ndarray, str]]


@dataclass(frozen=True, slots=True)
class Decoder:
    """One way to decode a transfer syntax: the function, and the package it needs."""

    name: str
    package: str
    """Distribution that provides it, as `pip install` spells it."""
    requirement: str
    """Importable module and, after a colon, the codec attribute that must report available."""
    decode: DecodeFn

    def is_available(self) -> bool:
        """Whether the required package is importable and built with the codec."""
        return _requirement_met(self.requirement)


@functools.cache
def _requirement_met(requirement: str) -> bool:
    module_name, _, codec = requirement.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    if not codec:
        return True
    try:
        return bool(getattr(module, codec).available)
    except AttributeError:
        return False


def _imagecodecs() -> Any:
    import imagecodecs

    return imagecodecs


# --- JPEG (ITU T.81) -----------------------------------------------------------------------

_JCS_RGB = 2
_JCS_YCBCR = 3


def _jpeg_colour_transform(data: bytes, photometric: str) -> bool:
    """Whether a 3-component JPEG stream holds YCbCr that must be converted to RGB.

    An Adobe APP14 marker states it (transform flag); a JFIF APP0 marker implies YCbCr;
    otherwise the dataset's Photometric Interpretation decides (PS3.5 8.2.1): RGB means the
    components are R, G, B and no transform is applied (``SC_jpeg_no_color_transform.dcm``).
    """
    jfif = False
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: headers are over
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xEE and segment.startswith(b"Adobe") and len(segment) >= 12:
            return segment[11] != 0
        if marker == 0xE0 and segment.startswith(b"JFIF"):
            jfif = True
        pos += 2 + length
    if jfif:
        return True
    return photometric != "RGB"


def _decode_jpeg(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    ic = _imagecodecs()
    photometric = params.photometric_interpretation
    if params.samples_per_pixel == 3:
        if photometric.startswith("YBR_PARTIAL") and _jpeg_colour_transform(data, photometric):
            # partial-range YCbCr: the codec upsamples, dcmview_core.frames converts
            # (libjpeg's own transform is the full-range JFIF one)
            arr = ic.jpeg8_decode(data, colorspace=_JCS_YCBCR, outcolorspace=_JCS_YCBCR)
            return arr, photometric
        if _jpeg_colour_transform(data, photometric):
            arr = ic.jpeg8_decode(data, colorspace=_JCS_YCBCR, outcolorspace=_JCS_RGB)
        else:
            arr = ic.jpeg8_decode(data, colorspace=_JCS_RGB, outcolorspace=_JCS_RGB)
        return arr, "RGB"
    return ic.jpeg8_decode(data), photometric


def _decode_jpeg_lossless(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    # Lossless JPEG applies no colour transform: samples come back as stored.
    return _imagecodecs().ljpeg_decode(data), params.photometric_interpretation


# --- JPEG-LS (ITU T.87), JPEG 2000 (ITU T.800), HTJ2K (ITU T.814) --------------------------


def _decode_jpegls(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    return _imagecodecs().jpegls_decode(data), params.photometric_interpretation


def _j2k_photometric(photometric: str) -> str:
    # The decoder applies the inverse multi-component transform itself (PS3.5 8.2.4).
    return "RGB" if photometric in ("YBR_ICT", "YBR_RCT") else photometric


_SIZ = struct.Struct(">4sHHLLLL")
"""SOC, SIZ marker, Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz (ITU T.800 A.5.1)."""


def _siz_from_dataset(data: bytes, params: CodecParams) -> bytes | None:
    """The codestream with its SIZ image size taken from the dataset, when they disagree.

    PS3.5 8.2.4 requires Rows and Columns to match the codestream's image size
    (``Ysiz - YOsiz``, ``Xsiz - XOsiz``). A codestream whose SIZ contradicts them has been
    damaged (pydicom's ``JPEG2000-embedded-sequence-delimiter.dcm`` carries the bytes of a
    sequence delimiter over Rsiz and Xsiz); the dataset is then the better witness.
    None when the SIZ is absent or already agrees.
    """
    if len(data) < _SIZ.size:
        return None
    soc_siz, _lsiz, _rsiz, xsiz, ysiz, xosiz, yosiz = _SIZ.unpack_from(data)
    if soc_siz != b"\xff\x4f\xff\x51":
        return None
    width, height = xosiz + params.columns, yosiz + params.rows
    if (xsiz, ysiz) == (width, height) or width >= 2**32 or height >= 2**32:
        return None
    return data[:8] + struct.pack(">LL", width, height) + data[16:]


def _decode_j2k_family(
    decode: Callable[[bytes], np.ndarray], data: bytes, params: CodecParams
) -> tuple[np.ndarray, str]:
    photometric = _j2k_photometric(params.photometric_interpretation)
    try:
        return decode(data), photometric
    except Exception:
        repaired = _siz_from_dataset(data, params)
        if repaired is None:
            raise
    return decode(repaired), photometric


class _Concurrency:
    """How many JPEG 2000 decodes run now: one that runs alone (the first frame a reader
    opens) may use every core; while others run (sweeps, prefetch, volumes) each takes one,
    as parallel frames use the cores better than threads inside one frame."""

    def __init__(self, cores: int) -> None:
        self.cores = max(1, cores)
        self.running = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def threads(self) -> Iterator[int]:
        """Threads for one decode, held while it runs."""
        with self._lock:
            alone = self.running == 0
            self.running += 1
        try:
            yield self.cores if alone else 1
        finally:
            with self._lock:
                self.running -= 1


_J2K_DECODES = _Concurrency(os.cpu_count() or 1)


def _decode_j2k(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    ic = _imagecodecs()
    with _J2K_DECODES.threads() as threads:
        return _decode_j2k_family(lambda d: ic.jpeg2k_decode(d, numthreads=threads), data, params)


def _decode_htj2k(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    return _decode_j2k_family(_imagecodecs().htj2k_decode, data, params)


# --- RLE Lossless (PS3.5 Annex G) ----------------------------------------------------------


def _decode_rle(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    """Decode one RLE frame: a 64-byte header of segment offsets, then PackBits segments.

    Segment ``s * bytes_per_sample + b`` holds byte ``b`` (most significant first) of sample
    ``s`` for every pixel (PS3.5 G.2).
    """
    ic = _imagecodecs()
    if len(data) < 64:
        raise DecodeError("RLE frame shorter than its 64-byte header")
    header = struct.unpack("<16L", data[:64])
    n_segments = header[0]
    nbytes = max(params.bits_allocated // 8, 1)
    spp = params.samples_per_pixel
    if n_segments != nbytes * spp:
        raise DecodeError(
            f"RLE frame has {n_segments} segments, expected {nbytes * spp} "
            f"for {spp} sample(s) of {params.bits_allocated} bits"
        )
    offsets = [*header[1 : 1 + n_segments], len(data)]
    n_pixels = params.rows * params.columns
    planes = np.zeros((spp, n_pixels, nbytes), dtype=np.uint8)
    for seg in range(n_segments):
        start, stop = offsets[seg], offsets[seg + 1]
        if not 64 <= start <= stop <= len(data):
            raise DecodeError(f"RLE segment {seg} has an invalid offset {start}")
        decoded = ic.packbits_decode(data[start:stop])
        count = min(len(decoded), n_pixels)
        if count < n_pixels:
            raise DecodeError(f"RLE segment {seg} holds {count} of {n_pixels} bytes")
        planes[seg // nbytes, :, seg % nbytes] = np.frombuffer(decoded, np.uint8, count)
    dtype = np.dtype(f">u{nbytes}") if nbytes > 1 else np.dtype(np.uint8)
    samples = planes.view(dtype).reshape(spp, params.rows, params.columns)
    samples = samples.astype(dtype.newbyteorder("="))
    arr = samples[0] if spp == 1 else np.moveaxis(samples, 0, -1)
    return arr, params.photometric_interpretation


def _decode_uncompressed(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    """Encapsulated Uncompressed (PS3.5 A.4.11): each frame's native bytes, interleaved."""
    nbytes = max(params.bits_allocated // 8, 1)
    dtype = np.dtype(f"<u{nbytes}") if nbytes > 1 else np.dtype(np.uint8)
    count = params.rows * params.columns * params.samples_per_pixel
    if len(data) < count * nbytes:
        raise DecodeError(f"frame holds {len(data)} of {count * nbytes} bytes")
    arr = np.frombuffer(data, dtype, count).astype(dtype.newbyteorder("="))
    shape: tuple[int, ...] = (params.rows, params.columns)
    if params.samples_per_pixel > 1:
        shape = (*shape, params.samples_per_pixel)
    return arr.reshape(shape), params.photometric_interpretation


def _decode_native(data: bytes, params: CodecParams) -> tuple[np.ndarray, str]:
    raise AssertionError("native frames are decoded by dcmview_core.frames")  # pragma: no cover


_NUMPY = Decoder("numpy", "numpy", "numpy", _decode_native)
_IC = "imagecodecs"
_JPEG8 = Decoder("imagecodecs.jpeg8 (libjpeg-turbo)", _IC, "imagecodecs:JPEG8", _decode_jpeg)
_LJPEG = Decoder("imagecodecs.ljpeg", _IC, "imagecodecs:LJPEG", _decode_jpeg_lossless)
_JPEGLS = Decoder("imagecodecs.jpegls (CharLS)", _IC, "imagecodecs:JPEGLS", _decode_jpegls)
_JPEG2K = Decoder("imagecodecs.jpeg2k (OpenJPEG)", _IC, "imagecodecs:JPEG2K", _decode_j2k)
_HTJ2K = Decoder("imagecodecs.htj2k (OpenJPH)", _IC, "imagecodecs:HTJ2K", _decode_htj2k)
_RLE = Decoder("imagecodecs.packbits", _IC, "imagecodecs:PACKBITS", _decode_rle)
_ENCAPS_RAW = Decoder("numpy", "numpy", "numpy", _decode_uncompressed)

DECODERS: dict[str, tuple[Decoder, ...]] = {
    IMPLICIT_VR_LE: (_NUMPY,),
    EXPLICIT_VR_LE: (_NUMPY,),
    DEFLATED_EXPLICIT_VR_LE: (_NUMPY,),
    EXPLICIT_VR_BE: (_NUMPY,),
    ENCAPSULATED_UNCOMPRESSED_LE: (_ENCAPS_RAW,),
    JPEG_BASELINE: (_JPEG8,),
    JPEG_EXTENDED: (_JPEG8,),
    JPEG_LOSSLESS: (_LJPEG,),
    JPEG_LOSSLESS_SV1: (_LJPEG,),
    JPEG_LS_LOSSLESS: (_JPEGLS,),
    JPEG_LS_NEAR_LOSSLESS: (_JPEGLS,),
    JPEG_2000_LOSSLESS: (_JPEG2K,),
    JPEG_2000: (_JPEG2K,),
    HTJ2K_LOSSLESS: (_HTJ2K, _JPEG2K),
    HTJ2K_LOSSLESS_RPCL: (_HTJ2K, _JPEG2K),
    HTJ2K: (_HTJ2K, _JPEG2K),
    RLE_LOSSLESS: (_RLE,),
}
"""Transfer syntax UID → decoders in order of preference. The one place syntaxes are listed."""


def syntax_name(uid: str) -> str:
    """A readable name for a transfer syntax UID (the UID itself when unknown)."""
    return SYNTAX_NAMES.get(uid, uid)


def decoder_for(transfer_syntax_uid: str) -> Decoder:
    """The first available decoder for a syntax, else `UnsupportedTransferSyntax`."""
    candidates = DECODERS.get(transfer_syntax_uid, ())
    for decoder in candidates:
        if decoder.is_available():
            return decoder
    name = syntax_name(transfer_syntax_uid)
    if not candidates:
        raise UnsupportedTransferSyntax(
            f"cannot decode {name} ({transfer_syntax_uid}): dcmview has no decoder for it"
        )
    packages = " or ".join(sorted({d.package for d in candidates}))
    raise UnsupportedTransferSyntax(
        f"cannot decode {name} ({transfer_syntax_uid}): install {packages} "
        f"(built with {', '.join(d.name for d in candidates)})"
    )


def can_decode(transfer_syntax_uid: str) -> bool:
    """Whether an installed decoder handles this transfer syntax."""
    return any(d.is_available() for d in DECODERS.get(transfer_syntax_uid, ()))


def support_reason(transfer_syntax_uid: str) -> str | None:
    """Stable reason a syntax cannot be decoded, or None when it can.

    ``transfer_syntax.not_supported``: no decoder exists for it in dcmview;
    ``transfer_syntax.decoder_missing``: a decoder exists but its package is not installed.
    """
    if can_decode(transfer_syntax_uid):
        return None
    if transfer_syntax_uid in DECODERS:
        return "transfer_syntax.decoder_missing"
    return "transfer_syntax.not_supported"


def is_native(transfer_syntax_uid: str) -> bool:
    """Whether frames of this syntax are stored uncompressed at fixed offsets."""
    return transfer_syntax_uid in NATIVE_SYNTAXES
