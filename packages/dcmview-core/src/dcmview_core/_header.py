"""Header reading for discovery: a lean reader for the common case, pydicom for the rest.

Both paths produce a `Header`: the few attributes discovery needs, converted from their raw
bytes by the same functions (so the two paths agree value for value), plus where the pixel data
element starts. Nothing here reads pixel data or any bulk value.

The lean reader handles files with the 128-byte preamble and ``DICM`` magic in Implicit or
Explicit VR Little Endian (native or encapsulated pixel data). It returns ``None`` for anything
else (no preamble, big endian, deflate, enhanced multi-frame functional groups, unusual
character sets, odd structure) and the caller falls back to pydicom, which decides.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from dcmview_core.decoders import DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE
from dcmview_core.source import ByteSource
from dcmview_core.voi import parse_windows

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

CHUNK = 16384
FIRST_CHUNK = 4096
"""The lean reader's first read: the meta group and typical headers fit."""
DEFLATED_LE, EXPLICIT_BE, IMPLICIT_LE = DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE
UNDEFINED = 0xFFFFFFFF
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
FUNCTIONAL_GROUPS = frozenset({0x52009229, 0x52009230})
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
MAX_DEPTH = 100_000
MAX_WANTED_LENGTH = 64 * 1024
_HEAD_EXPLICIT = struct.Struct("<HH2sH")
_HEAD_IMPLICIT = struct.Struct("<HHL")
_LENGTH = struct.Struct("<L")

