"""What the browser tests share: the running viewer's handle, generated DICOM files, and page
waits, gestures and image-point maths.

The tests import it as `tests.browser._helpers` (pytest's importlib mode, like mypy run from the
repository root, makes `tests` and `tests.browser` namespace packages).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from playwright.sync_api import Locator, Page, expect
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2.1"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
MG_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.2"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

MONO16: dict[str, object] = {
    "SamplesPerPixel": 1,
    "PhotometricInterpretation": "MONOCHROME2",
    "BitsAllocated": 16,
    "BitsStored": 16,
    "HighBit": 15,
    "PixelRepresentation": 0,
}
"""Unsigned 16-bit greyscale pixels."""
MONO8: dict[str, object] = {**MONO16, "BitsAllocated": 8, "BitsStored": 8, "HighBit": 7}
"""Unsigned 8-bit greyscale pixels."""

# ---- the viewer under test ---------------------------------------------------------------------


@dataclass
class Server:
    """A running `dcmview` and what the tests need to talk to it."""

    url: str
    base: str
    token: str
    proc: subprocess.Popen[str]
    data: Path
    files: dict[str, int] = field(default_factory=dict)

    def api(self, path: str) -> httpx.Response:
        return httpx.get(
            f"{self.base}/api/{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def stop(self) -> None:
        stop_server(self.proc)

    def put_rois(self, index: int, body: dict[str, object]) -> httpx.Response:
        return httpx.put(
            f"{self.base}/api/file/{index}/annotations",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )


def stop_server(proc: subprocess.Popen[str]) -> None:
    """SIGINT the viewer's process group (SIGKILL after 10 s) and close its output."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


# ---- generated DICOM ---------------------------------------------------------------------------


