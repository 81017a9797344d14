"""Masking, the annotations CSV, the progressive registry, shared decodes and prefetch."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dcmview_core.discovery import scan
from dcmview_core.errors import PixelError
from dcmview_core.model import FileEntry

from dcmview_server import ServerConfig
from dcmview_server.frames import FrameService
from dcmview_server.inflight import SharedWork
from dcmview_server.keys import DisplayKey, png_key
from dcmview_server.registry import SkippedFile
from dcmview_server.serialize import files_body
from dcmview_server.state import AppState

MF, SINGLE, RGB, NOPIX, BROKEN, CT_SMALL = range(6)
IDENTIFIERS = [
    "Doe^John",
    "Doe_John_12345",
    "PAT123",
    "PAT456",
    "General Hospital",
    "STATION7",
    "secret private value",
    "1.2.826.0.1.3680043.8.498.1",
    "19700101",
    "20240101",
]


def entries(study: Path) -> list[FileEntry]:
    return [e for e in scan([str(study)]) if isinstance(e, FileEntry)]


def test_mask_hides_identifiers_everywhere(make_server: Any, study: Path) -> None:
    srv = make_server((str(study),), mask=True)
    assert srv.get("/api/health").json()["masked"] is True
    files = srv.get("/api/files")
    body = files.json()
    for needle in IDENTIFIERS:
        assert needle not in files.text, needle
    mf = body["files"][MF]
    assert mf["path"] == "series/a_multiframe.dcm"
    assert mf["patient_id"].startswith("ANON-")
    assert mf["label"] == f"{mf['patient_id']} · MR · {mf['study_date']}"
    # consistent pseudonyms: same patient, same study → same values
    rgb = body["files"][RGB]
    assert rgb["patient_id"] == mf["patient_id"]
    assert rgb["study_instance_uid"] == mf["study_instance_uid"]
    assert mf["study_instance_uid"].startswith("2.25.")
    assert body["files"][SINGLE]["patient_id"] != mf["patient_id"]
    tags = srv.get(f"/api/file/{MF}/tags")
    for needle in IDENTIFIERS:
        assert needle not in tags.text, needle
    by_tag = {n["tag"]: n for n in tags.json()}
    assert by_tag["(0010,0020)"]["value"]["value"] == mf["patient_id"]
    assert by_tag["(0020,000D)"]["value"]["value"] == mf["study_instance_uid"]
    assert by_tag["(0008,0020)"]["value"]["value"] == mf["study_date"]
    selected = srv.get(f"/api/file/{MF}/tags/select", params={"path": "(0010,0010)"})
    assert "Doe" not in selected.text
    put = srv.client.put(
        f"/api/file/{MF}/annotations",
        json={"num_roi": 1, "roi_coords": [[1, 2, 3, 4]], "roi_frames": [[0]]},
    )
    assert put.status_code == 200
    export = srv.get("/api/annotations/export.csv").text
    assert export.splitlines()[1].startswith("series/a_multiframe.dcm,1,")
    assert "Doe_John" not in export


def _csv(path: Path, study: Path) -> Path:
    series = study / "series"
    path.write_text(
        "anon_dicom_path,num_ROI,ROI_coords,ROI_frames,extra\n"
        f'{series / "a_multiframe.dcm"},1,"[[5,6,15,16]]","[[0,2]]",x\n'
        f'{series / "b_single.dcm"},1,"[[1,1,2,2]]","[[4]]",y\n'
        f'{series / "absent.dcm"},1,"[[1,1,2,2]]","[[0]]",z\n'
        f'{series / "c_rgb.dcm"},2,"[[1,1,2,2]]","[[0]]",w\n'
    )
    return path


def test_annotations_csv_loads_and_reports_rows(
    make_server: Any, study: Path, tmp_path: Path
) -> None:
    csv = _csv(tmp_path / "rois.csv", study)
    before = csv.read_bytes()
    srv = make_server((str(study),), annotations=str(csv))
    summary = srv.handle.wait_scan()
    messages = "\n".join(summary.annotation_messages)
    assert "line 3" in messages  # frame 4 of a 1-frame file
    assert "line 5" in messages  # num_ROI 2 for one box
    assert "1 row(s) name files that were not loaded" in messages
    assert srv.get(f"/api/file/{MF}/annotations").json() == {
        "num_roi": 1,
        "roi_coords": [[5, 6, 15, 16]],
        "roi_frames": [[0, 2]],
    }
    assert srv.get(f"/api/file/{SINGLE}/annotations").json()["num_roi"] == 0
    assert csv.read_bytes() == before  # never modified
    exported = srv.get("/api/annotations/export.csv").text
    assert exported.count("\n") == 2


def test_late_csv_match_never_overwrites_a_user_edit(study: Path, tmp_path: Path) -> None:
    csv = _csv(tmp_path / "rois.csv", study)
    state = AppState.build(ServerConfig(paths=(str(study),), annotations=str(csv)))
    try:
        found = entries(study)
        mf = found[MF]
        edit = {"num_roi": 1, "roi_coords": [[1, 1, 9, 9]], "roi_frames": [[]]}
        state.annotations.replace(mf, edit)  # the user edits before the scan reaches the file
        for entry in found:
            state.registry.add(entry)
        assert state.annotations.get(mf).to_json()["roi_coords"] == [[1, 1, 9, 9]]
    finally:
        state.close()


def test_progressive_files_and_since(study: Path) -> None:
    state = AppState.build(ServerConfig(paths=(str(study),)))
    try:
        found = entries(study)
        for entry in found[:2]:
            state.registry.add(entry)
        early = json.loads(files_body(state, 0))
        assert early["scan_complete"] is False
        assert early["scanned"] == 2
        assert [f["index"] for f in early["files"]] == [0, 1]
        for entry in found[2:]:
            state.registry.add(entry)
        state.registry.add_skipped(SkippedFile("/s/notes.txt", "not_dicom", "not DICOM"))
        state.registry.mark_complete()
        later = json.loads(files_body(state, 2))
        assert later["scan_complete"] is True
        assert [f["index"] for f in later["files"]] == [2, 3, 4, 5]
        assert (later["scanned"], later["skipped"]) == (6, 1)
    finally:
        state.close()


def test_concurrent_requests_share_one_computation() -> None:
    calls = []
    gate = threading.Event()

    def slow() -> int:
        calls.append(1)
        gate.wait(2)
        return 42

    async def main() -> list[int]:
        work = SharedWork(ThreadPoolExecutor(2))
        tasks = [asyncio.create_task(work.run("k", slow)) for _ in range(8)]
        await asyncio.sleep(0.05)
        assert work.is_running("k")
        gate.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [42] * 8
    assert len(calls) == 1


def test_same_frame_decoded_once_and_sequential_prefetch(study: Path) -> None:
    mf = entries(study)[MF]
    pool = ThreadPoolExecutor(2)

    async def main() -> FrameService:
        service = FrameService(pool, 64 * 2**20, 2, inline=False)  # every read in the pool
        results = await asyncio.gather(*[service.raw(mf, 0) for _ in range(6)])
        assert len({bytes(body) for body, _ in results}) == 1
        assert sum(1 for _, h in results if h["X-Cache"] == "MISS") == 6
        assert service.cache.stats().entries == 1  # one decode, one cache entry
        # sequential access (0 → 1) prefetches 2, 3, … in the direction of travel
        await service.raw(mf, 1)
        for _ in range(100):
            if service.frames.get((mf.index, 5)) is not None:
                break
            await asyncio.sleep(0.02)
        assert service.frames.get((mf.index, 5)) is not None
        _, headers = await service.raw(mf, 2)
        assert headers["X-Cache"] == "HIT"
        # several clients: a request just behind the front is not a jump
        await service.raw(mf, 1)
        assert service.prefetch.cursors[mf.index].front == 2
        # a jump cancels pending prefetch (nothing scheduled stays behind)
        await service.raw(mf, 5)
        await service.raw(mf, 0)
        await asyncio.sleep(0.05)
        assert not any(service.prefetch.tasks.get(mf.index, {}).values())
        return service

    service = asyncio.run(main())
    assert service.prefetch.prefetched >= 3
    pool.shutdown()


class CountingPool(ThreadPoolExecutor):
    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_small_native_frames_are_read_and_encoded_on_the_loop(study: Path) -> None:
    """A request's small native frame is read and encoded (PNG, thumbnail) without the pool
    (read_frame_inline), with the same bytes as through it; a compressed frame still goes to
    the pool."""
    found = entries(study)
    single, ct, broken = found[SINGLE], found[CT_SMALL], found[BROKEN]
    pool = CountingPool(2)
    display = DisplayKey(None, None, "default")

    async def main() -> None:
        service = FrameService(pool, 64 * 2**20, 2)
        results = await asyncio.gather(*[service.raw(single, 0) for _ in range(4)])
        assert [h["X-Cache"] for _, h in results] == ["MISS", "HIT", "HIT", "HIT"]
        png, _ = await service.display(ct, 0, display)
        assert png.startswith(b"\x89PNG")
        thumbnail = await service.thumbnail(single, 0, 64)
        assert thumbnail.startswith(b"\xff\xd8")
        assert pool.submitted == 0
        reference = FrameService(pool, 64 * 2**20, 2, inline=False)
        assert (await reference.display(ct, 0, display))[0] == png
        body, _ = await reference.raw(single, 0)
        assert bytes(body) == bytes(results[0][0])
        assert await reference.thumbnail(single, 0, 64) == thumbnail
        assert pool.submitted == 4  # the reference's decodes, its PNG and its thumbnail
        with pytest.raises(PixelError):
            await service.raw(broken, 0)  # JPEG 2000: decoded in the pool
        assert pool.submitted == 5

    asyncio.run(main())
    pool.shutdown()


def test_prefetch_is_bounded_by_the_budget(study: Path) -> None:
    mf = entries(study)[MF]
    frame_bytes = mf.rows * mf.columns * 2 + 256
    pool = ThreadPoolExecutor(2)

    async def main(budget: int) -> int:
        service = FrameService(pool, budget, 2)
        for index in range(mf.frame_count):  # a sweep
            await service.raw(mf, index)
            await asyncio.sleep(0.05)
            # what is being viewed is never evicted by prefetch (checked without touching it)
            assert (mf.index, index) in service.frames
            assert service.cache.stats().used_bytes <= budget
        return service.prefetch.prefetched

    # a quarter of 12 frames holds 3: the viewed one and 2 prefetched
    assert 1 <= asyncio.run(main(12 * frame_bytes)) <= mf.frame_count
    assert asyncio.run(main(4 * frame_bytes)) == 0  # no room beside the viewed frame
    pool.shutdown()


@pytest.mark.parametrize("budget", [0, 1])
def test_tiny_budget_still_serves(study: Path, budget: int) -> None:
    mf = entries(study)[MF]
    pool = ThreadPoolExecutor(1)

    async def main() -> None:
        service = FrameService(pool, budget, 1)
        for index in range(3):
            body, headers = await service.raw(mf, index)
            assert len(body) == mf.rows * mf.columns * 2
            assert headers["X-Cache"] == "MISS"

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 5
    pool.shutdown()


def test_png_prefetch_is_adopted_by_the_request_that_waits_for_it(study: Path) -> None:
    """A request for a frame whose PNG is being prefetched takes that work over, and the freed
    prefetch slot starts the next frame at once (a single client keeps every core busy)."""
    import io

    import numpy as np
    from dcmview_core.frames import read_frame
    from dcmview_core.present import render_display
    from PIL import Image

    mf = entries(study)[MF]
    pool = ThreadPoolExecutor(2)
    gate = threading.Event()
    kind = DisplayKey(None, None, "default")

    async def main() -> FrameService:
        service = FrameService(pool, 64 * 2**20, 2, inline=False)  # the pool path under test
        await service.display(mf, 0, kind)
        blockers = [asyncio.get_running_loop().run_in_executor(pool, gate.wait, 5) for _ in "ab"]
        first = asyncio.create_task(service.display(mf, 1, kind))
        for _ in range(100):
            if (mf.index, 2, kind) in service.prefetch.holders:
                break
            await asyncio.sleep(0.01)
        slots = service.prefetch.slots()
        assert (mf.index, 2, kind) in service.prefetch.holders
        assert slots.used == 1
        assert (mf.index, 3, kind) not in service.prefetch.holders
        second = asyncio.create_task(service.display(mf, 2, kind))
        for _ in range(100):
            if (mf.index, 3, kind) in service.prefetch.holders:
                break
            await asyncio.sleep(0.01)
        assert service.prefetch.adopted == 1
        assert (mf.index, 3, kind) in service.prefetch.holders
        assert slots.used == 1
        gate.set()
        await asyncio.gather(*blockers)
        body, _headers = await second
        await first
        expected = render_display(read_frame(mf, 2)).image
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), expected)
        # a jump cancels what has not started; the viewed PNG stays cached
        await service.display(mf, 5, kind)
        await asyncio.sleep(0.1)
        # frame 3's PNG was already in the pool: it finishes (and is stored on this loop)
        # although its task was cancelled; wait for that rather than for a fixed time
        for _ in range(1000):
            if png_key(mf.index, 3, kind) in service.encoded:
                break
            await asyncio.sleep(0.01)
        assert not any(service.prefetch.tasks.get(mf.index, {}).values())
        assert png_key(mf.index, 5, kind) in service.encoded
        assert slots.used == 0
        assert not service.prefetch.holders
        return service

    service = asyncio.run(main())
    # the prefetch of frame 3 finished (and was kept) although the jump cancelled its task
    assert png_key(mf.index, 3, kind) in service.encoded
    pool.shutdown()


def test_prefetch_slots_hand_over_when_a_waiter_is_cancelled() -> None:
    from dcmview_server.prefetch import Slots

    async def main() -> None:
        slots = Slots(1)
        held = await slots.acquire()
        first = asyncio.create_task(slots.acquire())
        second = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        held.release()  # wakes the first waiter ...
        first.cancel()  # ... which is cancelled before it runs: the second must get the slot
        slot = await asyncio.wait_for(second, 1)
        assert first.cancelled()
        assert slots.used == 1
        slot.release()
        slot.release()  # idempotent
        held.release()
        assert slots.used == 0

    asyncio.run(main())


def test_prefetch_slots_are_first_come_first_served() -> None:
    from dcmview_server.prefetch import Slots

    async def main() -> None:
        slots = Slots(1)
        held = await slots.acquire()
        near = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        late = asyncio.create_task(slots.acquire())  # runs before the woken waiter ...
        held.release()  # ... but the slot goes to the waiting (nearer) prefetch
        slot = await asyncio.wait_for(near, 1)
        await asyncio.sleep(0.01)
        assert not late.done()
        assert slots.used == 1
        slot.release()
        (await asyncio.wait_for(late, 1)).release()
        assert slots.used == 0

    asyncio.run(main())


def test_the_tag_preview_is_computed_once_per_file(study: Path) -> None:
    """The preview is cached in the byte budget: a second request does not re-read the file."""
    ct = entries(study)[5]
    pool = ThreadPoolExecutor(1)

    async def main() -> None:
        service = FrameService(pool, 8 * 2**20, 1)
        first = await service.tags(ct)
        assert ("tags", ct.index) in service.encoded
        assert await service.tags(ct) is first

    asyncio.run(main())
    pool.shutdown()


def test_files_carry_the_frame_of_reference_masked_like_the_other_uids(
    make_server: Any, study: Path
) -> None:
    from pydicom import dcmread

    entry = entries(study)[CT_SMALL]
    truth = str(dcmread(entry.path, stop_before_pixels=True).FrameOfReferenceUID)
    plain = make_server((str(study),)).get("/api/files").json()["files"][CT_SMALL]
    assert plain["frame_of_reference_uid"] == truth
    masked = make_server((str(study),), mask=True).get("/api/files")
    shown = masked.json()["files"][CT_SMALL]["frame_of_reference_uid"]
    assert shown.startswith("2.25.")
    assert shown != truth
    assert truth not in masked.text
