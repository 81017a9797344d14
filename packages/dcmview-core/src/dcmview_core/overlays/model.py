"""What an overlay is, and how one target frame of it is drawn (pure, lazy per frame).

An `OverlayLayer` maps each covered target frame ``(file index, frame)`` to the `Plane` s drawn on
it. A plane holds what to read, not pixels: a stored frame of a DICOM SEG (`SegFrame`,
unpacked only when drawn), filled contours (`Polygons`) or a 2-D view of an array
(`ArraySlice`). How a plane's values become a mask is its ``encoding``:

- ``binary``: non-zero = inside (SEG BINARY frames, bool arrays, filled contours) → 0/255;
- ``fraction``: values in ``0 … maximum`` (SEG FRACTIONAL frames, float arrays in 0–1) →
  ``round(255 · value / maximum)``; a fractional segment *covers* a pixel from 50 % on;
- ``labels``: values are segment numbers (integer label arrays, LABELMAP SEGs).

`segment_mask` gives one segment's uint8 mask, `label_map` each pixel's highest covering
segment number (uint8, uint16 when a segment number exceeds 255; optionally over a subset of
the segments; `label_map_overlap` also says whether segments overlap on that frame),
`segment_counts` pixel counts with mm² and mL where the targets have a pixel spacing and a
slice thickness.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dcmview_core.errors import DcmviewError, DecodeError
from dcmview_core.frames import read_frame
from dcmview_core.model import FileEntry
from dcmview_core.overlays.raster import fill_polygons
from dcmview_core.source import close_source, open_source
from dcmview_core.stats import pixel_area

OverlayKind = Literal["segmentation", "contours", "mask"]
Encoding = Literal["binary", "fraction", "labels"]
RGB = tuple[int, int, int]


class OverlayNotFound(DcmviewError, LookupError):
    """The overlay does not cover that target frame, or has no such segment."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment (a SEG segment, an RT ROI, a label value) and its display colour."""

    number: int
    label: str
    color: RGB

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "label": self.label, "color": list(self.color)}


@dataclass(frozen=True, slots=True)
class Target:
    """A loaded file the overlay is drawn on, and the frames it covers (ascending)."""

    file: int
    frames: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "frames": list(self.frames)}


@dataclass(frozen=True, slots=True)
class Grid:
    """The pixel grid of a target file: frame shape and physical sizes when known."""

    rows: int
    columns: int
    pixel_mm2: float | None = None
    slice_mm: float | None = None
    """Slice thickness (SpacingBetweenSlices, else SliceThickness) for volumes in mL."""


@dataclass(frozen=True, slots=True, eq=False)
class SegFrame:
    """Stored frame ``frame`` (0-based) of the DICOM SEG file ``entry``.

    With ``native`` (uncompressed little-endian Pixel Data: value offset in the file and bits
    per sample) the frame's bytes are read directly — no per-file layout to parse or keep;
    otherwise it goes through `read_frame` (any transfer syntax)."""

    entry: FileEntry
    frame: int
    native: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Polygons:
    """Closed contours in target pixel coordinates (``(column, row)``, see `raster`)."""

    polygons: tuple[NDArray[np.float64], ...]


@dataclass(frozen=True, slots=True, eq=False)
class ArraySlice:
    """A 2-D ``rows × columns`` view of a mask array (may be memory-mapped)."""

    array: NDArray[Any]


@dataclass(frozen=True, slots=True, eq=False)
class Plane:
    """One layer drawn on a target frame: ``segment`` (0 for ``labels``), how to read it."""

    segment: int
    encoding: Encoding
    source: SegFrame | Polygons | ArraySlice
    maximum: float = 1.0
    """The value meaning 100 % for ``fraction`` planes (MaximumFractionalValue, 1.0)."""


@dataclass(frozen=True, slots=True, eq=False)
class OverlayLayer:
    """One overlay as ``/api/overlays`` lists it, plus the planes to draw each target frame
    (named apart from `dcmview_core.Overlay`, a DICOM overlay plane of a frame)."""

    id: str
    kind: OverlayKind
    label: str
    source: str
    segments: tuple[Segment, ...]
    targets: tuple[Target, ...]
    reason: str | None = None
    """Why ``targets`` is empty or smaller than the source describes (one line), else None."""
    fractional: bool = False
    planes: Mapping[tuple[int, int], tuple[Plane, ...]] = field(default_factory=dict, repr=False)
    grids: Mapping[int, Grid] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``Overlay`` object of ``docs/api.md``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "source": self.source,
            "fractional": self.fractional,
            "segments": [s.to_json() for s in self.segments],
            "targets": [t.to_json() for t in self.targets],
            "reason": self.reason,
        }

    @property
    def max_segment(self) -> int:
        return max((s.number for s in self.segments), default=0)


