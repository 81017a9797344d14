"""OverlayLayer routes on a real server: a SEG (written with pydicom by core's writer, read back
exact against the known masks) and an RT Structure Set found among the loaded paths; bad ids
and uncovered frames get the JSON error envelope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dcmview_core.overlays import seg_dataset
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

ROWS, COLS, SLICES = 12, 10, 5
ROW_MM, COL_MM, SLICE_MM = 0.8, 0.6, 3.0


def _ct(folder: Path) -> list[Dataset]:
    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    out = []
    for k in range(SLICES):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PatientID, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "P9", "CT", 2, k + 1
        ds.ImagePositionPatient = [0.0, 0.0, SLICE_MM * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [ROW_MM, COL_MM], SLICE_MM
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = ROWS, COLS
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = np.full((ROWS, COLS), 100 + k, np.uint16).tobytes()
        ds.save_as(folder / f"ct{k}.dcm", enforce_file_format=True)
        out.append(ds)
    return out


def _rtstruct(path: Path, sources: list[Dataset]) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.481.3")
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = sources[0].StudyInstanceUID, generate_uid()
    ds.PatientID, ds.Modality, ds.StructureSetLabel = "P9", "RTSTRUCT", "Plan"
    roi = Dataset()
    roi.ROINumber, roi.ROIName = 3, "PTV"
    roi.ReferencedFrameOfReferenceUID = sources[0].FrameOfReferenceUID
    ds.StructureSetROISequence = [roi]
    contour = Dataset()
    contour.ContourGeometricType = "CLOSED_PLANAR"
    z = float(sources[1].ImagePositionPatient[2])
    corners = [(2, 3), (7, 3), (7, 9), (2, 9)]  # (column, row): columns 2–6, rows 3–8
    contour.ContourData = [v for c, r in corners for v in (c * COL_MM, r * ROW_MM, z)]
    contour.NumberOfContourPoints = 4
    item = Dataset()
    item.ReferencedROINumber = 3
    item.ROIDisplayColor = [0, 255, 0]
    item.ContourSequence = [contour]
    ds.ROIContourSequence = [item]
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, list[Dataset], np.ndarray]:
    sources = _ct(tmp_path / "ct")
    rng = np.random.default_rng(4)
    masks = rng.random((SLICES, ROWS, COLS, 2)) > 0.5
    masks[3] = False  # slice 3 not covered
    seg_dataset(sources, masks, ["liver", "lesion"], series_description="AI").save_as(
        tmp_path / "ct" / "seg.dcm", enforce_file_format=True
    )
    _rtstruct(tmp_path / "ct" / "rt.dcm", sources)
    return tmp_path / "ct", sources, masks


def _files(srv: Any) -> dict[str, int]:
    files = srv.get("/api/files").json()["files"]
    return {f["path"].rsplit("/", 1)[-1]: f["index"] for f in files}


def test_overlays_list_segments_and_labels_exact(make_server: Any, study: Any) -> None:
    folder, _sources, masks = study
    srv = make_server((str(folder),))
    files = _files(srv)
    body = srv.get("/api/overlays").json()
    assert body["scan_complete"] is True
    by_kind = {o["kind"]: o for o in body["overlays"]}
    seg, rt = by_kind["segmentation"], by_kind["contours"]
    assert seg["label"] == "AI"
    assert seg["source"].endswith("seg.dcm")
    assert seg["reason"] is None
    assert [s["label"] for s in seg["segments"]] == ["liver", "lesion"]
    covered = [files[f"ct{k}.dcm"] for k in range(SLICES) if k != 3]
    assert seg["targets"] == [{"file": f, "frames": [0]} for f in sorted(covered)]
    for k in range(SLICES):
        file = files[f"ct{k}.dcm"]
        labels = srv.get(f"/api/overlay/{seg['id']}/file/{file}/frame/0/labels")
        if k == 3:
            assert labels.status_code == 404
            assert labels.json()["code"] == "not_found"
            continue
        assert labels.status_code == 200
        assert labels.headers["content-type"] == "application/octet-stream"
        assert (labels.headers["x-frame-rows"], labels.headers["x-frame-columns"]) == ("12", "10")
        got = np.frombuffer(labels.content, np.uint8).reshape(ROWS, COLS)
        expected = np.where(masks[k, :, :, 1], 2, np.where(masks[k, :, :, 0], 1, 0))
        np.testing.assert_array_equal(got, expected)
        for n in (1, 2):
            r = srv.get(f"/api/overlay/{seg['id']}/file/{file}/frame/0/segment/{n}")
            mask = np.frombuffer(r.content, np.uint8).reshape(ROWS, COLS)
            np.testing.assert_array_equal(mask, masks[k, :, :, n - 1] * 255)
        again = srv.get(f"/api/overlay/{seg['id']}/file/{file}/frame/0/labels")
        assert again.headers["x-cache"] == "HIT"
        assert again.content == labels.content
    assert rt["segments"] == [{"number": 3, "label": "PTV", "color": [0, 255, 0]}]
    assert rt["targets"] == [{"file": files["ct1.dcm"], "frames": [0]}]
    r = srv.get(f"/api/overlay/{rt['id']}/file/{files['ct1.dcm']}/frame/0/segment/3")
    expected_rt = np.zeros((ROWS, COLS), np.uint8)
    expected_rt[3:9, 2:7] = 255
    np.testing.assert_array_equal(
        np.frombuffer(r.content, np.uint8).reshape(ROWS, COLS), expected_rt
    )


def test_counts_per_segment_with_area_and_volume(make_server: Any, study: Any) -> None:
    folder, _, masks = study
    srv = make_server((str(folder),))
    files = _files(srv)
    listed = srv.get("/api/overlays").json()["overlays"]
    seg = next(o for o in listed if o["kind"] == "segmentation")
    body = srv.get(f"/api/overlay/{seg['id']}/counts").json()
    assert body["id"] == seg["id"]
    for item in body["segments"]:
        n = item["number"]
        pixels = int(masks[..., n - 1].sum())
        assert item["pixels"] == pixels
        assert item["area_mm2"] == pytest.approx(pixels * ROW_MM * COL_MM)
        assert item["volume_ml"] == pytest.approx(pixels * ROW_MM * COL_MM * SLICE_MM / 1000)
        expected = [
            [files[f"ct{k}.dcm"], 0, int(masks[k, :, :, n - 1].sum())]
            for k in range(SLICES)
            if k != 3
        ]
        assert sorted(item["frames"]) == sorted(expected)


def test_labels_over_some_segments_and_the_overlap_header(make_server: Any, study: Any) -> None:
    """``labels?segments=`` is the label map of those segments only (a lower segment shows where
    a left-out higher one covered it); ``X-Segments-Overlap`` says whether two segments cover
    one pixel (random masks: they do; a label-valued mask never does)."""
    folder, _, masks = study
    srv = make_server((str(folder),))
    files = _files(srv)
    seg = next(
        o for o in srv.get("/api/overlays").json()["overlays"] if o["kind"] == "segmentation"
    )
    base = f"/api/overlay/{seg['id']}/file/{files['ct0.dcm']}/frame/0/labels"
    full = srv.get(base)
    assert full.headers["x-segments-overlap"] == "1"
    assert (masks[0, :, :, 0] & masks[0, :, :, 1]).any()
    for query, expected in [
        ("1", np.where(masks[0, :, :, 0], 1, 0)),
        ("2", np.where(masks[0, :, :, 1], 2, 0)),
        ("2,1", np.where(masks[0, :, :, 1], 2, np.where(masks[0, :, :, 0], 1, 0))),
        ("1,1,2", np.where(masks[0, :, :, 1], 2, np.where(masks[0, :, :, 0], 1, 0))),
    ]:
        r = srv.get(f"{base}?segments={query}")
        assert r.status_code == 200, (query, r.text)
        got = np.frombuffer(r.content, np.uint8).reshape(ROWS, COLS)
        np.testing.assert_array_equal(got, expected, err_msg=query)
        assert r.headers["x-segments-overlap"] == ("1" if "," in query else "0")
    again = srv.get(f"{base}?segments=1")
    assert again.headers["x-cache"] == "HIT"
    # segment masks carry no overlap header; a label-valued array never overlaps
    assert "x-segments-overlap" not in srv.get(base.replace("labels", "segment/1")).headers
    for bad in ("", "0", "3", "1,x", "1,,2", "-1", "1 ,2", "١"):
        r = srv.get(f"{base}?segments={bad}")
        assert r.status_code == 400, bad
        assert r.json()["code"] == "invalid_query", bad
    assert srv.get(f"{base}?segments=1&segments=2").json()["code"] == "invalid_query"
    uncovered = f"/api/overlay/{seg['id']}/file/{files['ct3.dcm']}/frame/0/labels?segments=1"
    assert srv.get(uncovered).status_code == 404


def test_label_mask_subsets_zero_the_other_labels(
    make_server: Any, study: Any, tmp_path: Path
) -> None:
    folder, _sources, _ = study
    labels = np.random.default_rng(2).integers(0, 4, (SLICES, ROWS, COLS), dtype=np.uint8)
    np.save(tmp_path / "prediction.npy", labels)
    srv = make_server((str(folder),), overlays=(str(tmp_path / "prediction.npy"),))
    file = _files(srv)["ct2.dcm"]
    r = srv.get(f"/api/overlay/o1/file/{file}/frame/0/labels")
    assert r.headers["x-segments-overlap"] == "0"
    r = srv.get(f"/api/overlay/o1/file/{file}/frame/0/labels?segments=1,3")
    got = np.frombuffer(r.content, np.uint8).reshape(ROWS, COLS)
    np.testing.assert_array_equal(got, np.where(np.isin(labels[2], [1, 3]), labels[2], 0))
    assert r.headers["x-segments-overlap"] == "0"


@pytest.mark.parametrize(
    "path",
    [
        "/api/overlay/o99/file/0/frame/0/labels",
        "/api/overlay/o1/file/999/frame/0/labels",
        "/api/overlay/o1/file/-1/frame/0/labels",
        "/api/overlay/o1/file/0/frame/5/labels",
        "/api/overlay/o1/file/0/frame/x/segment/1",
        "/api/overlay/o1/file/0/frame/0/segment/0",
        "/api/overlay/o1/file/0/frame/0/segment/99",
        "/api/overlay/o99/counts",
    ],
)
def test_bad_overlay_requests_get_the_json_envelope(
    make_server: Any, study: Any, path: str
) -> None:
    folder, _, _ = study
    srv = make_server((str(folder),))
    r = srv.get(path)
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "not_found"
    assert isinstance(body["error"], str)
    assert body["error"]


def test_overlays_need_the_token(make_server: Any, study: Any) -> None:
    folder, _, _ = study
    srv = make_server((str(folder),))
    r = srv.client.get("/api/overlays", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def test_seg_without_its_images_is_listed_with_a_reason(make_server: Any, study: Any) -> None:
    folder, _, _ = study
    srv = make_server((str(folder / "seg.dcm"),))
    [overlay] = srv.get("/api/overlays").json()["overlays"]
    assert overlay["targets"] == []
    assert "matches a loaded image" in overlay["reason"]
    r = srv.get(f"/api/overlay/{overlay['id']}/file/0/frame/0/labels")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_overlay_files_from_the_config(make_server: Any, study: Any, tmp_path: Path) -> None:
    folder, _sources, _ = study
    labels = np.random.default_rng(1).integers(0, 3, (SLICES, ROWS, COLS), dtype=np.uint8)
    np.save(tmp_path / "prediction.npy", labels)
    np.save(tmp_path / "wrong.npy", np.zeros((3, 4), np.uint8))
    srv = make_server(
        (str(folder),),
        overlays=(str(tmp_path / "prediction.npy"), str(tmp_path / "wrong.npy")),
        segment_labels='{"1": "tumour"}',
    )
    files = _files(srv)
    first, second = srv.get("/api/overlays").json()["overlays"][:2]
    assert (first["id"], first["kind"], first["label"]) == ("o1", "mask", "prediction")
    assert first["segments"][0]["label"] == "tumour"
    assert second["targets"] == []
    assert "mask shape 3×4" in second["reason"]
    for k in range(SLICES):  # array slice k is the k-th slice along z (stack order)
        r = srv.get(f"/api/overlay/o1/file/{files[f'ct{k}.dcm']}/frame/0/labels")
        np.testing.assert_array_equal(
            np.frombuffer(r.content, np.uint8).reshape(ROWS, COLS), labels[k]
        )
