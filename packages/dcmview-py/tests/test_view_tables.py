"""``handle.measurements()`` / ``handle.annotations()``: what the viewer drew, as DataFrames.

A real viewer process (``view(..., block=False)``); the edits are PUT over HTTP with the token,
as the browser viewer sends them.
"""

from __future__ import annotations

import json
import math
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydicom import dcmread

from dcmview_py import ViewerHandle, view
from dcmview_py.tables import ANNOTATION_COLUMNS, MEASUREMENT_COLUMNS, ViewerApiError
from dcmview_py.testing import scanned_files


def _put(handle: ViewerHandle, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        handle.base_url + path,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {handle.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture
def handle(dicom_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)  # the recovery CSV of its unexported edits goes here on stop
    viewer = view([dicom_dir], browser=False, block=False)
    yield viewer
    viewer.stop()


def test_empty_state_has_the_columns(handle: ViewerHandle) -> None:
    scanned_files(handle.base_url, handle.token)
    measurements = handle.measurements()
    assert list(measurements.columns) == list(MEASUREMENT_COLUMNS)
    assert measurements.empty
    annotations = handle.annotations()
    assert list(annotations.columns) == list(ANNOTATION_COLUMNS)
    assert annotations.empty
    token, handle.token = handle.token, "wrong-token"
    try:
        with pytest.raises(ViewerApiError, match="answered 401"):
            handle.measurements()
    finally:
        handle.token = token


def test_what_was_drawn_is_in_the_frames(handle: ViewerHandle, dicom_dir: Path) -> None:
    files = {Path(f["path"]).name: f for f in scanned_files(handle.base_url, handle.token)["files"]}
    ct = files["CT_small.dcm"]
    spacing = [float(v) for v in dcmread(dicom_dir / "CT_small.dcm").PixelSpacing]
    _put(
        handle,
        f"/api/file/{ct['index']}/measurements",
        {
            "measurements": [
                {"kind": "length", "frame": 0, "points": [[10, 20], [40, 60]], "label": "a"},
                {"kind": "angle", "frame": 0, "points": [[10, 0], [0, 0], [0, 10]]},
            ]
        },
    )
    _put(
        handle,
        f"/api/file/{ct['index']}/annotations",
        {"num_roi": 2, "roi_coords": [[20, 30, 10, 5], [1, 2, 3, 4]], "roi_frames": [[0], []]},
    )
    m = handle.measurements()
    assert len(m) == 2
    assert list(m["path"]) == [ct["path"], ct["path"]]
    assert list(m["file"]) == [ct["index"]] * 2
    assert list(m["kind"]) == ["length", "angle"]
    assert m.loc[0, "points"] == [[10.0, 20.0], [40.0, 60.0]]
    assert m.loc[0, "value"] == pytest.approx(math.hypot(30 * spacing[1], 40 * spacing[0]))
    assert list(m["unit"]) == ["mm", "deg"]
    assert m.loc[1, "value"] == pytest.approx(90.0)
    assert not m["at_detector"].any()
    assert m.loc[0, "label"] == "a"
    assert pd.isna(m.loc[1, "label"])  # no label: pandas' missing value
    a = handle.annotations()
    assert a.to_dict("records") == [
        {
            "anon_dicom_path": ct["path"],
            "num_ROI": 2,
            "ROI_coords": [[10, 5, 20, 30], [1, 2, 3, 4]],
            "ROI_frames": [[0], []],
        }
    ]
    assert isinstance(a, pd.DataFrame)
    # a later edit in the viewer is what the next call sees
    _put(handle, f"/api/file/{ct['index']}/measurements", {"measurements": []})
    assert handle.measurements().empty


def test_a_stopped_viewer_is_a_clear_error(dicom_dir: Path) -> None:
    viewer = view([dicom_dir], browser=False, block=False)
    viewer.stop()
    with pytest.raises(ViewerApiError, match="cannot reach the viewer"):
        viewer.measurements()
    with pytest.raises(ViewerApiError, match="cannot reach the viewer"):
        viewer.annotations()


def test_reading_the_rois_does_not_count_as_saving_them(
    dicom_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the viewer's working directory: where a recovery CSV goes
    viewer = view([dicom_dir], browser=False, block=False)
    try:
        ct = next(
            f
            for f in scanned_files(viewer.base_url, viewer.token)["files"]
            if Path(f["path"]).name == "CT_small.dcm"
        )
        _put(viewer, f"/api/file/{ct['index']}/annotations", {"roi_coords": [[1, 2, 3, 4]]})
        assert len(viewer.annotations()) == 1
    finally:
        viewer.stop()
    (recovered,) = tmp_path.glob("dcmview-annotations-recovered-*.csv")
    assert "[[1,2,3,4]]" in recovered.read_text()