# tag -> (keyword, kind); kinds are converted by `_convert`.
WANTED: dict[int, tuple[str, str]] = {
    0x00080005: ("SpecificCharacterSet", "cs_multi"),
    0x00080016: ("SOPClassUID", "ui"),
    0x00080018: ("SOPInstanceUID", "ui"),
    0x00080020: ("StudyDate", "cs"),
    0x00080060: ("Modality", "cs"),
    0x00081030: ("StudyDescription", "text"),
    0x0008103E: ("SeriesDescription", "text"),
    0x00082144: ("RecommendedDisplayFrameRate", "is"),
    0x00100010: ("PatientName", "pn"),
    0x00100020: ("PatientID", "text"),
    0x00180040: ("CineRate", "is"),
    0x00180050: ("SliceThickness", "ds"),
    0x00180088: ("SpacingBetweenSlices", "ds"),
    0x00181063: ("FrameTime", "ds"),
    0x00181065: ("FrameTimeVector", "bytes"),
    0x00181114: ("EstimatedRadiographicMagnificationFactor", "ds"),
    0x00181164: ("ImagerPixelSpacing", "bytes"),
    0x00182010: ("NominalScannedPixelSpacing", "bytes"),
    0x00185101: ("ViewPosition", "cs"),
    0x0020000D: ("StudyInstanceUID", "ui"),
    0x0020000E: ("SeriesInstanceUID", "ui"),
    0x00200011: ("SeriesNumber", "is"),
    0x00200013: ("InstanceNumber", "is"),
    0x00200032: ("ImagePositionPatient", "bytes"),
    0x00200037: ("ImageOrientationPatient", "bytes"),
    0x00200052: ("FrameOfReferenceUID", "ui"),
    0x00200060: ("Laterality", "cs"),
    0x00200062: ("ImageLaterality", "cs"),
    0x00280002: ("SamplesPerPixel", "us"),
    0x00280004: ("PhotometricInterpretation", "cs"),
    0x00280008: ("NumberOfFrames", "is"),
    0x00280010: ("Rows", "us"),
    0x00280011: ("Columns", "us"),
    0x00280030: ("PixelSpacing", "bytes"),
    0x00280100: ("BitsAllocated", "us"),
    0x00280101: ("BitsStored", "us"),
    0x00280103: ("PixelRepresentation", "us"),
    0x00281050: ("WindowCenter", "bytes"),
    0x00281051: ("WindowWidth", "bytes"),
    0x00281054: ("RescaleType", "text"),
    0x00281055: ("WindowCenterWidthExplanation", "text"),
    **{(group << 16) | 0x3000: ("HasOverlay", "flag") for group in range(0x6000, 0x6020, 2)},
    0x7FE00001: ("ExtendedOffsetTable", "bytes"),
}
"""The attributes discovery reads (kind ``bytes``: the raw value, parsed by the caller, so
the lean reader and pydicom give it the same bytes; ``flag``: presence only, never read)."""
_UPPER_PAIRS = frozenset(bytes((a, b)) for a in range(65, 91) for b in range(65, 91))
"""Two upper-case ASCII letters: the shape of an explicit VR."""
_SIMPLE_CHARSETS = {None: "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_PN_DELIMITERS = {0x5E, 0x3D}
_TEXT_DELIMITERS = {0x5C}


class TruncatedError(Exception):
    """The header ends before an element it announced."""


@dataclass(slots=True)
class PixelElement:
    """Where the pixel data element's value starts and how long it says it is."""

    tag: int
    value_offset: int
    length: int
    """Declared length; ``UNDEFINED`` for encapsulated data."""
    vr: bytes = b""
    """As written (explicit VR), else ``OW`` for implicit Pixel Data, else empty."""


@dataclass(slots=True)
class Header:
    """What discovery needs from one file's header."""

    transfer_syntax_uid: str
    little_endian: bool
    values: dict[str, Any] = field(default_factory=dict)
    pixel: PixelElement | None = None
    start_offset: int = 0
    """Bytes before the dataset in a file without preamble (stray leading bytes)."""


def _strip(raw: bytes) -> str | None:
    text = raw.decode("latin-1").strip(" \x00")
    return text or None


def decode_text(raw: bytes, charsets: list[str] | None, kind: str) -> str | None:
    """Decode a text value with the file's Specific Character Set (PS3.5 6.1)."""
    key = charsets[0] if charsets and len(charsets) == 1 else (None if not charsets else "")
    simple = _SIMPLE_CHARSETS.get(key)
    if simple is not None:
        text = raw.decode(simple, errors="replace")
    else:
        from pydicom.charset import convert_encodings, decode_bytes  # rare: pydicom on demand

        encodings = convert_encodings(list(charsets or []))
        delimiters = _PN_DELIMITERS if kind == "pn" else _TEXT_DELIMITERS
        with quiet_pydicom():
            text = decode_bytes(raw, encodings, delimiters)
    text = text.rstrip(" \x00") if kind == "pn" else text.strip(" \x00")
    return text or None


def _us_le(raw: bytes) -> int | None:
    return int.from_bytes(raw[:2], "little") if len(raw) >= 2 else None


def _cs(raw: bytes) -> str | None:
    text = raw.split(b"\\", 1)[0].decode("latin-1").strip(" \x00")
    return text or None


def _cs_multi(raw: bytes) -> list[str] | None:
    values = [v.strip(" \x00") for v in raw.decode("latin-1").split("\\")]
    return values if any(values) else None


def _is(raw: bytes) -> int | None:
    text = _cs(raw)
    try:
        return None if text is None else int(float(text))
    except ValueError:
        return None


def _ds(raw: bytes) -> float | None:
    text = _cs(raw)
    try:
        number = None if text is None else float(text)
    except ValueError:
        return None
    return number if number is not None and number == number else None


_LE_CONVERTERS: dict[str, Callable[[bytes], Any]] = {
    "us": _us_le,
    "ui": _strip,
    "cs": _cs,
    "cs_multi": _cs_multi,
    "is": _is,
    "ds": _ds,
    "bytes": bytes,
}
"""One direct converter per value kind (little endian); text and pn are decoded later."""


def convert(kind: str, raw: bytes, little: bool) -> Any:
    """Convert one wanted value from its raw bytes; invalid values become None."""
    if kind == "us" and not little:
        return int.from_bytes(raw[:2], "big") if len(raw) >= 2 else None
    converter = _LE_CONVERTERS.get(kind)
    return raw if converter is None else converter(raw)  # text and pn: decoded later


def _converter(kind: str) -> Callable[[bytes], Any] | None:
    return _LE_CONVERTERS.get(kind)


_WANTED_LE: dict[int, tuple[str, str, Callable[[bytes], Any] | None]] = {
    tag: (keyword, kind, _converter(kind)) for tag, (keyword, kind) in WANTED.items()
}
"""`WANTED` with each value's little-endian converter (None: text, decoded at the end)."""


def finish(values: dict[str, Any], raw_text: dict[str, tuple[str, bytes]]) -> None:
    """Decode the collected text values with the character set found in the header."""
    charsets = values.get("SpecificCharacterSet")
    key = charsets[0] if charsets and len(charsets) == 1 else (None if not charsets else "")
    simple = _SIMPLE_CHARSETS.get(key)
    if simple is None:
        for keyword, (kind, raw) in raw_text.items():
            values[keyword] = decode_text(raw, charsets, kind)
        return
    for keyword, (kind, raw) in raw_text.items():  # the common case, inlined: no lookups
        text = raw.decode(simple, errors="replace")
        text = text.rstrip(" \x00") if kind == "pn" else text.strip(" \x00")
        values[keyword] = text or None


class _Reader:
    """Random access to a source through a small moving window (element headers only)."""

    __slots__ = ("base", "data", "size", "source")

    def __init__(self, source: ByteSource, data: bytes) -> None:
        self.source, self.size, self.data, self.base = source, source.size, data, 0

    def get(self, pos: int, n: int) -> bytes:
        off = pos - self.base
        if off < 0 or off + n > len(self.data):
            if pos + n > self.size:
                raise TruncatedError
            self.data = self.source.read_at(pos, max(n, CHUNK))
            self.base, off = pos, 0
            if len(self.data) < n:
                raise TruncatedError
        return self.data[off : off + n]


def _skip_undefined(reader: _Reader, pos: int, explicit: bool) -> int | None:
    """Skip an undefined-length sequence whose first item starts at *pos*; return the end."""
    found = _walk_undefined(reader, pos, explicit)
    return None if found is None else found[0]


def _walk_undefined(reader: _Reader, pos: int, explicit: bool) -> tuple[int, int] | None:
    """End position and sequence nesting depth of an undefined-length sequence (iterative,
    so hostile nesting cannot exhaust the stack); None when the structure is invalid."""
    stack: list[tuple[bool, bool]] = [(True, explicit)]  # (is_sequence, explicit)
    unpack = struct.unpack_from
    depth = 1
    while stack:
        head = reader.get(pos, 8)
        group, elem = unpack("<HH", head)
        tag = group << 16 | elem
        if group == 0xFFFE:
            length = unpack("<L", head, 4)[0]
            pos += 8
            if tag == ITEM:
                if length == UNDEFINED:
                    stack.append((False, stack[-1][1]))
                else:
                    pos += length
            elif tag == ITEM_END:
                if stack.pop()[0]:
                    return None
            elif tag == SEQ_END:
                if not stack.pop()[0]:
                    return None
            else:
                return None
            continue
        is_explicit = stack[-1][1]
        if is_explicit:
            vr = head[4:6]
            if vr in LONG_VRS:
                length = unpack("<L", reader.get(pos + 8, 4))[0]
                pos += 12
            else:
                length = unpack("<H", head, 6)[0]
                pos += 8
                vr = b"XX"
        else:
            vr = b"SQ"
            length = unpack("<L", head, 4)[0]
            pos += 8
        if length == UNDEFINED:
            if vr not in (b"SQ", b"UN") or len(stack) >= MAX_DEPTH:
                return None
            stack.append((True, is_explicit and vr == b"SQ"))
            depth = max(depth, sum(1 for is_seq, _ in stack if is_seq))
        else:
            pos += length
    return pos, depth


def read_lean(source: ByteSource) -> Header | None:
    """Read the header of a preamble + DICM file in little endian; None means "use pydicom"."""
    size = source.size
    read_at = source.read_at
    first = read_at(0, FIRST_CHUNK)
    if len(first) < 144 or first[128:132] != b"DICM":
        return None
    reader = _Reader(source, first)
    values: dict[str, Any] = {}
    raw_text: dict[str, tuple[str, bytes]] = {}
    pos = 132
    ts: str | None = None
    head_explicit = _HEAD_EXPLICIT.unpack_from
    unpack_length = _LENGTH.unpack_from
    available = len(first)
    # File Meta Information: always Explicit VR Little Endian (PS3.10 7.1); a meta group that
    # does not fit in the first chunk is left to pydicom
    while True:
        if pos + 12 > available:
            return None
        group, elem, vr, length = head_explicit(first, pos)
        if group != 0x0002:
            break
        if vr in LONG_VRS:
            length = unpack_length(first, pos + 8)[0]
            pos += 12
        else:
            pos += 8
        if length == UNDEFINED:
            return None
        if elem == 0x0010:
            ts = _strip(first[pos : pos + length])
        pos += length
    if ts is None or ts in (DEFLATED_LE, EXPLICIT_BE):
        return None
    explicit = ts != IMPLICIT_LE
    header = Header(transfer_syntax_uid=ts, little_endian=True, values=values)
    wanted = _WANTED_LE
    long_vrs = LONG_VRS
    head_implicit = _HEAD_IMPLICIT.unpack_from
    data, base = reader.data, reader.base
    dlen = len(data)
    last_tag = 0
    while pos + 8 <= size:
        off = pos - base
        if off < 0 or off + 12 > dlen:
            data = read_at(pos, CHUNK)
            base, off, dlen = pos, 0, len(data)
            if dlen < 8:
                raise TruncatedError
        if explicit:
            group, elem, vr, length = head_explicit(data, off)
            if vr in long_vrs:
                if off + 12 > dlen:
                    raise TruncatedError
                length = unpack_length(data, off + 8)[0]
                start = pos + 12
            else:
                if vr not in _UPPER_PAIRS:
                    return None
                start = pos + 8
        else:
            group, elem, length = head_implicit(data, off)
            vr = b"SQ"
            start = pos + 8
        tag = group << 16 | elem
        if tag <= last_tag:
            return None
        last_tag = tag
        if tag >= 0x7FE00008:  # one comparison for the common case (before the pixel data)
            if tag in PIXEL_TAGS:
                header.pixel = PixelElement(tag, start, length)
                break
            if tag > 0x7FE00010:
                break
        if tag in FUNCTIONAL_GROUPS:
            return None
        if length == UNDEFINED:
            if vr not in (b"SQ", b"UN"):
                return None
            end = _skip_undefined(reader, start, explicit and vr == b"SQ")
            if end is None:
                return None
            pos = end
            continue
        found = wanted.get(tag)
        if found is not None:
            keyword, kind, converter = found
            if kind == "flag":
                values[keyword] = True
            elif length > MAX_WANTED_LENGTH:
                return None  # implausible for these attributes: let pydicom (deferring) decide
            else:
                voff = start - base
                fits = voff + length <= dlen
                raw = data[voff : voff + length] if fits else reader.get(start, length)
                if converter is None:
                    raw_text[keyword] = (kind, raw)
                else:
                    values[keyword] = converter(raw)
        pos = start + length
    else:
        if pos != size:
            raise TruncatedError
    charsets = values.get("SpecificCharacterSet")
    if charsets is not None and (len(charsets) != 1 or charsets[0] not in _SIMPLE_CHARSETS):
        return None
    finish(values, raw_text)
    return header


@dataclass(slots=True)
class Layout:
    """Where a file's top-level elements lie, for reading a hostile file in pieces."""

    transfer_syntax_uid: str
    explicit: bool
    elements: list[tuple[int, int, int, int]]
    """(tag, start, end, sequence depth) of each top-level element before the pixel data."""


def layout(source: ByteSource) -> Layout | None:
    """The top-level element layout of a preamble + DICM little-endian file, else None."""
    size = source.size
    first = source.read_at(0, CHUNK)
    if len(first) < 144 or first[128:132] != b"DICM":
        return None
    reader = _Reader(source, first)
    unpack = struct.unpack_from
    pos, ts = 132, None
    elements: list[tuple[int, int, int, int]] = []
    explicit = True
    try:
        while pos + 8 <= size:
            head = reader.get(pos, 8)
            group, elem = unpack("<HH", head)
            tag = group << 16 | elem
            if group != 0x0002 and ts is None:
                return None
            if group != 0x0002 and ts is not None:
                explicit = ts != IMPLICIT_LE
                if ts in (DEFLATED_LE, EXPLICIT_BE):
                    return None
            if tag in PIXEL_TAGS:
                break
            vr = head[4:6] if (explicit or group == 0x0002) else b"SQ"
            if (explicit or group == 0x0002) and vr in LONG_VRS:
                length, start = unpack("<L", reader.get(pos + 8, 4))[0], pos + 12
            elif explicit or group == 0x0002:
                length, start = unpack("<H", head, 6)[0], pos + 8
            else:
                length, start = unpack("<L", head, 4)[0], pos + 8
            depth = 0
            if length == UNDEFINED:
                found = _walk_undefined(reader, start, explicit and vr == b"SQ")
                if found is None:
                    return None
                end, depth = found
            else:
                end = start + length
                if group == 0x0002 and elem == 0x0010:
                    ts = _strip(reader.get(start, length))
            if group != 0x0002:
                elements.append((tag, pos, end, depth))
            pos = end
    except TruncatedError:
        pass
    if ts is None:
        return None
    return Layout(ts, ts != IMPLICIT_LE, elements)


# ---------------------------------------------------------------------------------------------
# pydicom path

PYDICOM_LOCK = threading.RLock()
"""Held by `quiet_pydicom`; reentrant, as a quiet read may decode text quietly too."""


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's warnings while it reads a hostile or odd header, thread-safely.

    `warnings.catch_warnings` saves and restores the process-wide filter list, so two threads
    inside it at once can restore each other's state (and leave every warning ignored for
    good). Every use in dcmview-core goes through this one lock, so they never overlap.
    Callers in other packages that silence pydicom from worker threads should use it too.
    """
    with PYDICOM_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def plausible_start(head: bytes) -> int | None:
    """Offset (0–7) where a preamble-less dataset seems to begin, from its first element."""
    for offset in range(8):
        chunk = head[offset : offset + 8]
        if len(chunk) < 8:
            return None
        for order in ("<", ">"):
            group, elem = struct.unpack(order + "HH", chunk[:4])
            if group not in (0x0002, 0x0008) or elem > 0x0100:
                continue
            vr = chunk[4:6]
            if vr.isalpha() and vr.isupper():
                return offset
            if order == "<" and struct.unpack("<L", chunk[4:8])[0] < 0x10000:
                return offset
    return None


def raw_bytes(ds: Dataset, tag: int) -> bytes | None:
    from pydicom.dataelem import RawDataElement

    try:
        elem: Any = ds.get_item(tag, keep_deferred=True)
    except (KeyError, ValueError, TypeError):
        return None
    if isinstance(elem, RawDataElement):
        value = elem.value
        return value if isinstance(value, bytes) else None
    return None


def _first(item: Dataset | None, sequence: str) -> Dataset | None:
    """The first item of *sequence* in *item*, if both exist."""
    if item is None:
        return None
    found = item.get(sequence)
    return found[0] if found else None


def _functional_values(ds: Dataset, values: dict[str, Any]) -> None:
    """Fill what an enhanced multi-frame file keeps in functional groups (PS3.3 C.7.6.16):
    each frame's position, and the first frame's (else the shared) orientation, pixel
    measures, window and laterality, where the top level has none."""
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if not shared_seq and not per_frame:
        return
    shared = shared_seq[0] if shared_seq else None
    groups = [per_frame[0] if per_frame else None, shared]
    if per_frame:
        positions: list[Any] = []
        for item in per_frame:
            plane = _first(item, "PlanePositionSequence") or _first(shared, "PlanePositionSequence")
            value = plane.get("ImagePositionPatient") if plane is not None else None
            if value is None:
                positions = []
                break
            positions.append(value)
        values["FramePositions"] = positions or None
    wanted = (
        ("PlaneOrientationSequence", ("ImageOrientationPatient",)),
        ("PixelMeasuresSequence", ("PixelSpacing", "SliceThickness", "SpacingBetweenSlices")),
        ("FrameAnatomySequence", ("FrameLaterality",)),
    )
    for sequence, keywords in wanted:
        for group in groups:
            item = _first(group, sequence)
            if item is None:
                continue
            for keyword in keywords:
                if values.get(keyword) is None and item.get(keyword) is not None:
                    values[keyword] = item.get(keyword)
            break
    if parse_windows(values.get("WindowCenter"), values.get("WindowWidth")):
        return
    for group in groups:
        voi = _first(group, "FrameVOILUTSequence")
        if voi is not None and parse_windows(voi.get("WindowCenter"), voi.get("WindowWidth")):
            values["WindowCenter"] = voi.get("WindowCenter")
            values["WindowWidth"] = voi.get("WindowWidth")
            values["WindowCenterWidthExplanation"] = voi.get("WindowCenterWidthExplanation")
            return


def _converted(ds: Dataset, tag: int, kind: str) -> Any:
    """A wanted value of an element pydicom already converted (a dataset built in memory or
    from DICOM JSON), as the raw-bytes converters would give it; None when absent or bad."""
    from pydicom.dataelem import RawDataElement

    try:
        elem: Any = ds.get_item(tag, keep_deferred=True)
        if elem is None or isinstance(elem, RawDataElement):
            return None  # absent, or deferred: never read here
        value = elem.value
        if value is None or value == "":
            return None
        if kind == "bytes":
            return value
        many = not isinstance(value, str | bytes) and hasattr(value, "__len__")
        if kind == "cs_multi":
            return [str(v).strip() for v in value] if many else [str(value).strip()]
        if kind in ("text", "pn"):
            text = "\\".join(str(v) for v in value) if many else str(value)
            return text.strip(" \x00") or None
        first = (value[0] if len(value) else None) if many else value
        if first is None:
            return None
        if kind in ("us", "is"):
            return int(float(first))
        if kind == "ds":
            number = float(first)
            return number if number == number else None
        return str(first).strip(" \x00") or None  # ui, cs
    except (TypeError, ValueError, IndexError, KeyError, OverflowError):
        return None


def header_from_dataset(ds: Dataset, ts: str, little: bool) -> Header:
    """Collect the wanted values from a dataset read with pydicom (raw, unconverted elements)."""
    values: dict[str, Any] = {}
    raw_text: dict[str, tuple[str, bytes]] = {}
    for tag, (keyword, kind) in WANTED.items():
        raw = raw_bytes(ds, tag)
        if raw is None and tag == 0x00080005 and "SpecificCharacterSet" in ds:
            # pydicom converts the character set while reading; take its value
            charset = ds.SpecificCharacterSet
            parts = [charset] if isinstance(charset, str) else [str(c) for c in charset]
            raw = "\\".join(parts).encode("latin-1", errors="replace")
        if kind == "flag":
            if tag in ds:
                values[keyword] = True
            continue
        if raw is None:
            value = _converted(ds, tag, kind)
            if value is not None:
                values[keyword] = value
            continue
        if kind in ("text", "pn"):
            raw_text[keyword] = (kind, raw)
        else:
            values[keyword] = convert(kind, raw, little)
    finish(values, raw_text)
    with contextlib.suppress(AttributeError, TypeError, ValueError, IndexError, KeyError):
        _functional_values(ds, values)  # a malformed group leaves the top-level values
    return Header(transfer_syntax_uid=ts, little_endian=little, values=values)


def read_pixel_element(fp: IO[bytes], little: bool, explicit: bool) -> PixelElement | None:
    """Parse the element header at the current position if it is a pixel data element."""
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8:
        return None
    order = "<" if little else ">"
    group, elem, *_ = struct.unpack(order + "HH", head[:4])
    tag = group << 16 | elem
    if tag not in PIXEL_TAGS:
        return None
    if explicit:
        vr = head[4:6]
        if vr in LONG_VRS:
            if len(head) < 12:
                return None
            return PixelElement(tag, start + 12, struct.unpack(order + "L", head[8:12])[0], vr)
        return PixelElement(tag, start + 8, struct.unpack(order + "H", head[6:8])[0], vr)
    vr = b"OW" if tag == 0x7FE00010 else b""
    return PixelElement(tag, start + 8, struct.unpack(order + "L", head[4:8])[0], vr)
