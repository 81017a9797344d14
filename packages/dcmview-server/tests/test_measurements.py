"""Measurements (lengths, angles) against a real server: round trip, mm rules, bad input, export."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

MF, SINGLE, RGB, NOPIX, BROKEN, CT_SMALL = range(6)
MF_FRAMES, MF_ROWS, MF_COLS = 6, 48, 64
MF_SPACING = (0.5, 0.25)  # the multi-frame fixture's PixelSpacing: rows 0.5 mm, columns 0.25 mm
CT_SMALL_SPACING = 0.661468
JSON = {"Content-Type": "application/json"}


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "error"}
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return str(body["error"])


def _mm(a: list[float], b: list[float], row_mm: float, col_mm: float) -> float:
    """The independent length: numpy on the scaled difference."""
    return float(np.linalg.norm((np.array(b) - np.array(a)) * np.array([col_mm, row_mm])))


def _length(frame: int, a: list[float], b: list[float], **extra: Any) -> dict[str, Any]:
    return {"kind": "length", "frame": frame, "points": [a, b], **extra}


def _write_mg(path: Path, **attrs: Any) -> None:
    """A 40×30 MG image (2 frames) with the given spacing attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = "MG1"
    ds.Modality = "MG"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 40, 30
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = 2
    for name, value in attrs.items():
        setattr(ds, name, value)
    ds.PixelData = np.arange(2 * 40 * 30, dtype="<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def mg_server(make_server: Any, tmp_path: Path) -> Any:
    """0: ImagerPixelSpacing 0.1 mm only; 1: the same with a magnification factor of 1.25."""
    _write_mg(tmp_path / "a_detector.dcm", ImagerPixelSpacing=[0.1, 0.1])
    _write_mg(
        tmp_path / "b_magnified.dcm",
        ImagerPixelSpacing=[0.1, 0.1],
        EstimatedRadiographicMagnificationFactor=1.25,
    )
    return make_server((str(tmp_path),))


def test_round_trip_on_non_square_pixels(server: Any) -> None:
    url = f"/api/file/{MF}/measurements"
    assert server.get(url).json() == {"measurements": []}
    body = {
        "measurements": [
            _length(0, [3, 4], [15.5, 20.25], label="lesion 1"),
            {"kind": "angle", "frame": 5, "points": [[10, 0], [0, 0], [10, 10]]},
            _length(2, [0, 0], [0, 10]),
            _length(2, [0, 0], [10, 0]),
        ]
    }
    put = server.client.put(url, json=body)
    assert put.status_code == 200, put.text
    answer = put.json()
    assert answer == server.get(url).json()
    items = answer["measurements"]
    assert [m["kind"] for m in items] == ["length", "angle", "length", "length"]
    assert items[0] == {
        "kind": "length",
        "frame": 0,
        "points": [[3.0, 4.0], [15.5, 20.25]],
        "value": pytest.approx(_mm([3, 4], [15.5, 20.25], *MF_SPACING), abs=1e-12),
        "unit": "mm",
        "at_detector": False,
        "label": "lesion 1",
    }
    # dy is scaled by the row spacing (0.5), dx by the column spacing (0.25)
    assert items[2]["value"] == pytest.approx(5.0)
    assert items[3]["value"] == pytest.approx(2.5)
    # the angle is measured in mm: 45° in pixels is atan(0.5 / 0.25) on these pixels
    assert items[1]["unit"] == "deg"
    assert items[1]["value"] == pytest.approx(math.degrees(math.atan2(0.5, 0.25)))
    assert items[1]["label"] is None
    # a GET answer PUT back unchanged is accepted and gives the same list (values recomputed)
    again = server.client.put(url, json=answer)
    assert again.status_code == 200, again.text
    assert again.json() == answer
    assert server.client.put(url, json={"measurements": []}).json() == {"measurements": []}


def test_square_pixels_and_no_spacing(server: Any) -> None:
    ct = server.client.put(
        f"/api/file/{CT_SMALL}/measurements",
        json={"measurements": [_length(0, [10, 20], [60, 100])]},
    ).json()["measurements"][0]
    assert ct["unit"] == "mm"
    assert ct["value"] == pytest.approx(
        _mm([10, 20], [60, 100], CT_SMALL_SPACING, CT_SMALL_SPACING)
    )
    single = server.client.put(
        f"/api/file/{SINGLE}/measurements",
        json={"measurements": [_length(0, [0, 0], [3, 4])]},
    ).json()["measurements"][0]
    assert (single["value"], single["unit"], single["at_detector"]) == (5.0, "px", False)
    for index in (CT_SMALL, SINGLE):
        server.client.put(f"/api/file/{index}/measurements", json={"measurements": []})


def test_imager_pixel_spacing_with_and_without_magnification(mg_server: Any) -> None:
    body = {"measurements": [_length(1, [0, 0], [0, 10]), _length(0, [0, 0], [30, 40])]}
    detector = mg_server.client.put("/api/file/0/measurements", json=body).json()["measurements"]
    assert [(m["value"], m["unit"], m["at_detector"]) for m in detector] == [
        (pytest.approx(1.0), "mm", True),
        (pytest.approx(5.0), "mm", True),
    ]
    magnified = mg_server.client.put("/api/file/1/measurements", json=body).json()["measurements"]
    assert [(m["value"], m["unit"], m["at_detector"]) for m in magnified] == [
        (pytest.approx(0.8), "mm", False),
        (pytest.approx(4.0), "mm", False),
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", ["not valid JSON"]),
        (b"[]", ['{"measurements": [...]}']),
        (b'{"measurements": {}}', ["must be a list"]),
        (b'{"measurements": [], "extra": 1}', ["unknown key"]),
        (
            b'{"measurements": [{"kind": "length", "frame": 6, "points": [[0,0],[1,1]]}]}',
            ["measurement 1", "frame: 6 is out of range"],
        ),
        (
            b'{"measurements": [{"kind": "length", "frame": 0, "points": [[0,0]]}]}',
            ["measurement 1", "needs 2 points, got 1"],
        ),
        (
            b'{"measurements": [{"kind": "angle", "frame": 0, "points": [[0,0],[1,1]]}]}',
            ["measurement 1", "needs 3 points"],
        ),
        (
            b'{"measurements": [{"kind": "length", "frame": 0, "points": [[0,0],[1,NaN]]}]}',
            ["measurement 1", "not finite"],
        ),
        (
            b'{"measurements": [{"kind": "length", "frame": 0, "points": [[0,0],[1e999,1]]}]}',
            ["measurement 1", "not finite"],
        ),
        (
            b'{"measurements": [{"kind": "length", "frame": 0, "points": [[0,0],[65,1]]}]}',
            ["measurement 1", "outside the 64×48 image"],
        ),
        (
            b'{"measurements": [{"kind": "ruler", "frame": 0, "points": [[0,0],[1,1]]}]}',
            ["measurement 1", "kind"],
        ),
        (
            b'{"measurements": [{"kind": "angle", "frame": 0, "points": [[1,1],[1,1],[2,2]]}]}',
            ["measurement 1", "arm"],
        ),
        (
            b'{"measurements": [{"kind": "length", "frame": 0, "points": [[0,0],[1,1]]},'
            b' {"kind": "length", "frame": 0, "points": [[0,0],[1,1]], "label": 7}]}',
            ["measurement 2", "label"],
        ),
    ],
)
def test_a_rejected_put_names_the_rule_and_keeps_the_list(
    server: Any, body: bytes, words: list[str]
) -> None:
    url = f"/api/file/{MF}/measurements"
    kept = server.client.put(url, json={"measurements": [_length(1, [1, 1], [2, 2])]}).json()
    message = error_of(server.client.put(url, content=body, headers=JSON), 400, "bad_request")
    for word in words:
        assert word in message, message
    assert server.get(url).json() == kept


