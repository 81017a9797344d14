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

import numpy as np
import pytest
from dcmview_core import seg_dataset
from numpy.typing import NDArray
from PIL import Image
from playwright.sync_api import Page, expect
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from tests.browser._helpers import CT_IMAGE_STORAGE, MONO16, Server, new_dataset

pytestmark = pytest.mark.browser

ROWS, COLUMNS = 64, 96
LESION = (slice(8, 24), slice(8, 32))  # 16 × 24 = 384 px, red
CYST = (slice(40, 48), slice(72, 80))  # 8 × 8 = 64 px, green
SPACING = 0.5  # mm: 384 px = 96 mm²


def write_study(root: Path) -> None:
    """A one-slice CT (black, with the two blocks white under its window) and its SEG."""
    ds = new_dataset(CT_IMAGE_STORAGE, **MONO16)
    ds.PatientID, ds.PatientName, ds.Modality = "P-OV", "Overlay^Test", "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20240101", 1, 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [SPACING, SPACING]
    ds.SliceThickness = 2.0
    ds.Rows, ds.Columns = ROWS, COLUMNS
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
        ds = new_dataset(CT_IMAGE_STORAGE, **MONO16)
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


# ---- every source on one image: RT square, numpy mask, fractional SEG, overlapping SEG ----------

G_ROWS, G_COLS = 64, 96
SQUARE = (slice(10, 20), slice(10, 20))  # the contour's corners on pixel centres (10,10)-(20,20)
RAMP = (slice(8, 28), slice(34, 92))  # fractional: value rises along the columns
ORGAN = (slice(34, 56), slice(36, 67))  # binary SEG segment 1
LESION_2 = (slice(44, 61), slice(58, 91))  # binary SEG segment 2, over the organ's right edge


def _source_ct(root: Path) -> Dataset:
    """One uniform CT slice (mid grey under its window), with highdicom's required attributes."""
    ds = new_dataset(CT_IMAGE_STORAGE, **MONO16)
    ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = "P-G", "G^G", "", "O"
    ds.StudyID, ds.AccessionNumber, ds.StudyDate, ds.StudyTime = "1", "A1", "20240101", "120000"
    ds.ReferringPhysicianName, ds.Modality = "", "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 1.0
    ds.Rows, ds.Columns = G_ROWS, G_COLS
    ds.WindowCenter, ds.WindowWidth = 100, 200
    ds.PixelData = np.full((G_ROWS, G_COLS), 100, np.uint16).tobytes()
    ds.save_as(root / "a_ct.dcm", enforce_file_format=True)
    return ds


