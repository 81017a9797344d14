"""DICOM Segmentation (PS3.3 A.51, C.8.20): the header read once, frames unpacked when drawn.

Read with pydicom directly rather than highdicom: we need the header (segments and each
frame's references and position) and then single frames on demand, which `read_frame`
already gives for every transfer syntax, bit-packed BINARY frames of any size included
(each frame unpacked from its own bytes, never the whole Pixel Data). highdicom builds
its frame index for the whole object and is used only by the tests, as the reference.

`read_seg_header` gives a `SegHeader`; `place_seg` matches its frames to the loaded images:
per frame through DerivationImageSequence / SourceImageSequence (SOP Instance UID, and
ReferencedFrameNumber for multi-frame sources), else through the Frame of Reference and the
frame's PlanePositionSequence (same grid and orientation). LABELMAP segmentations (Label Map
Segmentation Storage) draw each frame's pixel values as segment numbers.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dcmview_core.dataset import open_dataset
from dcmview_core.decoders import EXPLICIT_VR_LE, IMPLICIT_VR_LE
from dcmview_core.model import FileEntry
from dcmview_core.overlays import _groups
from dcmview_core.overlays.colour import cielab_to_srgb, palette_colour
from dcmview_core.overlays.model import (
    Encoding,
    Grid,
    OverlayLayer,
    Plane,
    SegFrame,
    Segment,
    build_overlay,
    grid_of,
)
from dcmview_core.overlays.placement import LABEL_MAP_SEG_STORAGE, PlaceIndex, is_image
from dcmview_core.source import close_source, open_source

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["SegFrameInfo", "SegHeader", "SourceRef", "place_seg", "read_seg_header"]


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A referenced source image: SOP Instance UID and 0-based frame (None: not given)."""

    sop_instance_uid: str
    frame: int | None = None


@dataclass(frozen=True, slots=True)
class SegFrameInfo:
    """One stored SEG frame: its segment (0 for label-map frames), sources and position."""

    segment: int
    refs: tuple[SourceRef, ...]
    position: tuple[float, ...] | None
    """ImagePositionPatient (3 values)."""
    orientation: tuple[float, ...] | None
    """ImageOrientationPatient (6 values)."""
    pixel_spacing: tuple[float, ...] | None
    """PixelSpacing (2 values: between rows, between columns)."""


@dataclass(frozen=True, slots=True)
class SegHeader:
    """What `place_seg` needs from a SEG header."""

    label: str
    encoding: Encoding
    maximum: float
    rows: int
    columns: int
    segments: tuple[Segment, ...]
    frame_of_reference_uid: str | None
    frames: tuple[SegFrameInfo, ...]
    referenced_count: int
    """Source instances the SEG says it was made from (ReferencedSeriesSequence), for reasons."""
    native: tuple[int, int] | None = None
    """(Pixel Data value offset, bits per sample) when frames can be read directly."""


def _first(item: Dataset | None, keyword: str) -> Dataset | None:
    seq = item.get(keyword) if item is not None else None
    return seq[0] if seq else None


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        out = tuple(float(v) for v in (value if isinstance(value, Sequence) else [value]))
    except (TypeError, ValueError):
        return None
    return out if len(out) == count else None


def _text(ds: Dataset, *keywords: str) -> str | None:
    for keyword in keywords:
        value = ds.get(keyword)
        if value not in (None, ""):
            return str(value).strip() or None
    return None


def _segment(item: Dataset) -> Segment:
    number = int(item.SegmentNumber)
    label = _text(item, "SegmentLabel", "SegmentDescription")
    if label is None:
        prop = _first(item, "SegmentedPropertyTypeCodeSequence")
        label = _text(prop, "CodeMeaning") if prop is not None else None
    lab = item.get("RecommendedDisplayCIELabValue")
    try:
        color = cielab_to_srgb([int(v) for v in lab]) if lab else palette_colour(number)
    except (TypeError, ValueError):
        color = palette_colour(number)
    return Segment(number, label or f"Segment {number}", color)


def _refs(group: Dataset | None) -> tuple[SourceRef, ...]:
    refs: list[SourceRef] = []
    for derivation in (group.get("DerivationImageSequence") or []) if group else []:
        for source in derivation.get("SourceImageSequence") or []:
            uid = source.get("ReferencedSOPInstanceUID")
            if not uid:
                continue
            numbers = source.get("ReferencedFrameNumber")
            if numbers in (None, ""):
                refs.append(SourceRef(str(uid)))
                continue
            values = (
                numbers
                if isinstance(numbers, Sequence) and not isinstance(numbers, str)
                else [numbers]
            )
            refs.extend(SourceRef(str(uid), int(n) - 1) for n in values)
    return tuple(refs)


