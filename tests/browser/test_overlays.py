"""Overlays in the viewer (issue 14): a generated CT with two bright blocks and a DICOM SEG
(written by dcmview_core's SEG writer) whose two segments are exactly those blocks. The canvas
is sampled with the overlays hidden (the image's bright pixels) and shown (the segment
colours): after zoom, flips and rotation the coloured pixels must be the bright ones, on both
renderers. Toggles, opacity, outline, the O key, the probe and the counts are checked too."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np
import pytest
from dcmview_core import seg_dataset
from numpy.typing import NDArray
from PIL import Image
from playwright.sync_api import Page, expect
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

pytestmark = pytest.mark.browser

ROWS, COLUMNS = 64, 96
LESION = (slice(8, 24), slice(8, 32))  # 16 × 24 = 384 px, red
CYST = (slice(40, 48), slice(72, 80))  # 8 × 8 = 64 px, green
SPACING = 0.5  # mm: 384 px = 96 mm²


class Server(Protocol):
    base: str
    token: str
    data: Path
    files: dict[str, int]

    def api(self, path: str) -> httpx.Response: ...


def write_study(root: Path) -> None:
    """A one-slice CT (black, with the two blocks white under its window) and its SEG."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName, ds.Modality = "P-OV", "Overlay^Test", "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20240101", 1, 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [SPACING, SPACING]
    ds.SliceThickness = 2.0
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.WindowCenter, ds.WindowWidth = 100, 200
    # a soft "body" (grey below the blocks' white) under two white blocks
    yy, xx = np.mgrid[0:ROWS, 0:COLUMNS]
    r2 = ((yy - ROWS / 2) / (ROWS * 0.48)) ** 2 + ((xx - COLUMNS / 2) / (COLUMNS * 0.48)) ** 2
    body = np.where(r2 < 1, 60 + 60 * (1 - r2) + 15 * np.sin(xx / 3.0) * np.cos(yy / 4.0), 0)
    image = body.clip(0, 150).astype(np.uint16)
    image[LESION] = 1000
    image[CYST] = 1000
    ds.PixelData = image.tobytes()
    ds.save_as(root / "a_ct.dcm", enforce_file_format=True)
    masks = np.zeros((1, ROWS, COLUMNS, 2), bool)
    masks[0][(*LESION, 0)] = True
    masks[0][(*CYST, 1)] = True
    seg = seg_dataset(
        [ds],
        masks,
        ["Lesion", "Cyst"],
        colors=[(255, 0, 0), (0, 255, 0)],
        series_description="Truth",
    )
    seg.save_as(root / "b_seg.dcm", enforce_file_format=True)