def build_overlay(
    *,
    id: str,
    kind: OverlayKind,
    label: str,
    source: str,
    segments: Sequence[Segment],
    planes: Mapping[tuple[int, int], Sequence[Plane]],
    grids: Mapping[int, Grid],
    reason: str | None = None,
    fractional: bool = False,
) -> OverlayLayer:
    """An `OverlayLayer` whose targets are derived from ``planes`` (files and frames ascending)."""
    frames: dict[int, list[int]] = {}
    for file, frame in sorted(planes):
        frames.setdefault(file, []).append(frame)
    targets = tuple(Target(f, tuple(fs)) for f, fs in frames.items())
    return OverlayLayer(
        id=id,
        kind=kind,
        label=label,
        source=source,
        segments=tuple(sorted(segments, key=lambda s: s.number)),
        targets=targets,
        reason=reason,
        fractional=fractional,
        planes={key: tuple(value) for key, value in planes.items()},
        grids=dict(grids),
    )


# --- drawing ------------------------------------------------------------------------------------


def plane_values(plane: Plane, grid: Grid) -> NDArray[Any]:
    """The plane's raw values on the target grid (``rows × columns``)."""
    src = plane.source
    if isinstance(src, SegFrame):
        if src.native is not None:
            values = native_seg_frame(src.entry.path, *src.native, src.frame, grid)
        else:
            values = read_frame(src.entry, src.frame).samples
    elif isinstance(src, Polygons):
        values = fill_polygons(src.polygons, grid.rows, grid.columns)
    else:
        values = np.asarray(src.array)
    if values.shape != (grid.rows, grid.columns):
        raise OverlayNotFound(
            f"overlay plane is {values.shape[0]}×{values.shape[1]}, "
            f"the target frame is {grid.rows}×{grid.columns}"
        )
    return values


def native_seg_frame(path: str, offset: int, bits: int, frame: int, grid: Grid) -> NDArray[Any]:
    """Frame ``frame`` of native little-endian Pixel Data at ``offset``: 1-bit frames are
    unpacked from the bytes that hold them (frames need not start on a byte), 8/16-bit read
    as they are."""
    count = grid.rows * grid.columns
    first_bit = frame * count * bits
    start, stop = first_bit // 8, -(-(first_bit + count * bits) // 8)
    source = open_source(path)
    try:
        data = source.read_at(offset + start, stop - start)
    finally:
        close_source(source)
    if len(data) < stop - start:
        raise DecodeError(f"SEG frame {frame} is truncated: its bytes end past the end of {path}")
    if bits == 1:
        unpacked = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        shift = first_bit % 8
        return unpacked[shift : shift + count].reshape(grid.rows, grid.columns)
    dtype = np.dtype("<u2") if bits == 16 else np.dtype(np.uint8)
    return (
        np.frombuffer(data, dtype)
        .astype(dtype.newbyteorder("="), copy=False)
        .reshape(grid.rows, grid.columns)
    )


def _as_mask(values: NDArray[Any], plane: Plane, number: int) -> NDArray[np.uint8]:
    if plane.encoding == "labels":
        return np.where(values == number, np.uint8(255), np.uint8(0))
    if plane.encoding == "binary":
        return np.where(values != 0, np.uint8(255), np.uint8(0))
    if values.dtype.kind == "f":
        scaled = np.nan_to_num(values.astype(np.float64), nan=0.0) * (255.0 / plane.maximum)
    else:
        scaled = values.astype(np.float64) * (255.0 / plane.maximum)
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def _planes(overlay: OverlayLayer, file: int, frame: int) -> tuple[tuple[Plane, ...], Grid]:
    planes = overlay.planes.get((file, frame))
    grid = overlay.grids.get(file)
    if planes is None or grid is None:
        raise OverlayNotFound(f"overlay {overlay.id} does not cover file {file} frame {frame}")
    return planes, grid


def segment_mask(overlay: OverlayLayer, file: int, frame: int, number: int) -> NDArray[np.uint8]:
    """Segment ``number`` on a target frame: uint8 ``rows × columns``, 0/255 (binary) or
    0–255 (fractional). A segment with no data on that frame gives zeros."""
    planes, grid = _planes(overlay, file, frame)
    if all(s.number != number for s in overlay.segments):
        raise OverlayNotFound(f"overlay {overlay.id} has no segment {number}")
    out = np.zeros((grid.rows, grid.columns), dtype=np.uint8)
    for plane in planes:
        if plane.segment in (number, 0):
            np.maximum(out, _as_mask(plane_values(plane, grid), plane, number), out=out)
    return out


def label_dtype(overlay: OverlayLayer) -> type[np.unsignedinteger[Any]]:
    """uint8, or uint16 when a segment number exceeds 255."""
    return np.uint8 if overlay.max_segment <= 255 else np.uint16


def _cover(values: NDArray[Any], plane: Plane) -> NDArray[np.bool_]:
    if plane.encoding == "fraction":
        covered: NDArray[np.bool_] = (
            np.nan_to_num(values.astype(np.float64), nan=0.0) * 2.0 >= plane.maximum
        )
        return covered
    nonzero: NDArray[np.bool_] = values != 0
    return nonzero