def test_limits_media_type_origin_and_missing_files(server: Any) -> None:
    url = f"/api/file/{MF}/measurements"
    kept = server.client.put(url, json={"measurements": [_length(1, [1, 1], [2, 2])]}).json()
    too_many = {"measurements": [_length(0, [0, 0], [1, 1])] * 1001}
    assert "1000" in error_of(server.client.put(url, json=too_many), 400, "bad_request")
    assert server.client.put(url, json={"measurements": too_many["measurements"][:1000]}).json()[
        "measurements"
    ][999]["value"] == pytest.approx(_mm([0, 0], [1, 1], *MF_SPACING))
    server.client.put(url, json=kept)
    huge = b'{"measurements": [], "pad": "' + b"x" * (3 * 2**20) + b'"}'
    error_of(server.client.put(url, content=huge, headers=JSON), 413, "payload_too_large")
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""]:
        response = server.client.put(
            url, content=b'{"measurements": []}', headers={"Content-Type": content_type}
        )
        error_of(response, 415, "unsupported_media_type")
    evil = server.client.put(
        url, json={"measurements": []}, headers={"Origin": "https://evil.example"}
    )
    error_of(evil, 403, "forbidden_origin")
    unauthenticated = server.client.put(
        url, json={"measurements": []}, headers={"Authorization": "Bearer wrong"}
    )
    error_of(unauthenticated, 401, "unauthorized")
    assert server.get(url).json() == kept
    error_of(server.get("/api/file/77/measurements"), 404, "not_found")
    error_of(
        server.client.put("/api/file/77/measurements", json={"measurements": []}), 404, "not_found"
    )
    no_pixels = {"measurements": [_length(0, [0, 0], [1, 1])]}
    message = error_of(
        server.client.put(f"/api/file/{NOPIX}/measurements", json=no_pixels), 400, "bad_request"
    )
    assert "no pixel data" in message
    server.client.put(url, json={"measurements": []})


