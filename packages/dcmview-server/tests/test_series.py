"""Series stacks, reformats and region statistics against a real server on generated series."""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from dcmview_core import FileEntry, read_entry
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless, generate_uid

from dcmview_server import ServerConfig, ServerHandle
from dcmview_server.series import SeriesService
from dcmview_server.state import AppState

SLICES, ROWS, COLS = 6, 12, 10
SPACING = 2.5
CT_SERIES = "1.2.826.0.1.3680043.10.1512.20.1"
AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
CORONAL = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]


def voxels() -> np.ndarray:
    """Stored value of the slice at height k*SPACING, row r, column c: k*100 + r*7 + c."""
    k, r, c = np.meshgrid(np.arange(SLICES), np.arange(ROWS), np.arange(COLS), indexing="ij")
    return (k * 100 + r * 7 + c).astype(np.int16)


def _dataset(pixels: np.ndarray, modality: str = "CT", **attributes: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2")
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = "P1"
    ds.Modality = modality
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1512.20"
    ds.SeriesInstanceUID = CT_SERIES
    ds.SeriesNumber = 2
    ds.SeriesDescription = "Axial"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.PixelData = pixels.astype("<i2").tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def write_ct_series(folder: Path, syntax: str = ExplicitVRLittleEndian) -> list[int]:
    """SLICES axial files with shuffled names and instance numbers; returns, for each height
    k, the discovery index of its file (names sort as discovery does)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(range(SLICES))
    random.Random(1).shuffle(names)
    data = voxels()
    for k in range(SLICES):
        ds = _dataset(
            data[k],
            InstanceNumber=(names[k] * 5) % 7 + 1,
            ImagePositionPatient=[-50.0, -60.0, SPACING * k],
            ImageOrientationPatient=AXIAL,
            PixelSpacing=[0.5, 0.8],
            RescaleSlope=1,
            RescaleIntercept=-1024,
            WindowCenter=40,
            WindowWidth=400,
        )
        if syntax != ExplicitVRLittleEndian:
            ds.compress(syntax, encoding_plugin="pydicom")
        ds.save_as(folder / f"ct{names[k]}.dcm", enforce_file_format=True)
    return names


@pytest.fixture(scope="module")
def series_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """a/: the CT series; b_localizer.dcm: a coronal slice of the same series; c_rgb.dcm;
    d_cine.dcm: a 4-frame MR without positions."""
    root = tmp_path_factory.mktemp("series")
    order = write_ct_series(root / "a")
    localizer = _dataset(
        np.full((8, 8), 5, dtype=np.int16),
        ImagePositionPatient=[0.0, 0.0, 0.0],
        ImageOrientationPatient=CORONAL,
        PixelSpacing=[1.0, 1.0],
        InstanceNumber=99,
    )
    localizer.save_as(root / "b_localizer.dcm", enforce_file_format=True)
    rgb = _dataset(np.zeros((4, 4), dtype=np.int16), modality="XC")
    rgb.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1512.20.3"
    rgb.SamplesPerPixel = 3
    rgb.PhotometricInterpretation = "RGB"
    rgb.PlanarConfiguration = 0
    rgb.BitsAllocated = rgb.BitsStored = 8
    rgb.HighBit = 7
    rgb.PixelRepresentation = 0
    rgb.PixelData = np.arange(48, dtype=np.uint8).tobytes()
    rgb.save_as(root / "c_rgb.dcm", enforce_file_format=True)
    cine = _dataset(np.arange(4 * 6 * 5, dtype=np.int16).reshape(4, 6, 5), modality="MR")
    cine.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1512.20.4"
    cine.save_as(root / "d_cine.dcm", enforce_file_format=True)
    return root, order


TOKEN = "series-test-token-0123456789abcdefghijklmnopq"


class _Server:
    """A real server on 127.0.0.1 (scan finished) and an authorized client."""

    def __init__(self, paths: tuple[str, ...], **overrides: Any) -> None:
        self.handle = ServerHandle.start(ServerConfig(paths=paths, token=TOKEN, **overrides))
        self.handle.wait_scan()
        self.client = httpx.Client(
            base_url=self.handle.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def close(self) -> None:
        self.client.close()
        self.handle.stop()


@pytest.fixture(scope="module")
def srv(series_dir: tuple[Path, list[int]]) -> Iterator[_Server]:
    server = _Server((str(series_dir[0]),))
    yield server
    server.close()


@pytest.fixture
def make_srv() -> Iterator[Any]:
    """``make_srv(paths, **config)``: servers stopped after the test."""
    started: list[_Server] = []

    def start(paths: tuple[str, ...], **overrides: Any) -> _Server:
        started.append(_Server(paths, **overrides))
        return started[-1]

    yield start
    for server in started:
        server.close()


LOCALIZER, RGB, CINE = SLICES, SLICES + 1, SLICES + 2


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "error"}
    assert body["code"] == code
    return str(body["error"])


def _series(srv: _Server) -> dict[str, Any]:
    response = srv.get("/api/series")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_series_lists_the_stacks_in_discovery_order(
    srv: _Server, series_dir: tuple[Path, list[int]]
) -> None:
    _, order = series_dir
    body = _series(srv)
    assert srv.get("/api/series").headers["content-encoding"] == "gzip"  # httpx accepts gzip
    assert body["scan_complete"] is True
    stacks = body["series"]
    assert [s["id"] for s in stacks] == ["s0", "s1", "s2", "s3"]
    ct = stacks[0]
    assert ct["series_instance_uid"] == CT_SERIES
    assert ct["label"] == "P1 · CT · 2 Axial"
    assert ct["slice_count"] == SLICES
    assert ct["slices"] == [[order[k], 0] for k in range(SLICES)]
    assert ct["volume"] == {
        "shape": [SLICES, ROWS, COLS],
        "spacing": [SPACING, 0.5, 0.8],
        "uniform": True,
        "origin": [-50.0, -60.0, 0.0],
        "orientation": AXIAL,
        "axis_labels": ["axial", "coronal", "sagittal"],
        "slice_positions": [SPACING * k for k in range(SLICES)],
    }
    assert stacks[1]["slices"] == [[LOCALIZER, 0]]
    assert stacks[1]["label"] == "P1 · CT · 2 Axial (2)"
    assert stacks[1]["volume"]["axis_labels"] == ["coronal", "axial", "sagittal"]
    assert stacks[2]["slices"] == [[RGB, 0]]
    assert stacks[2]["volume"] is None
    assert stacks[3]["slices"] == [[CINE, f] for f in range(4)]
    assert stacks[3]["volume"] is None


def _raw(srv: _Server, path: str) -> tuple[np.ndarray, Any]:
    response = srv.get(path)
    assert response.status_code == 200, response.text
    h = response.headers
    assert h["content-type"] == "application/octet-stream"
    rows, cols = int(h["X-Frame-Rows"]), int(h["X-Frame-Columns"])
    kind = {"float": "f", "int": "i", "uint": "u"}[h["X-Frame-Sample-Format"]]
    dtype = np.dtype(f"<{kind}{int(h['X-Frame-Bits-Allocated']) // 8}")
    samples = np.frombuffer(response.content, dtype=dtype).reshape(rows, cols)
    modality = samples * float(h["X-Frame-Rescale-Slope"]) + float(h["X-Frame-Rescale-Intercept"])
    return modality, h


def test_axis_0_is_the_slices_in_position_order(
    srv: _Server, series_dir: tuple[Path, list[int]]
) -> None:
    _, order = series_dir
    expected = voxels().astype(np.float64) - 1024
    for k in range(SLICES):
        values, h = _raw(srv, f"/api/series/s0/slice/{k}/raw")
        np.testing.assert_array_equal(values, expected[k])
        assert h["X-Pixel-Spacing"] == "0.5\\0.8"
        assert h["X-Slice-File"] == str(order[k])
        assert h["X-Slice-Frame"] == "0"
    values, _ = _raw(srv, "/api/series/s0/slice/2/raw?axis=0")
    np.testing.assert_array_equal(values, expected[2])


def test_reformats_are_exact_for_every_plane(srv: _Server) -> None:
    expected = voxels().astype(np.float64) - 1024
    first, h = _raw(srv, "/api/series/s0/slice/0/raw?axis=1")
    assert h["X-Cache"] in ("MISS", "HIT")
    for k in range(ROWS):
        values, h = _raw(srv, f"/api/series/s0/slice/{k}/raw?axis=1")
        np.testing.assert_array_equal(values, expected[:, k, :])
        assert h["X-Pixel-Spacing"] == "2.5\\0.8"
        assert h["X-Cache"] == "HIT"
    for k in range(COLS):
        values, h = _raw(srv, f"/api/series/s0/slice/{k}/raw?axis=2")
        np.testing.assert_array_equal(values, expected[:, :, k])
        assert h["X-Pixel-Spacing"] == "2.5\\0.5"
    assert first.shape == (SLICES, COLS)


def test_display_pngs_of_every_axis(srv: _Server) -> None:
    sizes = {0: (COLS, ROWS), 1: (COLS, SLICES), 2: (ROWS, SLICES)}
    for axis, size in sizes.items():
        response = srv.get(f"/api/series/s0/slice/1?axis={axis}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.headers["X-Frame-Window-Center"] == "40"
        image = Image.open(io.BytesIO(response.content))
        assert image.size == size
        assert response.headers["X-Pixel-Spacing"] == ("0.5\\0.8", "2.5\\0.8", "2.5\\0.5")[axis]
    again = srv.get("/api/series/s0/slice/1?axis=2")
    assert again.headers["X-Cache"] == "HIT"
    windowed = srv.get("/api/series/s0/slice/1?axis=2&wc=-900&ww=200")
    assert windowed.headers["X-Frame-Window-Width"] == "200"
    assert windowed.headers["X-Cache"] == "MISS"


def test_slice_stats_on_every_axis(srv: _Server) -> None:
    expected = voxels().astype(np.float64) - 1024
    body = srv.get("/api/series/s0/slice/3/stats?shape=rect&y0=2&x0=1&y1=7&x1=6").json()
    region = expected[3, 2:7, 1:6]
    assert body["n"] == region.size
    assert body["mean"] == pytest.approx(region.mean())
    assert body["sd"] == pytest.approx(region.std())
    assert (body["min"], body["max"], body["sum"]) == (region.min(), region.max(), region.sum())
    assert body["unit"] == "HU"
    assert body["spacing_source"] == "PixelSpacing"
    assert body["area_mm2"] == pytest.approx(region.size * 0.4)
    plane = expected[:, :, 4]  # SLICES × ROWS, spacing 2.5 × 0.5
    body = srv.get("/api/series/s0/slice/4/stats?axis=2&shape=ellipse&y0=0&x0=0&y1=6&x1=12")
    stats = body.json()
    rr, cc = np.mgrid[0:SLICES, 0:ROWS]
    inside = ((rr + 0.5 - 3) / 3) ** 2 + ((cc + 0.5 - 6) / 6) ** 2 <= 1
    assert stats["shape"] == "ellipse"
    assert stats["n"] == int(inside.sum())
    assert stats["sum"] == plane[inside].sum()
    assert stats["area_mm2"] == pytest.approx(inside.sum() * 2.5 * 0.5)


def test_frame_stats_of_a_file(srv: _Server, series_dir: tuple[Path, list[int]]) -> None:
    _, order = series_dir
    expected = voxels().astype(np.float64) - 1024
    file = order[5]
    body = srv.get(f"/api/file/{file}/frame/0/stats?y0=-4&x0=8&y1=3&x1=40").json()
    region = expected[5, 0:3, 8:10]  # clipped to the image
    assert body["shape"] == "rect"
    assert body["n"] == region.size
    assert body["sum"] == region.sum()
    assert body["area_px"] == float(region.size)
    cine = srv.get(f"/api/file/{CINE}/frame/3/stats?y0=0&x0=0&y1=6&x1=5").json()
    assert cine["unit"] is None
    assert cine["area_mm2"] is None
    assert cine["spacing_source"] is None
    assert cine["sum"] == float(np.arange(90, 120).sum())


def test_bad_requests_get_the_envelope(srv: _Server) -> None:
    error_of(srv.get("/api/series/s9/slice/0"), 404, "not_found")
    error_of(srv.get("/api/series/zz/slice/0/raw"), 404, "not_found")
    error_of(srv.get("/api/series/s0/slice/-1"), 404, "not_found")
    error_of(srv.get("/api/series/s0/slice/x/raw"), 404, "not_found")
    error_of(srv.get(f"/api/series/s0/slice/{SLICES}"), 404, "frame_out_of_range")
    error_of(srv.get(f"/api/series/s0/slice/{ROWS}/raw?axis=1"), 404, "frame_out_of_range")
    error_of(srv.get(f"/api/series/s0/slice/{COLS}/raw?axis=2"), 404, "frame_out_of_range")
    error_of(srv.get("/api/series/s0/slice/0?axis=3"), 400, "invalid_query")
    error_of(srv.get("/api/series/s0/slice/0?axis=1&axis=2"), 400, "invalid_query")
    error_of(srv.get("/api/series/s0/slice/0?wc=40"), 400, "invalid_query")
    error_of(srv.get("/api/series/s2/slice/0/raw?axis=1"), 404, "not_found")  # colour
    error_of(srv.get("/api/series/s3/slice/0/raw?axis=2"), 404, "not_found")  # no positions
    error_of(srv.get("/api/series/s3/slice/4/raw"), 404, "frame_out_of_range")
    stats = "/api/series/s0/slice/0/stats"
    error_of(srv.get(f"{stats}?y0=0&x0=0&y1=0&x1=4"), 400, "invalid_query")  # empty
    error_of(srv.get(f"{stats}?y0=20&x0=0&y1=30&x1=4"), 400, "invalid_query")  # outside
    error_of(srv.get(f"{stats}?y0=0&x0=0&y1=nan&x1=4"), 400, "invalid_query")
    error_of(srv.get(f"{stats}?y0=0&x0=0&y1=inf&x1=4"), 400, "invalid_query")
    error_of(srv.get(f"{stats}?y0=0&x0=0&y1=2"), 400, "invalid_query")  # x1 missing
    error_of(srv.get(f"{stats}?shape=circle&y0=0&x0=0&y1=2&x1=2"), 400, "invalid_query")
    error_of(srv.get(f"/api/file/{RGB}/frame/0/stats?y0=0&x0=0&y1=2&x1=2"), 422, "not_monochrome")
    error_of(srv.get("/api/file/99/frame/0/stats?y0=0&x0=0&y1=2&x1=2"), 404, "not_found")
    error_of(
        srv.get(f"/api/file/{CINE}/frame/4/stats?y0=0&x0=0&y1=2&x1=2"), 404, "frame_out_of_range"
    )
    srv.client.headers.pop("Authorization")
    try:
        error_of(srv.get("/api/series"), 401, "unauthorized")
        error_of(srv.get("/api/series/s0/slice/0/raw"), 401, "unauthorized")
    finally:
        srv.client.headers["Authorization"] = f"Bearer {TOKEN}"


def test_scrolling_a_stack_prefetches_the_next_files(make_srv: Any, tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct")
    server = make_srv((str(tmp_path),))
    for k in range(2):  # slice 0 then 1: the direction of travel is known
        assert server.get(f"/api/series/s0/slice/{k}/raw").headers["X-Cache"] == "MISS"
    deadline = time.monotonic() + 5
    while True:  # the prefetch runs beside the requests: give it a moment
        response = server.get("/api/series/s0/slice/2/raw")
        if response.headers["X-Cache"] == "HIT" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.headers["X-Cache"] == "HIT"  # the next file's frame, decoded ahead


def test_a_volume_over_budget_is_read_as_strips(make_srv: Any, tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct", syntax=RLELossless)
    # the volume is 1440 bytes: over 3/4 of 1600, so strips of 200 // 120 = 1 row
    server = make_srv((str(tmp_path),), cache_budget=1600)
    expected = voxels().astype(np.float64) - 1024
    for k in range(ROWS):
        values, _ = _raw(server, f"/api/series/s0/slice/{k}/raw?axis=1")
        np.testing.assert_array_equal(values, expected[:, k, :])
    tiny = make_srv((str(tmp_path),), cache_budget=400)
    message = error_of(tiny.get("/api/series/s0/slice/0/raw?axis=1"), 422, "volume_too_large")
    assert "--cache-budget" in message


def test_masked_series_hide_identifiers(make_srv: Any, tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct")
    server = make_srv((str(tmp_path),), mask=True)
    stack = _series(server)["series"][0]
    assert stack["patient_id"] != "P1"
    assert stack["series_instance_uid"] != CT_SERIES
    assert "P1" not in stack["label"]
    assert stack["label"].endswith("CT · 2 Axial")


def test_stacks_grow_in_place_while_the_scan_runs(tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct")
    paths = sorted((tmp_path / "ct").glob("*.dcm"))
    state = AppState.build(ServerConfig(paths=(str(tmp_path),), token="t" * 43))
    try:
        service = SeriesService(state)
        assert json.loads(service.listing()[0]) == {"series": [], "scan_complete": False}
        entries = []
        for i, path in enumerate(paths):
            entry = read_entry(str(path), index=i)
            assert isinstance(entry, FileEntry)
            entries.append(entry)
        state.registry.add(entries[0])
        first = json.loads(service.listing()[0])["series"]
        for entry in entries[1:]:
            state.registry.add(entry)
        state.registry.mark_complete()
        later = json.loads(service.listing()[0])
        zipped, gzipped = service.listing(gzip_ok=True)
    finally:
        state.close()
    assert [s["id"] for s in first] == ["s0"]
    assert first[0]["slice_count"] == 1
    assert later["scan_complete"] is True
    assert [s["id"] for s in later["series"]] == ["s0"]
    assert later["series"][0]["slice_count"] == SLICES
    assert not gzipped  # a body under 1 KiB is sent as it is
    assert json.loads(zipped) == later


def test_pydicoms_bundled_files_never_fail_the_server(make_srv: Any) -> None:
    """Real files of every kind: every stack answers slice 0 on each of its axes, no 5xx."""
    root = Path(str(get_testdata_file("CT_small.dcm"))).parent
    server = make_srv((str(root),))
    stacks = _series(server)["series"]
    assert len(stacks) > 20
    assert any(s["volume"] and s["volume"]["shape"][0] > 1 for s in stacks)
    for stack in stacks:
        axes = (0, 1, 2) if stack["volume"] else (0,)
        for axis in axes:
            for suffix in ("", "/raw"):
                response = server.get(f"/api/series/{stack['id']}/slice/0{suffix}?axis={axis}")
                assert response.status_code < 500, (stack["label"], axis, response.text)
                if axis:
                    assert response.status_code == 200, (stack["label"], axis, response.text)
        stats = server.get(f"/api/series/{stack['id']}/slice/0/stats?y0=0&x0=0&y1=4&x1=4")
        assert stats.status_code in (200, 422), (stack["label"], stats.text)


def test_the_volume_is_one_cache_entry_of_its_real_size(tmp_path: Path) -> None:
    write_ct_series(tmp_path / "ct")
    state = AppState.build(ServerConfig(paths=(str(tmp_path),), token="t" * 43))
    try:
        for i, path in enumerate(sorted((tmp_path / "ct").glob("*.dcm"))):
            entry = read_entry(str(path), index=i)
            assert isinstance(entry, FileEntry)
            state.registry.add(entry)
        state.registry.mark_complete()
        service = SeriesService(state)
        stack = service.stack("s0")

        async def reformat() -> tuple[int, bool, bool]:
            before = state.frames.cache.stats().used_bytes
            _, first = await service.volume(stack, 1, 3)
            _, again = await service.volume(stack, 2, 0)
            return state.frames.cache.stats().used_bytes - before, first, again

        grown, first_hit, second_hit = asyncio.run(reformat())
    finally:
        state.close()
    voxels = SLICES * ROWS * COLS * 2
    assert (first_hit, second_hit) == (False, True)
    assert voxels <= grown <= voxels * 1.1 + 4096


def test_a_reformat_reuses_the_slices_already_decoded(make_srv: Any, tmp_path: Path) -> None:
    """Slices scrolled through are in the frame cache: the volume takes them from there and
    reads only the others (their files are deleted here, so a re-read would fail)."""
    order = write_ct_series(tmp_path / "ct", syntax=RLELossless)
    server = make_srv((str(tmp_path),))
    expected = voxels().astype(np.float64) - 1024
    seen = range(SLICES // 2)
    for k in seen:
        values, _ = _raw(server, f"/api/series/s0/slice/{k}/raw")
        np.testing.assert_array_equal(values, expected[k])
    files = server.get("/api/files").json()["files"]
    for k in seen:
        (tmp_path / files[order[k]]["path"]).unlink()
    for k in range(ROWS):
        values, _ = _raw(server, f"/api/series/s0/slice/{k}/raw?axis=1")
        np.testing.assert_array_equal(values, expected[:, k, :])