def label_map(
    overlay: OverlayLayer, file: int, frame: int, segments: Collection[int] | None = None
) -> NDArray[np.unsignedinteger[Any]]:
    """Each pixel of a target frame: the highest segment number covering it, 0 for none (only
    the segments in ``segments`` when given)."""
    return label_map_overlap(overlay, file, frame, segments)[0]


def label_map_overlap(
    overlay: OverlayLayer, file: int, frame: int, segments: Collection[int] | None = None
) -> tuple[NDArray[np.unsignedinteger[Any]], bool]:
    """`label_map`, and whether some pixel is covered by two or more (of those) segments — when
    not, the map hides nothing: any subset of its segments is the map with the others zeroed."""
    planes, grid = _planes(overlay, file, frame)
    dtype = label_dtype(overlay)
    top = np.iinfo(dtype).max
    wanted = None if segments is None else np.array(sorted(set(segments)), dtype=np.int64)

    def labels_of(values: NDArray[Any]) -> NDArray[np.unsignedinteger[Any]]:
        out: NDArray[np.unsignedinteger[Any]] = np.clip(values, 0, top).astype(dtype)
        if wanted is not None:
            out[~np.isin(out, wanted)] = 0
        return out

    if len(planes) == 1 and planes[0].encoding == "labels":
        return labels_of(plane_values(planes[0], grid)), False
    out = np.zeros((grid.rows, grid.columns), dtype=dtype)
    overlap = False
    for plane in sorted(planes, key=lambda p: p.segment):
        if plane.encoding != "labels" and wanted is not None and plane.segment not in wanted:
            continue
        values = plane_values(plane, grid)
        if plane.encoding == "labels":
            layer = labels_of(values)
            if not overlap:
                overlap = bool(np.any((out != 0) & (layer != 0) & (out != layer)))
            np.maximum(out, layer, out=out)
        else:
            covered = _cover(values, plane)
            if not overlap:
                under = out[covered]
                overlap = bool(np.any((under != 0) & (under != plane.segment)))
            out[covered] = plane.segment  # ascending: the highest ends on top
    return out, overlap


# --- counting -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """Pixels a segment covers on each target frame and in all, with physical sizes."""

    number: int
    pixels: int
    area_mm2: float | None
    """Sum of covered pixel areas (None when a target has no pixel spacing)."""
    volume_ml: float | None
    """Area × slice thickness over all frames (None when a target lacks either)."""
    frames: tuple[tuple[int, int, int], ...]
    """``(file, frame, pixels)`` for every covered target frame, including zeros."""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "pixels": self.pixels,
            "area_mm2": self.area_mm2,
            "volume_ml": self.volume_ml,
            "frames": [list(f) for f in self.frames],
        }


def segment_counts(overlay: OverlayLayer) -> tuple[SegmentCount, ...]:
    """Per segment: covered pixels on each target frame (by `label_map` coverage rules: a
    pixel covered by several segments counts for each) and in total, with mm² and mL."""
    numbers = [s.number for s in overlay.segments]
    per: dict[int, list[tuple[int, int, int]]] = {n: [] for n in numbers}
    area: dict[int, float | None] = dict.fromkeys(numbers, 0.0)
    volume: dict[int, float | None] = dict.fromkeys(numbers, 0.0)
    for (file, frame), planes in sorted(overlay.planes.items()):
        grid = overlay.grids[file]
        covered: dict[int, NDArray[np.bool_]] = {}
        for plane in planes:
            values = plane_values(plane, grid)
            if plane.encoding == "labels":
                counts = np.bincount(np.clip(values, 0, None).astype(np.int64).ravel(), minlength=1)
                for n in numbers:
                    if n < len(counts) and counts[n]:
                        hit = values == n
                        covered[n] = hit if n not in covered else covered[n] | hit
            else:
                hit = _cover(values, plane)
                n = plane.segment
                covered[n] = hit if n not in covered else covered[n] | hit
        for n in numbers:
            pixels = int(np.count_nonzero(covered[n])) if n in covered else 0
            per[n].append((file, frame, pixels))
            a, v = area[n], volume[n]
            area[n] = None if a is None or grid.pixel_mm2 is None else a + pixels * grid.pixel_mm2
            if v is None or grid.pixel_mm2 is None or grid.slice_mm is None:
                volume[n] = None
            else:
                volume[n] = v + pixels * grid.pixel_mm2 * grid.slice_mm / 1000.0
    return tuple(
        SegmentCount(n, sum(p for _, _, p in per[n]), area[n], volume[n], tuple(per[n]))
        for n in numbers
    )


def grid_of(entry: FileEntry) -> Grid:
    """The `Grid` of a loaded file from its header geometry."""
    g = entry.geometry
    pixel_mm2: float | None = None
    slice_mm: float | None = None
    if g is not None:
        area = pixel_area(g.pixel_spacing, g.imager_pixel_spacing, g.magnification)
        pixel_mm2 = None if area is None else area.row_mm * area.column_mm
        thickness = g.spacing_between_slices or g.slice_thickness
        slice_mm = float(thickness) if thickness and thickness > 0 else None
    return Grid(entry.rows, entry.columns, pixel_mm2, slice_mm)
