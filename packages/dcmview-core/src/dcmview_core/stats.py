"""Region statistics of one 2-D image of modality values: a rectangle or an ellipse.

The rules of ``docs/api.md`` ("Region statistics"), in one place:

- A `Box` is half-open in pixel units: rows ``y0 <= r < y1``, columns ``x0 <= c < x1``
  (swapped corners are put in order, as for ROI boxes), clipped to the image.
- ``rect`` takes every pixel of the box; ``ellipse`` those whose centre ``(r + 0.5, c + 0.5)``
  lies inside (or on) the ellipse inscribed in the unclipped box.
- Values are modality values (after Rescale or the Modality LUT, `modality_values`); ``sd``
  is the population standard deviation; non-finite float samples are left out.
- ``area_mm2`` comes from PixelSpacing, else ImagerPixelSpacing divided by the Estimated
  Radiographic Magnification Factor (PS3.3 C.8.11.7), else it is None (`pixel_area`).

An empty or non-finite box raises `RegionError`; a colour frame raises `NotMonochrome`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from dcmview_core.errors import UsageError
from dcmview_core.frames import Frame
from dcmview_core.present import apply_modality_lut

__all__ = [
    "Box",
    "NotMonochrome",
    "PixelArea",
    "RegionError",
    "RegionShape",
    "RegionStats",
    "modality_values",
    "pixel_area",
    "region_mask",
    "region_stats",
    "stats_unit",
]

RegionShape = Literal["rect", "ellipse"]
SHAPES: tuple[RegionShape, ...] = ("rect", "ellipse")


class RegionError(UsageError):
    """The region is empty, non-finite or of an unknown shape."""


class NotMonochrome(UsageError):
    """Statistics were asked of a colour frame (they are defined on one sample per pixel)."""


@dataclass(frozen=True, slots=True)
class Box:
    """A box in pixel units, half-open: rows ``[y0, y1)``, columns ``[x0, x1)``."""

    y0: float
    x0: float
    y1: float
    x1: float

    def ordered(self) -> Box:
        """The same box with its corners in order (``y0 <= y1``, ``x0 <= x1``)."""
        values = (self.y0, self.x0, self.y1, self.x1)
        if not all(math.isfinite(v) for v in values):
            raise RegionError(f"the box {list(values)} has a non-finite coordinate")
        y0, y1 = sorted((self.y0, self.y1))
        x0, x1 = sorted((self.x0, self.x1))
        return Box(y0, x0, y1, x1)


@dataclass(frozen=True, slots=True)
class PixelArea:
    """The physical size of one pixel and the attribute it came from."""

    row_mm: float
    """Distance between the centres of adjacent rows (the first PixelSpacing value)."""
    column_mm: float
    source: str
    """``PixelSpacing`` or ``ImagerPixelSpacing``."""


@dataclass(frozen=True, slots=True)
class RegionStats:
    """Statistics of the modality values inside a region (the API's ``RegionStats``)."""

    shape: RegionShape
    n: int
    mean: float
    sd: float
    min: float
    max: float
    sum: float
    unit: str | None
    area_px: float
    area_mm2: float | None
    spacing_source: str | None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``docs/api.md``."""
        return {
            "shape": self.shape,
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "min": self.min,
            "max": self.max,
            "sum": self.sum,
            "unit": self.unit,
            "area_px": self.area_px,
            "area_mm2": self.area_mm2,
            "spacing_source": self.spacing_source,
        }


def _bounds(lo: float, hi: float, size: int) -> tuple[int, int]:
    """Integer indices ``i`` with ``lo <= i < hi``, clipped to ``[0, size)``."""
    start = min(max(math.ceil(lo), 0), size)
    stop = min(max(math.ceil(hi), 0), size)
    return start, max(stop, start)


def region_mask(
    image_shape: tuple[int, int], shape: RegionShape, box: Box
) -> tuple[slice, slice, np.ndarray | None]:
    """The clipped row and column slices of ``box`` and, for an ellipse, the boolean mask of
    the pixels inside it within those slices (None for a rectangle: every pixel)."""
    if shape not in SHAPES:
        raise RegionError(f"unknown region shape {shape!r}: use 'rect' or 'ellipse'")
    b = box.ordered()
    rows, columns = image_shape
    # an ellipse's candidates are the pixels whose centre can lie in it (a superset)
    grow = 0.5 if shape == "ellipse" else 0.0
    r0, r1 = _bounds(b.y0 - grow, b.y1 + grow, rows)
    c0, c1 = _bounds(b.x0 - grow, b.x1 + grow, columns)
    if r0 == r1 or c0 == c1 or b.y0 == b.y1 or b.x0 == b.x1:
        raise RegionError(
            f"the box [{b.y0:g}, {b.x0:g}, {b.y1:g}, {b.x1:g}] holds no pixel of the "
            f"{rows}×{columns} image"
        )
    if shape == "rect":
        return slice(r0, r1), slice(c0, c1), None
    cy, cx = (b.y0 + b.y1) / 2.0, (b.x0 + b.x1) / 2.0
    ay, ax = (b.y1 - b.y0) / 2.0, (b.x1 - b.x0) / 2.0
    dy = (np.arange(r0, r1, dtype=np.float64) + 0.5 - cy) / ay
    dx = (np.arange(c0, c1, dtype=np.float64) + 0.5 - cx) / ax
    mask = dy[:, None] ** 2 + dx[None, :] ** 2 <= 1.0
    return slice(r0, r1), slice(c0, c1), mask


def region_stats(
    values: np.ndarray,
    shape: RegionShape,
    box: Box,
    *,
    area: PixelArea | None = None,
    unit: str | None = None,
) -> RegionStats:
    """Statistics of the 2-D modality ``values`` inside the ``shape`` inscribed in ``box``."""
    if values.ndim != 2:
        raise NotMonochrome(f"statistics need one sample per pixel, not an array of {values.shape}")
    rows, columns, mask = region_mask((values.shape[0], values.shape[1]), shape, box)
    picked = values[rows, columns]
    picked = picked[mask] if mask is not None else picked.ravel()
    if picked.dtype.kind == "f":
        picked = picked[np.isfinite(picked)]
    if picked.size == 0:
        raise RegionError(f"the {shape} holds no pixel centre (or only non-finite values)")
    wide = picked.astype(np.float64, copy=False)
    n = int(wide.size)
    total = float(np.sum(wide))
    area_mm2 = None if area is None else n * area.row_mm * area.column_mm
    return RegionStats(
        shape=shape,
        n=n,
        mean=total / n,
        sd=float(np.std(wide)),
        min=float(wide.min()),
        max=float(wide.max()),
        sum=total,
        unit=unit,
        area_px=float(n),
        area_mm2=area_mm2,
        spacing_source=None if area is None else area.source,
    )


def modality_values(frame: Frame) -> np.ndarray:
    """The frame's modality values (PS3.3 C.11.1) as float64; colour raises `NotMonochrome`."""
    meta = frame.meta
    if meta.is_colour or frame.samples.ndim != 2:
        raise NotMonochrome(
            f"statistics are defined on grayscale frames; this one is "
            f"{meta.stored_photometric_interpretation}"
        )
    return apply_modality_lut(
        frame.samples, meta.rescale_slope, meta.rescale_intercept, meta.modality_lut
    )


def _positive_pair(value: tuple[float, float] | None) -> tuple[float, float] | None:
    if value is None or len(value) != 2:
        return None
    a, b = float(value[0]), float(value[1])
    return (a, b) if all(math.isfinite(v) and v > 0 for v in (a, b)) else None


def pixel_area(
    pixel_spacing: tuple[float, float] | None,
    imager_pixel_spacing: tuple[float, float] | None = None,
    magnification: float | None = None,
) -> PixelArea | None:
    """PixelSpacing, else ImagerPixelSpacing corrected by the Estimated Radiographic
    Magnification Factor when present (PS3.3 10.7.1.3), else None."""
    spacing = _positive_pair(pixel_spacing)
    if spacing is not None:
        return PixelArea(spacing[0], spacing[1], "PixelSpacing")
    spacing = _positive_pair(imager_pixel_spacing)
    if spacing is None:
        return None
    factor = magnification if magnification and math.isfinite(magnification) else 1.0
    factor = factor if factor > 0 else 1.0
    return PixelArea(spacing[0] / factor, spacing[1] / factor, "ImagerPixelSpacing")


def stats_unit(modality: str | None, rescale_type: str | None) -> str | None:
    """``HU`` for CT, else the Rescale Type (PS3.3 C.11.1.1.2), else None."""
    if (modality or "").strip().upper() == "CT":
        return "HU"
    text = (rescale_type or "").strip()
    return text or None
