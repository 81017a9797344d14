"""Read one decoded frame of a DICOM file, touching only that frame's bytes.

`read_frame(entry, index)` returns a `Frame`: the samples in the raw layout that ``/raw`` sends
and the metadata the presentation step and the ``X-Frame-*`` headers need.

Raw layout (PS3.5 8.1.1, 8.2; PS3.3 C.7.6.3): row-major, native byte order (little-endian on
every platform we run on). Grayscale is as stored, with unused high bits masked and signed
values sign-extended (``uint8/16/32`` or ``int8/16/32``; 1-bit data becomes ``uint8`` 0/1; Float
and Double Float Pixel Data become ``float32``/``float64``); MONOCHROME1 is left as stored.
Colour is always full-resolution interleaved 8-bit RGB: YBR converted, 4:2:2 upsampled, planar
interleaved, palette applied.

Bytes are read through a `ByteSource` (`dcmview_core.source`): a native frame is one read of
its byte range, an encapsulated frame one read per fragment, so a remote object works like a
local file. The dataset is opened by `dcmview_core.dataset.open_dataset` and the frames are
mapped by `dcmview_core.pixelmap` (the rules discovery uses). The per-file layout is parsed
once and kept in a small LRU keyed by name, size and version (a local file's modification
time), so further frames of a file cost one ``open`` and one read.

Two paths build a layout, with the same `_build_layout`: the lean one
(`frameheader.read_lean_frame_header`: one read of the header, the element headers walked in
Python, for the common little-endian file without lookup tables, palette, overlays or
functional groups) and pydicom (`_pydicom_layout`, the reference, for everything else). The
lean path is what makes the first frame of a small file cheap; a test runs both over every
bundled and generated file and requires identical layouts and pixels.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dcmview_core import _colour, _header, decoders
from dcmview_core.dataset import NotDicomError, open_dataset
from dcmview_core.decoders import CodecParams
from dcmview_core.errors import DcmviewError, DecodeError, FrameOutOfRange, NoPixelData, PixelError
from dcmview_core.frameheader import (
    FrameValues,
    Lut,
    OverlayPlane,
    group_values,
    int_value,
    lut_from_item,
    overlay_planes,
    palette_of,
    read_lean_frame_header,
    rescale_of,
    voi_function,
    windows_of,
)
from dcmview_core.model import FileEntry, Window, display_path
from dcmview_core.pixelmap import PixelMap, frame_bits, map_encapsulated, truncation_message
from dcmview_core.source import (
    ByteSource,
    close_source,
    is_source_name,
    open_source,
    source_version,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from dcmview_core.frameheader import Attributes

__all__ = [
    "Frame",
    "FrameMeta",
    "Lut",
    "Overlay",
    "clear_layout_cache",
    "overlay_mask",
    "read_frame",
    "read_frame_inline",
]

_PIXEL_DATA = 0x7FE00010
_FLOAT_PIXEL_DATA = 0x7FE00008
_DOUBLE_PIXEL_DATA = 0x7FE00009
_UNDEFINED = 0xFFFFFFFF
_LAYOUT_CACHE_SIZE = 32
_INLINE_MAX_HEADER = 256 * 1024
"""`read_frame_inline` walks no further for the pixel data (a few ms at worst), so a huge or
hostile header never holds up its caller (a server's event loop); `read_frame` then reads it."""


@dataclass(frozen=True, slots=True)
class Overlay:
    """One overlay plane for this frame (PS3.3 C.9.2): ``mask`` placed at ``origin``
    (0-based row, column of its top-left pixel in the image)."""

    mask: np.ndarray
    origin: tuple[int, int]


@dataclass(frozen=True, slots=True)
class FrameMeta:
    """Everything ``/raw`` headers and the presentation step need about one frame."""

    rows: int
    columns: int
    bits_allocated: int
    """Bits per sample as sent in ``Frame.samples`` (8 for colour and 1-bit data)."""
    bits_stored: int
    """Significant bits per sample as sent (after masking; 8 for colour)."""
    pixel_representation: int
    """0 unsigned, 1 signed (two's complement) for the samples as sent."""
    samples_per_pixel: int
    """As sent: 3 for colour (interleaved RGB), else 1."""
    photometric_interpretation: str
    """Of the samples as sent: ``MONOCHROME1``, ``MONOCHROME2`` or ``RGB``."""
    stored_photometric_interpretation: str
    """As the file declares it (``YBR_FULL_422``, ``PALETTE COLOR`` …)."""
    sample_format: str
    """``uint``, ``int`` or ``float`` (Float/Double Float Pixel Data)."""
    rescale_slope: float
    rescale_intercept: float
    modality_lut: Lut | None
    windows: tuple[Window, ...]
    """Window Center/Width pairs for this frame (per-frame functional group, shared group,
    else the top-level values); the first is the default."""
    voi_lut_function: str
    """``LINEAR``, ``LINEAR_EXACT`` or ``SIGMOID`` (PS3.3 C.11.2.1.3)."""
    voi_luts: tuple[Lut, ...]
    pixel_padding_value: int | None
    pixel_padding_range_limit: int | None
    overlays: tuple[Overlay, ...]
    frame_index: int
    number_of_frames: int
    transfer_syntax_uid: str

    @property
    def is_colour(self) -> bool:
        """Whether the samples are RGB (not windowed for display)."""
        return self.samples_per_pixel == 3

    @property
    def default_window(self) -> Window | None:
        """The first Window Center/Width that applies to this frame, if any."""
        return self.windows[0] if self.windows else None


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: ``samples`` in the raw layout and its metadata."""

    samples: np.ndarray
    meta: FrameMeta

    @property
    def nbytes(self) -> int:
        """Memory held by the samples (what the caches count)."""
        return int(self.samples.nbytes)


# --- per-file layout ---------------------------------------------------------------------


@dataclass(slots=True)
class _Layout:
    path: str
    stamp: object
    """`source_version` of the source parsed (size and version)."""
    size: int
    transfer_syntax_uid: str
    little_endian: bool
    tag: int
    value_offset: int
    value_length: int
    """Bytes of the pixel value present in the file (native); -1 for encapsulated."""
    params: CodecParams
    planar_configuration: int
    number_of_frames: int
    sample_format: str
    base_rescale: tuple[float, float]
    modality_lut: Lut | None
    base_windows: tuple[Window, ...]
    base_voi_function: str
    voi_luts: tuple[Lut, ...]
    padding: tuple[int | None, int | None]
    shared: FrameValues
    per_frame: tuple[FrameValues, ...]
    overlays: tuple[OverlayPlane, ...]
    palette: np.ndarray | None
    pixel_map: PixelMap | None = None
    """Fragments and frames of encapsulated pixel data."""
    swap_words: bool = False
    fetched: bool = False
    """Frame bytes come from the source's ``frame_bytes(index)`` (no offsets in a file)."""
    dataset_start: int = 0
    """Stray bytes before the dataset (a file without preamble); 0 for regular files."""


_layouts: OrderedDict[str, _Layout] = OrderedDict()
_layouts_lock = threading.Lock()


def clear_layout_cache() -> None:
    """Forget every parsed file layout (tests; files rewritten in place keep working anyway)."""
    with _layouts_lock:
        _layouts.clear()
    with _inflated_lock:
        _inflated.clear()


def _layout(source: ByteSource) -> _Layout:
    """The cached layout of *source*, else a parsed one (kept for its next frames)."""
    stamp = source_version(source)
    return _cached_layout(source.name, stamp) or _keep(_parse_layout(source, stamp))


def _lean_only(source: ByteSource, max_header: int) -> _Layout | None:
    """`_layout` without pydicom: None when the layout is not cached and the lean path
    declines the file (or its pixel data starts after *max_header* bytes)."""
    stamp = source_version(source)
    cached = _cached_layout(source.name, stamp)
    if cached is not None:
        return cached
    try:
        layout = _lean_layout(source, stamp, max_header)
    except PixelError:
        raise
    except OSError as exc:
        name = display_path(source.name)
        raise DecodeError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return None if layout is None else _keep(layout)


def _cached_layout(path: str, stamp: object) -> _Layout | None:
    with _layouts_lock:
        cached = _layouts.get(path)
        if cached is not None and cached.stamp == stamp:
            _layouts.move_to_end(path)
            return cached
    return None


def _keep(layout: _Layout) -> _Layout:
    with _layouts_lock:
        _layouts[layout.path] = layout
        _layouts.move_to_end(layout.path)
        while len(_layouts) > _LAYOUT_CACHE_SIZE:
            _layouts.popitem(last=False)
    return layout


def _parse_layout(source: ByteSource, stamp: object) -> _Layout:
    """The layout of *source*: the lean path when it can answer, else pydicom."""
    name = display_path(source.name)
    try:
        held = getattr(source, "header_dataset", None)
        if held is None or getattr(source, "frame_bytes", None) is None:
            lean = _lean_layout(source, stamp)
            if lean is not None:
                return lean
    except PixelError:
        raise
    except OSError as exc:
        raise DecodeError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return _pydicom_layout(source, stamp)


def _lean_layout(
    source: ByteSource, stamp: object, max_header: int | None = None
) -> _Layout | None:
    """The layout from the lean header walk; None when the file needs pydicom."""
    header = read_lean_frame_header(source, max_header)
    if header is None:
        return None
    pixel, values = header.pixel, header.values
    layout = _build_layout(
        values, source, stamp, header.transfer_syntax_uid, True, pixel.tag, pixel.value_offset,
        pixel.length,
    )  # fmt: skip
    _map_pixels(layout, source, values.get("ExtendedOffsetTable"))
    return layout


def _pydicom_layout(source: ByteSource, stamp: object) -> _Layout:
    """The layout as pydicom reads the header: the reference path, and the one for files the
    lean path declines."""
    name = display_path(source.name)
    try:
        with _header.quiet_pydicom():
            # pydicom warns about every odd value; the frame either decodes or raises
            return _parse_layout_quietly(source, stamp)
    except PixelError:
        raise  # a source's own pixel errors (an upstream failure) pass through unchanged
    except OSError as exc:
        raise DecodeError(f"cannot read {name}: {exc.strerror or exc}") from exc
    except NotDicomError as exc:
        raise DecodeError(f"cannot read {name}: {exc}") from exc
    except Exception as exc:  # pydicom raises many types on malformed headers
        raise DecodeError(f"cannot parse the DICOM header of {name}: {exc}") from exc


def _held_layout(source: ByteSource, held: Any, stamp: object) -> _Layout:
    """The layout of a source that holds its header and hands out each frame's bytes."""
    ds: Dataset = held()
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "") if meta is not None else "")
    ts = ts or decoders.EXPLICIT_VR_LE
    layout = _build_layout(ds, source, stamp, ts, True, _PIXEL_DATA, -1, -1)
    layout.number_of_frames = int(getattr(source, "frame_count", 0) or layout.number_of_frames)
    layout.fetched = True
    return layout


