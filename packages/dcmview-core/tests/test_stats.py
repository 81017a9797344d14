"""Region statistics: exact against numpy on known arrays, for rectangles and ellipses."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dcmview_core.discovery import read_entry
from dcmview_core.frames import read_frame
from dcmview_core.model import FileEntry
from dcmview_core.stats import (
    Box,
    NotMonochrome,
    PixelArea,
    RegionError,
    RegionShape,
    modality_values,
    pixel_area,
    region_stats,
    stats_unit,
)


def _values(rows: int = 7, columns: int = 9, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-1024, 3000, (rows, columns)).astype(np.float64)


def _expect(picked: np.ndarray) -> dict[str, float]:
    return {
        "n": picked.size,
        "mean": float(np.mean(picked)),
        "sd": float(np.std(picked)),
        "min": float(np.min(picked)),
        "max": float(np.max(picked)),
        "sum": float(np.sum(picked)),
    }


def _check(stats: object, picked: np.ndarray) -> None:
    for name, value in _expect(picked).items():
        assert getattr(stats, name) == pytest.approx(value, rel=1e-12, abs=1e-9), name


@pytest.mark.parametrize(
    ("box", "rows", "cols"),
    [
        (Box(1, 2, 4, 7), slice(1, 4), slice(2, 7)),  # odd sizes inside
        (Box(-3, -2, 3, 4), slice(0, 3), slice(0, 4)),  # clipped at the top left
        (Box(5, 6, 40, 90), slice(5, 7), slice(6, 9)),  # clipped at the bottom right
        (Box(1.5, 0.2, 3.5, 2.0), slice(2, 4), slice(1, 2)),  # fractional: y0 <= r < y1
        (Box(4, 7, 1, 2), slice(1, 4), slice(2, 7)),  # swapped corners are ordered
        (Box(0, 0, 7, 9), slice(0, 7), slice(0, 9)),  # the whole image
    ],
)
def test_rect_is_exact_against_numpy(box: Box, rows: slice, cols: slice) -> None:
    values = _values()
    stats = region_stats(values, "rect", box)
    _check(stats, values[rows, cols].ravel())
    assert stats.shape == "rect"
    assert stats.area_px == float(values[rows, cols].size)
    assert stats.area_mm2 is None
    assert stats.spacing_source is None


def _ellipse_reference(values: np.ndarray, box: Box) -> np.ndarray:
    """Independent: test every pixel centre of the whole image against the ellipse."""
    b = box.ordered()
    rr, cc = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    cy, cx = (b.y0 + b.y1) / 2, (b.x0 + b.x1) / 2
    ay, ax = (b.y1 - b.y0) / 2, (b.x1 - b.x0) / 2
    inside = ((rr + 0.5 - cy) / ay) ** 2 + ((cc + 0.5 - cx) / ax) ** 2 <= 1
    picked: np.ndarray = values[inside]
    return picked


@pytest.mark.parametrize(
    "box",
    [
        Box(0, 0, 7, 9),
        Box(1, 1, 6, 6),
        Box(-4, -3, 5, 6),  # clipped
        Box(2.5, 1.25, 6.75, 8.5),
        Box(3, 0, 4, 9),  # one row high
    ],
)
def test_ellipse_is_exact_against_numpy(box: Box) -> None:
    values = _values()
    stats = region_stats(values, "ellipse", box)
    _check(stats, _ellipse_reference(values, box))


def test_a_circle_of_diameter_five_takes_21_pixels() -> None:
    values = np.arange(49, dtype=np.float64).reshape(7, 7)
    stats = region_stats(values, "ellipse", Box(1, 1, 6, 6))
    corners = {(1, 1), (1, 5), (5, 1), (5, 5)}
    expected = [values[r, c] for r in range(1, 6) for c in range(1, 6) if (r, c) not in corners]
    assert stats.n == 21
    assert stats.sum == sum(expected)


def test_area_in_mm2_and_unit() -> None:
    values = _values()
    area = PixelArea(0.5, 0.25, "PixelSpacing")
    stats = region_stats(values, "rect", Box(0, 0, 3, 4), area=area, unit="HU")
    assert stats.area_mm2 == 12 * 0.125
    assert stats.spacing_source == "PixelSpacing"
    assert stats.unit == "HU"
    assert stats.to_json()["area_mm2"] == 1.5


@pytest.mark.parametrize(
    "box",
    [
        Box(10, 10, 20, 20),  # outside
        Box(-5, 0, -1, 4),  # above
        Box(2, 2, 2, 5),  # zero height
        Box(0, math.nan, 3, 3),
        Box(0, 0, math.inf, 3),
    ],
)
@pytest.mark.parametrize("shape", ["rect", "ellipse"])
def test_empty_or_non_finite_boxes_are_refused(box: Box, shape: RegionShape) -> None:
    with pytest.raises(RegionError):
        region_stats(_values(), shape, box)


def test_an_ellipse_without_pixel_centres_is_refused() -> None:
    with pytest.raises(RegionError, match="no pixel centre"):
        region_stats(_values(), "ellipse", Box(1.0, 1.0, 1.4, 1.4))


def test_unknown_shape_is_refused() -> None:
    with pytest.raises(RegionError, match="shape"):
        region_stats(_values(), "polygon", Box(0, 0, 2, 2))  # type: ignore[arg-type]


def test_non_finite_float_samples_are_left_out() -> None:
    values = np.array([[1.0, np.nan], [3.0, np.inf]], dtype=np.float32)
    stats = region_stats(values, "rect", Box(0, 0, 2, 2))
    assert (stats.n, stats.sum, stats.min, stats.max) == (2, 4.0, 1.0, 3.0)


def test_modality_values_apply_the_rescale(
    dicom_image: Callable[..., Path], tmp_path: Path
) -> None:
    path = dicom_image(
        tmp_path / "ct.dcm", rows=5, columns=7, RescaleSlope=2, RescaleIntercept=-1024
    )
    entry = read_entry(str(path))
    assert isinstance(entry, FileEntry)
    frame = read_frame(entry, 0)
    values = modality_values(frame)
    np.testing.assert_array_equal(values, frame.samples.astype(np.float64) * 2 - 1024)
    stats = region_stats(values, "rect", Box(1, 1, 4, 6))
    _check(stats, values[1:4, 1:6].ravel())


def test_colour_frames_have_no_statistics(testdata_path: Callable[[str], str]) -> None:
    entry = read_entry(testdata_path("SC_rgb_jpeg.dcm"))
    assert isinstance(entry, FileEntry)
    with pytest.raises(NotMonochrome):
        modality_values(read_frame(entry, 0))
    with pytest.raises(NotMonochrome):
        region_stats(np.zeros((4, 4, 3)), "rect", Box(0, 0, 2, 2))


def test_pixel_area_prefers_pixel_spacing_then_corrected_imager_spacing() -> None:
    assert pixel_area((0.7, 0.6), (0.2, 0.2), 1.2) == PixelArea(0.7, 0.6, "PixelSpacing")
    area = pixel_area(None, (0.12, 0.1), 1.25)
    assert area is not None
    assert area.source == "ImagerPixelSpacing"
    assert (area.row_mm, area.column_mm) == pytest.approx((0.096, 0.08))
    assert pixel_area(None, (0.1, 0.1), None) == PixelArea(0.1, 0.1, "ImagerPixelSpacing")
    assert pixel_area((0.0, 0.5), None) is None  # zero spacing is no spacing
    assert pixel_area(None, None) is None


def test_units() -> None:
    assert stats_unit("CT", None) == "HU"
    assert stats_unit("CT", "US") == "HU"
    assert stats_unit("PT", "BQML") == "BQML"
    assert stats_unit("MR", " ") is None
    assert stats_unit(None, None) is None
