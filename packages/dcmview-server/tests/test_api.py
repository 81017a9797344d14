"""Every endpoint of docs/api.md against a real server on 127.0.0.1 and generated DICOM files."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

MF, SINGLE, RGB, NOPIX, BROKEN, CT_SMALL = range(6)
MF_FRAMES, MF_ROWS, MF_COLS = 6, 48, 64


def mf_pixels() -> np.ndarray:
    f, r, c = np.meshgrid(
        np.arange(MF_FRAMES), np.arange(MF_ROWS), np.arange(MF_COLS), indexing="ij"
    )
    return (f * 1000 + r * 10 + c % 10).astype(np.uint16)


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "error"}
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return str(body["error"])


def test_health(server: Any) -> None:
    body = server.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["viewer"]["name"] == "dcmview"
    assert body["file_count"] == 6
    assert body["masked"] is False
    assert isinstance(body["server_start_ms"], int)


def test_files(server: Any, study: Path) -> None:
    response = server.get("/api/files")
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["scan_complete"] is True
    assert (body["scanned"], body["skipped"], body["filtered"]) == (6, 1, 0)
    assert body["tunnelled"] is False
    assert body["tunnel_host"] is None
    files = body["files"]
    assert [f["index"] for f in files] == list(range(6))
    mf = files[MF]
    assert mf["path"] == str(study / "series" / "a_multiframe.dcm")
    assert mf["label"] == "PAT123 · MR · 20240101"
    assert (mf["frame_count"], mf["rows"], mf["columns"]) == (6, 48, 64)
    assert mf["default_window"] == {"center": 2500.0, "width": 5000.0}
    assert mf["support_state"] == "renderable"
    assert mf["support_reason"] is None
    for key in [
        "has_pixels",
        "transfer_syntax_uid",
        "photometric_interpretation",
        "modality",
        "patient_id",
        "study_instance_uid",
        "study_date",
        "study_description",
        "series_instance_uid",
        "series_number",
        "series_description",
    ]:
        assert key in mf
    assert files[NOPIX]["has_pixels"] is False
    assert files[NOPIX]["support_state"] == "metadata_only"


def test_skipped_files_are_listed_with_their_reason(server: Any, study: Path) -> None:
    """Issue 12 §4: ``?skipped=1`` names each skipped path and why; plain calls are unchanged."""
    assert "skipped_files" not in server.get("/api/files").json()
    body = server.get("/api/files", params={"skipped": "1"}).json()
    assert body["skipped_files"] == [
        {
            "path": str(study / "series" / "notes.txt"),
            "kind": "not_dicom",
            "reason": body["skipped_files"][0]["reason"],
        }
    ]
    assert body["skipped_files"][0]["reason"].startswith("not DICOM")
    gzipped = server.get("/api/files?skipped=1", headers={"Accept-Encoding": "gzip"})
    assert gzipped.json()["skipped_files"] == body["skipped_files"]
    assert server.get("/api/files", params={"skipped": "yes"}).status_code == 400


def test_files_since_and_gzip(server: Any) -> None:
    body = server.get("/api/files", params={"since": 3}).json()
    assert [f["index"] for f in body["files"]] == [3, 4, 5]
    assert server.get("/api/files", params={"since": 99}).json()["files"] == []
    raw = server.client.get("/api/files", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.json()["scanned"] == 6  # httpx decompressed it
    plain = server.client.get("/api/files", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
    for bad in ["-1", "abc", "1.5", "99999999999999999999", ""]:
        error_of(server.get("/api/files", params={"since": bad}), 400, "invalid_query")


def test_info(server: Any) -> None:
    info = server.get(f"/api/file/{MF}/info").json()
    assert info["frame_count"] == 6
    assert (info["rows"], info["columns"]) == (48, 64)
    assert info["transfer_syntax_uid"] == "1.2.840.10008.1.2.1"
    assert info["transfer_syntax"] == "1.2.840.10008.1.2.1"  # the UID, as in the original
    assert info["transfer_syntax_name"] == "Explicit VR Little Endian"
    assert info["has_pixels"] is True
    assert info["default_window"] == {"center": 2500.0, "width": 5000.0}
    assert info["support_state"] == "renderable"
    assert info["has_overlay"] is True
    assert info["frame_time_ms"] == 40.0
    assert info["pixel_spacing"] == [0.5, 0.25]
    assert info["window_presets"] == [{"name": "WIDE", "center": 2500.0, "width": 5000.0}]
    single = server.get(f"/api/file/{SINGLE}/info").json()
    assert single["has_overlay"] is False
    assert single["default_window"] is None
    assert single["frame_time_ms"] is None


def test_presets(server: Any) -> None:
    presets = server.get("/api/presets").json()
    names = [p["name"] for p in presets]
    assert "CT Brain" in names
    brain = presets[names.index("CT Brain")]
    assert (brain["center"], brain["width"]) == (40, 80)


def test_raw_frames(server: Any) -> None:
    first = server.get(f"/api/file/{MF}/frame/2/raw")
    assert first.headers["content-type"] == "application/octet-stream"
    samples = np.frombuffer(first.content, dtype="<u2").reshape(MF_ROWS, MF_COLS)
    assert np.array_equal(samples, mf_pixels()[2])
    h = first.headers
    assert h["x-frame-rows"] == "48"
    assert h["x-frame-columns"] == "64"
    assert h["x-frame-bits-allocated"] == "16"
    assert h["x-frame-pixel-representation"] == "0"
    assert h["x-frame-samples-per-pixel"] == "1"
    assert h["x-frame-photometric-interpretation"] == "MONOCHROME2"
    assert h["x-frame-rescale-slope"] == "1"
    assert h["x-frame-rescale-intercept"] == "0"
    assert h["x-frame-default-wc"] == "2500"
    assert h["x-frame-default-ww"] == "5000"
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-server-instance"] == str(server.get("/api/health").json()["server_start_ms"])
    assert h["content-length"] == str(MF_ROWS * MF_COLS * 2)
    assert "server-timing" in h
    assert server.get(f"/api/file/{MF}/frame/2/raw").headers["x-cache"] == "HIT"
    rgb = server.get(f"/api/file/{RGB}/frame/0/raw")
    assert rgb.headers["x-frame-samples-per-pixel"] == "3"
    assert rgb.headers["x-frame-photometric-interpretation"] == "RGB"
    pixels = np.frombuffer(rgb.content, dtype=np.uint8).reshape(8, 8, 3)
    assert pixels[3, 5].tolist() == [30, 50, 200]


def _png(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_display_frames(server: Any) -> None:
    image = _png(server.get(f"/api/file/{SINGLE}/frame/0", params={"wc": 100, "ww": 100}))
    assert image.shape == (16, 16)
    assert (
        server.get(f"/api/file/{SINGLE}/frame/0", params={"wc": 100, "ww": 100}).headers["x-cache"]
        == "HIT"
    )
    low = _png(server.get(f"/api/file/{SINGLE}/frame/0", params={"wc": 1000, "ww": 10}))
    high = _png(server.get(f"/api/file/{SINGLE}/frame/0", params={"wc": -1000, "ww": 10}))
    assert int(low.max()) == 0
    assert int(high.min()) == 255
    windowed = server.get(f"/api/file/{MF}/frame/1")
    assert windowed.headers["x-frame-window-center"] == "2500"
    assert windowed.headers["x-frame-window-width"] == "5000"
    full = _png(server.get(f"/api/file/{MF}/frame/1", params={"mode": "full_dynamic"}))
    assert full.shape[:2] == (48, 64)
    assert int(full.min()) == 0
    rgb = _png(server.get(f"/api/file/{RGB}/frame/0"))
    assert rgb.shape == (8, 8, 3)
    assert rgb[3, 5].tolist() == [30, 50, 200]


@pytest.mark.parametrize(
    "params",
    [
        {"wc": "nan", "ww": "10"},
        {"wc": "10", "ww": "inf"},
        {"wc": "10", "ww": "-1"},
        {"wc": "10", "ww": "0"},
        {"wc": "10"},
        {"ww": "10"},
        {"wc": "abc", "ww": "10"},
        {"wc": "1e999", "ww": "10"},
        {"mode": "x"},
        {"mode": ""},
    ],
)
def test_bad_display_queries(server: Any, params: dict[str, str]) -> None:
    error_of(server.get(f"/api/file/{MF}/frame/0", params=params), 400, "invalid_query")


def test_thumbnails(server: Any) -> None:
    response = server.get(f"/api/file/{MF}/frame/0/thumbnail", params={"size": 16})
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (16, 12)
    default = Image.open(io.BytesIO(server.get(f"/api/file/{MF}/frame/0/thumbnail").content))
    assert default.size == (64, 48)  # never upscaled
    for bad in ["0", "1025", "-5", "abc", "2.5"]:
        error_of(
            server.get(f"/api/file/{MF}/frame/0/thumbnail", params={"size": bad}),
            400,
            "invalid_query",
        )


def test_overlay(server: Any) -> None:
    response = server.get(f"/api/file/{MF}/frame/0/overlay")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-frame-rows"] == "48"
    mask = np.frombuffer(response.content, dtype=np.uint8).reshape(48, 64)
    expected = np.zeros((48, 64), dtype=np.uint8)
    expected[10:20, 5:15] = 1
    assert np.array_equal(mask, expected)
    error_of(server.get(f"/api/file/{SINGLE}/frame/0/overlay"), 404, "no_overlay")


def test_frame_errors(server: Any) -> None:
    error_of(server.get(f"/api/file/{MF}/frame/6/raw"), 404, "frame_out_of_range")
    error_of(server.get(f"/api/file/{MF}/frame/6"), 404, "frame_out_of_range")
    error_of(server.get(f"/api/file/{NOPIX}/frame/0/raw"), 404, "no_pixel_data")
    error_of(server.get(f"/api/file/{BROKEN}/frame/0/raw"), 422, "pixel_decode_failed")
    error_of(server.get(f"/api/file/{BROKEN}/frame/0"), 422, "pixel_decode_failed")
    # the broken file does not hurt the others
    assert server.get(f"/api/file/{SINGLE}/frame/0/raw").status_code == 200
    for bad in ["-1", "abc", "1e0", "99999999999", "%2e%2e"]:
        error_of(server.get(f"/api/file/{bad}/info"), 404, "not_found")
        error_of(server.get(f"/api/file/{MF}/frame/{bad}/raw"), 404, "not_found")
    error_of(server.get("/api/file/6/info"), 404, "not_found")


def test_tags(server: Any) -> None:
    nodes = server.get(f"/api/file/{MF}/tags").json()
    by_tag = {n["tag"]: n for n in nodes}
    assert by_tag["(0010,0020)"]["value"] == {"type": "string", "value": "PAT123"}
    assert by_tag["(0010,0020)"]["keyword"] == "PatientID"
    node = server.get(f"/api/file/{MF}/tags/select", params={"path": "(0008,0060)"}).json()
    assert node["value"]["value"] == "MR"
    error_of(server.get(f"/api/file/{MF}/tags/select"), 400, "invalid_query")
    error_of(
        server.get(f"/api/file/{MF}/tags/select", params={"path": "(zzzz,0060)"}),
        400,
        "invalid_query",
    )
    error_of(
        server.get(f"/api/file/{MF}/tags/select", params={"path": "(0011,0060)"}),
        404,
        "not_found",
    )
    error_of(
        server.get(f"/api/file/{MF}/tags/select", params={"path": "(0008,0060)", "limit": "0"}),
        400,
        "invalid_query",
    )


def test_tags_select_returns_the_preview_node_for_top_level_elements(server: Any) -> None:
    """Issue 12 §5: one serializer — a top-level element is the same node in both endpoints."""
    for index in (MF, CT_SMALL):
        preview = server.get(f"/api/file/{index}/tags").json()
        for node in preview:
            if node["value"]["type"] == "sequence":
                continue
            selected = server.get(f"/api/file/{index}/tags/select", params={"path": node["tag"]})
            assert selected.json() == node, node["tag"]


def test_annotations_round_trip(server: Any, study: Path) -> None:
    url = f"/api/file/{MF}/annotations"
    assert server.get(url).json() == {"num_roi": 0, "roi_coords": [], "roi_frames": []}
    body = {"num_roi": 2, "roi_coords": [[20, 30, 10, 5], [1, 2, 3, 4]], "roi_frames": [[0, 1], []]}
    put = server.client.put(url, json=body)
    assert put.status_code == 200, put.text
    canonical = {
        "num_roi": 2,
        "roi_coords": [[10, 5, 20, 30], [1, 2, 3, 4]],
        "roi_frames": [[0, 1], []],
    }
    assert put.json() == canonical
    assert server.get(url).json() == canonical
    # a rejected edit keeps the earlier ROIs
    bad = {"num_roi": 1, "roi_coords": [[1, 2, 3, 4]], "roi_frames": [[9]]}
    message = error_of(server.client.put(url, json=bad), 400, "bad_request")
    assert "frame" in message
    for payload in [
        b"{not json",
        b"[]",
        b'{"roi_coords": "x"}',
        b'{"roi_coords": [[1,2,3,"nan"]]}',
    ]:
        error_of(
            server.client.put(url, content=payload, headers={"Content-Type": "application/json"}),
            400,
            "bad_request",
        )
    assert server.get(url).json() == canonical
    export = server.get("/api/annotations/export.csv")
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert export.headers["content-disposition"] == 'attachment; filename="dcmview-annotations.csv"'
    lines = export.text.splitlines()
    assert lines[0] == "anon_dicom_path,num_ROI,ROI_coords,ROI_frames"
    assert lines[1] == (
        f'{study / "series" / "a_multiframe.dcm"},2,"[[10,5,20,30],[1,2,3,4]]","[[0,1],[]]"'
    )
    # clearing the ROIs removes the file from the export
    cleared = server.client.put(url, json={"num_roi": 0, "roi_coords": [], "roi_frames": []})
    assert cleared.status_code == 200
    assert server.get("/api/annotations/export.csv").text.splitlines()[1:] == []


def test_roi_frames_given_as_empty_stay_empty(server: Any) -> None:
    """Issue 12 §5: ``roi_frames: []`` (all frames) is accepted and answered as ``[]``."""
    url = f"/api/file/{MF}/annotations"
    body = {"num_roi": 2, "roi_coords": [[1, 2, 3, 4], [5, 6, 7, 8]], "roi_frames": []}
    put = server.client.put(url, json=body)
    assert put.status_code == 200, put.text
    assert put.json() == body
    assert server.get(url).json() == body
    no_frames = {"num_roi": 1, "roi_coords": [[1, 2, 3, 4]]}
    assert server.client.put(url, json=no_frames).json()["roi_frames"] == []
    assert '"[[1,2,3,4]]","[]"' in server.get("/api/annotations/export.csv").text
    server.client.put(url, json={"roi_coords": []})


def test_annotation_put_needs_json(server: Any) -> None:
    url = f"/api/file/{MF}/annotations"
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""]:
        response = server.client.put(
            url, content=b'{"roi_coords": []}', headers={"Content-Type": content_type}
        )
        error_of(response, 415, "unsupported_media_type")
    error_of(
        server.client.put("/api/file/77/annotations", json={"roi_coords": []}), 404, "not_found"
    )


def test_vanished_file_is_a_clean_error(make_server: Any, study: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(study / "series", copy)
    srv = make_server((str(copy),))
    (copy / "a_multiframe.dcm").unlink()
    error_of(srv.get(f"/api/file/{MF}/frame/0/raw"), 422, "pixel_decode_failed")
    error_of(srv.get(f"/api/file/{MF}/tags"), 422, "tag_read_failed")
    error_of(
        srv.get(f"/api/file/{MF}/tags/select", params={"path": "(0008,0060)"}),
        422,
        "tag_read_failed",
    )
    assert srv.get(f"/api/file/{MF}/info").status_code == 200
    assert srv.get(f"/api/file/{SINGLE}/frame/0/raw").status_code == 200


def test_a_truncated_file_answers_its_frames_with_422(make_server: Any, tmp_path: Path) -> None:
    """Issue 12 §4: the real frame count, and ``422 pixel_decode_failed`` naming the cause."""
    import shutil

    from pydicom.data import get_testdata_file

    source = get_testdata_file("MR_truncated.dcm")
    assert isinstance(source, str)
    shutil.copy(source, tmp_path / "truncated.dcm")
    srv = make_server((str(tmp_path),))
    info = srv.get("/api/file/0/info").json()
    assert info["frame_count"] == 1
    response = srv.get("/api/file/0/frame/0")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "pixel_decode_failed"
    assert "truncated" in body["error"]
    assert "pixel_data." not in body["error"]  # a sentence, not a stable code


def test_a_dicm_file_that_cannot_be_parsed_is_skipped(make_server: Any, tmp_path: Path) -> None:
    """Issue 12 §4: listed in ``skipped_files`` with its reason, never as a loaded file."""
    import shutil

    from pydicom.data import get_testdata_file

    source = get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    shutil.copy(source, tmp_path / "ok.dcm")
    (tmp_path / "bad.dcm").write_bytes(
        b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xffgarbage" * 10
    )
    srv = make_server((str(tmp_path),))
    body = srv.get("/api/files", params={"skipped": "1"}).json()
    assert [f["path"] for f in body["files"]] == [str(tmp_path / "ok.dcm")]
    assert [s["path"] for s in body["skipped_files"]] == [str(tmp_path / "bad.dcm")]
    assert body["skipped_files"][0]["kind"] == "unparsable"