def _parse_layout_quietly(source: ByteSource, stamp: object) -> _Layout:
    held = getattr(source, "header_dataset", None)
    if held is not None and getattr(source, "frame_bytes", None) is not None:
        return _held_layout(source, held, stamp)
    opened = open_dataset(source)
    ds, ts, little = opened.dataset, opened.transfer_syntax_uid, opened.little_endian
    pixel = opened.pixel
    if ts == decoders.DEFLATED_EXPLICIT_VR_LE:
        # a deflate stream cannot be entered in the middle: frames are sliced once inflated
        tag, value_offset, value_length, vr = _PIXEL_DATA, -1, -1, b""
    elif pixel is None:
        raise NoPixelData("the file has no Pixel Data")
    else:
        tag, value_offset, value_length, vr = pixel.tag, pixel.value_offset, pixel.length, pixel.vr
    layout = _build_layout(ds, source, stamp, ts, little, tag, value_offset, value_length)
    layout.dataset_start = opened.start
    layout.swap_words = not little and vr == b"OW" and layout.params.bits_allocated <= 8
    _map_pixels(layout, source, ds.get("ExtendedOffsetTable"))
    return layout


def _map_pixels(layout: _Layout, source: ByteSource, eot: Any) -> None:
    """Map the fragments of encapsulated Pixel Data (*eot*: the Extended Offset Table)."""
    if decoders.is_native(layout.transfer_syntax_uid) or layout.tag != _PIXEL_DATA:
        return
    size, value_offset, value_length = source.size, layout.value_offset, layout.value_length
    end = size if value_length == _UNDEFINED else min(size, value_offset + value_length)
    layout.pixel_map = map_encapsulated(
        source, value_offset, end, layout.number_of_frames, bytes(eot) if eot else None
    )


