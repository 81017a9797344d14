"""Length and angle measurements: values against numpy, the spacing rule, validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from dcmview_core import (
    MAX_MEASUREMENTS,
    FileEntry,
    Geometry,
    Measurement,
    MeasurementError,
    measure,
    parse_measurements,
    read_entry,
)

A, B = (3.0, 4.0), (15.5, 20.25)


def _numpy_length(a: tuple[float, float], b: tuple[float, float], row: float, col: float) -> float:
    return float(np.linalg.norm((np.array(b) - np.array(a)) * np.array([col, row])))


def _numpy_angle(points: list[tuple[float, float]], row: float = 1.0, col: float = 1.0) -> float:
    p = np.array(points) * np.array([col, row])
    u, w = p[0] - p[1], p[2] - p[1]
    cos = np.dot(u, w) / (np.linalg.norm(u) * np.linalg.norm(w))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _write(path: Path, rows: int = 40, columns: int = 30, frames: int = 3, **attrs: Any) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = frames
    for name, value in attrs.items():
        setattr(ds, name, value)
    ds.PixelData = np.zeros((frames, rows, columns), "<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def _entry(tmp_path: Path, **attrs: Any) -> FileEntry:
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.dcm"
    _write(path, **attrs)
    entry = read_entry(str(path), index=0)
    assert isinstance(entry, FileEntry), entry
    return entry


def test_length_on_square_and_non_square_pixels() -> None:
    square = measure("length", [A, B], Geometry(pixel_spacing=(0.5, 0.5)))
    assert square.unit == "mm"
    assert not square.at_detector
    assert square.value == pytest.approx(_numpy_length(A, B, 0.5, 0.5), abs=1e-12)
    # PixelSpacing is (between rows, between columns): dy uses the first value
    tall = measure("length", [A, B], Geometry(pixel_spacing=(0.5, 0.25)))
    assert tall.value == pytest.approx(_numpy_length(A, B, 0.5, 0.25), abs=1e-12)
    assert measure("length", [(0, 0), (0, 10)], Geometry(pixel_spacing=(0.5, 0.25))).value == 5
    assert measure("length", [(0, 0), (10, 0)], Geometry(pixel_spacing=(0.5, 0.25))).value == 2.5


def test_length_from_imager_pixel_spacing_and_magnification() -> None:
    detector = measure("length", [(0, 0), (0, 10)], Geometry(imager_pixel_spacing=(0.1, 0.1)))
    assert detector.value == pytest.approx(1.0)
    assert detector.unit == "mm"
    assert detector.at_detector
    corrected = Geometry(imager_pixel_spacing=(0.1, 0.1), magnification=1.25)
    m = measure("length", [(0, 0), (0, 10)], corrected)
    assert m.value == pytest.approx(0.8)
    assert m.unit == "mm"
    assert not m.at_detector
    # PixelSpacing wins over ImagerPixelSpacing
    both = Geometry(pixel_spacing=(0.2, 0.2), imager_pixel_spacing=(0.1, 0.1))
    assert measure("length", [(0, 0), (0, 10)], both).value == pytest.approx(2.0)
    assert not measure("length", [(0, 0), (0, 10)], both).at_detector
    # a factor that changes nothing (0, NaN: unusable; 1) leaves the length at the detector
    for bad in (0.0, float("nan"), 1.0):
        g = Geometry(imager_pixel_spacing=(0.1, 0.1), magnification=bad)
        assert measure("length", [(0, 0), (0, 10)], g).at_detector


def test_length_without_spacing_is_in_px() -> None:
    for source in (None, Geometry(), Geometry(pixel_spacing=(0.0, 0.0))):
        m = measure("length", [A, B], source)
        assert m.unit == "px"
        assert not m.at_detector
        assert m.value == pytest.approx(_numpy_length(A, B, 1.0, 1.0), abs=1e-12)


def test_angles() -> None:
    right = measure("angle", [(10, 0), (0, 0), (0, 10)], None)
    assert right.value == pytest.approx(90.0)
    assert right.unit == "deg"
    assert measure("angle", [(10, 0), (0, 0), (-10, 0)], None).value == pytest.approx(180.0)
    assert measure("angle", [(10, 0), (0, 0), (20, 0)], None).value == pytest.approx(0.0)
    pts = [(3.0, 9.0), (10.0, 4.0), (21.0, 17.5)]
    assert measure("angle", pts, None).value == pytest.approx(_numpy_angle(pts), abs=1e-9)
    # in physical space on non-square pixels: 45° in pixels is atan(0.5/0.25) in mm
    g = Geometry(pixel_spacing=(0.5, 0.25))
    diagonal = measure("angle", [(10, 0), (0, 0), (10, 10)], g)
    assert diagonal.value == pytest.approx(np.degrees(np.arctan2(0.5, 0.25)))
    assert diagonal.value == pytest.approx(_numpy_angle([(10, 0), (0, 0), (10, 10)], 0.5, 0.25))
    with pytest.raises(MeasurementError, match="arm"):
        measure("angle", [(1, 1), (1, 1), (5, 5)], None)


def test_measure_checks_its_points() -> None:
    with pytest.raises(MeasurementError, match="needs 2 points, got 3"):
        measure("length", [A, B, A], None)
    with pytest.raises(MeasurementError, match="finite"):
        measure("length", [A, (float("inf"), 0)], None)
    with pytest.raises(MeasurementError, match="unknown kind"):
        measure("area", [A, B], None)  # type: ignore[arg-type]


def test_a_real_files_spacing(tmp_path: Path) -> None:
    entry = _entry(tmp_path, PixelSpacing=[0.5, 0.25])
    m = measure("length", [A, B], entry, frame=2, label="lesion")
    assert m == Measurement(
        "length", 2, (A, B), _numpy_length(A, B, 0.5, 0.25), "mm", False, "lesion"
    )
    mg = _entry(
        tmp_path, ImagerPixelSpacing=[0.1, 0.1], EstimatedRadiographicMagnificationFactor=1.1
    )
    assert measure("length", [(0, 0), (0, 11)], mg).value == pytest.approx(1.0)
    assert not measure("length", [(0, 0), (0, 11)], mg).at_detector
    plain = _entry(tmp_path, ImagerPixelSpacing=[0.1, 0.1])
    assert measure("length", [(0, 0), (0, 11)], plain).at_detector


def test_parse_a_body(tmp_path: Path) -> None:
    entry = _entry(tmp_path, PixelSpacing=[0.5, 0.25])
    body = {
        "measurements": [
            {"kind": "length", "frame": 1, "points": [[3, 4], [15.5, 20.25]]},
            {"kind": "angle", "frame": 0, "points": [[10, 0], [0, 0], [0, 10]], "label": "a"},
            # values a client sends back from a GET are recomputed, not trusted
            {"kind": "length", "frame": 2.0, "points": [[0, 0], [0, 40]], "value": 1, "unit": "px"},
        ]
    }
    out = parse_measurements(body, entry)
    assert [m.to_json() for m in out] == [
        {
            "kind": "length",
            "frame": 1,
            "points": [[3.0, 4.0], [15.5, 20.25]],
            "value": _numpy_length(A, B, 0.5, 0.25),
            "unit": "mm",
            "at_detector": False,
            "label": None,
        },
        {
            "kind": "angle",
            "frame": 0,
            "points": [[10.0, 0.0], [0.0, 0.0], [0.0, 10.0]],
            "value": pytest.approx(90.0),
            "unit": "deg",
            "at_detector": False,
            "label": "a",
        },
        {
            "kind": "length",
            "frame": 2,
            "points": [[0.0, 0.0], [0.0, 40.0]],
            "value": 20.0,
            "unit": "mm",
            "at_detector": False,
            "label": None,
        },
    ]
    assert parse_measurements({"measurements": []}, entry) == ()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"kind": "length", "frame": 3, "points": [[0, 0], [1, 1]]}, "frame: 3 is out of range"),
        ({"kind": "length", "frame": -1, "points": [[0, 0], [1, 1]]}, "out of range"),
        ({"kind": "length", "frame": 0.5, "points": [[0, 0], [1, 1]]}, "whole number"),
        ({"kind": "length", "frame": True, "points": [[0, 0], [1, 1]]}, "whole number"),
        ({"kind": "length", "points": [[0, 0], [1, 1]]}, "frame: must be a whole number"),
        ({"kind": "length", "frame": 0, "points": [[0, 0]]}, "needs 2 points, got 1"),
        ({"kind": "angle", "frame": 0, "points": [[0, 0], [1, 1]]}, "needs 3 points, got 2"),
        ({"kind": "area", "frame": 0, "points": [[0, 0], [1, 1]]}, "kind: must be"),
        ({"kind": ["x"], "frame": 0, "points": [[0, 0], [1, 1]]}, "kind: must be"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1, "2"]]}, "point 2 must be [x, y]"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1]]}, "point 2 must be [x, y]"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1e400, 1]]}, "not finite"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [31, 1]]}, "outside the 30×40"),
        ({"kind": "length", "frame": 0, "points": [[0, -0.5], [1, 1]]}, "outside"),
        ({"kind": "length", "frame": 0, "points": "x"}, "points: must be a list"),
        ({"kind": "angle", "frame": 0, "points": [[1, 1], [1, 1], [2, 2]]}, "arm"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1, 1]], "label": 5}, "label:"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1, 1]], "label": "x" * 300}, "256"),
        ({"kind": "length", "frame": 0, "points": [[0, 0], [1, 1]], "colour": 1}, "colour:"),
        ([1, 2], "must be an object"),
    ],
)
def test_each_rule_names_the_measurement(tmp_path: Path, item: object, message: str) -> None:
    entry = _entry(tmp_path)
    ok = {"kind": "length", "frame": 0, "points": [[0, 0], [30, 40]]}
    with pytest.raises(MeasurementError) as caught:
        parse_measurements({"measurements": [ok, item]}, entry)
    text = str(caught.value)
    assert text.startswith("measurement 2: "), text
    assert message in text, text


def test_every_problem_is_named(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    bad = {"kind": "angle", "frame": 9, "points": [[0, 0]]}
    with pytest.raises(MeasurementError) as caught:
        parse_measurements({"measurements": [bad, bad]}, entry)
    text = str(caught.value)
    assert text.count("measurement 1:") == 2, text
    assert text.count("measurement 2:") == 2, text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({}, "JSON object"),
        ({"measurements": {}}, "must be a list"),
        ({"measurements": [], "x": 1}, "unknown key"),
        ({"measurements": [{}] * (MAX_MEASUREMENTS + 1)}, "more than the 1000"),
    ],
)
def test_body_rules(tmp_path: Path, body: object, message: str) -> None:
    with pytest.raises(MeasurementError, match=message):
        parse_measurements(body, _entry(tmp_path))


def test_a_file_without_pixels_takes_no_measurement(tmp_path: Path) -> None:
    entry = _entry(tmp_path)
    no_pixels = dataclasses.replace(entry, has_pixels=False)
    with pytest.raises(MeasurementError, match="no pixel data"):
        parse_measurements(
            {"measurements": [{"kind": "length", "frame": 0, "points": [[0, 0], [1, 1]]}]},
            no_pixels,
        )
    assert parse_measurements({"measurements": []}, no_pixels) == ()
