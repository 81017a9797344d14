"""Masks from arrays (``view(overlays=…)``, ``.npy``) and NIfTI files, placed on loaded images.

What an array means (`classify`): ``bool`` → one binary segment (number 1); integers →
labels (0 background, each other value a segment number, below 65536); floats in 0–1 →
one fractional segment; floats holding only whole numbers above 1 → labels (NIfTI label
maps are often stored as float). Anything else raises `ValueError`.

Where an array goes (`place_array`), by shape: ``rows × cols`` → the first loaded
single-frame image of that size; ``frames × rows × cols`` → the first multi-frame image with
that many frames (frame order), else the first series stack with that many slices (stack
order, `dcmview_core.stacks`); a shape that matches nothing raises `ValueError` naming it
and the loaded shapes.

A NIfTI mask (`place_nifti`) is placed by geometry: its affine (RAS) is turned into DICOM
patient space (LPS: x and y negated) and compared with each stack's volume frame; it fits
when that maps NIfTI voxel axes onto the stack's column, row and slice axes one to one
(possibly flipped: the nnU-Net / TotalSegmentator case) with matching sizes, spacings and
origin. No fit raises `ValueError` with the one-line reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dcmview_core.errors import UsageError
from dcmview_core.model import FileEntry
from dcmview_core.overlays.colour import palette_colour
from dcmview_core.overlays.model import (
    ArraySlice,
    Encoding,
    Grid,
    OverlayLayer,
    Plane,
    Segment,
    build_overlay,
    grid_of,
)
from dcmview_core.overlays.placement import is_image
from dcmview_core.stacks import Stack

__all__ = [
    "MaskKind",
    "classify",
    "load_mask_file",
    "mask_label",
    "place_array",
    "place_nifti",
]

AFFINE_TOLERANCE = 0.01
"""Largest error, in voxels, of the NIfTI → stack index mapping for a fit."""
_LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True, slots=True)
class MaskKind:
    """How an array's values are read (`classify`)."""

    encoding: Encoding
    numbers: tuple[int, ...]
    """Segment numbers present (``(1,)`` for bool and fractional masks)."""


def _chunks(array: NDArray[Any]) -> list[NDArray[Any]]:
    """Slices of ``array`` along its first axis (2-D arrays whole): checks over a large,
    possibly memory-mapped mask never make a full-size temporary."""
    return [array] if array.ndim < 3 else [array[k] for k in range(array.shape[0])]


def _finite(chunk: NDArray[Any]) -> NDArray[Any]:
    values = np.asarray(chunk)
    return np.nan_to_num(values, nan=0.0) if values.dtype.kind == "f" else values


def _range(array: NDArray[Any]) -> tuple[float, float]:
    """Smallest and largest value (NaN read as 0)."""
    parts = [_finite(c) for c in _chunks(array)]
    return min(float(p.min()) for p in parts), max(float(p.max()) for p in parts)


def _present(array: NDArray[Any]) -> tuple[int, ...]:
    """The non-zero values present in an array of whole numbers in ``[0, 65536)``."""
    seen = np.zeros(65536, dtype=bool)
    for chunk in _chunks(array):
        counts = np.bincount(_finite(chunk).ravel().astype(np.intp))
        seen[: len(counts)] |= counts > 0
    return tuple(int(n) for n in np.flatnonzero(seen[1:]) + 1)


def classify(array: NDArray[Any], name: str = "mask") -> MaskKind:
    """What ``array``'s values mean (module doc); `ValueError` for anything else. Works
    slice by slice, so a large memory-mapped mask is never copied whole."""
    kind = array.dtype.kind
    if kind == "b":
        return MaskKind("binary", (1,))
    if kind not in "iuf":
        raise ValueError(f"{name}: masks are bool, integer labels or float 0–1, not {array.dtype}")
    lo, hi = _range(array) if array.size else (0.0, 0.0)
    if kind in "iu":
        if lo < 0:
            raise ValueError(f"{name}: label masks must not hold negative values")
        if hi >= 65536:
            raise ValueError(f"{name}: label values must be below 65536, found {int(hi)}")
        return MaskKind("labels", _present(array))
    if (
        lo >= 0.0
        and 1.0 < hi < 65536
        and all(np.array_equal(f, np.rint(f)) for f in map(_finite, _chunks(array)))
    ):
        return MaskKind("labels", _present(array))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name}: float masks are fractions in 0–1 (found {lo:g} to {hi:g}); "
            "pass integer labels for a label map"
        )
    return MaskKind("fraction", (1,))