def _build_layout(
    ds: Attributes,
    source: ByteSource,
    stamp: object,
    ts: str,
    little: bool,
    tag: int,
    value_offset: int,
    value_length: int,
) -> _Layout:
    rows = int_value(ds, "Rows", 0) or 0
    columns = int_value(ds, "Columns", 0) or 0
    if rows <= 0 or columns <= 0:
        raise DecodeError(f"invalid image size {rows}×{columns}")
    if tag == _FLOAT_PIXEL_DATA:
        bits_allocated, sample_format = 32, "float"
    elif tag == _DOUBLE_PIXEL_DATA:
        bits_allocated, sample_format = 64, "float"
    else:
        bits_allocated = int_value(ds, "BitsAllocated", 16) or 16
        sample_format = "int" if int_value(ds, "PixelRepresentation", 0) == 1 else "uint"
    if bits_allocated not in (1, 8, 16, 32, 64):
        raise DecodeError(f"unsupported Bits Allocated {bits_allocated}")
    bits_stored = int_value(ds, "BitsStored", bits_allocated) or bits_allocated
    bits_stored = min(max(bits_stored, 1), bits_allocated)
    spp = int_value(ds, "SamplesPerPixel", 1) or 1
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if not photometric:
        photometric = "RGB" if spp == 3 else "MONOCHROME2"
    params = CodecParams(
        rows=rows,
        columns=columns,
        samples_per_pixel=spp,
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        pixel_representation=1 if sample_format == "int" else 0,
        photometric_interpretation=photometric,
    )
    n_frames = max(int_value(ds, "NumberOfFrames", 1) or 1, 1)
    modality_lut = None
    signed_input = sample_format == "int"
    seq = ds.get("ModalityLUTSequence")
    if seq:
        modality_lut = lut_from_item(seq[0], "LUTData", little, signed_input)
    rescale = rescale_of(ds) or (1.0, 0.0)
    signed_modality = signed_input or rescale[1] < 0 or rescale[0] < 0
    voi_luts = tuple(
        lut
        for item in ds.get("VOILUTSequence") or []
        if (lut := lut_from_item(item, "LUTData", little, signed_modality))
    )
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    per_frame_seq = ds.get("PerFrameFunctionalGroupsSequence") or []
    padding_value = int_value(ds, "PixelPaddingValue")
    padding_limit = int_value(ds, "PixelPaddingRangeLimit")
    palette = None
    if photometric == "PALETTE COLOR" and tag == _PIXEL_DATA:
        palette = palette_of(ds, little, bits_stored)
    return _Layout(
        path=source.name,
        stamp=stamp,
        size=source.size,
        transfer_syntax_uid=ts,
        little_endian=little,
        tag=tag,
        value_offset=value_offset,
        value_length=value_length,
        params=params,
        planar_configuration=int_value(ds, "PlanarConfiguration", 0) or 0,
        number_of_frames=n_frames,
        sample_format=sample_format,
        base_rescale=rescale,
        modality_lut=modality_lut,
        base_windows=windows_of(ds) or (),
        base_voi_function=voi_function(ds) or "LINEAR",
        voi_luts=voi_luts,
        padding=(padding_value, padding_limit),
        shared=group_values(shared_seq[0] if shared_seq else None),
        per_frame=tuple(group_values(item) for item in per_frame_seq),
        overlays=overlay_planes(ds, little),
        palette=palette,
    )