def open_viewer(page: Page, server: Server, renderer: str) -> None:
    page.goto(f"{server.base}/?renderer={renderer}#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_role("region", name="Overlays")).to_be_visible()
    expect(page.get_by_test_id("window-readout")).to_be_visible()
    page.wait_for_selector(".viewport .spinner", state="detached")
    settle(page)


def settle(page: Page) -> None:
    """Two animation frames, then until the CPU worker (if any) has painted the newest state."""
    page.wait_for_timeout(150)
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_selector(".viewport[data-renderer]:not([data-painting])")


def canvas(page: Page) -> NDArray[np.int16]:
    png = page.locator(".viewport canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def masks(rgb: NDArray[np.int16]) -> dict[str, NDArray[np.bool_]]:
    """White (the blocks; also the corner texts, the same in both shots), red, green."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return {
        "white": (r > 200) & (g > 200) & (b > 200),
        "red": (r > 200) & (g < 60) & (b < 60),
        "green": (g > 200) & (r < 60) & (b < 60),
    }


def check_registration(page: Page, *, whole: bool = True) -> None:
    """With overlays off the blocks are white; with them on (opacity 100 %) exactly those
    pixels are red (the large block) and green (the small one; `whole`: both fully on screen)."""
    page.locator(".viewport").focus()
    page.keyboard.press("o")
    settle(page)
    off = masks(canvas(page))
    page.keyboard.press("o")
    settle(page)
    on = masks(canvas(page))
    assert not off["red"].any() and not off["green"].any()  # noqa: PT018
    bright = off["white"]
    coloured = on["red"] | on["green"]
    assert bright.sum() > 400, bright.sum()
    # the same screen pixels, up to a one-pixel seam at the block edges
    overlap = (bright & coloured).sum() / max(1, (bright | coloured).sum())
    assert overlap > 0.97, overlap
    if whole:
        ratio = on["red"].sum() / max(1, on["green"].sum())
        assert 5.0 < ratio < 7.2, ratio  # 384 px vs 64 px: red is on the lesion block


def set_opacity(page: Page, value: float) -> None:
    page.get_by_role("slider", name="Opacity").fill(str(value))
    settle(page)


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_overlay_pixels_follow_zoom_flip_rotation_and_toggles(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path, renderer: str
) -> None:
    write_study(tmp_path)
    server = start_dcmview(tmp_path)
    overlays = server.api("overlays").json()["overlays"]
    assert [o["label"] for o in overlays] == ["Truth"]
    assert overlays[0]["targets"] == [{"file": server.files["a_ct.dcm"], "frames": [0]}]
    open_viewer(page, server, renderer)
    assert page.locator(".viewport").get_attribute("data-renderer") == (
        "webgl2" if renderer == "webgl" else "cpu"
    )
    panel = page.get_by_role("region", name="Overlays")
    expect(panel.get_by_role("checkbox", name="Show Truth")).to_be_checked()
    expect(panel.get_by_role("checkbox", name="Show Lesion")).to_be_checked()
    expect(panel.get_by_test_id("segment-counts").first).to_have_text(
        "frame 384 px (96 mm²) · all 384 px · 96 mm² · 0.19 mL"
    )
    expect(panel.get_by_test_id("segment-counts").nth(1)).to_contain_text("frame 64 px (16 mm²)")
    shots = os.environ.get("DCMVIEW_SCREENSHOTS")
    if renderer == "webgl" and shots:  # the README picture (docs/overlays.png)
        set_opacity(page, 0.6)
        page.screenshot(path=str(Path(shots) / "overlays.png"))
    set_opacity(page, 1)
    check_registration(page)

    viewport = page.locator(".viewport")
    viewport.focus()
    page.keyboard.press("h")
    check_registration(page)
    page.keyboard.press(".")
    check_registration(page)
    page.keyboard.press("v")
    check_registration(page)
    box = viewport.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    settle(page)
    check_registration(page, whole=False)

    # the probe names the segment under the pointer (the red block's centre on screen)
    rgb = canvas(page)
    ys, xs = np.nonzero(masks(rgb)["red"])
    cbox = page.locator(".viewport canvas").bounding_box()
    assert cbox is not None
    page.mouse.move(cbox["x"] + float(xs.mean()), cbox["y"] + float(ys.mean()))
    probe = page.get_by_test_id("probe")
    expect(probe).to_contain_text(re.compile(r"stored 1000 · modality 1000 · Lesion$"))

    # a segment toggle hides only that segment; the overlay toggle hides all of it
    panel.get_by_role("checkbox", name="Show Cyst").uncheck()
    settle(page)
    m = masks(canvas(page))
    assert m["red"].sum() > 300 and not m["green"].any()  # noqa: PT018
    panel.get_by_role("checkbox", name="Show Cyst").check()
    panel.get_by_role("checkbox", name="Show Truth").uncheck()
    settle(page)
    m = masks(canvas(page))
    assert not m["red"].any() and not m["green"].any()  # noqa: PT018
    panel.get_by_role("checkbox", name="Show Truth").check()

    # opacity 50 %: white under red is (255, 128, 128)
    set_opacity(page, 0.5)
    rgb = canvas(page)
    px = rgb[int(ys.mean()), int(xs.mean())]
    assert np.abs(px - np.array([255, 128, 128])).max() <= 4, px

    # outline: only the border of each block is coloured, its inside shows the image
    set_opacity(page, 1)
    filled = masks(canvas(page))["red"].sum()
    panel.get_by_role("checkbox", name="Outline").check()
    settle(page)
    m = masks(canvas(page))
    assert 0 < m["red"].sum() < filled * 0.6, (m["red"].sum(), filled)
    assert m["white"][int(ys.mean()), int(xs.mean())]


SLICES, S_ROWS, S_COLS = 12, 48, 64
BOX = (slice(3, 11), slice(10, 30), slice(20, 50))  # slices × rows × columns


def write_series_with_seg(root: Path) -> None:
    """An axial series of single-frame CTs (white box on black) and a SEG of exactly the box."""
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    volume = np.zeros((SLICES, S_ROWS, S_COLS), np.uint16)
    volume[BOX] = 1000
    sources: list[Dataset] = []
    for k in range(SLICES):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2")
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.PatientID, ds.Modality, ds.StudyDate = "P-MPR", "CT", "20240101"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
            study,
            series,
            frame_of_reference,
        )
        ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = 2, k + 1, "Box"
        ds.ImagePositionPatient = [0.0, 0.0, 2.0 * k]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 2.0
        ds.Rows, ds.Columns = S_ROWS, S_COLS
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.WindowCenter, ds.WindowWidth = 100, 200
        ds.PixelData = volume[k].tobytes()
        ds.save_as(root / f"slice_{k:02d}.dcm", enforce_file_format=True)
        sources.append(ds)
    seg = seg_dataset(
        sources, (volume > 0)[..., None], ["Box"], colors=[(255, 0, 0)], series_description="BoxSeg"
    )
    seg.save_as(root / "z_seg.dcm", enforce_file_format=True)


def test_overlays_show_on_the_three_mpr_planes(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_series_with_seg(tmp_path)
    server = start_dcmview(tmp_path)
    page.goto(f"{server.base}/?renderer=webgl#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_role("region", name="Overlays")).to_be_visible()
    row = page.get_by_role("treeitem", name=re.compile(r"^Box, 12 slices$"))
    row.click()
    expect(page.get_by_test_id("frame-counter")).to_have_text("1 / 12")
    page.get_by_role("slider", name="Frame").fill("6")  # slice 7: through the box
    page.locator(".viewport").first.focus()
    page.keyboard.press("m")
    regions = [page.get_by_role("region", name=n) for n in ("Axial", "Coronal", "Sagittal")]
    for r in regions:
        expect(r.get_by_test_id("viewport-message")).to_have_count(0)
    set_opacity(page, 1)
    page.wait_for_selector(".viewport .spinner", state="detached")
    settle(page)

    def shots() -> list[NDArray[np.int16]]:
        out = []
        for r in regions:
            png = r.locator(".viewport canvas").screenshot()
            out.append(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16))
        return out

    # a reformat plane's overlay is built once every slice's label map has arrived
    for _ in range(50):
        on = shots()
        if all(masks(a)["red"].sum() > 300 for a in on):
            break
        page.wait_for_timeout(100)
    page.keyboard.press("o")
    settle(page)
    off = shots()
    for name, a, b in zip(("Axial", "Coronal", "Sagittal"), on, off, strict=True):
        changed = np.abs(a - b).max(axis=2) > 60
        bright = masks(b)["white"]
        assert masks(a)["red"].sum() > 300, name
        overlap = (changed & bright).sum() / max(1, (changed | bright).sum())
        assert overlap > 0.9, (name, overlap)
