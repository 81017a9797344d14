"""Browser end-to-end fixtures: generated DICOM files, a real `dcmview` subprocess, and Debian's
Chromium driven by Playwright (never a downloaded browser).

Tests here skip, with the reason, on a machine without `/usr/bin/chromium` (`.ci/run` installs
it). Every page collects console errors and uncaught exceptions; a test fails if any appeared.
"""

from __future__ import annotations

import io
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pack_bits
from pydicom.uid import UID, generate_uid

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]
READY = re.compile(r"dcmview: server running at (?P<url>http://\S+)")

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402

from tests.browser._helpers import (  # noqa: E402
    BASIC_TEXT_SR,
    CT_IMAGE_STORAGE,
    ENHANCED_CT_IMAGE_STORAGE,
    MONO8,
    MONO16,
    MR_IMAGE_STORAGE,
    SC_IMAGE_STORAGE,
    Server,
    new_dataset,
    stop_server,
)


def ct_frames(frames: int, rows: int, columns: int) -> np.ndarray:
    """Stored values: a horizontal ramp 0..2000 plus a 4000 square that moves with the frame."""
    ramp = np.linspace(0, 2000, columns, dtype=np.float64)
    data = np.broadcast_to(ramp, (frames, rows, columns)).astype(np.int16).copy()
    side = max(4, rows // 8)
    for f in range(frames):
        top = (f * 7) % max(1, rows - side)
        data[f, top : top + side, 8 : 8 + side] = 4000
    return data


def write_ct(
    path: Path,
    frames: int = 12,
    rows: int = 192,
    columns: int = 256,
    patient: str = "P001",
    series: tuple[str, int, str] | None = None,
) -> np.ndarray:
    """A signed 16-bit multi-frame CT, rescale -1024, window 40/400, frame time 100 ms."""
    uid_series, number, description = series or (generate_uid(), 1, "Axial")
    ds = new_dataset(
        CT_IMAGE_STORAGE,
        PatientID=patient,
        PatientName="Test^Patient",
        StudyInstanceUID="1.2.826.0.1.3680043.10.1.1",
        StudyDate="20240101",
        StudyDescription="Chest CT",
        SeriesInstanceUID=uid_series,
        SeriesNumber=number,
        SeriesDescription=description,
        Modality="CT",
        InstanceNumber=1,
        Rows=rows,
        Columns=columns,
        NumberOfFrames=frames,
        FrameTime=100.0,
        SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME2",
        BitsAllocated=16,
        BitsStored=16,
        HighBit=15,
        PixelRepresentation=1,
        RescaleSlope=1,
        RescaleIntercept=-1024,
        WindowCenter=40,
        WindowWidth=400,
    )
    data = ct_frames(frames, rows, columns)
    ds.PixelData = data.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return data


def write_mr(path: Path, patient: str = "P002") -> np.ndarray:
    """An unsigned 8-bit single-frame MR: a checkerboard (0 and 200), no window, an overlay."""
    rows, columns = 64, 96
    yy, xx = np.mgrid[0:rows, 0:columns]
    data: np.ndarray = (((yy // 8 + xx // 8) % 2) * 200).astype(np.uint8)
    ds = new_dataset(
        MR_IMAGE_STORAGE,
        PatientID=patient,
        StudyInstanceUID=generate_uid(),
        StudyDate="20230505",
        StudyDescription="Knee MR",
        SeriesInstanceUID=generate_uid(),
        SeriesNumber=2,
        SeriesDescription="Sagittal PD",
        Modality="MR",
        Rows=rows,
        Columns=columns,
        **MONO8,
    )
    inner = Dataset()
    inner.ReferencedSOPClassUID = MR_IMAGE_STORAGE
    inner.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7"
    ds.ReferencedImageSequence = [inner]
    # a long sequence: the tag preview shows 16 items, the rest come page by page
    items = []
    for k in range(40):
        item = Dataset()
        item.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.9.{k}"
        items.append(item)
    ds.ReferencedSeriesSequence = items
    # an overlay plane (60xx): a filled rectangle, rows 20-29, columns 40-59
    plane = np.zeros((rows, columns), dtype=np.uint8)
    plane[20:30, 40:60] = 1
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", columns)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", pack_bits(plane))
    ds.PixelData = data.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return data


def dcmview_command() -> list[str]:
    exe = shutil.which("dcmview", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "dcmview_py"]


RUN_DIR = tempfile.mkdtemp(prefix="dcmview-e2e-cwd-")
"""The working directory of every viewer the tests start."""


def start_server(
    data: Path, *extra: str, token: str | None = None, wait_scan: bool = True
) -> Server:
    """Start `dcmview --no-browser --port 0 [EXTRA] DATA` and wait for its ready line (and,
    unless `wait_scan` is false, for the scan to complete)."""
    env = dict(os.environ)
    if token:
        env["DCMVIEW_TOKEN"] = token
    proc = subprocess.Popen(
        [*dcmview_command(), "--no-browser", "--port", "0", *extra, str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=env,
        cwd=RUN_DIR,  # a stop with unexported ROI edits writes its recovery CSV here
    )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    seen: list[str] = []
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = READY.search(line)
        if m:
            url = m["url"]
            base, _, frag = url.partition("/#token=")
            server = Server(url=url, base=base, token=frag, proc=proc, data=data)
            if wait_scan:
                wait_for_scan(server)
            return server
    stop_server(proc)
    raise RuntimeError("dcmview did not print its ready line:\n" + "".join(seen))


def wait_for_scan(server: Server) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = server.api("files").json()
        if body["scan_complete"]:
            server.files = {Path(f["path"]).name: f["index"] for f in body["files"]}
            return
        time.sleep(0.1)
    raise RuntimeError("the scan did not complete")


def write_mono1_and_rgb(root: Path) -> None:
    """mono1.dcm: MONOCHROME1, left half 0, right half 255. rgb.dcm: left red, right blue."""
    rows, columns = 32, 64
    common = {
        "PatientID": "P003",
        "StudyInstanceUID": "1.2.826.0.1.3680043.10.3.1",
        "StudyDate": "20220202",
        "Modality": "OT",
        "Rows": rows,
        "Columns": columns,
        "BitsAllocated": 8,
        "BitsStored": 8,
        "HighBit": 7,
        "PixelRepresentation": 0,
    }
    mono = np.zeros((rows, columns), dtype=np.uint8)
    mono[:, columns // 2 :] = 255
    ds = new_dataset(
        SC_IMAGE_STORAGE,
        SeriesInstanceUID="1.2.826.0.1.3680043.10.3.2",
        SeriesNumber=1,
        SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME1",
        WindowCenter=127.5,
        WindowWidth=256,
        **common,
    )
    ds.PixelData = mono.tobytes()
    ds.save_as(root / "mono1.dcm", enforce_file_format=True)
    rgb = np.zeros((rows, columns, 3), dtype=np.uint8)
    rgb[:, : columns // 2, 0] = 255
    rgb[:, columns // 2 :, 2] = 255
    ds = new_dataset(
        SC_IMAGE_STORAGE,
        SeriesInstanceUID="1.2.826.0.1.3680043.10.3.3",
        SeriesNumber=2,
        SamplesPerPixel=3,
        PlanarConfiguration=0,
        PhotometricInterpretation="RGB",
        **common,
    )
    ds.PixelData = rgb.tobytes()
    ds.save_as(root / "rgb.dcm", enforce_file_format=True)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ct.dcm and ct2.dcm (one series), roi.dcm (its own series), mr.dcm (another patient),
    mono1.dcm and rgb.dcm (a third patient)."""
    root = tmp_path_factory.mktemp("dicom")
    series = ("1.2.826.0.1.3680043.10.1.2", 1, "Axial")
    write_ct(root / "ct.dcm", series=series)
    write_ct(root / "ct2.dcm", series=series, frames=3)
    write_ct(root / "roi.dcm", frames=4, series=("1.2.826.0.1.3680043.10.1.3", 5, "ROI series"))
    write_mr(root / "mr.dcm")
    write_mono1_and_rgb(root)
    return root


@pytest.fixture(scope="session")
def server(dataset: Path) -> Iterator[Server]:
    s = start_server(dataset)
    yield s
    stop_server(s.proc)


@pytest.fixture
def start_dcmview() -> Iterator[Callable[..., Server]]:
    """Start a private dcmview (stopped at the end of the test if it still runs)."""
    started: list[Server] = []

    def start(data: Path, *extra: str, token: str | None = None, wait_scan: bool = True) -> Server:
        s = start_server(data, *extra, token=token, wait_scan=wait_scan)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class ConsoleErrors(list[str]):
    """Console errors and page exceptions seen by one page."""

    def record(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.append(f"console.error: {msg.text}")


@pytest.fixture
def console() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(
    browser: Browser, console: ConsoleErrors, start_dcmview: Callable[..., Server]
) -> Iterator[Page]:
    # (start_dcmview: a test's private servers stop only after its page is closed, so no poll
    # of the page meets a stopped server)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    pg = context.new_page()
    pg.on("console", console.record)
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield pg
    context.close()
    assert list(console) == [], "the viewer logged errors"


@pytest.fixture
def make_ct() -> Callable[..., np.ndarray]:
    """`write_ct`, for tests that generate their own files."""
    return write_ct


def write_tiny_series(root: Path, count: int, per_dir: int = 1000) -> None:
    """COUNT one-instance 2x2 CT files of one series, in sub-folders of PER_DIR: one template
    encoded by pydicom, its SOP Instance UID patched per file (fast for tens of thousands)."""
    uid = "1.2.826.0.1.3680043.10.9.9.1000000"
    ds = new_dataset(
        CT_IMAGE_STORAGE,
        PatientID="P900",
        PatientName="Many^Files",
        Modality="CT",
        StudyInstanceUID="1.2.826.0.1.3680043.10.9.1",
        StudyDate="20240102",
        SeriesInstanceUID="1.2.826.0.1.3680043.10.9.2",
        SeriesNumber=1,
        InstanceNumber=1,
        Rows=2,
        Columns=2,
        **MONO8,
        PixelData=bytes(range(4)),
    )
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = UID(uid)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    template = buf.getvalue()
    key = uid.encode()
    assert template.count(key) == 2
    for i in range(count):
        folder = root / f"d{i // per_dir:03d}"
        if i % per_dir == 0:
            folder.mkdir()
        data = template.replace(key, key[:-7] + b"1%06d" % i)
        (folder / f"f{i:06d}.dcm").write_bytes(data)


@pytest.fixture
def make_tiny_series() -> Callable[[Path, int], None]:
    """`write_tiny_series`, for tests that need many files."""
    return write_tiny_series


def write_enhanced(path: Path, frames: int) -> None:
    """An Enhanced CT with FRAMES 2x2 frames and one Per-Frame Functional Groups item per frame
    (Frame Content with In-Stack Position Number = frame + 1, Plane Position): a big header."""
    groups = []
    for f in range(frames):
        content = Dataset()
        content.InStackPositionNumber = f + 1
        content.FrameAcquisitionNumber = f
        plane = Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, 1.5 * f]
        item = Dataset()
        item.FrameContentSequence = [content]
        item.PlanePositionSequence = [plane]
        groups.append(item)
    ds = new_dataset(
        ENHANCED_CT_IMAGE_STORAGE,
        PatientID="P800",
        PatientName="Big^Header",
        Modality="CT",
        StudyInstanceUID="1.2.826.0.1.3680043.10.8.1",
        StudyDate="20240103",
        SeriesInstanceUID="1.2.826.0.1.3680043.10.8.2",
        SeriesNumber=1,
        InstanceNumber=1,
        Rows=2,
        Columns=2,
        NumberOfFrames=frames,
        **MONO16,
        PerFrameFunctionalGroupsSequence=groups,
    )
    ds.PixelData = np.arange(frames * 4, dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def make_enhanced() -> Callable[[Path, int], None]:
    """`write_enhanced`, for tests that need a big header."""
    return write_enhanced


def write_sr(path: Path, patient: str = "P004", series: str | None = None) -> None:
    """A Basic Text SR document: a DICOM file without pixel data."""
    ds = new_dataset(
        BASIC_TEXT_SR,
        PatientID=patient,
        StudyInstanceUID=generate_uid(),
        StudyDate="20210101",
        SeriesInstanceUID=series or generate_uid(),
        SeriesNumber=1,
        SeriesDescription="Report",
        Modality="SR",
        ValueType="CONTAINER",
        ContinuityOfContent="SEPARATE",
    )
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def make_sr() -> Callable[..., None]:
    """`write_sr`, for tests that need files without pixels."""
    return write_sr