# --- encapsulated pixel data (PS3.5 A.4) ---------------------------------------------------


def _encapsulated_bytes(layout: _Layout, source: ByteSource, index: int) -> bytes:
    if layout.fetched:
        return bytes(getattr(source, "frame_bytes")(index))  # noqa: B009 (optional member)
    found = layout.pixel_map
    if found is None:  # pragma: no cover - mapped with the layout
        raise DecodeError("the encapsulated Pixel Data was not mapped")
    if found.error is not None:
        raise DecodeError(found.error)
    fragments = found.frame_fragments(index)
    if fragments is None:
        raise DecodeError(
            f"frame {index} is missing: the encapsulated Pixel Data holds "
            f"{len(found.fragments)} fragment(s) for {layout.number_of_frames} frame(s)"
        )
    if found.frame_truncated(index):
        raise DecodeError(f"the pixel data is truncated: the file ends inside frame {index}'s data")
    parts = []
    for offset, length in fragments:
        data = source.read_at(offset, length)
        if len(data) < length:
            raise DecodeError(
                f"the pixel data is truncated: the file ends inside frame {index}'s data"
            )
        parts.append(data)
    return b"".join(parts)


# --- native pixel data (PS3.5 8.1.1) -----------------------------------------------------------


def _frame_bits(layout: _Layout) -> int:
    p = layout.params
    return frame_bits(
        p.rows, p.columns, p.samples_per_pixel, p.bits_allocated, p.photometric_interpretation
    )


