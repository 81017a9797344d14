"""End to end: a real dcmview server on 127.0.0.1 under 8 concurrent clients.

Frames (raw and PNG), tags and annotation PUTs are mixed for a bounded time (about 8 s here;
``benchmarks/bench_server.py --soak 30`` runs the 30 s version). Nothing may answer 5xx, memory
stays bounded by the cache budget, rejected PUTs change nothing and each file's final ROIs equal
its last acknowledged PUT.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from dcmview_server import ServerConfig, ServerHandle
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

TOKEN = "e2e-token"
CLIENTS = 8
DURATION = 8.0
FRAMES, ROWS, COLS = 12, 128, 96
BUDGET = 16 * 2**20


def write_file(path: Path, seed: int) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = f"P{seed}"
    ds.Modality = "MR"
    ds.StudyDate = "20240101"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = FRAMES
    rng = np.random.default_rng(seed)
    ds.PixelData = rng.integers(0, 4096, (FRAMES, ROWS, COLS), dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    for i in range(CLIENTS + 1):
        write_file(root / f"f{i:02d}.dcm", i)
    return root


def client_loop(
    base: str, me: int, stop: threading.Event, log: dict[str, Any], lock: threading.Lock
) -> None:
    rng = random.Random(me)
    own = me  # this client is the only writer of file `me`
    shared = CLIENTS  # every client writes this one
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        frame = 0
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.35:
                file = rng.randrange(CLIENTS + 1)
                frame = (frame + 1) % FRAMES  # mostly sequential, like cine
                if rng.random() < 0.2:
                    frame = rng.randrange(FRAMES)
                r = client.get(f"/api/file/{file}/frame/{frame}/raw")
                assert r.status_code == 200
                assert len(r.content) == ROWS * COLS * 2
            elif roll < 0.5:
                r = client.get(
                    f"/api/file/{rng.randrange(CLIENTS + 1)}/frame/{rng.randrange(FRAMES)}",
                    params={"wc": rng.choice([500, 2000]), "ww": rng.choice([1000, 4000])},
                )
                assert r.status_code == 200
            elif roll < 0.6:
                r = client.get(f"/api/file/{rng.randrange(CLIENTS + 1)}/tags")
                assert r.status_code == 200
            elif roll < 0.65:
                r = client.get("/api/files")
                assert r.status_code == 200
            elif roll < 0.9:
                target = own if rng.random() < 0.7 else shared
                y, x = rng.randrange(ROWS - 10), rng.randrange(COLS - 10)
                body = {
                    "num_roi": 1,
                    "roi_coords": [[y + 5, x + 5, y, x]],  # swapped: canonicalized
                    "roi_frames": [[rng.randrange(FRAMES)]],
                }
                r = client.put(f"/api/file/{target}/annotations", json=body)
                assert r.status_code == 200, r.text
                with lock:
                    log["acked"].setdefault(target, []).append(r.json())
                    if target == own:
                        log["last"][own] = r.json()
            else:
                bad = {"num_roi": 1, "roi_coords": [[0, 0, 5, 5]], "roi_frames": [[FRAMES + 3]]}
                r = client.put(f"/api/file/{own}/annotations", json=bad)
                assert r.status_code == 400
            with lock:
                log["requests"] += 1
                if r.status_code >= 500:
                    log["5xx"] += 1


def test_eight_clients_mixing_frames_tags_and_puts(files_dir: Path) -> None:
    baseline = rss_bytes()
    handle = ServerHandle.start(
        ServerConfig(paths=(str(files_dir),), token=TOKEN, cache_budget=BUDGET)
    )
    try:
        handle.wait_scan()
        stop = threading.Event()
        lock = threading.Lock()
        log: dict[str, Any] = {"acked": {}, "last": {}, "requests": 0, "5xx": 0}
        errors: list[BaseException] = []

        def run(me: int) -> None:
            try:
                client_loop(handle.base_url, me, stop, log, lock)
            except BaseException as error:
                errors.append(error)
                stop.set()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(DURATION)
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors, errors[0]
        assert log["5xx"] == 0
        assert log["requests"] > 100
        with httpx.Client(
            base_url=handle.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client:
            for me, last in log["last"].items():
                assert client.get(f"/api/file/{me}/annotations").json() == last
            shared = client.get(f"/api/file/{CLIENTS}/annotations").json()
            if CLIENTS in log["acked"]:
                assert shared in log["acked"][CLIENTS]
            assert client.get("/api/health").status_code == 200
        growth = rss_bytes() - baseline
        assert growth < BUDGET + 150 * 2**20, growth
    finally:
        handle.stop()
    assert not handle.running


def test_every_pydicom_test_file_answers_without_a_5xx() -> None:
    """All of pydicom's bundled files: frames, thumbnails, PNGs and tags never fail with 5xx."""
    import os

    from pydicom.data import get_testdata_file

    ct_small = get_testdata_file("CT_small.dcm")
    assert isinstance(ct_small, str)
    handle = ServerHandle.start(ServerConfig(paths=(os.path.dirname(ct_small),), token=TOKEN))
    try:
        summary = handle.wait_scan(60)
        assert summary.loaded > 100
        seen: dict[tuple[str, int, str], int] = {}
        with httpx.Client(
            base_url=handle.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as client:
            files = client.get("/api/files").json()["files"]
            for entry in files:
                for suffix in ("/raw", "/thumbnail?size=64", ""):
                    r = client.get(f"/api/file/{entry['index']}/frame/0{suffix}")
                    code = r.json()["code"] if r.status_code >= 400 else ""
                    key = (suffix, r.status_code, code)
                    seen[key] = seen.get(key, 0) + 1
                    assert r.status_code in (200, 404, 422), (entry["path"], suffix, r.text)
                    if entry["support_state"] == "renderable" and entry["frame_count"] > 0:
                        assert r.status_code in (200, 422), (entry["path"], suffix, r.text)
                assert client.get(f"/api/file/{entry['index']}/tags").status_code == 200
            assert client.get("/api/health").status_code == 200
        renderable = [e for e in files if e["support_state"] == "renderable" and e["frame_count"]]
        assert seen[("/raw", 200, "")] >= len(renderable) - 2
    finally:
        handle.stop()


def test_a_file_name_that_is_not_utf8_loads_displays_and_round_trips_its_rois(
    tmp_path: Path,
) -> None:
    """Issue 12 §1: one Latin-1 name (``caf\\xe9.dcm``) must not break the file list; every path
    in a response uses the one display rule, and the exported CSV re-imported with
    ``--annotations`` gives that file its ROIs again."""
    import os

    root = os.fsencode(tmp_path)
    latin1 = os.path.join(root, b"caf\xe9.dcm")
    fresh = tmp_path / "fresh.dcm"
    write_file(fresh, 1)
    os.rename(os.fsencode(fresh), latin1)  # a real file whose name is not UTF-8
    write_file(tmp_path / "plain.dcm", 2)
    with open(os.path.join(root, b"notes\xe9.txt"), "wb") as f:
        f.write(b"not DICOM\n")
    shown = f"{tmp_path}/caf\\xe9.dcm"  # os.fsdecode, then \xNN for each byte that is not UTF-8
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rois = {"num_roi": 1, "roi_coords": [[10, 20, 30, 40]], "roi_frames": [[0, 1]]}

    config = ServerConfig(paths=(str(tmp_path),), token=TOKEN)
    with (
        ServerHandle.start(config) as handle,
        httpx.Client(base_url=handle.base_url, headers=headers, timeout=30) as client,
    ):
        handle.wait_scan()
        listing = client.get("/api/files", params={"skipped": "1"})
        assert listing.status_code == 200, listing.text
        body = listing.json()
        by_path = {f["path"]: f for f in body["files"]}
        assert set(by_path) == {shown, f"{tmp_path}/plain.dcm"}
        entry = by_path[shown]
        assert entry["label"] == "P1 · MR · 20240101"
        (skipped,) = body["skipped_files"]
        assert (skipped["path"], skipped["kind"]) == (f"{tmp_path}/notes\\xe9.txt", "not_dicom")
        assert skipped["reason"].startswith("not DICOM")
        i = entry["index"]
        assert client.get(f"/api/file/{i}/info").json()["frame_count"] == FRAMES
        png = client.get(f"/api/file/{i}/frame/0")
        assert png.status_code == 200
        assert png.content[:4] == b"\x89PNG"
        assert client.get(f"/api/file/{i}/tags").status_code == 200
        put = client.put(f"/api/file/{i}/annotations", json=rois)
        assert put.status_code == 200, put.text
        export = client.get("/api/annotations/export.csv")
        assert export.status_code == 200
        text = export.content.decode("utf-8")  # the CSV stays UTF-8 text
        assert f"{shown},1," in text
        # an error naming the path (the file vanished) is still the JSON envelope
        os.unlink(latin1)
        gone = client.get(f"/api/file/{i}/frame/3/raw")
        assert gone.status_code == 422
        assert gone.json()["code"] == "pixel_decode_failed"
        os.rename(os.fsencode(tmp_path / "plain.dcm"), latin1)  # same name, for the re-import

    csv_path = tmp_path / "export.csv"
    csv_path.write_bytes(export.content)
    again = ServerConfig(paths=(str(tmp_path),), token=TOKEN, annotations=str(csv_path))
    with (
        ServerHandle.start(again) as handle,
        httpx.Client(base_url=handle.base_url, headers=headers, timeout=30) as client,
    ):
        handle.wait_scan()
        files = client.get("/api/files").json()["files"]
        (match,) = [f for f in files if f["path"] == shown]
        got = client.get(f"/api/file/{match['index']}/annotations").json()
        assert got == rois
