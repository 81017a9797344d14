"""Series stacks, MPR and region statistics in the viewer (issue 13 §3), on a generated box
phantom with known voxels, against a real dcmview in Debian's headless Chromium."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from pydicom.uid import generate_uid

from tests.browser._helpers import (
    CT_IMAGE_STORAGE,
    Server,
    drag,
    image_point,
    navigator_to_top,
    new_dataset,
    wait_painted,
)

pytestmark = pytest.mark.browser

SLICES, ROWS, COLS = 20, 48, 64
PIXEL, GAP = 0.5, 2.5  # mm: in-plane pixel spacing, slice spacing
# the box: slices 4–15, rows 12–35, columns 16–47 (12 × 24 × 32 voxels = 30 × 12 × 16 mm)
BOX = (slice(4, 16), slice(12, 36), slice(16, 48))


def phantom() -> np.ndarray:
    """HU: −1000 outside, the box a 900/1100 checkerboard (mean 1000, SD 100), and each slice's
    index × 10 in its top-left 4 × 4 corner (tells the slices apart)."""
    hu = np.full((SLICES, ROWS, COLS), -1000, dtype=np.int16)
    s, r, c = np.mgrid[BOX[0], BOX[1], BOX[2]]
    hu[BOX] = np.where((s + r + c) % 2 == 0, 900, 1100)
    for k in range(SLICES):
        hu[k, :4, :4] = k * 10
    return hu


def write_series(root: Path, positions: bool = True) -> tuple[np.ndarray, list[str]]:
    """One axial CT series of single-frame files: file names and instance numbers shuffled
    against the slice positions, so only the positions give the order. Returns the HU volume
    (slice 0 lowest) and each slice's file name."""
    hu = phantom()
    rng = np.random.default_rng(13)
    order = rng.permutation(SLICES)
    series, study, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    names: list[str] = []
    for k in range(SLICES):
        ds = new_dataset(CT_IMAGE_STORAGE)
        ds.PatientID = "PHANTOM"
        ds.StudyInstanceUID = study
        ds.StudyDate = "20250101"
        ds.SeriesInstanceUID = series
        ds.SeriesNumber = 3
        ds.SeriesDescription = "Box phantom"
        ds.Modality = "CT"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.InstanceNumber = int(SLICES - order[k])
        if positions:
            ds.ImagePositionPatient = [0.0, 0.0, k * GAP]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [PIXEL, PIXEL]
        ds.SliceThickness = GAP
        ds.Rows, ds.Columns = ROWS, COLS
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowCenter, ds.WindowWidth = 0, 1600
        ds.PixelData = (hu[k].astype(np.int32) + 1024).astype(np.int16).tobytes()
        name = f"img_{order[k]:02d}.dcm"
        ds.save_as(root / name, enforce_file_format=True)
        names.append(name)
    return hu, names


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[str]]:
    root = tmp_path_factory.mktemp("phantom")
    hu, names = write_series(root)
    return root, hu, names


