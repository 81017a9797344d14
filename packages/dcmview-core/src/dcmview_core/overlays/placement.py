"""Where a patient-space plane lands among the loaded frames (PS3.3 C.7.6.2.1.1).

Each loaded image frame is a `FramePlace`: its Frame of Reference, the centre of its first
pixel, its row and column directions and pixel sizes. `PlaceIndex` finds the frame a SEG frame
was drawn on (same frame of reference, grid and position) or the frame a planar contour lies
in; `to_pixels` turns patient points into that frame's ``(column, row)`` pixel coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dcmview_core.model import LABEL_MAP_SEG_STORAGE as LABEL_MAP_SEG_STORAGE
from dcmview_core.model import OVERLAY_SOP_CLASSES as OVERLAY_SOP_CLASSES
from dcmview_core.model import RTSTRUCT_STORAGE as RTSTRUCT_STORAGE
from dcmview_core.model import SEG_STORAGE as SEG_STORAGE
from dcmview_core.model import FileEntry

ORIENTATION_TOLERANCE = 1e-3
"""Largest difference of a direction cosine for two planes to count as parallel."""
POSITION_FRACTION = 0.05
"""A SEG frame matches an image frame when their first-pixel centres are closer than this
fraction of the smaller pixel size (plus 1 µm)."""

Vector = tuple[float, float, float]


@dataclass(frozen=True, slots=True, eq=False)
class FramePlace:
    """One loaded frame's plane in patient space (LPS, mm)."""

    file: int
    frame: int
    frame_of_reference_uid: str | None
    origin: NDArray[np.float64]
    row_dir: NDArray[np.float64]
    """Direction of increasing column (the first three ImageOrientationPatient values)."""
    col_dir: NDArray[np.float64]
    normal: NDArray[np.float64]
    row_mm: float
    """Distance between rows (PixelSpacing[0])."""
    col_mm: float
    rows: int
    columns: int
    slice_mm: float | None


def is_image(entry: FileEntry) -> bool:
    """Whether a loaded file can carry an overlay (has pixels, is not itself an overlay)."""
    return (
        entry.has_pixels
        and entry.rows > 0
        and entry.columns > 0
        and entry.sop_class_uid not in OVERLAY_SOP_CLASSES
    )


def places_of(entry: FileEntry) -> list[FramePlace]:
    """The `FramePlace` of each frame of an image, empty when its geometry is incomplete."""
    g = entry.geometry
    if g is None or g.orientation is None or g.positions is None or g.pixel_spacing is None:
        return []
    if not is_image(entry):
        return []
    o = np.asarray(g.orientation, dtype=np.float64)
    row_dir, col_dir = o[:3], o[3:]
    normal = np.cross(row_dir, col_dir)
    thickness = g.spacing_between_slices or g.slice_thickness
    slice_mm = float(thickness) if thickness and thickness > 0 else None
    return [
        FramePlace(
            file=entry.index,
            frame=f,
            frame_of_reference_uid=g.frame_of_reference_uid,
            origin=np.asarray(position, dtype=np.float64),
            row_dir=row_dir,
            col_dir=col_dir,
            normal=normal,
            row_mm=float(g.pixel_spacing[0]),
            col_mm=float(g.pixel_spacing[1]),
            rows=entry.rows,
            columns=entry.columns,
            slice_mm=slice_mm,
        )
        for f, position in enumerate(g.positions[: entry.frame_count])
    ]


def to_pixels(place: FramePlace, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Patient points ``(n, 3)`` → ``(n, 2)`` pixel coordinates ``(column, row)`` on ``place``
    (pixel centres at integers; the component along the normal is dropped). Rounded to
    1e-6 pixel, so a vertex meant to sit on a pixel centre stays on it despite float noise
    (3 × 0.8 mm / 0.8 mm is 3.0000000000000004)."""
    d = np.asarray(points, dtype=np.float64).reshape(-1, 3) - place.origin
    pixels = np.stack([d @ place.row_dir / place.col_mm, d @ place.col_dir / place.row_mm], axis=1)
    return np.round(pixels, 6)


class PlaceIndex:
    """Every loaded frame's plane, grouped by Frame of Reference for vectorised look-ups."""

    def __init__(self, entries: Iterable[FileEntry]) -> None:
        self._by_for: dict[str | None, list[FramePlace]] = {}
        self._origins: dict[str | None, NDArray[np.float64]] = {}
        self._normals: dict[str | None, NDArray[np.float64]] = {}
        self._half: dict[str | None, NDArray[np.float64]] = {}
        self._of_file: dict[int, list[FramePlace]] = {}
        for entry in entries:
            places = places_of(entry)
            if places:
                self._of_file[entry.index] = places
            for place in places:
                self._by_for.setdefault(place.frame_of_reference_uid, []).append(place)
        for key, places in self._by_for.items():
            self._origins[key] = np.stack([p.origin for p in places])
            self._normals[key] = np.stack([p.normal for p in places])
            self._half[key] = np.array([0.5 * (p.slice_mm or 1.0) + 1e-6 for p in places])

    def of_file(self, file: int) -> list[FramePlace]:
        """The places of one file's frames (empty without geometry)."""
        return self._of_file.get(file, [])

    def has_frame_of_reference(self, uid: str | None) -> bool:
        return uid is not None and uid in self._by_for

    def find_frame(
        self,
        frame_of_reference_uid: str | None,
        position: Sequence[float],
        orientation: Sequence[float],
        pixel_spacing: Sequence[float],
        rows: int,
        columns: int,
        files: Iterable[int] | None = None,
    ) -> FramePlace | None:
        """The loaded frame a SEG frame with this plane and grid was drawn on, else None
        (a frame of reference is required: positions mean nothing across them)."""
        if frame_of_reference_uid is None:
            return None
        places = self._by_for.get(frame_of_reference_uid)
        if not places:
            return None
        origins = self._origins[frame_of_reference_uid]
        distance = np.linalg.norm(origins - np.asarray(position, dtype=np.float64), axis=1)
        tolerance = POSITION_FRACTION * min(pixel_spacing) + 1e-3
        allowed = None if files is None else set(files)
        o = np.asarray(orientation, dtype=np.float64)
        for k in np.argsort(distance, kind="stable"):
            if distance[k] > tolerance:
                break
            p = places[int(k)]
            if allowed is not None and p.file not in allowed:
                continue
            if (p.rows, p.columns) != (rows, columns):
                continue
            if np.abs(np.concatenate([p.row_dir, p.col_dir]) - o).max() > ORIENTATION_TOLERANCE:
                continue
            if not np.allclose((p.row_mm, p.col_mm), pixel_spacing, rtol=1e-3, atol=1e-6):
                continue
            return p
        return None

    def find_plane(
        self, frame_of_reference_uid: str | None, points: NDArray[np.float64]
    ) -> FramePlace | None:
        """The loaded frame whose plane holds all ``points`` (within half its slice
        thickness, 0.5 mm when unknown), the closest when several do."""
        if frame_of_reference_uid is None:
            return None
        places = self._by_for.get(frame_of_reference_uid)
        if not places:
            return None
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        origins, normals = (
            self._origins[frame_of_reference_uid],
            self._normals[frame_of_reference_uid],
        )
        centre = pts.mean(axis=0)
        off = np.abs(((centre - origins) * normals).sum(axis=1))
        half = self._half[frame_of_reference_uid]
        for k in np.argsort(off, kind="stable"):
            if off[k] > half[k]:
                break
            p = places[int(k)]
            if float(np.abs((pts - p.origin) @ p.normal).max()) <= half[k]:
                return p
        return None