def _frame_info(item: Dataset | None, shared: Dataset | None, labelmap: bool) -> SegFrameInfo:
    def group(keyword: str) -> Dataset | None:
        return _first(item, keyword) or _first(shared, keyword)

    segment = 0
    if not labelmap:
        ident = group("SegmentIdentificationSequence")
        number = ident.get("ReferencedSegmentNumber") if ident is not None else None
        segment = int(number) if number not in (None, "") else 0
    position = group("PlanePositionSequence")
    orientation = group("PlaneOrientationSequence")
    measures = group("PixelMeasuresSequence")
    pos = _floats(position.get("ImagePositionPatient"), 3) if position is not None else None
    return SegFrameInfo(
        segment=segment,
        refs=_refs(item) or _refs(shared),
        position=pos,
        orientation=_floats(orientation.get("ImageOrientationPatient"), 6)
        if orientation is not None
        else None,
        pixel_spacing=_floats(measures.get("PixelSpacing"), 2) if measures is not None else None,
    )


def _lean_info(item: _groups.Item, shared: SegFrameInfo, labelmap: bool) -> SegFrameInfo:
    """`SegFrameInfo` from a lean per-frame item, falling back on the shared groups."""

    def first(tag: int) -> _groups.Item | None:
        seq = item.get(tag)
        return seq[0] if seq else None

    def floats(sequence: int, tag: int, count: int) -> tuple[float, ...] | None:
        group = first(sequence)
        value = group.get(tag) if group is not None else None
        return tuple(value) if value is not None and len(value) == count else None

    segment = 0
    if not labelmap:
        ident = first(0x0062000A)
        number = ident.get(0x0062000B) if ident is not None else None
        segment = int(number) if number is not None else shared.segment
    refs: list[SourceRef] = []
    for derivation in item.get(0x00089124, ()):
        for source in derivation.get(0x00082112, ()):
            uid = source.get(0x00081155)
            if not uid:
                continue
            numbers = source.get(0x00081160) or []
            if numbers:
                refs.extend(SourceRef(uid, n - 1) for n in numbers)
            else:
                refs.append(SourceRef(uid))
    return SegFrameInfo(
        segment=segment,
        refs=tuple(refs) or shared.refs,
        position=floats(0x00209113, 0x00200032, 3) or shared.position,
        orientation=floats(0x00209116, 0x00200037, 6) or shared.orientation,
        pixel_spacing=floats(0x00289110, 0x00280030, 2) or shared.pixel_spacing,
    )


def _lean_frames(
    ds: Dataset, shared: SegFrameInfo, labelmap: bool, frame_count: int
) -> tuple[SegFrameInfo, ...] | None:
    """Every frame's `SegFrameInfo` by the lean reader, None when it cannot be used."""
    raw: Any = ds.get_item("PerFrameFunctionalGroupsSequence")  # raw until first accessed
    from pydicom.dataelem import RawDataElement

    if not isinstance(raw, RawDataElement) or not raw.is_little_endian:
        return None
    value = raw.value
    if not isinstance(value, bytes):
        return None
    try:
        items = _groups.per_frame_items(value, not raw.is_implicit_VR)
        return tuple(
            _lean_info(items[k] if k < len(items) else {}, shared, labelmap)
            for k in range(frame_count)
        )
    except (ValueError, TypeError, UnicodeDecodeError, struct.error):
        return None


def seg_header_from_dataset(
    ds: Dataset, name: str, frame_count: int, *, lean: bool = True
) -> SegHeader:
    """`SegHeader` of a SEG dataset (header only; ``frame_count`` = frames present). The
    per-frame groups go through the lean reader (`_groups`) unless ``lean`` is False or it
    cannot read them; then through pydicom."""
    labelmap = str(ds.get("SOPClassUID", "")) == LABEL_MAP_SEG_STORAGE
    kind = str(ds.get("SegmentationType", "BINARY")).upper()
    encoding: Encoding = "labels" if labelmap or kind == "LABELMAP" else "binary"
    maximum = 1.0
    if kind == "FRACTIONAL":
        encoding = "fraction"
        maximum = float(ds.get("MaximumFractionalValue") or 255) or 255.0
    # a LABELMAP may describe its background as segment 0: pixels 0 are "none" here
    segments = tuple(
        seg
        for seg in (_segment(item) for item in ds.get("SegmentSequence") or [])
        if seg.number > 0
    )
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    labelmap = encoding == "labels"
    frames = None
    if lean:
        frames = _lean_frames(ds, _frame_info(None, shared, labelmap), labelmap, frame_count)
    if frames is None:
        per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
        frames = tuple(
            _frame_info(per_frame[k] if k < len(per_frame) else None, shared, labelmap)
            for k in range(frame_count)
        )
    referenced = sum(
        len(series.get("ReferencedInstanceSequence") or [])
        for series in ds.get("ReferencedSeriesSequence") or []
    )
    return SegHeader(
        label=_text(ds, "SeriesDescription", "ContentDescription", "ContentLabel")
        or os.path.basename(name),
        encoding=encoding,
        maximum=maximum,
        rows=int(ds.get("Rows") or 0),
        columns=int(ds.get("Columns") or 0),
        segments=segments,
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
        frames=frames,
        referenced_count=referenced,
    )