def _rtstruct_square(path: Path, ct: Dataset) -> None:
    """An RT Structure Set: ROI 'Square', one closed contour with corners on pixel centres."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.481.3")
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = ct.StudyInstanceUID, generate_uid()
    ds.PatientID, ds.Modality, ds.StructureSetLabel = ct.PatientID, "RTSTRUCT", "Plan"
    roi = Dataset()
    roi.ROINumber, roi.ROIName = 1, "Square"
    roi.ReferencedFrameOfReferenceUID = ct.FrameOfReferenceUID
    ds.StructureSetROISequence = [roi]
    image = Dataset()
    image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID = ct.SOPClassUID, ct.SOPInstanceUID
    contour = Dataset()
    contour.ContourImageSequence = [image]
    contour.ContourGeometricType = "CLOSED_PLANAR"
    corners = [(10, 10), (20, 10), (20, 20), (10, 20)]  # (x, y) mm = (column, row): spacing 1
    contour.ContourData = [float(v) for x, y in corners for v in (x, y, 0.0)]
    contour.NumberOfContourPoints = 4
    item = Dataset()
    item.ReferencedROINumber = 1
    item.ROIDisplayColor = [255, 0, 255]
    item.ContourSequence = [contour]
    ds.ROIContourSequence = [item]
    ds.save_as(path, enforce_file_format=True)


def _fractional_seg(path: Path, ct: Dataset) -> NDArray[np.uint8]:
    """A FRACTIONAL SEG (highdicom) of one segment: a ramp; returns its stored values (0–255)
    as highdicom reads them back."""
    stored = np.zeros((G_ROWS, G_COLS), np.uint8)
    columns = np.arange(RAMP[1].start, RAMP[1].stop)
    stored[RAMP] = np.rint(255 * (columns - 33) / (RAMP[1].stop - 33)).astype(np.uint8)
    return _fractional_segments(path, ct, {"Probability": stored}, "Model")[0]


def _fractional_segments(
    path: Path, ct: Dataset, segments: dict[str, NDArray[np.uint8]], description: str
) -> list[NDArray[np.uint8]]:
    """A FRACTIONAL SEG (highdicom) on ``ct``: segment k + 1 is the k-th of ``segments`` (stored
    values 0–255); returns each one's stored values as highdicom reads them back."""
    import highdicom as hd

    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=k + 1,
            segment_label=label,
            segmented_property_category=hd.sr.CodedConcept(
                "91723000", "SCT", "Anatomical Structure"
            ),
            segmented_property_type=hd.sr.CodedConcept("39607008", "SCT", "Lung"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=hd.AlgorithmIdentificationSequence(
                name="net", version="1", family=hd.sr.CodedConcept("123109", "DCM", "AI")
            ),
        )
        for k, label in enumerate(segments)
    ]
    pixels = np.stack([v.astype(np.float32) / 255.0 for v in segments.values()], axis=-1)
    seg = hd.seg.Segmentation(
        source_images=[ct],
        pixel_array=pixels[None],
        segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=20,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="dcmview tests",
        manufacturer_model_name="tests",
        software_versions="1",
        device_serial_number="1",
        series_description=description,
    )
    seg.save_as(path)
    back = hd.seg.segread(path).get_pixels_by_source_instance(
        [ct.SOPInstanceUID], combine_segments=False, rescale_fractional=False
    )[0]
    return [back[:, :, k].astype(np.uint8) for k in range(len(segments))]


def write_all_sources(root: Path) -> dict[str, NDArray[np.floating]]:
    """The study in ``root/study`` and ``root/mask.npy``; the coverage (0–1) of each layer, in
    the stack order of ``/api/overlays`` (mask.npy first, then the files by name)."""
    study = root / "study"
    study.mkdir()
    ct = _source_ct(study)
    _rtstruct_square(study / "b_rt.dcm", ct)
    stored = _fractional_seg(study / "c_fraction.dcm", ct)
    two = np.zeros((1, G_ROWS, G_COLS, 2), bool)
    two[0][(*ORGAN, 0)] = True
    two[0][(*LESION_2, 1)] = True
    seg_dataset(
        [ct], two, ["Organ", "Lesion"], colors=[(0, 255, 0), (0, 0, 255)], series_description="Two"
    ).save_as(study / "d_two.dcm", enforce_file_format=True)
    yy, xx = np.mgrid[0:G_ROWS, 0:G_COLS]
    disk = (yy - 45) ** 2 + (xx - 18) ** 2 <= 64
    np.save(root / "mask.npy", disk)
    square = np.zeros((G_ROWS, G_COLS))
    square[SQUARE] = 1
    return {
        "mask": disk.astype(float),
        "Square": square,
        "Probability": stored / 255.0,
        "Organ": two[0, :, :, 0].astype(float),
        "Lesion": two[0, :, :, 1].astype(float),
    }


def expected_screen(
    base: NDArray[np.floating],
    layers: list[tuple[NDArray[np.floating], tuple[int, int, int]]],
    opacity: float,
) -> NDArray[np.floating]:
    """The contract's blend, computed here: the layers stacked (each over the ones below with its
    coverage), then mixed on the image at opacity × the stack's coverage."""
    pre = np.zeros((*base.shape[:2], 3))
    cover = np.zeros(base.shape[:2])
    for a, colour in layers:
        pre = a[..., None] * np.array(colour, float) + (1 - a[..., None]) * pre
        cover = a + (1 - a) * cover
    straight = np.divide(pre, cover[..., None], out=np.zeros_like(pre), where=cover[..., None] > 0)
    k = opacity * cover[..., None]
    out: NDArray[np.floating] = base + (straight - base) * k
    return out