def _read_into(source: ByteSource, offset: int, chunk: np.ndarray) -> int:
    """Fill *chunk* from *offset*: without a copy when the source can, else one read."""
    read_into = getattr(source, "read_into", None)
    if read_into is not None:
        return int(read_into(offset, memoryview(chunk)))  # type: ignore[arg-type]
    data = source.read_at(offset, chunk.size)
    chunk[: len(data)] = np.frombuffer(data, np.uint8)
    return len(data)


def _native_bytes(layout: _Layout, source: ByteSource, index: int) -> tuple[np.ndarray, int]:
    """The bytes holding frame ``index`` and the bit offset of its first sample in them."""
    bits = _frame_bits(layout)
    start_bit = index * bits
    start = start_bit // 8
    stop = -(-(start_bit + bits) // 8)
    # Big-endian OW holds 8- and 1-bit samples in byte-swapped 16-bit words (PS3.5 7.1.2):
    # read whole words and swap them back.
    lo, hi = (start & ~1, stop + (stop & 1)) if layout.swap_words else (start, stop)
    if layout.fetched:  # the source hands out this frame's bytes alone
        data = getattr(source, "frame_bytes")(index)  # noqa: B009 (optional member)
        need = -(-bits // 8)
        if len(data) < need:
            raise DecodeError(truncation_message(len(data), need) + f" (frame {index})")
        return np.frombuffer(data, np.uint8)[:need], 0
    if layout.value_offset < 0:  # deflated: inflate and slice
        pixel = _inflated_pixel_data(layout, source)
        available = len(pixel)
        chunk = np.frombuffer(pixel, np.uint8)[lo:hi]
    else:
        available = max(min(layout.value_length, layout.size - layout.value_offset), 0)
        chunk = np.empty(max(min(hi, available) - lo, 0), dtype=np.uint8)
        if chunk.size:
            got = _read_into(source, layout.value_offset + lo, chunk)
            chunk = chunk[:got]
    if len(chunk) < stop - lo:
        needed = -(-layout.number_of_frames * bits // 8)
        raise DecodeError(
            f"{truncation_message(available, needed)} (frame {index} needs bytes "
            f"{start} to {stop} of the pixel data)"
        )
    if layout.swap_words:
        chunk = chunk[: len(chunk) // 2 * 2].reshape(-1, 2)[:, ::-1].ravel()
    return chunk[start - lo : stop - lo], start_bit % 8


_INFLATED_KEEP_BYTES = 128 * 2**20
_inflated: dict[tuple[str, object], bytes] = {}
_inflated_lock = threading.Lock()


def _inflated_pixel_data(layout: _Layout, source: ByteSource) -> bytes:
    """The Pixel Data of a deflated file; the last one (up to 128 MB) is kept for its next
    frames, since a deflate stream cannot be entered in the middle."""
    key = (layout.path, layout.stamp)
    with _inflated_lock:
        kept = _inflated.get(key)
    if kept is not None:
        return kept
    with _header.quiet_pydicom():
        try:
            element = open_dataset(source, stop_before_pixels=False).dataset.get(layout.tag)
        except (zlib.error, Exception) as exc:
            raise DecodeError(f"cannot inflate the deflated dataset: {exc}") from exc
    if element is None:
        raise NoPixelData("the file has no Pixel Data")
    value = bytes(element.value)
    with _inflated_lock:
        _inflated.clear()
        if len(value) <= _INFLATED_KEEP_BYTES:
            _inflated[key] = value
    return value


def _native_samples(layout: _Layout, source: ByteSource, index: int) -> np.ndarray:
    p = layout.params
    chunk, bit_offset = _native_bytes(layout, source, index)
    buf = chunk
    count = p.rows * p.columns * p.samples_per_pixel
    if p.bits_allocated == 1:
        bits = np.unpackbits(buf, bitorder="little")
        return bits[bit_offset : bit_offset + count].reshape(p.rows, p.columns)
    kind = "f" if layout.sample_format == "float" else "u"
    dtype = np.dtype(f"{kind}{p.bits_allocated // 8}")
    if p.bits_allocated > 8:
        # 8-bit samples are never swapped, even in big-endian OW (SC_rgb_small_odd_big_endian)
        dtype = dtype.newbyteorder("<" if layout.little_endian else ">")
    arr = buf[: len(buf) // dtype.itemsize * dtype.itemsize].view(dtype)
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    if p.samples_per_pixel == 1:
        return arr.reshape(p.rows, p.columns)
    if p.photometric_interpretation in _colour.SUBSAMPLED_422:
        return _colour.upsample_422(arr, p.rows, p.columns, p.photometric_interpretation)
    if layout.planar_configuration == 1:
        return np.moveaxis(arr.reshape(p.samples_per_pixel, p.rows, p.columns), 0, -1)
    return arr.reshape(p.rows, p.columns, p.samples_per_pixel)


# --- normalisation to the raw layout -------------------------------------------------------


def _normalise_gray(arr: np.ndarray, layout: _Layout) -> np.ndarray:
    """Mask unused high bits and sign-extend signed samples (PS3.5 8.1.1)."""
    p = layout.params
    if layout.sample_format == "float" or p.bits_allocated == 1:
        return arr
    nbytes = arr.dtype.itemsize
    unsigned = arr.view(np.dtype(f"u{nbytes}")) if arr.dtype.kind == "i" else arr
    stored = p.bits_stored
    width = nbytes * 8
    if stored < width:
        mask = (1 << stored) - 1
        if unsigned.flags.writeable:
            # a buffer this read_frame call owns: mask in place, no second frame allocation
            np.bitwise_and(unsigned, np.array(mask, dtype=unsigned.dtype), out=unsigned)
        else:
            unsigned = unsigned & np.array(mask, dtype=unsigned.dtype)
    if layout.sample_format != "int":
        return unsigned
    signed = unsigned.view(np.dtype(f"i{nbytes}"))
    if stored < width:
        sign = np.array(1 << (stored - 1), dtype=signed.dtype)
        signed = (signed ^ sign) - sign
    return signed


def _to_rgb8(arr: np.ndarray, photometric: str, layout: _Layout) -> np.ndarray:
    p = layout.params
    if photometric == "PALETTE COLOR":
        if layout.palette is None:  # pragma: no cover - built with the layout
            raise DecodeError("PALETTE COLOR image without a palette")
        index = arr.astype(np.intp, copy=False)
        np.clip(index, 0, len(layout.palette) - 1, out=index)
        return layout.palette[index]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise DecodeError(f"{photometric} frame decoded to shape {arr.shape}, expected 3 samples")
    if arr.dtype != np.uint8:
        shift = max(p.bits_stored - 8, 0)
        wide = arr.astype(np.uint64 if arr.dtype.itemsize > 4 else np.uint32)
        arr = np.right_shift(wide, shift).astype(np.uint8)
    if photometric in ("YBR_FULL", "YBR_FULL_422"):
        return _colour.ybr_full_to_rgb(arr)
    if photometric in ("YBR_PARTIAL_422", "YBR_PARTIAL_420"):
        return _colour.ybr_partial_to_rgb(arr)
    if photometric in ("RGB", "YBR_ICT", "YBR_RCT"):
        return np.ascontiguousarray(arr)
    raise DecodeError(f"unsupported Photometric Interpretation {photometric}")


def _frame_values(
    layout: _Layout, index: int
) -> tuple[tuple[float, float], tuple[Window, ...], str]:
    per = layout.per_frame[index] if index < len(layout.per_frame) else None
    shared = layout.shared
    rescale = (per and per.rescale) or shared.rescale or layout.base_rescale
    windows = (per and per.windows) or shared.windows or layout.base_windows
    function = (per and per.voi_function) or shared.voi_function or layout.base_voi_function
    return rescale, windows, function


def _overlays_for(layout: _Layout, index: int) -> tuple[Overlay, ...]:
    out = []
    for plane in layout.overlays:
        k = index + 1 - plane.first_frame
        if not 0 <= k < plane.n_frames:
            continue
        n = plane.rows * plane.columns
        start_bit = k * n
        start, stop = start_bit // 8, -(-(start_bit + n) // 8)
        chunk = np.frombuffer(plane.data[start:stop], np.uint8)
        bits = np.unpackbits(chunk, bitorder="little")[start_bit % 8 : start_bit % 8 + n]
        if bits.size < n:
            continue  # overlay data shorter than declared: nothing reliable to draw
        out.append(Overlay(bits.reshape(plane.rows, plane.columns).astype(bool), plane.origin))
    return tuple(out)


def overlay_mask(frame: Frame) -> np.ndarray:
    """The frame's overlay planes merged into one ``(rows, columns)`` uint8 mask of 0/1
    (each plane placed at its origin and clipped to the image)."""
    rows, columns = frame.meta.rows, frame.meta.columns
    mask = np.zeros((rows, columns), dtype=np.uint8)
    for plane in frame.meta.overlays:
        r0, c0 = plane.origin
        m = np.asarray(plane.mask).astype(bool)
        top, left = max(r0, 0), max(c0, 0)
        bottom, right = min(r0 + m.shape[0], rows), min(c0 + m.shape[1], columns)
        if bottom <= top or right <= left:
            continue
        mask[top:bottom, left:right] |= m[top - r0 : bottom - r0, left - c0 : right - c0]
    return mask


def read_frame(entry: FileEntry, index: int) -> Frame:
    """Decode frame ``index`` (0-based) of ``entry``, reading only that frame's bytes.

    ``entry.path`` is opened with `open_source` (a local path or a registered remote name).
    Raises `NoPixelData`, `FrameOutOfRange`, `UnsupportedTransferSyntax` (naming the syntax
    and the package that would decode it) or `DecodeError` (corrupt or truncated data, or a
    file that can no longer be read).
    """
    source = _open(entry)
    try:
        return read_source_frame(source, index)
    finally:
        close_source(source)


def read_frame_inline(entry: FileEntry, index: int) -> Frame | None:
    """`read_frame` when it is cheap and bounded, else None (the caller uses `read_frame`).

    Cheap: a local file in a native little-endian syntax whose layout is cached or comes from
    the lean header walk (pixel data within the first 256 KiB), so the work is one header read
    (at most) and one read of the frame's bytes — no pydicom, no codec, no network. How large
    a frame is worth reading this way (on a server's event loop, say) is the caller's choice
    (`frame_nbytes`). Raises as `read_frame` does.
    """
    ts = entry.transfer_syntax_uid
    if is_source_name(entry.path) or ts not in (decoders.EXPLICIT_VR_LE, decoders.IMPLICIT_VR_LE):
        return None
    source = _open(entry)
    try:
        if getattr(source, "read_frame", None) is not None:
            return None
        layout = _lean_only(source, _INLINE_MAX_HEADER)
        if layout is None or not decoders.is_native(layout.transfer_syntax_uid):
            return None
        return _layout_frame(layout, source, index)
    finally:
        close_source(source)


def _open(entry: FileEntry) -> ByteSource:
    try:
        return open_source(entry.path)
    except PixelError:
        raise
    except OSError as exc:
        raise DecodeError(f"cannot read {display_path(entry.path)}: {exc.strerror or exc}") from exc
    except DcmviewError as exc:
        raise DecodeError(str(exc)) from exc


def read_source_frame(source: ByteSource, index: int) -> Frame:
    """`read_frame` for an open `ByteSource` (a source with its own ``read_frame``, such as a
    DICOMweb instance whose transfer syntax is known only per frame response, decodes itself)."""
    own = getattr(source, "read_frame", None)
    if own is not None:
        frame: Frame = own(index)
        return frame
    return _layout_frame(_layout(source), source, index)


def _layout_frame(layout: _Layout, source: ByteSource, index: int) -> Frame:
    """Frame ``index`` of *source*, whose layout is *layout*."""
    if not 0 <= index < layout.number_of_frames:
        raise FrameOutOfRange(
            f"frame {index} is out of range: the file has {layout.number_of_frames} frame(s)"
        )
    p = layout.params
    ts = layout.transfer_syntax_uid
    photometric = p.photometric_interpretation
    if decoders.is_native(ts):
        decoders.decoder_for(ts)
        if photometric in _colour.COMPRESSED_ONLY:
            raise DecodeError(
                f"{photometric} is defined for compressed transfer syntaxes only "
                f"(PS3.3 C.7.6.3.1.2); this file stores it uncompressed"
            )
        try:
            arr = _native_samples(layout, source, index)
        except PixelError:
            raise
        except OSError as exc:
            raise DecodeError(f"cannot read {display_path(layout.path)}: {exc}") from exc
    else:
        decoder = decoders.decoder_for(ts)
        try:
            data = _encapsulated_bytes(layout, source, index)
        except PixelError:
            raise
        except OSError as exc:
            raise DecodeError(f"cannot read {display_path(layout.path)}: {exc}") from exc
        try:
            arr, photometric = decoder.decode(data, p)
        except DecodeError:
            raise
        except Exception as exc:  # codecs raise their own error types
            raise DecodeError(
                f"{decoder.name} failed on frame {index} ({decoders.syntax_name(ts)}): {exc}"
            ) from exc
        arr = np.asarray(arr)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        expected = (
            (p.rows, p.columns)
            if p.samples_per_pixel == 1
            else (p.rows, p.columns, p.samples_per_pixel)
        )
        if arr.shape != expected:
            raise DecodeError(
                f"frame {index} decoded to shape {arr.shape}, the dataset says {expected}"
            )
        if p.samples_per_pixel == 1 and arr.dtype.itemsize * 8 != p.bits_allocated >= 8:
            # the codec chose another width than the dataset: follow the dataset
            arr = arr.astype(np.dtype(f"u{p.bits_allocated // 8}"))
    colour = p.samples_per_pixel == 3 or photometric == "PALETTE COLOR"
    if colour:
        samples = _to_rgb8(arr, photometric, layout)
        bits, stored, representation, spp, sent_photometric, sample_format = (
            8,
            8,
            0,
            3,
            "RGB",
            "uint",
        )
    else:
        samples = np.ascontiguousarray(_normalise_gray(arr, layout))
        bits = 8 if p.bits_allocated == 1 else p.bits_allocated
        stored = 1 if p.bits_allocated == 1 else p.bits_stored
        representation, spp, sample_format = p.pixel_representation, 1, layout.sample_format
        sent_photometric = "MONOCHROME1" if photometric == "MONOCHROME1" else "MONOCHROME2"
    (slope, intercept), windows, function = _frame_values(layout, index)
    meta = FrameMeta(
        rows=p.rows,
        columns=p.columns,
        bits_allocated=bits,
        bits_stored=stored,
        pixel_representation=representation,
        samples_per_pixel=spp,
        photometric_interpretation=sent_photometric,
        sample_format=sample_format,
        stored_photometric_interpretation=p.photometric_interpretation,
        rescale_slope=slope,
        rescale_intercept=intercept,
        modality_lut=None if colour else layout.modality_lut,
        windows=() if colour else windows,
        voi_lut_function=function,
        voi_luts=() if colour else layout.voi_luts,
        pixel_padding_value=layout.padding[0],
        pixel_padding_range_limit=layout.padding[1],
        overlays=_overlays_for(layout, index),
        frame_index=index,
        number_of_frames=layout.number_of_frames,
        transfer_syntax_uid=ts,
    )
    return Frame(samples, meta)
