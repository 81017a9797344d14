"""Header facts for ``/info`` that `FileEntry` does not carry (frame time, spacing, presets)."""

from __future__ import annotations

import math
from typing import Any

from dcmview_core import quiet_pydicom
from dcmview_core.model import FileEntry
from pydicom import dcmread
from pydicom.dataset import Dataset


def _floats(value: Any) -> list[float]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) or hasattr(value, "__iter__") else [value]
    if isinstance(value, str | bytes):
        items = [value]
    out = []
    for item in items:
        try:
            number = float(item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out.append(number)
    return out


def _frame_time(ds: Dataset) -> float | None:
    for keyword in ("FrameTime",):
        values = _floats(ds.get(keyword))
        if values and values[0] > 0:
            return values[0]
    vector = _floats(ds.get("FrameTimeVector"))
    if len(vector) > 1 and vector[1] > 0:
        return vector[1]
    rate = _floats(ds.get("CineRate")) or _floats(ds.get("RecommendedDisplayFrameRate"))
    if rate and rate[0] > 0:
        return 1000.0 / rate[0]
    return None


def _spacing(ds: Dataset) -> list[float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        values = _floats(ds.get(keyword))
        if len(values) == 2:
            return values
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        measures = shared[0].get("PixelMeasuresSequence")
        if measures:
            values = _floats(measures[0].get("PixelSpacing"))
            if len(values) == 2:
                return values
    return None


def _presets(ds: Dataset) -> list[dict[str, Any]]:
    centers = _floats(ds.get("WindowCenter"))
    widths = _floats(ds.get("WindowWidth"))
    explanations = ds.get("WindowCenterWidthExplanation")
    names: list[str] = []
    if explanations is not None:
        raw = explanations if not isinstance(explanations, str) else [explanations]
        names = [str(n) for n in raw]
    out = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if width <= 0:
            continue
        name = names[i] if i < len(names) and names[i].strip() else f"File window {i + 1}"
        out.append({"name": name, "center": center, "width": width})
    return out


def header_extras(entry: FileEntry) -> dict[str, Any]:
    """``has_overlay``, ``frame_time_ms``, ``pixel_spacing``, ``window_presets`` of a file."""
    extras: dict[str, Any] = {
        "has_overlay": False,
        "frame_time_ms": None,
        "pixel_spacing": None,
        "window_presets": [],
    }
    try:
        with quiet_pydicom():  # thread-safe: /info runs in the worker pool
            ds = dcmread(entry.path, stop_before_pixels=True, force=True, defer_size=4096)
            extras["has_overlay"] = any(
                (elem.tag.group & 0xFF01) == 0x6000 and elem.tag.element == 0x3000 for elem in ds
            )
            extras["frame_time_ms"] = _frame_time(ds)
            extras["pixel_spacing"] = _spacing(ds)
            extras["window_presets"] = _presets(ds)
    except Exception as error:  # a header we cannot re-read: the basics still answer
        extras["header_error"] = str(error)[:200]
    return extras