_NATIVE_LE = frozenset({EXPLICIT_VR_LE, IMPLICIT_VR_LE})


def read_seg_header(entry: FileEntry) -> SegHeader:
    """Read the SEG header of a discovered SEG file (never its pixel data)."""
    source = open_source(entry.path)
    try:
        opened = open_dataset(source, stop_before_pixels=True)
    finally:
        close_source(source)
    header = seg_header_from_dataset(opened.dataset, entry.path, entry.frame_count)
    bits = int(opened.dataset.get("BitsAllocated") or 0)
    pixel = opened.pixel
    if (
        opened.transfer_syntax_uid in _NATIVE_LE
        and opened.little_endian
        and pixel is not None
        and pixel.tag == 0x7FE00010
        and pixel.length != 0xFFFFFFFF
        and bits in (1, 8, 16)
        and int(opened.dataset.get("SamplesPerPixel") or 1) == 1
    ):
        header = replace(header, native=(pixel.value_offset, bits))
    return header


def _resolve(
    info: SegFrameInfo,
    header: SegHeader,
    by_uid: dict[str, FileEntry],
    places: PlaceIndex,
) -> tuple[int, int] | None:
    """The loaded ``(file, frame)`` this SEG frame was drawn on, else None."""
    for ref in info.refs:
        target = by_uid.get(ref.sop_instance_uid)
        if target is None or (target.rows, target.columns) != (header.rows, header.columns):
            continue
        if ref.frame is not None:
            if 0 <= ref.frame < target.frame_count:
                return target.index, ref.frame
            continue
        if target.frame_count == 1:
            return target.index, 0
        found = _by_position(info, header, places, [target.index])
        if found is not None:
            return found
    return _by_position(info, header, places, None)


def _by_position(
    info: SegFrameInfo, header: SegHeader, places: PlaceIndex, files: list[int] | None
) -> tuple[int, int] | None:
    if info.position is None or info.orientation is None or info.pixel_spacing is None:
        return None
    place = places.find_frame(
        header.frame_of_reference_uid,
        info.position,
        info.orientation,
        info.pixel_spacing,
        header.rows,
        header.columns,
        files,
    )
    return None if place is None else (place.file, place.frame)


def place_seg(
    overlay_id: str,
    seg: FileEntry,
    header: SegHeader,
    entries: Sequence[FileEntry],
    places: PlaceIndex | None = None,
) -> OverlayLayer:
    """The `OverlayLayer` of a SEG on the loaded ``entries`` (its frames matched as the module
    doc says); frames that match nothing are counted in ``reason``."""
    images = [e for e in entries if is_image(e) and e.index != seg.index]
    by_uid = {e.sop_instance_uid: e for e in images if e.sop_instance_uid}
    places = places if places is not None else PlaceIndex(images)
    known = {s.number for s in header.segments}
    planes: dict[tuple[int, int], list[Plane]] = {}
    unmatched = 0
    for k, info in enumerate(header.frames):
        if header.encoding != "labels" and info.segment not in known:
            unmatched += 1
            continue
        key = _resolve(info, header, by_uid, places)
        if key is None:
            unmatched += 1
            continue
        plane = Plane(
            info.segment, header.encoding, SegFrame(seg, k, header.native), header.maximum
        )
        planes.setdefault(key, []).append(plane)
    covered = {file for file, _ in planes}
    grids: dict[int, Grid] = {e.index: grid_of(e) for e in images if e.index in covered}
    reason = None
    if not header.frames:
        reason = "the segmentation holds no frames"
    elif not planes:
        reason = (
            f"none of its {len(header.frames)} frames matches a loaded image "
            "(by referenced SOP Instance UID or by frame of reference and plane position)"
        )
    elif unmatched:
        reason = f"{unmatched} of its {len(header.frames)} frames match no loaded image"
    return build_overlay(
        id=overlay_id,
        kind="segmentation",
        label=header.label,
        source=seg.path,
        segments=header.segments,
        planes=planes,
        grids=grids,
        reason=reason,
        fractional=header.encoding == "fraction",
    )
