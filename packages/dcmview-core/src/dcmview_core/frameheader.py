"""The frame-related header values a file's layout holds, parsed once per file.

Modality and VOI lookup tables (PS3.3 C.11.1, C.11.2), the palette of a PALETTE COLOR image
(C.7.9), overlay planes (C.9.2) and the per-frame functional values (rescale, windows, VOI LUT
function; C.7.6.16), from a pydicom header `Dataset`. Windows follow `dcmview_core.voi`.

`read_lean_frame_header` is the fast path for the common file (preamble + ``DICM``, little
endian, no lookup tables, palette, overlays or functional groups): one walk over the top-level
element headers, the few values a frame layout needs taken as pydicom would convert them (a
plain `dict` keyed like a `Dataset`, which the functions here accept too). It returns ``None``
for anything it is not sure to read exactly as pydicom does, and the caller uses pydicom.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dcmview_core import _colour, _header
from dcmview_core._header import PixelElement
from dcmview_core.decoders import EXPLICIT_VR_LE, IMPLICIT_VR_LE, SYNTAX_NAMES, is_native
from dcmview_core.errors import DecodeError
from dcmview_core.model import Window
from dcmview_core.source import ByteSource
from dcmview_core.voi import float_values, parse_windows

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    Attributes = Dataset | dict[Any, Any]
    """A pydicom header, or the values `read_lean_frame_header` found (keyed by keyword)."""


@dataclass(frozen=True, slots=True)
class Lut:
    """A Modality or VOI lookup table (PS3.3 C.11.1, C.11.2): input ``first_mapped + i``
    maps to ``data[i]``; inputs outside the table take the first or last entry."""

    first_mapped: int
    bits: int
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class FrameValues:
    rescale: tuple[float, float] | None
    windows: tuple[Window, ...] | None
    voi_function: str | None


@dataclass(frozen=True, slots=True)
class OverlayPlane:
    rows: int
    columns: int
    origin: tuple[int, int]
    n_frames: int
    first_frame: int
    data: bytes
    """Overlay Data: bit ``k`` of the plane is bit ``k % 8`` of byte ``k // 8``."""


def int_value(ds: Attributes, keyword: str, default: int | None = None) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, list | tuple) or (
            hasattr(value, "__getitem__") and not isinstance(value, str | bytes)
        ):
            value = value[0]
        return int(value)
    except (TypeError, ValueError, IndexError):
        return default


def windows_of(item: Attributes) -> tuple[Window, ...] | None:
    return parse_windows(item.get("WindowCenter"), item.get("WindowWidth")) or None


def _first_number(item: Attributes, keyword: str, default: float) -> float:
    values = float_values(item.get(keyword))
    first = values[0] if values else None
    return default if first is None else first


def rescale_of(item: Attributes) -> tuple[float, float] | None:
    if "RescaleSlope" not in item and "RescaleIntercept" not in item:
        return None
    slope = _first_number(item, "RescaleSlope", 1.0)
    intercept = _first_number(item, "RescaleIntercept", 0.0)
    if slope == 0:
        return None
    return slope, intercept


def voi_function(item: Attributes) -> str | None:
    value = item.get("VOILUTFunction")
    if not value:
        return None
    name = str(value).strip().upper()
    return name if name in ("LINEAR", "LINEAR_EXACT", "SIGMOID") else None


def group_values(group: Dataset | None) -> FrameValues:
    if group is None:
        return FrameValues(None, None, None)
    rescale = windows = function = None
    for seq_kw in ("PixelValueTransformationSequence",):
        seq = group.get(seq_kw)
        if seq:
            rescale = rescale_of(seq[0])
    seq = group.get("FrameVOILUTSequence")
    if seq:
        windows = windows_of(seq[0])
        function = voi_function(seq[0])
    return FrameValues(rescale, windows, function)


def _lut_words(value: Any, little: bool, entries: int) -> np.ndarray:
    if isinstance(value, bytes | bytearray):
        if len(value) == entries and entries > 0:
            return np.frombuffer(value, np.uint8).astype(np.int64)
        return np.frombuffer(value, "<u2" if little else ">u2").astype(np.int64)
    return np.asarray(value if isinstance(value, list | tuple) else list(value), dtype=np.int64)


