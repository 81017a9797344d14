"""Length and angle measurements on one frame of a file (the rules of ``docs/api.md``).

- Points are continuous image coordinates ``(x, y)`` = (column, row) in pixel units: the
  top-left corner of the image is ``(0, 0)``, its bottom-right ``(columns, rows)``.
- A length is in mm from the one spacing rule (`pixel_area`: PixelSpacing, else
  ImagerPixelSpacing divided by the Estimated Radiographic Magnification Factor). When no
  usable factor changed it (none, 0, NaN, 1) an ImagerPixelSpacing length is *at the
  detector* (``at_detector``). Without any spacing it is in px. Non-square pixels:
  ``hypot(dx × column spacing, dy × row spacing)``.
- An angle has three points, the vertex in the middle; its value is in degrees in
  ``[0, 180]``, measured in physical space when the pixels are not square.
- `parse_measurements` validates a PUT body against a file fully (every problem of every
  measurement, each named "measurement N" from 1) and raises `MeasurementError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from dcmview_core.errors import UsageError
from dcmview_core.model import FileEntry, Geometry
from dcmview_core.stats import pixel_area

__all__ = [
    "MAX_LABEL_LENGTH",
    "MAX_MEASUREMENTS",
    "Measurement",
    "MeasurementError",
    "MeasurementKind",
    "measure",
    "parse_measurements",
]

MeasurementKind = Literal["length", "angle"]
MeasurementUnit = Literal["mm", "px", "deg"]
POINT_COUNTS: Final[dict[str, int]] = {"length": 2, "angle": 3}
MAX_MEASUREMENTS: Final = 1000
"""Measurements one file may hold."""
MAX_LABEL_LENGTH: Final = 256
_INPUT_KEYS: Final = frozenset({"kind", "frame", "points", "label"})
_COMPUTED_KEYS: Final = frozenset({"value", "unit", "at_detector"})
"""Keys a client may send back from a GET; the server recomputes them."""

Point = tuple[float, float]


class MeasurementError(UsageError, ValueError):
    """A measurement (or a list of them) breaks a rule; the message names each one."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """One length or angle on one frame, with the value computed from its points."""

    kind: MeasurementKind
    frame: int
    points: tuple[Point, ...]
    value: float
    unit: MeasurementUnit
    at_detector: bool = False
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The api.md ``Measurement`` object."""
        return {
            "kind": self.kind,
            "frame": self.frame,
            "points": [[x, y] for x, y in self.points],
            "value": self.value,
            "unit": self.unit,
            "at_detector": self.at_detector,
            "label": self.label,
        }


def _spacing_of(source: FileEntry | Geometry | None) -> tuple[float, float, bool] | None:
    """(row mm, column mm, at detector) of a file, or None without a spacing."""
    geometry = source.geometry if isinstance(source, FileEntry) else source
    if geometry is None:
        return None
    area = pixel_area(geometry.pixel_spacing, geometry.imager_pixel_spacing, geometry.magnification)
    if area is None:
        return None
    # at the detector: the ImagerPixelSpacing was not changed by a magnification factor
    detector = area.source == "ImagerPixelSpacing" and area == pixel_area(
        None, geometry.imager_pixel_spacing
    )
    return area.row_mm, area.column_mm, detector


