"""``--annotations`` rows matched by the optional ``sop_instance_uid`` column on a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom


def test_a_row_with_a_wrong_path_matches_its_file_by_sop_instance_uid(
    make_server: Any, study: Path, tmp_path: Path
) -> None:
    # the generated study (conftest): the multi-frame file and a single-frame file
    paths = {p.name: p for p in (study / "series").iterdir()}
    a, b = paths["a_multiframe.dcm"], paths["b_single.dcm"]
    uid_a = str(pydicom.dcmread(a).SOPInstanceUID)  # read by pydicom, not by dcmview
    uid_b = str(pydicom.dcmread(b).SOPInstanceUID)
    csv = tmp_path / "rois.csv"
    csv.write_text(
        "anon_dicom_path,num_ROI,ROI_coords,ROI_frames,sop_instance_uid\n"
        # the path wins: file a gets this row, though the next row carries a's UID
        f'{a},1,"[[1,1,4,4]]","[[0]]",1.2.3.999\n'
        f'/moved/elsewhere/b.dcm,1,"[[2,3,8,9]]","[[0]]",{uid_b}\n'
        f'/not/loaded.dcm,1,"[[5,5,6,6]]",,{uid_a}\n'
    )
    srv = make_server((str(study),), annotations=str(csv))
    summary = srv.handle.wait_scan()
    index = {Path(f["path"]).name: f["index"] for f in srv.get("/api/files").json()["files"]}
    assert srv.get(f"/api/file/{index[b.name]}/annotations").json() == {
        "num_roi": 1,
        "roi_coords": [[2, 3, 8, 9]],
        "roi_frames": [[0]],
    }
    assert srv.get(f"/api/file/{index[a.name]}/annotations").json()["roi_coords"] == [[1, 1, 4, 4]]
    assert summary.annotation_messages == [
        "1 row(s) name files that were not loaded and were ignored"
    ]
    # the export keeps the original columns and names b by its loaded path
    lines = srv.get("/api/annotations/export.csv").text.splitlines()
    assert lines[0] == "anon_dicom_path,num_ROI,ROI_coords,ROI_frames"
    assert f'{b},1,"[[2,3,8,9]]","[[0]]"' in lines