def lut_from_item(item: Dataset, data_kw: str, little: bool, signed: bool) -> Lut | None:
    """A LUT Descriptor + data item (PS3.3 C.11.1.1, C.11.2.1.1); ``signed`` says whether the
    first mapped value is SS (signed inputs) rather than US."""
    descriptor = item.get("LUTDescriptor")
    data = item.get(data_kw)
    if descriptor is None or data is None:
        return None
    desc = [int(v) for v in descriptor]
    entries = desc[0] or 65536
    first = desc[1]
    bits = desc[2] if len(desc) > 2 else 16
    words = _lut_words(data, little, entries)[:entries]
    if words.size == 0:
        return None
    if first >= 32768 and signed:
        first -= 65536
    return Lut(first, bits, words)


def palette_of(ds: Attributes, little: bool, bits_stored: int) -> np.ndarray | None:
    """The stored value → 8-bit RGB table of a PALETTE COLOR image (PS3.3 C.7.9)."""
    channels = []
    for colour in ("Red", "Green", "Blue"):
        descriptor = ds.get(f"{colour}PaletteColorLookupTableDescriptor")
        if descriptor is None:
            raise DecodeError(f"PALETTE COLOR image without {colour} Palette LUT Descriptor")
        desc = [int(v) for v in descriptor]
        entries = desc[0] or 65536
        first = desc[1]
        bits = desc[2]
        segmented = ds.get(f"Segmented{colour}PaletteColorLookupTableData")
        plain = ds.get(f"{colour}PaletteColorLookupTableData")
        if segmented is not None:
            itemsize = 1 if bits == 8 else 2
            raw = bytes(segmented)
            words = np.frombuffer(
                raw, np.uint8 if itemsize == 1 else ("<u2" if little else ">u2")
            ).astype(np.int64)
            values = _colour.expand_segmented_lut(words, entries, itemsize)
        elif plain is not None:
            raw = bytes(plain)
            if bits == 8 and len(raw) == entries:
                values = np.frombuffer(raw, np.uint8).astype(np.int64)
            else:
                values = np.frombuffer(raw, "<u2" if little else ">u2").astype(np.int64)
                if bits == 8 and int(values.max(initial=0)) > 255:
                    values = values >> 8
            values = values[:entries]
        else:
            raise DecodeError(f"PALETTE COLOR image without {colour} Palette LUT Data")
        table8 = _colour.lut_to_8bit(values, bits)
        size = 1 << min(bits_stored, 16)
        index = np.clip(np.arange(size) - first, 0, len(table8) - 1)
        channels.append(table8[index])
    return np.stack(channels, axis=-1)