def pixel_centres(
    off: NDArray[np.int16], flipped: bool = False
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Screen (y, x) of every image pixel centre, from where the uniform grey image lies
    (``flipped``: mirrored left-right)."""
    grey = np.all((off > 100) & (off < 160), axis=2)
    cols = np.nonzero(grey.mean(axis=0) > 0.3)[0]
    rows = np.nonzero(grey.mean(axis=1) > 0.3)[0]
    left, right, top, bottom = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    assert abs((right - left) / (bottom - top) - G_COLS / G_ROWS) < 0.03
    sx, sy = (right - left) / G_COLS, (bottom - top) / G_ROWS
    assert sx > 4, sx  # several screen pixels per image pixel: a centre is unambiguous
    ys = np.floor(top + (np.arange(G_ROWS) + 0.5) * sy).astype(np.intp)
    columns = np.arange(G_COLS)[::-1] if flipped else np.arange(G_COLS)
    xs = np.floor(left + (columns + 0.5) * sx).astype(np.intp)
    return ys, xs


def check_screen(
    page: Page,
    layers: list[tuple[NDArray[np.floating], tuple[int, int, int]]],
    opacity: float,
    flipped: bool = False,
) -> None:
    """Every image pixel centre on screen is the blend of the image and the shown layers."""
    page.locator(".viewport").focus()
    page.keyboard.press("o")
    settle(page)
    off = canvas(page)
    page.keyboard.press("o")
    settle(page)
    on = canvas(page)
    ys, xs = pixel_centres(off, flipped)
    base = off[np.ix_(ys, xs)].astype(float)
    got = on[np.ix_(ys, xs)].astype(float)
    plain = np.all(np.abs(base - np.median(base, axis=(0, 1))) <= 2, axis=2)  # not under a text
    assert plain.mean() > 0.95, plain.mean()
    want = expected_screen(base, layers, opacity)
    error = np.abs(got - want).max(axis=2)
    bad = np.argwhere(plain & (error > 3))
    assert not len(bad), [(int(r), int(c), got[r, c], want[r, c]) for r, c in bad[:8]]


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_rtstruct_npy_fractional_and_overlapping_segments_land_on_their_pixels(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path, renderer: str
) -> None:
    cover = write_all_sources(tmp_path)
    server = start_dcmview(tmp_path / "study", "--overlay", str(tmp_path / "mask.npy"))
    overlays = server.api("overlays").json()["overlays"]
    assert [o["label"] for o in overlays][:1] == ["mask"]
    assert sorted(o["kind"] for o in overlays) == [
        "contours",
        "mask",
        "segmentation",
        "segmentation",
    ]
    assert all(
        o["targets"] == [{"file": server.files["a_ct.dcm"], "frames": [0]}] for o in overlays
    )
    assert [o["label"] for o in overlays if o["fractional"]] == ["Model"]
    colours = {s["label"]: tuple(s["color"]) for o in overlays for s in o["segments"]}
    colours["mask"] = tuple(overlays[0]["segments"][0]["color"])
    by_id = {o["label"]: o["id"] for o in overlays}
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_viewer(page, server, renderer)
    # the stack: overlays as listed, each one's segments by number
    order = [
        "mask" if o["kind"] == "mask" else s["label"]
        for o in overlays
        for s in sorted(o["segments"], key=lambda s: s["number"])
    ]
    assert sorted(order) == sorted(cover)

    def shown(*hidden: str) -> list[tuple[NDArray[np.floating], tuple[int, int, int]]]:
        return [(cover[n], colours[n]) for n in order if n not in hidden]

    set_opacity(page, 1)
    check_screen(page, shown(), 1.0)
    page.keyboard.press("h")  # mirrored, the layers stay on their image pixels
    check_screen(page, shown(), 1.0, flipped=True)
    page.keyboard.press("h")
    set_opacity(page, 0.5)
    check_screen(page, shown(), 0.5)

    # one labels map per binary overlay, graded masks for the fractional one
    def asked(label: str) -> list[str]:
        return [
            u.split(f"/overlay/{by_id[label]}/", 1)[1]
            for u in urls
            if f"/overlay/{by_id[label]}/file/" in u
        ]

    frame = f"file/{server.files['a_ct.dcm']}/frame/0"
    for label in ("mask", "Plan", "Two"):
        assert set(asked(label)) == {f"{frame}/labels"}, (label, asked(label))
    assert set(asked("Model")) == {f"{frame}/segment/1"}

    # the probe gives the fraction under the pointer
    off = canvas(page)
    ys, xs = pixel_centres(off)
    box = page.locator(".viewport canvas").bounding_box()
    assert box is not None
    r, c = 15, 62
    page.mouse.move(box["x"] + xs[c] + 0.5, box["y"] + ys[r] + 0.5)
    pct = round(cover["Probability"][r, c] * 100)
    expect(page.get_by_test_id("probe")).to_contain_text(f"Probability {pct}%")
    r, c = 50, 62  # organ and lesion overlap: the probe names the top one
    page.mouse.move(box["x"] + xs[c] + 0.5, box["y"] + ys[r] + 0.5)
    expect(page.get_by_test_id("probe")).to_contain_text(re.compile(r"· Lesion$"))

    # hiding the higher of two overlapping segments shows the lower one under it
    panel = page.get_by_role("region", name="Overlays")
    panel.get_by_role("checkbox", name="Show Lesion").uncheck()
    page.mouse.move(box["x"] + xs[c] + 0.5, box["y"] + ys[r] + 0.5)  # the pointer left for the box
    expect(page.get_by_test_id("probe")).to_contain_text(re.compile(r"· Organ$"))
    set_opacity(page, 1)
    check_screen(page, shown("Lesion"), 1.0)
    assert f"{frame}/labels?segments=1" in asked("Two")
    # a hidden segment of an overlay whose segments do not overlap needs no new request
    before = len(urls)
    panel.get_by_role("checkbox", name="Show Square").uncheck()
    check_screen(page, shown("Lesion", "Square"), 1.0)
    assert not [u for u in urls[before:] if "/overlay/" in u and "/file/" in u]
    # and the fractional segment hidden draws nothing of it
    panel.get_by_role("checkbox", name="Show Probability").uncheck()
    check_screen(page, shown("Lesion", "Square", "Probability"), 1.0)


# ---- two overlapping fractional segments: graded stack, hidden upper, outline at 50 % ---------

BLOB_CENTRE, BLOB_SIGMA = (32, 38), 12.0  # segment 1: a Gaussian blob (255 at its centre)
TUMOUR = (slice(14, 52), slice(52, G_COLS))  # segment 2: a ramp along the columns to the edge


def write_fractional_pair(root: Path) -> dict[str, NDArray[np.uint8]]:
    """A uniform CT and a FRACTIONAL SEG of two overlapping graded segments: 'Liver' (a blob
    fading out below 50 % well inside its non-zero support) and 'Tumour' (a ramp 40 → 255 that
    crosses 50 % mid-way and reaches the image's right edge). Returns the stored values."""
    ct = _source_ct(root)
    yy, xx = np.mgrid[0:G_ROWS, 0:G_COLS]
    r2 = (yy - BLOB_CENTRE[0]) ** 2 + (xx - BLOB_CENTRE[1]) ** 2
    liver = np.rint(255 * np.exp(-r2 / (2 * BLOB_SIGMA**2)))
    liver[liver < 10] = 0
    tumour = np.zeros((G_ROWS, G_COLS))
    columns = np.arange(TUMOUR[1].start, G_COLS)
    tumour[TUMOUR] = np.rint(255 * (columns - 44) / (G_COLS - 1 - 44))
    stored = {"Liver": liver.astype(np.uint8), "Tumour": tumour.astype(np.uint8)}
    back = _fractional_segments(root / "b_pair.dcm", ct, stored, "Net")
    return dict(zip(stored, back, strict=True))


def half_border(stored: NDArray[np.uint8]) -> NDArray[np.floating]:
    """The outline of a fractional segment, computed here: the pixels at 50 % or more (stored ≥
    128) with a 4-neighbour below 50 % or on the image's edge (coverage 1 there, 0 elsewhere)."""
    inside = np.pad(stored >= 128, 1)  # outside the image counts as below 50 %
    core = inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:]
    out: NDArray[np.floating] = (inside[1:-1, 1:-1] & ~core).astype(float)
    return out


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_overlapping_fractional_segments_graded_hidden_and_outlined(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path, renderer: str
) -> None:
    stored = write_fractional_pair(tmp_path)
    liver, tumour = stored["Liver"], stored["Tumour"]
    both = (liver > 0) & (tumour > 0)
    assert both.sum() > 100  # the two overlap, graded, over many pixels
    # the 50 % line is not the support's edge: thresholding at > 0 would draw another outline
    assert ((liver > 0) & (liver < 128)).sum() > 200 and (tumour[TUMOUR] < 128).any()  # noqa: PT018
    server = start_dcmview(tmp_path)
    (overlay,) = server.api("overlays").json()["overlays"]
    assert overlay["fractional"] is True
    assert [(s["number"], s["label"]) for s in overlay["segments"]] == [(1, "Liver"), (2, "Tumour")]
    colours = {s["label"]: tuple(s["color"]) for s in overlay["segments"]}
    assert colours["Liver"] != colours["Tumour"]
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_viewer(page, server, renderer)

    def graded(*names: str) -> list[tuple[NDArray[np.floating], tuple[int, int, int]]]:
        return [(stored[n] / 255.0, colours[n]) for n in names]

    # both graded, Tumour (segment 2) over Liver with its own coverage
    set_opacity(page, 1)
    check_screen(page, graded("Liver", "Tumour"), 1.0)
    set_opacity(page, 0.5)
    check_screen(page, graded("Liver", "Tumour"), 0.5)
    frame = f"file/{server.files['a_ct.dcm']}/frame/0"
    asked = {
        u.split(f"/overlay/{overlay['id']}/", 1)[1]
        for u in urls
        if "/file/" in u and "/overlay/" in u
    }
    assert asked == {f"{frame}/segment/1", f"{frame}/segment/2"}, asked

    # the probe gives both fractions where they overlap
    r, c = 30, 58
    assert liver[r, c]
    assert tumour[r, c]
    page.locator(".viewport").focus()
    page.keyboard.press("o")  # the image's edges are found with the overlays off
    settle(page)
    ys, xs = pixel_centres(canvas(page))
    page.keyboard.press("o")
    settle(page)
    box = page.locator(".viewport canvas").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + xs[c] + 0.5, box["y"] + ys[r] + 0.5)
    pct = [round(v[r, c] / 255 * 100) for v in (liver, tumour)]
    expect(page.get_by_test_id("probe")).to_contain_text(f"Liver {pct[0]}%, Tumour {pct[1]}%")

    # hiding the upper one shows the lower one graded under it
    panel = page.get_by_role("region", name="Overlays")
    panel.get_by_role("checkbox", name="Show Tumour").uncheck()
    set_opacity(page, 1)
    check_screen(page, graded("Liver"), 1.0)
    panel.get_by_role("checkbox", name="Show Tumour").check()

    # outline: each segment's 50 % line, fully coloured, Tumour's over Liver's (also at the edge)
    panel.get_by_role("checkbox", name="Outline").check()
    settle(page)
    lines = [(half_border(liver), colours["Liver"]), (half_border(tumour), colours["Tumour"])]
    assert lines[1][0][:, -1].sum() > 10  # the image edge closes the ramp's line
    check_screen(page, lines, 1.0)
    set_opacity(page, 0.5)
    check_screen(page, lines, 0.5)
    panel.get_by_role("checkbox", name="Show Liver").uncheck()
    check_screen(page, lines[1:], 0.5)