def measure(
    kind: MeasurementKind,
    points: Sequence[Sequence[float]],
    source: FileEntry | Geometry | None,
    *,
    frame: int = 0,
    label: str | None = None,
) -> Measurement:
    """The `Measurement` of ``points`` on a file (its geometry, or None for px).

    Raises `MeasurementError` for a wrong point count, a non-finite coordinate or an angle
    whose arm has no length.
    """
    if kind not in POINT_COUNTS:
        raise MeasurementError(f"unknown kind {kind!r}: use 'length' or 'angle'")
    pts = tuple((float(p[0]), float(p[1])) for p in points)
    if len(pts) != POINT_COUNTS[kind]:
        raise MeasurementError(f"a {kind} needs {POINT_COUNTS[kind]} points, got {len(pts)}")
    if not all(math.isfinite(v) for p in pts for v in p):
        raise MeasurementError("every coordinate must be a finite number")
    spacing = _spacing_of(source)
    row_mm, column_mm = (spacing[0], spacing[1]) if spacing else (1.0, 1.0)
    scaled = [(x * column_mm, y * row_mm) for x, y in pts]
    if kind == "length":
        (x0, y0), (x1, y1) = scaled
        value = math.hypot(x1 - x0, y1 - y0)
        unit: MeasurementUnit = "mm" if spacing else "px"
        at_detector = bool(spacing and spacing[2])
    else:
        (ax, ay), (vx, vy), (bx, by) = scaled
        ux, uy, wx, wy = ax - vx, ay - vy, bx - vx, by - vy
        if (ux == 0 and uy == 0) or (wx == 0 and wy == 0):
            raise MeasurementError("an arm of the angle has no length (two points coincide)")
        value = math.degrees(math.atan2(abs(ux * wy - uy * wx), ux * wx + uy * wy))
        unit, at_detector = "deg", False
    return Measurement(kind, frame, pts, value, unit, at_detector, label)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _item_problems(item: object, entry: FileEntry) -> list[str]:
    """Every rule ``item`` breaks on ``entry`` (empty when it is a valid measurement)."""
    if not isinstance(item, Mapping):
        return [f'must be an object {{"kind", "frame", "points", "label"}}, got {_shown(item)}']
    problems = [
        f"{k!s}: is not a measurement field (expected kind, frame, points, label)"
        for k in item
        if k not in _INPUT_KEYS | _COMPUTED_KEYS
    ]
    kind: Any = item.get("kind")
    known_kind = isinstance(kind, str) and kind in POINT_COUNTS
    if not known_kind:
        problems.append(f"kind: must be 'length' or 'angle', got {_shown(kind)}")
    frame: Any = item.get("frame")
    if not _is_number(frame) or not float(frame).is_integer():
        problems.append(f"frame: must be a whole number, got {_shown(frame)}")
    elif not 0 <= int(frame) < entry.frame_count:
        problems.append(
            f"frame: {int(frame)} is out of range (file has {entry.frame_count} "
            f"frame{'' if entry.frame_count == 1 else 's'}, numbered from 0)"
        )
    label = item.get("label")
    if label is not None and not isinstance(label, str):
        problems.append(f"label: must be a string or null, got {_shown(label)}")
    elif isinstance(label, str) and len(label) > MAX_LABEL_LENGTH:
        problems.append(f"label: is longer than {MAX_LABEL_LENGTH} characters")
    points = item.get("points")
    if not isinstance(points, list):
        problems.append(f"points: must be a list of [x, y] pairs, got {_shown(points)}")
        return problems
    if known_kind and len(points) != POINT_COUNTS[kind]:
        problems.append(f"points: a {kind} needs {POINT_COUNTS[kind]} points, got {len(points)}")
    for n, point in enumerate(points[:4], start=1):
        if not (isinstance(point, list) and len(point) == 2 and all(_is_number(v) for v in point)):
            problems.append(f"points: point {n} must be [x, y] (two numbers), got {_shown(point)}")
        elif not all(math.isfinite(v) for v in point):
            problems.append(f"points: point {n} {_shown(point)} is not finite")
        elif not (0 <= point[0] <= entry.columns and 0 <= point[1] <= entry.rows):
            problems.append(
                f"points: point {n} {_shown(point)} is outside the {entry.columns}×{entry.rows} "
                "image (x in [0, columns], y in [0, rows])"
            )
    return problems


def parse_measurements(payload: object, entry: FileEntry) -> tuple[Measurement, ...]:
    """Validate a PUT body ``{"measurements": [...]}`` against ``entry``; the measurements
    with their values computed. Raises `MeasurementError` naming every problem."""
    if not isinstance(payload, Mapping) or "measurements" not in payload:
        raise MeasurementError(
            f'the body must be a JSON object {{"measurements": [...]}}, got {_shown(payload)}'
        )
    extra = sorted(str(k) for k in payload if k != "measurements")
    if extra:
        raise MeasurementError(f"unknown key(s) {', '.join(extra)}: only 'measurements'")
    items = payload["measurements"]
    if not isinstance(items, list):
        raise MeasurementError(f"measurements: must be a list, got {_shown(items)}")
    if len(items) > MAX_MEASUREMENTS:
        raise MeasurementError(
            f"measurements: {len(items)} is more than the {MAX_MEASUREMENTS} a file may hold"
        )
    if items and not entry.has_pixels:
        raise MeasurementError(f"file {entry.index} has no pixel data to measure on")
    problems: list[str] = []
    out: list[Measurement] = []
    for n, item in enumerate(items, start=1):
        found = _item_problems(item, entry)
        if not found:
            assert isinstance(item, Mapping)
            try:
                out.append(
                    measure(
                        item["kind"],
                        item["points"],
                        entry,
                        frame=int(item["frame"]),
                        label=item.get("label"),
                    )
                )
            except MeasurementError as error:
                found = [f"points: {error}"]
        problems.extend(f"measurement {n}: {p}" for p in found)
    if problems:
        more = len(problems) - 20
        text = "; ".join(problems[:20]) + (f"; and {more} more" if more > 0 else "")
        raise MeasurementError(text)
    return tuple(out)