def overlay_planes(ds: Attributes, little: bool) -> tuple[OverlayPlane, ...]:
    planes = []
    for group in range(0x6000, 0x6020, 2):
        data = ds.get((group, 0x3000))
        rows_el = ds.get((group, 0x0010))
        cols_el = ds.get((group, 0x0011))
        if data is None or rows_el is None or cols_el is None or not data.value:
            continue
        origin_el = ds.get((group, 0x0050))
        origin = [int(v) for v in origin_el.value] if origin_el is not None else [1, 1]
        n_frames_el = ds.get((group, 0x0015))
        first_el = ds.get((group, 0x0051))
        raw = bytes(data.value)
        if not little and data.VR == "OW":
            raw = np.frombuffer(raw[: len(raw) // 2 * 2], ">u2").astype("<u2").tobytes()
        planes.append(
            OverlayPlane(
                rows=int(rows_el.value),
                columns=int(cols_el.value),
                origin=(origin[0] - 1, origin[1] - 1),
                n_frames=int(n_frames_el.value) if n_frames_el is not None else 1,
                first_frame=int(first_el.value) if first_el is not None else 1,
                data=raw,
            )
        )
    return tuple(planes)


# --- the lean path ------------------------------------------------------------------------------

_LEAN_WANTED: dict[int, tuple[str, bytes]] = {
    0x00280002: ("SamplesPerPixel", b"US"),
    0x00280004: ("PhotometricInterpretation", b"CS"),
    0x00280006: ("PlanarConfiguration", b"US"),
    0x00280008: ("NumberOfFrames", b"IS"),
    0x00280010: ("Rows", b"US"),
    0x00280011: ("Columns", b"US"),
    0x00280100: ("BitsAllocated", b"US"),
    0x00280101: ("BitsStored", b"US"),
    0x00280103: ("PixelRepresentation", b"US"),
    0x00280120: ("PixelPaddingValue", b"xs"),
    0x00280121: ("PixelPaddingRangeLimit", b"xs"),
    0x00281050: ("WindowCenter", b"DS"),
    0x00281051: ("WindowWidth", b"DS"),
    0x00281052: ("RescaleIntercept", b"DS"),
    0x00281053: ("RescaleSlope", b"DS"),
    0x00281056: ("VOILUTFunction", b"CS"),
    0x7FE00001: ("ExtendedOffsetTable", b"OV"),
}
"""The top-level attributes a frame layout reads, with their VR (``xs``: US or SS)."""
_LEAN_DECLINED = frozenset(
    {
        0x00283000,  # Modality LUT Sequence
        0x00283010,  # VOI LUT Sequence
        *_header.FUNCTIONAL_GROUPS,
    }
)
"""Attributes the lean path leaves to pydicom (also: overlay groups 6000–601E)."""
_LEAN_SYNTAXES = frozenset(
    {IMPLICIT_VR_LE, EXPLICIT_VR_LE, *(uid for uid in SYNTAX_NAMES if not is_native(uid))}
)
"""Little-endian syntaxes the lean path reads (not deflated, not big endian, known)."""
_MAX_VALUE = 64 * 1024
_ELEMENT = struct.Struct("<HH2sH")
_IMPLICIT = struct.Struct("<HHL")
_LONG = struct.Struct("<L")


@dataclass(frozen=True, slots=True)
class LeanHeader:
    """What `read_lean_frame_header` found: the syntax, the values and the pixel element."""

    transfer_syntax_uid: str
    values: dict[Any, Any]
    """Keyed by keyword, each value as pydicom would convert it."""
    pixel: PixelElement


def _lean_value(vr: bytes, raw: bytes, explicit_vr: bytes | None) -> tuple[bool, Any]:
    """``(ok, value)`` of one wanted value; not ok when pydicom might read it otherwise."""
    if vr == b"US":
        if len(raw) % 2:
            return False, None
        return True, int.from_bytes(raw[:2], "little") if raw else None
    if vr == b"xs":  # US or SS: which one is settled once PixelRepresentation is known
        return len(raw) % 2 == 0, (explicit_vr, raw)
    if vr == b"OV":
        return True, raw
    if not raw.isascii():
        return False, None  # not plain text: pydicom decides
    if vr == b"DS":  # kept raw: `float_values` reads bytes as it reads pydicom's numbers
        return all(v is not None for v in float_values(raw)), raw
    if b"\\" in raw:
        return False, None  # a multi-valued string: pydicom decides
    text = raw.decode("latin-1").rstrip(" \x00")  # as pydicom strips string values
    if vr == b"IS":
        stripped = text.strip(" ")
        if not stripped:
            return True, None
        if not stripped.lstrip("+-").isdigit():
            return False, None
        return True, int(stripped)
    return "\x00" not in text, text  # CS


class _Bounded:
    """A `_header._Reader` that reads nothing past ``limit`` (raises `TruncatedError`)."""

    __slots__ = ("limit", "reader")

    def __init__(self, reader: Any, limit: int) -> None:
        self.reader, self.limit = reader, limit

    def get(self, pos: int, n: int) -> bytes:
        if pos + n > self.limit:
            raise _header.TruncatedError
        data: bytes = self.reader.get(pos, n)
        return data


def read_lean_frame_header(source: ByteSource, max_header: int | None = None) -> LeanHeader | None:
    """The frame-layout values of a preamble + ``DICM`` little-endian file from one walk over
    its top-level element headers; None means "use pydicom" (see the module note), and also
    "the pixel data starts after *max_header* bytes" (which bounds the walk's time)."""
    first = source.read_at(0, _header.FIRST_CHUNK)
    if len(first) < 144 or first[128:132] != b"DICM":
        return None
    reader: Any = _header._Reader(source, first)
    if max_header is not None:
        reader = _Bounded(reader, max_header)
    try:
        return _walk(reader, source.size)
    except _header.TruncatedError:
        return None


def _walk(reader: Any, size: int) -> LeanHeader | None:
    get = reader.get
    long_vrs, upper = _header.LONG_VRS, _header._UPPER_PAIRS
    pos, ts = 132, None
    while True:  # File Meta Information: Explicit VR Little Endian (PS3.10 7.1)
        group, elem, vr, length = _ELEMENT.unpack(get(pos, 8))
        if group != 0x0002:
            break
        if vr not in upper:
            return None
        if vr in long_vrs:
            length, start = _LONG.unpack(get(pos + 8, 4))[0], pos + 12
        else:
            start = pos + 8
        if length == _header.UNDEFINED:
            return None
        if elem == 0x0010:
            ts = get(start, length).decode("latin-1").strip(" \x00")
        pos = start + length
    if ts not in _LEAN_SYNTAXES:
        return None
    explicit = ts != IMPLICIT_VR_LE
    if (get(pos, 6)[4:6] in upper) != explicit:
        return None  # the data contradicts its syntax: pydicom reads it its own way
    values: dict[Any, Any] = {}
    last = 0
    while pos + 8 <= size:
        head = get(pos, 8)
        if explicit:
            group, elem, vr, length = _ELEMENT.unpack(head)
            if vr in long_vrs:
                length, start = _LONG.unpack(get(pos + 8, 4))[0], pos + 12
            elif vr in upper:
                start = pos + 8
            else:
                return None
        else:
            group, elem, length = _IMPLICIT.unpack(head)
            vr, start = b"", pos + 8
        tag = group << 16 | elem
        if tag <= last or tag in _LEAN_DECLINED or (0x6000 <= group <= 0x601E and group % 2 == 0):
            return None
        last = tag
        if tag in _header.PIXEL_TAGS:
            implicit_vr = b"OW" if tag == 0x7FE00010 else b""  # as `read_pixel_element`
            return _finish(ts, values, PixelElement(tag, start, length, vr or implicit_vr))
        if tag > 0x7FE00010:
            return None
        if length == _header.UNDEFINED:
            if vr not in (b"", b"SQ", b"UN"):
                return None
            end = _header._skip_undefined(reader, start, explicit and vr == b"SQ")
            if end is None:
                return None
            pos = end
            continue
        wanted = _LEAN_WANTED.get(tag)
        if wanted is not None:
            keyword, want = wanted
            if explicit and vr != want and not (want == b"xs" and vr in (b"US", b"SS")):
                return None
            if want != b"OV" and length > _MAX_VALUE:
                return None
            ok, value = _lean_value(want, get(start, length), vr if explicit else None)
            if not ok:
                return None
            values[keyword] = value
        pos = start + length
    return None  # no pixel data: pydicom names what is missing


def _finish(ts: str, values: dict[Any, Any], pixel: PixelElement) -> LeanHeader | None:
    if str(values.get("PhotometricInterpretation") or "").strip().upper() == "PALETTE COLOR":
        return None
    for keyword in ("PixelPaddingValue", "PixelPaddingRangeLimit"):
        if keyword not in values:
            continue
        vr, raw = values[keyword]
        if vr is None:  # implicit VR: pydicom takes SS for Pixel Representation 1
            representation = values.get("PixelRepresentation")
            if representation is None:
                return None
            vr = b"SS" if representation == 1 else b"US"
        values[keyword] = int.from_bytes(raw[:2], "little", signed=vr == b"SS") if raw else None
    return LeanHeader(ts, values, pixel)