def mask_label(path: str) -> str:
    """The overlay label of a mask file: its name without ``.npy``, ``.nii`` or ``.nii.gz``."""
    name = os.path.basename(path)
    for suffix in (".nii.gz", ".nii", ".npy"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def _segments(kind: MaskKind, labels: Mapping[int, str]) -> tuple[Segment, ...]:
    numbers = set(kind.numbers)
    if kind.encoding == "labels":
        numbers |= {n for n in labels if n > 0}
    return tuple(
        Segment(n, labels.get(n, f"Segment {n}"), palette_colour(n)) for n in sorted(numbers)
    )


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


def _loaded_shapes(entries: Sequence[FileEntry], stacks: Sequence[Stack]) -> str:
    seen: list[str] = []
    for e in entries:
        text = _shape_text(
            (e.rows, e.columns) if e.frame_count == 1 else (e.frame_count, e.rows, e.columns)
        )
        if text not in seen:
            seen.append(text)
    for s in stacks:
        text = f"{_shape_text((s.slice_count, s.rows, s.columns))} (series {s.id})"
        if s.slice_count > 1 and text not in seen:
            seen.append(text)
    if not seen:
        return "no image is loaded"
    more = f" and {len(seen) - 8} more" if len(seen) > 8 else ""
    return "loaded: " + ", ".join(seen[:8]) + more


def _slots_for(
    shape: tuple[int, ...], images: Sequence[FileEntry], stacks: Sequence[Stack]
) -> list[tuple[int, int]] | None:
    if len(shape) == 2 or (len(shape) == 3 and shape[0] == 1):
        rows, cols = shape[-2:]
        for e in images:
            if e.frame_count == 1 and (e.rows, e.columns) == (rows, cols):
                return [(e.index, 0)]
        return None
    if len(shape) != 3:
        return None
    n, rows, cols = shape
    for e in images:
        if e.frame_count == n and (e.rows, e.columns) == (rows, cols):
            return [(e.index, f) for f in range(n)]
    for s in stacks:
        if s.slice_count == n and (s.rows, s.columns) == (rows, cols):
            return list(s.slices)
    return None


def _overlay(
    overlay_id: str,
    label: str,
    source: str,
    volume: NDArray[Any],
    kind: MaskKind,
    slots: Sequence[tuple[int, int]],
    images: Sequence[FileEntry],
    segment_labels: Mapping[int, str],
) -> OverlayLayer:
    maximum = 1.0
    segment = 0 if kind.encoding == "labels" else 1
    planes = {
        slot: [Plane(segment, kind.encoding, ArraySlice(volume[k]), maximum)]
        for k, slot in enumerate(slots)
    }
    files = {f for f, _ in slots}
    grids: dict[int, Grid] = {e.index: grid_of(e) for e in images if e.index in files}
    return build_overlay(
        id=overlay_id,
        kind="mask",
        label=label,
        source=source,
        segments=_segments(kind, segment_labels),
        planes=planes,
        grids=grids,
        fractional=kind.encoding == "fraction",
    )


def place_array(
    overlay_id: str,
    label: str,
    source: str,
    array: NDArray[Any],
    entries: Sequence[FileEntry],
    stacks: Sequence[Stack] = (),
    segment_labels: Mapping[int, str] | None = None,
    kind: MaskKind | None = None,
) -> OverlayLayer:
    """The `OverlayLayer` of a mask array on the loaded images (shape rules: module doc;
    ``kind``: the array's `classify` result when already known)."""
    images = [e for e in entries if is_image(e)]
    shape = tuple(int(s) for s in array.shape)
    slots = _slots_for(shape, images, stacks)
    if slots is None:
        raise ValueError(
            f"{label}: mask shape {_shape_text(shape)} matches no loaded image "
            f"(rows×cols, frames×rows×cols or slices×rows×cols; {_loaded_shapes(images, stacks)})"
        )
    kind = kind or classify(array, label)
    volume = array.reshape(len(slots), *shape[-2:])
    return _overlay(overlay_id, label, source, volume, kind, slots, images, segment_labels or {})


# --- NIfTI ---------------------------------------------------------------------------------------


def _stack_affine(stack: Stack) -> NDArray[np.float64] | None:
    """Stack index ``(column, row, slice, 1)`` → LPS mm, when the stack is a uniform volume."""
    v = stack.volume
    if v is None or not v.uniform:
        return None
    o = np.asarray(v.orientation, dtype=np.float64)
    row_dir, col_dir = o[:3], o[3:]
    normal = np.cross(row_dir, col_dir)
    slice_mm, row_mm, col_mm = v.spacing
    m = np.eye(4)
    m[:3, 0] = row_dir * col_mm
    m[:3, 1] = col_dir * row_mm
    m[:3, 2] = normal * slice_mm
    m[:3, 3] = v.origin
    return m


def _fit(
    shape: tuple[int, int, int], affine: NDArray[np.float64], stack: Stack
) -> tuple[tuple[int, int, int], tuple[bool, bool, bool]] | None:
    """For the stack axes (slice, row, column): the NIfTI axis each comes from and whether it
    runs backwards; None when the NIfTI grid is not the stack's grid."""
    m = _stack_affine(stack)
    if m is None:
        return None
    try:
        t = np.linalg.solve(m, _LPS_FROM_RAS @ affine)
    except np.linalg.LinAlgError:
        return None
    linear, shift = t[:3, :3], t[:3, 3]
    perm = np.rint(linear)
    if np.abs(linear - perm).max() > AFFINE_TOLERANCE:
        return None
    if not np.array_equal(np.abs(perm).sum(axis=0), np.ones(3)) or not np.array_equal(
        np.abs(perm).sum(axis=1), np.ones(3)
    ):
        return None
    sizes = (stack.columns, stack.rows, stack.slice_count)  # stack index axes x, y, k
    source_of: list[int] = [0, 0, 0]
    flipped: list[bool] = [False, False, False]
    for d in range(3):  # stack axis d (x, y, k) = sign * nifti axis a + shift
        a = int(np.flatnonzero(perm[d])[0])
        sign = perm[d, a]
        if shape[a] != sizes[d]:
            return None
        expected = 0.0 if sign > 0 else sizes[d] - 1.0
        if abs(shift[d] - expected) > AFFINE_TOLERANCE:
            return None
        source_of[d], flipped[d] = a, bool(sign < 0)
    # reorder to (slice, row, column) = stack axes (k, y, x)
    return (source_of[2], source_of[1], source_of[0]), (flipped[2], flipped[1], flipped[0])


def place_nifti(
    overlay_id: str,
    label: str,
    source: str,
    array: NDArray[Any],
    affine: NDArray[np.float64],
    entries: Sequence[FileEntry],
    stacks: Sequence[Stack],
    segment_labels: Mapping[int, str] | None = None,
    kind: MaskKind | None = None,
) -> OverlayLayer:
    """The `OverlayLayer` of a NIfTI mask on the stack whose geometry matches its affine
    (``kind``: the array's `classify` result when already known)."""
    data = array
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"{label}: NIfTI masks are 3-D, this one is {_shape_text(data.shape)}")
    shape = (int(data.shape[0]), int(data.shape[1]), int(data.shape[2]))
    for stack in stacks:
        fit = _fit(shape, np.asarray(affine, dtype=np.float64), stack)
        if fit is None:
            continue
        axes, flips = fit
        volume = np.transpose(data, axes)
        index = tuple(slice(None, None, -1) if f else slice(None) for f in flips)
        volume = volume[index]
        images = [e for e in entries if is_image(e)]
        kind = kind or classify(volume, label)
        return _overlay(
            overlay_id, label, source, volume, kind, stack.slices, images, segment_labels or {}
        )
    spacing = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
    raise ValueError(
        f"{label}: no loaded series matches the NIfTI geometry (shape {_shape_text(shape)}, "
        f"voxels {'×'.join(f'{s:g}' for s in spacing)} mm; a series needs the same grid, "
        "spacing, orientation and origin)"
    )


def load_mask_file(path: str) -> tuple[NDArray[Any], NDArray[np.float64] | None]:
    """``(array, affine)`` of a ``.npy`` (memory-mapped, affine None), ``.nii`` or ``.nii.gz``
    file. `UsageError` for another suffix or when NIfTI support is not installed."""
    lower = path.lower()
    if lower.endswith(".npy"):
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        return array, None
    if lower.endswith((".nii", ".nii.gz")):
        try:
            import nibabel
        except ImportError:
            raise UsageError(
                f"{path}: NIfTI overlays need nibabel: pip install 'dcmview-core[nifti]'"
            ) from None
        image: Any = nibabel.load(path)
        return np.asanyarray(image.dataobj), np.asarray(image.affine, dtype=np.float64)
    raise UsageError(f"{path}: overlay files are .npy, .nii or .nii.gz (or a DICOM SEG/RTSTRUCT)")