def new_dataset(sop_class: str, **attrs: object) -> Dataset:
    """A dataset of `sop_class` with file meta (Explicit VR Little Endian), a fresh SOP Instance
    UID and `attrs` set by keyword."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def write_phantom(
    path: Path,
    spacing: tuple[float, float],
    patient: str = "PH1",
    rows: int = 80,
    columns: int = 96,
) -> None:
    """A CT-like frame (`spacing` = PixelSpacing [row, column] mm) with a bright square at rows
    20–59, columns 24–71, window 500/1000."""
    pixels = np.zeros((rows, columns), np.uint16)
    pixels[20:60, 24:72] = 1000
    ds = new_dataset(
        CT_IMAGE_STORAGE,
        PatientID=patient,
        StudyInstanceUID=generate_uid(),
        SeriesInstanceUID=generate_uid(),
        Modality="CT",
        PixelSpacing=list(spacing),
        WindowCenter=500,
        WindowWidth=1000,
        Rows=rows,
        Columns=columns,
        PixelData=pixels.tobytes(),
        **MONO16,
    )
    ds.save_as(path, enforce_file_format=True)


MG_WIDTH_MM, MG_HEIGHT_MM, MG_TISSUE_MM = 16.0, 20.0, 8.0
"""Every `write_mg` view: 16 × 20 mm, tissue in the 8 mm next to the chest wall."""


def write_mg(
    path: Path,
    study: str,
    date: str,
    *,
    side: str,
    view: str | None,
    wall: str | None = None,
    frames: int = 1,
    spacing: float = 0.1,
    description: str | None = None,
) -> None:
    """A 16 × 20 mm MG view of patient MG-P1 at `spacing` whose tissue fills the 8 mm next to the
    image's `wall` edge ('left'/'right'; by default left for L views, right for R views); the
    rest is air (0). With `frames` > 1 a DBT-like multi-frame file (frame f's tissue is
    1000 + f). `view` None: no ViewPosition nor ImageLaterality (known from the description
    only). A window makes tissue white."""
    rows, columns = round(MG_HEIGHT_MM / spacing), round(MG_WIDTH_MM / spacing)
    band = round(MG_TISSUE_MM / spacing)
    left = (wall or ("left" if side == "L" else "right")) == "left"
    pixels = np.zeros((frames, rows, columns), np.uint16)
    for f in range(frames):
        if left:
            pixels[f, :, :band] = 1000 + f
        else:
            pixels[f, :, columns - band :] = 1000 + f
    ds = new_dataset(
        MG_IMAGE_STORAGE,
        PatientID="MG-P1",
        StudyInstanceUID=study,
        StudyDate=date,
        SeriesInstanceUID=generate_uid(),
        SeriesDescription=description or f"{side} {view}",
        Modality="MG",
        PixelSpacing=[spacing, spacing],
        WindowCenter=500,
        WindowWidth=10,
        Rows=rows,
        Columns=columns,
        PixelData=pixels.tobytes(),
        **MONO16,
    )
    if view is not None:
        ds.ViewPosition = view
        ds.ImageLaterality = side
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.save_as(path, enforce_file_format=True)


# ---- the page ----------------------------------------------------------------------------------

TWO_FRAMES = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def wait_painted(page: Page) -> None:
    """Wait until every viewport has its frame and has painted it (the CPU worker answered for
    the newest state), with two animation frames before and after."""
    page.evaluate(TWO_FRAMES)
    page.wait_for_selector(".viewport .spinner", state="detached")
    page.wait_for_selector(".viewport[data-renderer]:not([data-painting])")
    page.evaluate(TWO_FRAMES)


def navigator_to_top(page: Page) -> None:
    """Scroll the (virtualised) Files list back to its top, where the series rows are (the list
    keeps the open file in view)."""
    page.get_by_role("tree", name="Studies").evaluate(
        "(e) => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }"
    )


def nav_open(page: Page, filter_text: str, name: str | re.Pattern[str]) -> None:
    """Click a navigator row (a file, or a series row: its stack) found through the filter box."""
    box = page.get_by_role("searchbox", name="Filter files")
    box.fill(filter_text)
    navigator_to_top(page)
    page.get_by_role("treeitem", name=name).first.click()
    box.fill("")


def open_viewer(page: Page, server: Server) -> None:
    """Open the launch URL on the WebGL2 renderer and wait for the first image's readout."""
    page.goto(f"{server.base}/?renderer=webgl#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_test_id("window-readout").first).to_be_visible()


def side_by_side(
    page: Page, left: tuple[str, str | re.Pattern[str]], right: tuple[str, str | re.Pattern[str]]
) -> tuple[Locator, Locator]:
    """The 1×2 layout: viewport 1 shows navigator row `left`, viewport 2 (left active) `right`
    (each: the filter text and the row's name, as `nav_open` takes them)."""
    nav_open(page, *left)
    one = region(page, "Viewport 1")
    expect(facts(one)).to_contain_text("Slice 1 /")
    one.locator(".viewport").focus()
    page.keyboard.press("2")
    two = region(page, "Viewport 2")
    two.locator(".viewport").click()
    nav_open(page, *right)
    return one, two


def region(page: Page, name: str) -> Locator:
    """A viewport cell by its exact label ("Viewport 2", "R CC", "Axial" …)."""
    return page.get_by_role("region", name=name, exact=True)


def facts(cell: Locator) -> Locator:
    """A cell's image facts corner ("Slice 3 / 20", the size, the transfer syntax)."""
    return cell.get_by_test_id("image-facts")


def drag(page: Page, a: tuple[float, float], b: tuple[float, float]) -> None:
    """A left-button drag from page point `a` to `b`, by way of their midpoint."""
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=3)
    page.mouse.move(*b, steps=3)
    page.mouse.up()


def centre(cell: Locator) -> tuple[float, float]:
    """The page point at the centre of a cell's viewport."""
    box = cell.locator(".viewport").bounding_box()
    assert box
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def image_point(
    vp: Locator, column: float, row: float, width: float, height: float
) -> tuple[float, float]:
    """The page point of image point (column, row) in a fitted, centred viewport whose image is
    `width` × `height` display units (height = rows × physical aspect)."""
    box = vp.bounding_box()
    assert box
    zoom = min(box["width"] / width, box["height"] / height)
    ox = box["x"] + (box["width"] - width * zoom) / 2
    oy = box["y"] + (box["height"] - height * zoom) / 2
    return ox + column * zoom, oy + row * zoom