def test_export_json(server: Any, study: Path) -> None:
    assert server.get("/api/measurements/export.json").json() == {"measurements": []}
    server.client.put(
        f"/api/file/{CT_SMALL}/measurements",
        json={
            "measurements": [{"kind": "angle", "frame": 0, "points": [[10, 0], [0, 0], [0, 10]]}]
        },
    )
    server.client.put(
        f"/api/file/{MF}/measurements",
        json={"measurements": [_length(3, [0, 0], [0, 10], label="a"), _length(0, [0, 0], [4, 0])]},
    )
    response = server.get("/api/measurements/export.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    rows = response.json()["measurements"]
    paths = {f["index"]: f["path"] for f in server.get("/api/files").json()["files"]}
    assert paths[MF] == str(study / "series" / "a_multiframe.dcm")
    assert rows == [
        {
            "path": paths[MF],
            "file": MF,
            "frame": 3,
            "kind": "length",
            "points": [[0.0, 0.0], [0.0, 10.0]],
            "value": pytest.approx(5.0),
            "unit": "mm",
            "at_detector": False,
            "label": "a",
        },
        {
            "path": paths[MF],
            "file": MF,
            "frame": 0,
            "kind": "length",
            "points": [[0.0, 0.0], [4.0, 0.0]],
            "value": pytest.approx(1.0),
            "unit": "mm",
            "at_detector": False,
            "label": None,
        },
        {
            "path": paths[CT_SMALL],
            "file": CT_SMALL,
            "frame": 0,
            "kind": "angle",
            "points": [[10.0, 0.0], [0.0, 0.0], [0.0, 10.0]],
            "value": pytest.approx(90.0),
            "unit": "deg",
            "at_detector": False,
            "label": None,
        },
    ]
    for index in (MF, CT_SMALL):
        server.client.put(f"/api/file/{index}/measurements", json={"measurements": []})
    assert server.get("/api/measurements/export.json").json() == {"measurements": []}


def test_export_paths_are_masked(make_server: Any, study: Path) -> None:
    srv = make_server((str(study),), mask=True)
    srv.client.put(
        f"/api/file/{MF}/measurements", json={"measurements": [_length(0, [0, 0], [1, 1])]}
    )
    rows = srv.get("/api/measurements/export.json").json()["measurements"]
    shown = {f["index"]: f["path"] for f in srv.get("/api/files").json()["files"]}
    assert [r["path"] for r in rows] == [shown[MF]]
    assert str(study) not in rows[0]["path"]
