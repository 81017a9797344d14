"""The ROI model: `Geometry`, the immutable `RoiSet`, and the rules CSV rows and PUT bodies obey.

A box is ``[ymin, xmin, ymax, xmax]`` in pixel units; each box has a frame list (zero-based
frame indices, ``()`` = every frame). Validation has two phases so that a CSV can be checked once
and matched to files later:

1. `roi_set_from_values` checks everything that needs no file: JSON types, four finite numbers
   per box, no negative coordinate, a non-empty box, whole non-negative frame indices, one frame
   list per box, ``num_roi == len(roi_coords)``; it canonicalizes (swapped corners ordered,
   duplicate frame indices removed, frames sorted).
2. `geometry_problems` checks a canonical set against a file: boxes inside ``rows × columns``
   and frame indices below ``frame_count``.

Boxes are numbered from 1 in messages ("box 1" is ``roi_coords[0]``); frames are zero-based.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from dcmview_annotations.errors import RoiProblem, RoiValidationError

Box = tuple[float, float, float, float]
CORNER_NAMES: Final = ("ymin", "xmin", "ymax", "xmax")


class _Missing:
    """Marker for an absent optional field (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class Geometry:
    """What the annotation rules need to know about one file."""

    frame_count: int
    rows: int
    columns: int


@dataclass(frozen=True)
class FieldNames:
    """How the three fields are called where the values came from (API JSON or CSV columns)."""

    num_roi: str
    roi_coords: str
    roi_frames: str


API_FIELDS: Final = FieldNames("num_roi", "roi_coords", "roi_frames")
CSV_FIELDS: Final = FieldNames("num_ROI", "ROI_coords", "ROI_frames")


def _json_number(value: float) -> int | float:
    """An integral float as int (``120.0`` → ``120``), anything else unchanged."""
    return int(value) if value.is_integer() else value


@dataclass(frozen=True)
class RoiSet:
    """The boxes of one file: ``roi_coords[i]`` is shown on the frames ``roi_frames[i]``.

    Construct it through `parse_roi_set` / `RoiSet.from_values` (which validate and
    canonicalize); the constructor only checks the shape.
    """

    roi_coords: tuple[Box, ...] = ()
    roi_frames: tuple[tuple[int, ...], ...] = ()
    frames_as_empty: bool = field(default=False, compare=False)
    """``roi_frames`` was given as ``[]`` or left out (all frames for every box): `to_json` and
    the CSV export write ``[]`` again, as the original dcmview did, not ``[[], …]``."""

    def __post_init__(self) -> None:
        if any(len(b) != 4 for b in self.roi_coords):
            raise ValueError("every box must have 4 values [ymin, xmin, ymax, xmax]")
        coords = tuple(
            (float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in self.roi_coords
        )
        frames = tuple(tuple(int(f) for f in fl) for fl in self.roi_frames)
        if len(frames) != len(coords):
            raise ValueError(
                f"{len(frames)} frame lists for {len(coords)} boxes (one list per box, () = all)"
            )
        object.__setattr__(self, "roi_coords", coords)
        object.__setattr__(self, "roi_frames", frames)

    @property
    def num_roi(self) -> int:
        """Number of boxes."""
        return len(self.roi_coords)

    @classmethod
    def empty(cls) -> RoiSet:
        """A set with no boxes (what a file without annotations has)."""
        return cls((), ())

    @classmethod
    def _trusted(
        cls,
        roi_coords: tuple[Box, ...],
        roi_frames: tuple[tuple[int, ...], ...],
        frames_as_empty: bool = False,
    ) -> RoiSet:
        """Build from values already validated and canonical (floats, sorted unique frames)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "roi_coords", roi_coords)
        object.__setattr__(obj, "roi_frames", roi_frames)
        object.__setattr__(obj, "frames_as_empty", frames_as_empty)
        return obj

    @classmethod
    def from_values(
        cls, roi_coords: object, roi_frames: object = MISSING, num_roi: object = MISSING
    ) -> RoiSet:
        """Validate (without a file) and canonicalize decoded JSON values; raise on any problem."""
        roi_set, problems = roi_set_from_values(roi_coords, roi_frames, num_roi, API_FIELDS)
        if problems or roi_set is None:
            raise RoiValidationError(problems)
        return roi_set

    def to_json(self) -> dict[str, object]:
        """The api.md shape; integral coordinates are written as integers."""
        return {
            "num_roi": self.num_roi,
            "roi_coords": [[_json_number(v) for v in box] for box in self.roi_coords],
            "roi_frames": [] if self.frames_as_empty else [list(fl) for fl in self.roi_frames],
        }


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object, limit: int = 60) -> str:
    """A short, printable rendering of an offending value for a message."""
    text = repr(value) if isinstance(value, str) else _compact(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: object) -> str:
    import json

    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _whole_number(value: object) -> int | None:
    """The value as int when it is a whole JSON number (``2`` or ``2.0``), else None."""
    if isinstance(value, bool) or not _is_number(value):
        return None
    if isinstance(value, int):
        return value
    assert isinstance(value, float)
    if math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _check_box(index: int, raw: object, field: str, problems: list[RoiProblem]) -> Box | None:
    label = f"box {index + 1}"
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        problems.append(
            RoiProblem(
                field,
                "box_shape",
                f"{label} must be 4 numbers [ymin, xmin, ymax, xmax], got {_shown(raw)}",
            )
        )
        return None
    # Every problem of the box is listed: each corner, then emptiness (when all are numbers).
    values: list[float] = []
    for name, v in zip(CORNER_NAMES, raw, strict=True):
        if not _is_number(v):
            problems.append(
                RoiProblem(field, "not_a_number", f"{label} has a non-numeric {name}: {_shown(v)}")
            )
            continue
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            problems.append(
                RoiProblem(field, "not_finite", f"{label} has a non-finite {name}: {_shown(v)}")
            )
            continue
        if f < 0:
            problems.append(
                RoiProblem(
                    field,
                    "out_of_bounds",
                    f"{label} lies outside the image: {name} {_shown(v)} is negative",
                )
            )
        values.append(f)
    if len(values) != 4:
        return None
    y0, x0, y1, x1 = values
    box = (min(y0, y1), min(x0, x1), max(y0, y1), max(x0, x1))
    if box[0] == box[2] or box[1] == box[3]:
        which = "zero height" if box[0] == box[2] else "zero width"
        if box[0] == box[2] and box[1] == box[3]:
            which = "zero height and width"
        problems.append(
            RoiProblem(field, "empty_box", f"{label} is empty ({which}): {_shown(list(raw))}")
        )
        return None
    return box  # with a negative corner it is reported above: the set fails, bounds still run


def _check_frames(
    index: int, raw: object, field: str, problems: list[RoiProblem]
) -> tuple[int, ...] | None:
    label = f"box {index + 1}"
    if not isinstance(raw, list | tuple):
        problems.append(
            RoiProblem(
                field,
                "frame_list_shape",
                f"the frame list of {label} must be an array of frame indices, got {_shown(raw)}",
            )
        )
        return None
    frames: set[int] = set()
    ok = True
    for v in raw:
        n = _whole_number(v)
        if n is None:
            problems.append(
                RoiProblem(
                    field, "not_an_integer", f"frame {_shown(v)} of {label} is not a whole number"
                )
            )
            ok = False
        elif n < 0:
            problems.append(
                RoiProblem(
                    field,
                    "frame_out_of_range",
                    f"frame {n} of {label} is negative (frames are zero-based)",
                )
            )
            ok = False
        else:
            frames.add(n)
    return tuple(sorted(frames)) if ok else None


def roi_set_from_values(
    roi_coords: object,
    roi_frames: object,
    num_roi: object,
    names: FieldNames,
) -> tuple[RoiSet | None, list[RoiProblem]]:
    """Phase 1: check decoded values without a file; return the canonical set or the problems.

    ``roi_frames``/``num_roi`` may be `MISSING` (or None for a CSV's empty cell): frames then
    default to "all frames" for every box and ``num_roi`` is derived. ``roi_frames == []`` also
    means all frames for every box.
    """
    checked = _checked_values(roi_coords, roi_frames, num_roi, names)
    if checked.problems:
        return None, checked.problems
    return RoiSet._trusted(
        tuple(b for b in checked.boxes if b is not None),
        tuple(f for f in checked.frame_lists if f is not None),
        checked.as_empty,
    ), []


@dataclass
class _Checked:
    """Phase 1's findings: each box and frame list (None where broken) and every problem."""

    boxes: list[Box | None]
    frame_lists: list[tuple[int, ...] | None]
    as_empty: bool
    problems: list[RoiProblem]


def _checked_values(
    roi_coords: object, roi_frames: object, num_roi: object, names: FieldNames
) -> _Checked:
    problems: list[RoiProblem] = []
    boxes: list[Box | None] = []
    if not isinstance(roi_coords, list | tuple):
        problems.append(
            RoiProblem(
                names.roi_coords,
                "not_an_array",
                f"must be a JSON array of [ymin, xmin, ymax, xmax] boxes, got {_shown(roi_coords)}",
            )
        )
        n_boxes = None
    else:
        boxes = [_check_box(i, b, names.roi_coords, problems) for i, b in enumerate(roi_coords)]
        n_boxes = len(boxes)

    if num_roi is not MISSING and num_roi is not None:
        n = _whole_number(num_roi)
        if n is None or n < 0:
            problems.append(
                RoiProblem(
                    names.num_roi,
                    "not_an_integer",
                    f"{_shown(num_roi)} is not a whole number of boxes",
                )
            )
        elif n_boxes is not None and n != n_boxes:
            problems.append(
                RoiProblem(
                    names.num_roi,
                    "num_roi_mismatch",
                    f"is {n} but {names.roi_coords} has {n_boxes} "
                    f"box{'' if n_boxes == 1 else 'es'}",
                )
            )

    frame_lists: list[tuple[int, ...] | None] = []
    as_empty = (
        roi_frames is MISSING
        or roi_frames is None
        or (isinstance(roi_frames, list | tuple) and len(roi_frames) == 0)
    )
    if as_empty:
        frame_lists = [() for _ in range(n_boxes or 0)]
    elif not isinstance(roi_frames, list | tuple):
        problems.append(
            RoiProblem(
                names.roi_frames,
                "not_an_array",
                "must be a JSON array with one frame list per box ([] = all frames), "
                f"got {_shown(roi_frames)}",
            )
        )
    else:
        frame_lists = [
            _check_frames(i, fl, names.roi_frames, problems) for i, fl in enumerate(roi_frames)
        ]
        if n_boxes is not None and len(frame_lists) != n_boxes:
            problems.append(
                RoiProblem(
                    names.roi_frames,
                    "frame_list_count",
                    f"has {len(frame_lists)} frame list{'' if len(frame_lists) == 1 else 's'} "
                    f"but {names.roi_coords} has {n_boxes} box{'' if n_boxes == 1 else 'es'} "
                    "(one list per box; [] = all frames)",
                )
            )

    return _Checked(boxes, frame_lists, as_empty, problems)


def geometry_problems(
    roi_set: RoiSet, geometry: Geometry, names: FieldNames = API_FIELDS
) -> list[RoiProblem]:
    """Phase 2: boxes inside ``rows × columns``, frame indices below ``frame_count``."""
    rows, columns, frame_count = geometry.rows, geometry.columns, geometry.frame_count
    if (
        rows > 0
        and columns > 0
        and all(max(b[0], b[2]) <= rows and max(b[1], b[3]) <= columns for b in roi_set.roi_coords)
        and all(not fl or max(fl) < frame_count for fl in roi_set.roi_frames)
    ):
        return []  # the common case, checked without building messages
    return _placement_problems(list(roi_set.roi_coords), list(roi_set.roi_frames), geometry, names)


def placement_problems(
    roi_coords: object, roi_frames: object, num_roi: object, geometry: Geometry, names: FieldNames
) -> list[RoiProblem]:
    """Phase 2 for values that failed phase 1: the boxes and frame lists it could read are still
    placed against the file, so a report lists every problem of a box, not only the first."""
    checked = _checked_values(roi_coords, roi_frames, num_roi, names)
    return _placement_problems(checked.boxes, checked.frame_lists, geometry, names)


def _placement_problems(
    boxes: Sequence[Box | None],
    frame_lists: Sequence[tuple[int, ...] | None],
    geometry: Geometry,
    names: FieldNames,
) -> list[RoiProblem]:
    """Phase 2 for each box and frame list that phase 1 could read (None entries are skipped)."""
    problems: list[RoiProblem] = []
    for i, box in enumerate(boxes):
        if box is None:
            continue
        label = f"box {i + 1}"
        if geometry.rows <= 0 or geometry.columns <= 0:
            problems.append(
                RoiProblem(
                    names.roi_coords,
                    "no_image",
                    f"{label} cannot be placed: the file has no image (no Rows/Columns)",
                )
            )
            continue
        limits = (geometry.rows, geometry.columns, geometry.rows, geometry.columns)
        for name, v, limit in zip(CORNER_NAMES, box, limits, strict=True):
            if v > limit:
                what = "rows" if name[0] == "y" else "columns"
                problems.append(
                    RoiProblem(
                        names.roi_coords,
                        "out_of_bounds",
                        f"{label} lies outside the image: {name} {_json_number(v)} is beyond "
                        f"the {limit} {what}",
                    )
                )
    for i, frames in enumerate(frame_lists):
        for f in frames or ():
            if f >= geometry.frame_count:
                problems.append(
                    RoiProblem(
                        names.roi_frames,
                        "frame_out_of_range",
                        f"frame {f} of box {i + 1} is out of range "
                        f"(file has {geometry.frame_count} frame"
                        f"{'' if geometry.frame_count == 1 else 's'})",
                    )
                )
    return problems


_API_KEYS: Final = frozenset({"num_roi", "roi_coords", "roi_frames"})


def parse_roi_set(payload: object, geometry: Geometry | None) -> RoiSet:
    """Validate an api.md `RoiSet` body (decoded JSON) fully; return it canonicalized.

    Raises `RoiValidationError` listing every problem (each names the box and the rule).
    ``geometry=None`` skips the checks that need the file (bounds and frame range).
    """
    if not isinstance(payload, Mapping):
        raise RoiValidationError(
            [
                RoiProblem(
                    "body",
                    "not_an_object",
                    'must be a JSON object {"num_roi", "roi_coords", "roi_frames"}, '
                    f"got {_shown(payload)}",
                )
            ]
        )
    problems: list[RoiProblem] = [
        RoiProblem(
            str(k),
            "unknown_key",
            "is not a RoiSet field (expected num_roi, roi_coords, roi_frames)",
        )
        for k in payload
        if k not in _API_KEYS
    ]
    if "roi_coords" not in payload:
        problems.append(RoiProblem("roi_coords", "missing_field", "is required"))
        raise RoiValidationError(problems)
    checked = _checked_values(
        payload["roi_coords"],
        payload.get("roi_frames", MISSING),
        payload.get("num_roi", MISSING),
        API_FIELDS,
    )
    problems.extend(checked.problems)
    if geometry is not None:  # every box that could be read is placed too: all its problems
        problems.extend(
            _placement_problems(checked.boxes, checked.frame_lists, geometry, API_FIELDS)
        )
    if problems:
        raise RoiValidationError(problems)
    return RoiSet._trusted(
        tuple(b for b in checked.boxes if b is not None),
        tuple(f for f in checked.frame_lists if f is not None),
        checked.as_empty,
    )
