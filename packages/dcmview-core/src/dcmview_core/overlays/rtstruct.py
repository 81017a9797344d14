"""RT Structure Set (PS3.3 A.19, C.8.8.5–6): each ROI's closed planar contours, filled.

Each ROI becomes a segment (number = ROI Number, label = ROI Name, colour = ROIDisplayColor,
else the palette). A CLOSED_PLANAR contour is drawn on the image its ContourImageSequence
names (SOP Instance UID, and ReferencedFrameNumber for multi-frame images), else on the
loaded frame of the ROI's Frame of Reference whose plane holds the contour. Points are
mapped to that frame's pixel grid (`placement.to_pixels`) and all of one ROI's contours on a
frame are filled together by the even-odd rule (`raster.fill_polygons`), so inner contours
make holes. Other contour types (POINT, OPEN_PLANAR …) are not areas and are left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from dcmview_core.dataset import open_dataset
from dcmview_core.model import FileEntry
from dcmview_core.overlays.colour import palette_colour
from dcmview_core.overlays.model import (
    Grid,
    OverlayLayer,
    Plane,
    Polygons,
    Segment,
    build_overlay,
    grid_of,
)
from dcmview_core.overlays.placement import FramePlace, PlaceIndex, is_image, to_pixels
from dcmview_core.overlays.seg import SourceRef
from dcmview_core.source import close_source, open_source

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["Contour", "RtStructHeader", "place_rtstruct", "read_rtstruct_header"]


@dataclass(frozen=True, slots=True, eq=False)
class Contour:
    """One closed planar contour of an ROI: patient points ``(n, 3)`` mm and its images."""

    roi: int
    points: NDArray[np.float64]
    refs: tuple[SourceRef, ...]


@dataclass(frozen=True, slots=True)
class RtStructHeader:
    """What `place_rtstruct` needs from an RT Structure Set."""

    label: str
    segments: tuple[Segment, ...]
    frames_of_reference: dict[int, str | None]
    contours: tuple[Contour, ...]
    left_out: int
    """Contours that are not CLOSED_PLANAR or have fewer than three points."""


def _color(item: Dataset, number: int) -> tuple[int, int, int]:
    value = item.get("ROIDisplayColor")
    try:
        r, g, b = (min(max(int(v), 0), 255) for v in value)
    except (TypeError, ValueError):
        return palette_colour(number)
    return (r, g, b)


def _refs(contour: Dataset) -> tuple[SourceRef, ...]:
    refs: list[SourceRef] = []
    for image in contour.get("ContourImageSequence") or []:
        uid = image.get("ReferencedSOPInstanceUID")
        if not uid:
            continue
        frame = image.get("ReferencedFrameNumber")
        if isinstance(frame, Sequence) and not isinstance(frame, str):
            frame = frame[0] if frame else None
        refs.append(SourceRef(str(uid), None if frame in (None, "") else int(frame) - 1))
    return tuple(refs)


def rtstruct_header_from_dataset(ds: Dataset, name: str) -> RtStructHeader:
    """`RtStructHeader` of an RTSTRUCT dataset."""
    default_for = None
    for item in ds.get("ReferencedFrameOfReferenceSequence") or []:
        if item.get("FrameOfReferenceUID"):
            default_for = str(item.FrameOfReferenceUID)
            break
    names: dict[int, str] = {}
    frames_of_reference: dict[int, str | None] = {}
    for item in ds.get("StructureSetROISequence") or []:
        number = int(item.ROINumber)
        names[number] = str(item.get("ROIName") or "").strip() or f"ROI {number}"
        uid = item.get("ReferencedFrameOfReferenceUID")
        frames_of_reference[number] = str(uid) if uid else default_for
    segments: dict[int, Segment] = {}
    contours: list[Contour] = []
    left_out = 0
    for roi in ds.get("ROIContourSequence") or []:
        number = int(roi.ReferencedROINumber)
        label = names.get(number, f"ROI {number}")
        segments[number] = Segment(number, label, _color(roi, number))
        frames_of_reference.setdefault(number, default_for)
        for contour in roi.get("ContourSequence") or []:
            kind = str(contour.get("ContourGeometricType") or "").upper()
            data = contour.get("ContourData")
            points = np.asarray([float(v) for v in data or []], dtype=np.float64)
            if kind != "CLOSED_PLANAR" or points.size < 9 or points.size % 3:
                left_out += 1
                continue
            contours.append(Contour(number, points.reshape(-1, 3), _refs(contour)))
    for number, label in names.items():  # an ROI without contours still lists as a segment
        segments.setdefault(number, Segment(number, label, palette_colour(number)))
    return RtStructHeader(
        label=str(ds.get("StructureSetLabel") or ds.get("SeriesDescription") or "").strip()
        or os.path.basename(name),
        segments=tuple(sorted(segments.values(), key=lambda s: s.number)),
        frames_of_reference=frames_of_reference,
        contours=tuple(contours),
        left_out=left_out,
    )


def read_rtstruct_header(entry: FileEntry) -> RtStructHeader:
    """Read a discovered RT Structure Set (contours are in the header; no pixel data)."""
    source = open_source(entry.path)
    try:
        ds = open_dataset(source, stop_before_pixels=True).dataset
    finally:
        close_source(source)
    return rtstruct_header_from_dataset(ds, entry.path)


def _target(
    contour: Contour,
    frame_of_reference: str | None,
    by_uid: dict[str, FileEntry],
    places: PlaceIndex,
) -> FramePlace | None:
    for ref in contour.refs:
        target = by_uid.get(ref.sop_instance_uid)
        if target is None:
            continue
        own = places.of_file(target.index)
        if ref.frame is not None:
            if 0 <= ref.frame < len(own):
                return own[ref.frame]
            continue
        if len(own) == 1:
            return own[0]
        found = _in_file(contour, own)
        if found is not None:
            return found
    return places.find_plane(frame_of_reference, contour.points)


def _in_file(contour: Contour, own: list[FramePlace]) -> FramePlace | None:
    offsets = [float(np.abs((contour.points - p.origin) @ p.normal).max()) for p in own]
    if not offsets:
        return None
    k = int(np.argmin(offsets))
    return own[k] if offsets[k] <= 0.5 * (own[k].slice_mm or 1.0) + 1e-6 else None


def place_rtstruct(
    overlay_id: str,
    rtstruct: FileEntry,
    header: RtStructHeader,
    entries: Sequence[FileEntry],
    places: PlaceIndex | None = None,
) -> OverlayLayer:
    """The `OverlayLayer` of an RT Structure Set on the loaded ``entries``."""
    images = [e for e in entries if is_image(e)]
    by_uid = {e.sop_instance_uid: e for e in images if e.sop_instance_uid}
    places = places if places is not None else PlaceIndex(images)
    polygons: dict[tuple[int, int], dict[int, list[NDArray[np.float64]]]] = {}
    unmatched = 0
    for contour in header.contours:
        place = _target(contour, header.frames_of_reference.get(contour.roi), by_uid, places)
        if place is None:
            unmatched += 1
            continue
        rois = polygons.setdefault((place.file, place.frame), {})
        rois.setdefault(contour.roi, []).append(to_pixels(place, contour.points))
    planes = {
        key: [Plane(roi, "binary", Polygons(tuple(polys))) for roi, polys in sorted(rois.items())]
        for key, rois in polygons.items()
    }
    covered = {file for file, _ in planes}
    grids: dict[int, Grid] = {e.index: grid_of(e) for e in images if e.index in covered}
    total = len(header.contours)
    reason = None
    if not total:
        reason = "the structure set holds no closed planar contours"
    elif not planes:
        reason = (
            f"none of its {total} contours lies on a loaded image "
            "(by referenced SOP Instance UID or by frame of reference and slice position)"
        )
    elif unmatched:
        reason = f"{unmatched} of its {total} contours lie on no loaded image"
    return build_overlay(
        id=overlay_id,
        kind="contours",
        label=header.label,
        source=rtstruct.path,
        segments=header.segments,
        planes=planes,
        grids=grids,
        reason=reason,
    )
