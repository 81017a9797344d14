"""Series stacks: group loaded files into ordered slices a user scrolls as one image.

The rules of ``docs/api.md`` ("Series stacks and volumes"), in one place:

- Grouping: renderable single-frame files of one SeriesInstanceUID that share rows, columns,
  samples per pixel and ImageOrientationPatient (to 1e-4) form one stack; a series with several
  shapes or orientations splits into several. A multi-frame file is its own stack, and so is a
  file without a SeriesInstanceUID.
- Order: ascending position along the slice normal ``n = row cosines × column cosines``
  (``ImagePositionPatient · n``, or each frame's PlanePositionSequence), ties by InstanceNumber
  (the frame number in a multi-frame file), then discovery order. When a slice has no
  position: by InstanceNumber, then discovery order.
- `VolumeInfo` is present when every slice has a position, the stack is grayscale and has a
  pixel spacing: spacing ``[slice, row, column]`` mm with slice = median neighbour distance,
  ``uniform`` false when a gap differs from it by more than 1 % or a position repeats.

`StackIndex` is fed one `FileEntry` at a time (in discovery order, while the scan runs) and
keeps the groups; a stack's id (``s0``, ``s1`` …) is given when its first file arrives and never
changes, and files found later join their stack in place. Building a `Stack` is pure
(`build_stack`) and is redone only for the groups that changed.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dcmview_core.model import OVERLAY_SOP_CLASSES, FileEntry, SupportState
from dcmview_core.stats import PixelArea, pixel_area

__all__ = [
    "ORIENTATION_TOLERANCE",
    "PLANE_COSINE",
    "Stack",
    "StackIndex",
    "VolumeInfo",
    "build_stack",
    "entry_pixel_area",
    "plane_label",
    "stack_label",
    "stackable",
]

ORIENTATION_TOLERANCE = 1e-4
"""Largest difference of any direction cosine for two files to share a stack."""
PLANE_COSINE = 0.9
"""A plane is named axial/coronal/sagittal when its normal is within ~26° (cos 0.9) of the
patient axis; otherwise it is ``oblique``."""
UNIFORM_TOLERANCE = 0.01
_POSITION_DIGITS = 3
"""Positions along the normal are compared to 1 µm (ties then go by InstanceNumber)."""

Vector = tuple[float, float, float]
Orientation = tuple[float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    """The patient-space frame of a stack whose slices can be read as a volume."""

    shape: tuple[int, int, int]
    """``(slices, rows, columns)``."""
    spacing: tuple[float, float, float]
    """``(slice, row, column)`` in mm; slice = median distance between neighbours."""
    uniform: bool
    origin: Vector
    """ImagePositionPatient of slice 0 (the centre of its first pixel)."""
    orientation: Orientation
    axis_labels: tuple[str, str, str]
    """Plane of each axis: ``axial``, ``coronal``, ``sagittal`` or ``oblique``."""
    spacing_source: str
    """Where the in-plane spacing came from (``PixelSpacing`` or ``ImagerPixelSpacing``)."""
    slice_positions: tuple[float, ...] = ()
    """Distance of each slice from slice 0 along the normal, mm (ascending; what a viewer
    needs to place the slices of a non-uniform stack)."""

    def to_json(self) -> dict[str, Any]:
        """The ``volume`` object of ``docs/api.md`` (plus ``slice_positions``)."""
        return {
            "shape": list(self.shape),
            "spacing": list(self.spacing),
            "uniform": self.uniform,
            "origin": list(self.origin),
            "orientation": list(self.orientation),
            "axis_labels": list(self.axis_labels),
            "slice_positions": list(self.slice_positions),
        }


@dataclass(frozen=True, slots=True)
class Stack:
    """An ordered list of slices ``(file index, frame)`` scrolled as one image."""

    id: str
    series_instance_uid: str | None
    study_instance_uid: str | None
    patient_id: str | None
    modality: str | None
    series_number: int | None
    series_description: str | None
    label: str
    rows: int
    columns: int
    samples_per_pixel: int
    slices: tuple[tuple[int, int], ...]
    volume: VolumeInfo | None
    part: int = 1
    """1 for the first stack of a series, 2, 3 … for the stacks it splits into."""

    @property
    def slice_count(self) -> int:
        """Number of slices (the extent of axis 0)."""
        return len(self.slices)

    def to_json(self) -> dict[str, Any]:
        """The ``Stack`` object of ``docs/api.md`` (plus rows, columns and series number)."""
        return {
            "id": self.id,
            "series_instance_uid": self.series_instance_uid,
            "study_instance_uid": self.study_instance_uid,
            "patient_id": self.patient_id,
            "modality": self.modality,
            "series_number": self.series_number,
            "series_description": self.series_description,
            "label": self.label,
            "rows": self.rows,
            "columns": self.columns,
            "samples_per_pixel": self.samples_per_pixel,
            "slice_count": self.slice_count,
            "slices": [list(s) for s in self.slices],
            "volume": None if self.volume is None else self.volume.to_json(),
        }


# --- geometry helpers (pure) ------------------------------------------------------------------


def _cross(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def plane_label(normal: Sequence[float]) -> str:
    """The anatomical plane whose normal is ``normal`` (patient LPS axes, PS3.3 C.7.6.2.1.1):
    ``sagittal`` (x), ``coronal`` (y), ``axial`` (z), else ``oblique``."""
    length = math.sqrt(_dot(normal, normal))
    if not length > 0:
        return "oblique"
    cosines = [abs(v) / length for v in normal]
    axis = max(range(3), key=cosines.__getitem__)
    if cosines[axis] < PLANE_COSINE:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _same_orientation(a: Orientation | None, b: Orientation | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= ORIENTATION_TOLERANCE for x, y in zip(a, b, strict=True))


def entry_pixel_area(entry: FileEntry) -> PixelArea | None:
    """The pixel size of a file: PixelSpacing, else corrected ImagerPixelSpacing, else None."""
    g = entry.geometry
    if g is None:
        return None
    return pixel_area(g.pixel_spacing, g.imager_pixel_spacing, g.magnification)


def _orientation(entry: FileEntry) -> Orientation | None:
    g = entry.geometry
    return None if g is None else g.orientation


# --- building one stack (pure) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slice:
    file: int
    frame: int
    instance: int | None
    position: Vector | None

    def order_key(self, normal: Vector | None) -> tuple[Any, ...]:
        tie = (self.instance is None, self.instance or 0, self.file, self.frame)
        if normal is None or self.position is None:
            return tie
        return (round(_dot(self.position, normal), _POSITION_DIGITS), *tie)


def _slices_of(entry: FileEntry) -> list[_Slice]:
    g = entry.geometry
    positions = g.positions if g is not None else None
    if positions is not None and len(positions) != entry.frame_count:
        positions = None
    if entry.frame_count > 1:  # frames of a multi-frame file: the frame number is the tie
        return [
            _Slice(entry.index, f, f, None if positions is None else positions[f])
            for f in range(entry.frame_count)
        ]
    position = positions[0] if positions else None
    return [_Slice(entry.index, 0, entry.instance_number, position)]


def stack_label(
    patient_id: str | None,
    modality: str | None,
    series_number: int | None,
    series_description: str | None,
    part: int = 1,
    fallback: str = "",
) -> str:
    """``PatientID · Modality · SeriesNumber SeriesDescription`` from what is present (else
    ``fallback``), with `` (2)``, `` (3)`` … for the further stacks of a split series."""
    series = " ".join(str(v) for v in (series_number, series_description) if v not in (None, ""))
    parts = [p for p in (patient_id, modality, series) if p]
    label = " · ".join(parts) if parts else fallback
    return label if part == 1 else f"{label} ({part})"


def _label(entry: FileEntry, part: int) -> str:
    return stack_label(
        entry.patient_id,
        entry.modality,
        entry.series_number,
        entry.series_description,
        part,
        entry.label,
    )


def _slice_spacing(distances: Sequence[float], first: FileEntry) -> tuple[float, bool]:
    """Median neighbour distance and whether the gaps are uniform (see the module doc)."""
    gaps = [b - a for a, b in itertools.pairwise(distances)]
    if not gaps:
        g = first.geometry
        fallback = (g.spacing_between_slices or g.slice_thickness) if g is not None else None
        return (float(fallback) if fallback and fallback > 0 else 1.0), True
    positive = sorted(gap for gap in gaps if gap > 10**-_POSITION_DIGITS)
    ordered = sorted(gaps)
    median = _median(ordered)
    if median <= 10**-_POSITION_DIGITS:  # mostly repeated positions: the real step
        median = _median(positive) if positive else 1.0
    uniform = len(positive) == len(gaps) and all(
        abs(gap - median) <= UNIFORM_TOLERANCE * median for gap in gaps
    )
    return median, uniform


def _median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def build_stack(stack_id: str, entries: Sequence[FileEntry], part: int = 1) -> Stack:
    """The `Stack` of one group of files (one multi-frame file, or files already grouped)."""
    if not entries:
        raise ValueError("a stack needs at least one file")
    first = entries[0]
    slices = [s for entry in entries for s in _slices_of(entry)]
    orientation = _orientation(first)
    positioned = orientation is not None and all(s.position is not None for s in slices)
    normal = _cross(orientation[:3], orientation[3:]) if orientation is not None else None
    slices.sort(key=lambda s: s.order_key(normal if positioned else None))
    volume = None
    area = entry_pixel_area(first)
    spp = first.samples_per_pixel or 1
    if positioned and normal is not None and orientation is not None and area and spp == 1:
        distances = [_dot(s.position, normal) for s in slices if s.position is not None]
        spacing, uniform = _slice_spacing(distances, first)
        origin = slices[0].position
        assert origin is not None
        volume = VolumeInfo(
            shape=(len(slices), first.rows, first.columns),
            spacing=(spacing, area.row_mm, area.column_mm),
            uniform=uniform,
            origin=origin,
            orientation=orientation,
            axis_labels=(
                plane_label(normal),
                plane_label(orientation[3:]),  # constant row: normal along the columns' axis
                plane_label(orientation[:3]),  # constant column: normal along the rows' axis
            ),
            spacing_source=area.source,
            slice_positions=tuple(round(d - distances[0], 6) for d in distances),
        )
    return Stack(
        id=stack_id,
        series_instance_uid=first.series_instance_uid,
        study_instance_uid=first.study_instance_uid,
        patient_id=first.patient_id,
        modality=first.modality,
        series_number=first.series_number,
        series_description=first.series_description,
        label=_label(first, part),
        rows=first.rows,
        columns=first.columns,
        samples_per_pixel=spp,
        slices=tuple((s.file, s.frame) for s in slices),
        volume=volume,
        part=part,
    )


# --- the incremental index --------------------------------------------------------------------


def stackable(entry: FileEntry) -> bool:
    """Whether a file belongs to a stack: it has pixels the viewer can show and is not a
    segmentation or structure set (those are overlays on the stacks they describe)."""
    return (
        entry.has_pixels
        and entry.sop_class_uid not in OVERLAY_SOP_CLASSES
        and entry.support_state == SupportState.RENDERABLE
        and entry.rows > 0
        and entry.columns > 0
        and entry.frame_count > 0
    )


@dataclass(slots=True)
class _Group:
    id: str
    part: int
    orientation: Orientation | None
    entries: list[FileEntry] = field(default_factory=list)
    built: Stack | None = None


class StackIndex:
    """Groups files into stacks as they are discovered (thread-safe; see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: list[_Group] = []
        self._by_id: dict[str, _Group] = {}
        self._by_key: dict[tuple[Any, ...], list[_Group]] = {}
        self._parts: dict[str, int] = {}
        self._of_file: dict[int, str] = {}
        self.version = 0
        """Grows whenever a file joins a stack."""

    def add(self, entry: FileEntry) -> str | None:
        """Put one file into its stack; returns the stack id (None when not stackable).
        Adding a file index twice changes nothing."""
        if not stackable(entry):
            return None
        with self._lock:
            known = self._of_file.get(entry.index)
            if known is not None:
                return known
            group = self._group_for(entry)
            group.entries.append(entry)
            group.built = None
            self._of_file[entry.index] = group.id
            self.version += 1
            return group.id

    def extend(self, entries: Iterable[FileEntry]) -> None:
        """`add` each entry."""
        for entry in entries:
            self.add(entry)

    def _group_for(self, entry: FileEntry) -> _Group:
        uid = entry.series_instance_uid
        orientation = _orientation(entry)
        key: tuple[Any, ...] | None = None
        if entry.frame_count == 1 and uid:
            key = (uid, entry.rows, entry.columns, entry.samples_per_pixel or 1)
            for group in self._by_key.get(key, ()):
                if _same_orientation(group.orientation, orientation):
                    return group
        series = uid or f"file:{entry.index}"
        part = self._parts.get(series, 0) + 1
        self._parts[series] = part
        group = _Group(f"s{len(self._groups)}", part, orientation)
        self._groups.append(group)
        self._by_id[group.id] = group
        if key is not None:
            self._by_key.setdefault(key, []).append(group)
        return group

    def _built(self, group: _Group) -> Stack:
        if group.built is None:
            group.built = build_stack(group.id, group.entries, group.part)
        return group.built

    def stacks(self) -> list[Stack]:
        """Every stack, in the order their first file was discovered."""
        with self._lock:
            return [self._built(g) for g in self._groups]

    def get(self, stack_id: str) -> Stack | None:
        """The stack with this id, or None."""
        with self._lock:
            group = self._by_id.get(stack_id)
            return None if group is None else self._built(group)

    def stack_of(self, file_index: int) -> str | None:
        """The id of the stack holding this file, if any."""
        with self._lock:
            return self._of_file.get(file_index)

    def __len__(self) -> int:
        with self._lock:
            return len(self._groups)