def open_series(page: Page, server: Server, renderer: str = "webgl") -> None:
    """Open the viewer and the phantom series from its navigator row (a row per stack)."""
    page.goto(f"{server.base}/?renderer={renderer}#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    # the first file opened at start is revealed in the (virtualised) list: back to its top
    page.wait_for_function(
        "document.querySelector('[data-testid=frame-counter]')?.textContent.includes('/')"
    )
    navigator_to_top(page)
    row = page.get_by_role("treeitem", name=re.compile(r"^Box phantom, 20 slices$"))
    expect(row).to_be_visible()
    expect(row).to_contain_text("20 slices")
    row.click()
    expect(page.get_by_test_id("frame-counter")).to_have_text("1 / 20")
    wait_painted(page)


def bright_box(png: bytes) -> tuple[int, int]:
    """Width and height (screen px) of the white region of a viewport screenshot."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    white = (rgb > 240).all(axis=2)
    ys, xs = np.nonzero(white)
    assert len(xs), "no box on screen"
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def test_a_series_opens_as_one_stack_and_scrolls_across_its_files(
    page: Page,
    start_dcmview: Callable[..., Server],
    phantom_dir: tuple[Path, np.ndarray, list[str]],
) -> None:
    root, hu, names = phantom_dir
    server = start_dcmview(root)
    open_series(page, server)
    facts = page.get_by_test_id("image-facts")
    expect(facts).to_contain_text("Slice 1 / 20")
    vp = page.locator(".viewport")
    x, y = image_point(vp, 1.5, 1.5, COLS, ROWS)

    def shows_slice(k: int) -> None:
        # the counter, the file selected in the navigator, the probe on the corner marker
        expect(page.get_by_test_id("frame-counter")).to_have_text(f"{k + 1} / 20")
        expect(
            page.get_by_role("treeitem", name=re.compile(re.escape(names[k])))
        ).to_have_attribute("aria-selected", "true")
        page.mouse.move(x, y)
        expect(page.get_by_test_id("probe")).to_contain_text(f"modality {int(hu[k, 1, 1])}")

    shows_slice(0)
    vp.focus()
    page.keyboard.press("ArrowRight")
    shows_slice(1)
    page.mouse.move(x, y)
    page.mouse.wheel(0, 120)
    shows_slice(2)
    slider = page.get_by_role("slider", name="Frame")
    slider.fill("11")
    shows_slice(11)
    # the tags panel follows the slice's file
    tags = page.get_by_role("complementary", name="Tags panel")
    expect(tags).to_contain_text(str(11 * GAP))
    # the stack's instances stay listed under its (expanded) row
    row = page.get_by_role("treeitem", name=re.compile(r"^Box phantom, 20 slices$"))
    expect(row).to_have_attribute("aria-expanded", "true")
    expect(row.locator(".badge")).to_have_text(str(SLICES))
    # a still pointer: the probe follows the slice that arrives under it
    vp.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("frame-counter")).to_have_text("13 / 20")
    expect(page.get_by_test_id("probe")).to_contain_text(f"modality {int(hu[12, 1, 1])}")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("probe")).to_contain_text(f"modality {int(hu[11, 1, 1])}")


def test_roi_and_ellipse_statistics_on_a_known_phantom(
    page: Page,
    start_dcmview: Callable[..., Server],
    phantom_dir: tuple[Path, np.ndarray, list[str]],
) -> None:
    root, hu, names = phantom_dir
    server = start_dcmview(root)
    k = 5
    index = server.files[names[k]]
    # a box inside the phantom box: rows 14–23, columns 20–30 (half-open, 10 × 11 px)
    assert (
        server.put_rois(
            index, {"num_roi": 1, "roi_coords": [[14, 20, 24, 31]], "roi_frames": []}
        ).status_code
        == 200
    )
    open_series(page, server)
    page.get_by_role("slider", name="Frame").fill(str(k))
    expect(page.get_by_test_id("frame-counter")).to_have_text(f"{k + 1} / 20")
    page.keyboard.press("r")
    page.get_by_role("listbox", name="ROI list").get_by_role("option").first.click()
    values = hu[k, 14:24, 20:31].astype(float)
    area = 10 * 11 * PIXEL * PIXEL
    expected = (
        (
            f"mean {values.mean():.1f} HU · SD {values.std():.1f} · min {int(values.min())} · "
            f"max {int(values.max())} · {area:.1f} mm²"
        )
        .replace(".0 ", " ")
        .replace(".0 mm", " mm")
    )
    expect(page.get_by_test_id("roi-stats")).to_have_text(expected)
    # the Ellipse tool: a stats-only region (not saved with the ROIs)
    page.keyboard.press("e")
    expect(page.get_by_role("radio", name="Ellipse")).to_have_attribute("aria-checked", "true")
    vp = page.locator(".viewport")
    drag(page, image_point(vp, 20, 14, COLS, ROWS), image_point(vp, 44, 34, COLS, ROWS))
    stats = page.get_by_test_id("ellipse-stats")
    expect(stats).to_have_text(
        re.compile(r"^mean \d+(\.\d)? HU · SD \d+(\.\d)? · min 900 · max 1100 · \d+(\.\d)? mm²$")
    )
    body = server.api(f"file/{index}/annotations").json()
    assert body["num_roi"] == 1, "the ellipse must not be saved as an ROI"


def rendered_aspect(region: Locator) -> float:
    w, h = bright_box(region.locator(".viewport").screenshot())
    return h / w


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_mpr_planes_have_their_physical_aspect_labels_and_a_linked_crosshair(
    page: Page,
    start_dcmview: Callable[..., Server],
    phantom_dir: tuple[Path, np.ndarray, list[str]],
    renderer: str,
) -> None:
    root, _, _ = phantom_dir
    server = start_dcmview(root)
    open_series(page, server, renderer)
    page.get_by_role("slider", name="Frame").fill("9")  # slice 10: through the box
    page.locator(".viewport").first.focus()
    page.keyboard.press("m")
    expect(
        page.get_by_role("radiogroup", name="Layout").get_by_role("radio", name="MPR")
    ).to_have_attribute("aria-checked", "true")
    axial = page.get_by_role("region", name="Axial")
    coronal = page.get_by_role("region", name="Coronal")
    sagittal = page.get_by_role("region", name="Sagittal")
    for r in (axial, coronal, sagittal):
        expect(r).to_be_visible()
        expect(r.get_by_test_id("viewport-message")).to_have_count(0)
    expect(coronal.get_by_test_id("image-facts")).to_contain_text(f"Slice {ROWS // 2 + 1} / {ROWS}")
    expect(sagittal.get_by_test_id("image-facts")).to_contain_text(
        f"Slice {COLS // 2 + 1} / {COLS}"
    )
    wait_painted(page)
    # the box is 16 mm wide (columns), 12 mm deep (rows), 30 mm tall (slices)
    assert rendered_aspect(axial) == pytest.approx(12 / 16, rel=0.06)
    assert rendered_aspect(coronal) == pytest.approx(30 / 16, rel=0.06)
    assert rendered_aspect(sagittal) == pytest.approx(30 / 12, rel=0.06)
    # radiological orientation letters (top, right, bottom, left)
    letters = {"Axial": "ALPR", "Coronal": "SLIR", "Sagittal": "SPIA"}
    for name, want in letters.items():
        r = page.get_by_role("region", name=name)
        got = "".join(
            r.get_by_test_id(f"orientation-{e}").inner_text()
            for e in ("top", "right", "bottom", "left")
        )
        assert got == want, name
        expect(r.get_by_test_id("reference-lines").locator("line")).to_have_count(2)
    # a click in the axial plane at row 30, column 40: coronal shows row 30, sagittal column 40
    x, y = image_point(axial.locator(".viewport"), 40.5, 30.5, COLS, ROWS)
    page.mouse.click(x, y)
    expect(coronal.get_by_test_id("image-facts")).to_contain_text(f"Slice 31 / {ROWS}")
    expect(sagittal.get_by_test_id("image-facts")).to_contain_text(f"Slice 41 / {COLS}")
    expect(axial.get_by_test_id("image-facts")).to_contain_text("Slice 10 / 20")
    # dragging the crosshair in the coronal plane (S at the top: display row 0 is the highest
    # slice; the crosshair is at column 40, slice 9) moves the axial slice and the sagittal column
    cv = coronal.locator(".viewport")
    tall = SLICES * GAP / PIXEL
    x0, y0 = image_point(cv, 40.5, (SLICES - 1 - 9 + 0.5) * GAP / PIXEL, COLS, tall)
    x1, y1 = image_point(cv, 12.5, (SLICES - 1 - 7 + 0.5) * GAP / PIXEL, COLS, tall)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    expect(axial.get_by_test_id("image-facts")).to_contain_text("Slice 8 / 20")
    expect(sagittal.get_by_test_id("image-facts")).to_contain_text(f"Slice 13 / {COLS}")
    # the window is linked across the three planes (the coronal one is active now)
    page.get_by_role("combobox", name="Window presets").select_option(label="CT Lung")
    for r in (axial, sagittal):
        expect(r.get_by_test_id("window-readout")).to_contain_text("W 1500 · C -600")
    # region statistics on a reformat (its own spacing: 2.5 × 0.5 mm pixels)
    page.get_by_role("radio", name="Ellipse").click()
    x0, y0 = image_point(cv, 20, 30, COLS, tall)
    x1, y1 = image_point(cv, 44, 70, COLS, tall)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    expect(coronal.get_by_test_id("ellipse-stats")).to_have_text(
        re.compile(r"^mean \d+(\.\d)? HU · SD \d+(\.\d)? · min 900 · max 1100 · \d+(\.\d)? mm²$")
    )
    # back to 1×1: the stack stays open
    page.get_by_role("radiogroup", name="Layout").get_by_role("radio", name="1×1").click()
    expect(page.get_by_role("region", name="Viewport 1")).to_be_visible()
    expect(page.get_by_test_id("frame-counter")).to_have_text(re.compile(r"/ 20$"))


def test_mpr_of_a_stack_without_a_volume_says_why(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_series(tmp_path, positions=False)
    server = start_dcmview(tmp_path)
    open_series(page, server)
    page.locator(".viewport").first.focus()
    page.keyboard.press("m")
    cells = page.get_by_role("region", name=re.compile(r"^Viewport [123]$"))
    expect(cells).to_have_count(3)
    for i in (2, 3):
        message = page.get_by_role("region", name=f"Viewport {i}").get_by_test_id(
            "viewport-message"
        )
        expect(message).to_contain_text("No reformat:")
        expect(message).to_contain_text("has no volume")
    # the acquired plane still scrolls
    expect(
        page.get_by_role("region", name="Viewport 1").get_by_test_id("image-facts")
    ).to_contain_text("Slice 1 / 20")


def test_a_reload_restores_the_stack_its_slice_and_the_mpr_crosshair(
    page: Page,
    start_dcmview: Callable[..., Server],
    phantom_dir: tuple[Path, np.ndarray, list[str]],
) -> None:
    root, hu, names = phantom_dir
    server = start_dcmview(root)
    open_series(page, server)
    page.get_by_role("slider", name="Frame").fill("7")
    expect(page.get_by_test_id("frame-counter")).to_have_text("8 / 20")
    page.wait_for_timeout(300)  # the fragment is written at most every 200 ms
    assert re.search(r"stacks=[^&,]+", page.url), page.url
    assert "pos=7" in page.url, page.url
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    # still the stack (slices across files), at the same slice, showing that slice's file
    expect(page.get_by_test_id("frame-counter")).to_have_text("8 / 20")
    expect(page.get_by_test_id("image-facts")).to_contain_text("Slice 8 / 20")
    expect(page.get_by_role("treeitem", name=re.compile(re.escape(names[7])))).to_have_attribute(
        "aria-selected", "true"
    )
    wait_painted(page)
    vp = page.locator(".viewport")
    page.mouse.move(*image_point(vp, 1.5, 1.5, COLS, ROWS))
    expect(page.get_by_test_id("probe")).to_contain_text(f"modality {int(hu[7, 1, 1])}")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("frame-counter")).to_have_text("9 / 20")
    # MPR with a moved crosshair comes back with it
    vp.focus()
    page.keyboard.press("m")
    coronal = page.get_by_role("region", name="Coronal")
    expect(coronal).to_be_visible()
    coronal.locator(".viewport").focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    planes = ["Axial", "Coronal", "Sagittal"]
    before = [page.get_by_role("region", name=n).get_by_test_id("image-facts").inner_text()
              for n in planes]  # fmt: skip
    assert before[0].startswith("Slice 9 / 20"), before
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_role("radio", name="MPR")).to_have_attribute("aria-checked", "true")
    for name, text in zip(planes, before, strict=True):
        expect(page.get_by_role("region", name=name).get_by_test_id("image-facts")).to_have_text(
            text
        )
    expect(coronal).to_have_attribute("data-active", "true")
