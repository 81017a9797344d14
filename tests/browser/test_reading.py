"""Side-by-side reading (issue 15 §1–§3) against a real dcmview in Debian's headless Chromium, on
generated data with known geometry: linked slices by patient position and linked pan in mm,
hung tomosynthesis linked by relative depth, each viewport's own tool state, the URL fragment
restoring a 2×2 layout, a hanging, the prior comparison and the MPR layout, and measurements
edited by their handles."""

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
    MONO16,
    Server,
    centre,
    drag,
    facts,
    image_point,
    nav_open,
    new_dataset,
    open_viewer,
    region,
    side_by_side,
    wait_painted,
    write_mg,
    write_phantom,
)

pytestmark = pytest.mark.browser

# the CT series cover the same 32 × 24 mm field; a 1000 HU box at x 8–24 mm, y 6–18 mm
FIELD_MM = (24.0, 32.0)
BOX_MM = (6.0, 18.0, 8.0, 24.0)


def write_ct_series(
    root: Path, description: str, *, slices: int, gap: float, z0: float, pixel: float
) -> None:
    """An axial CT series of single-frame files at z = z0 + k·gap over the 32 × 24 mm field at
    `pixel` mm, with the 1000 HU box; each slice's top-left pixel holds k (tells them apart)."""
    root.mkdir(parents=True, exist_ok=True)
    rows, columns = round(FIELD_MM[0] / pixel), round(FIELD_MM[1] / pixel)
    y0, y1, x0, x1 = (round(v / pixel) for v in BOX_MM)
    series, study = generate_uid(), "1.2.826.0.1.3680043.10.999.50"
    for k in range(slices):
        hu = np.full((rows, columns), -1000, np.int32)
        hu[y0:y1, x0:x1] = 1000
        hu[0, 0] = k
        ds = new_dataset(CT_IMAGE_STORAGE, PatientID="CT-P1", StudyInstanceUID=study, **MONO16)
        ds.SeriesInstanceUID = series
        ds.SeriesDescription = description
        ds.Modality = "CT"
        ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.10.999.51"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, z0 + k * gap]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [pixel, pixel]
        ds.SliceThickness = gap
        ds.Rows, ds.Columns = rows, columns
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.WindowCenter, ds.WindowWidth = 0, 1000
        ds.PixelData = (hu + 1024).astype(np.uint16).tobytes()
        ds.save_as(root / f"{description.lower()}_{k:02d}.dcm", enforce_file_format=True)


CUR, OLD = "1.2.826.0.1.3680043.10.999.61", "1.2.826.0.1.3680043.10.999.60"


def write_mammo(root: Path) -> None:
    """The current study (R CC, L CC, R MLO; L MLO missing) and a prior (R CC, L CC)."""
    write_mg(root / "a_rcc.dcm", CUR, "20240301", side="R", view="CC")
    write_mg(root / "b_lcc.dcm", CUR, "20240301", side="L", view="CC")
    write_mg(root / "c_rmlo.dcm", CUR, "20240301", side="R", view="MLO")
    write_mg(root / "d_prior_rcc.dcm", OLD, "20220301", side="R", view="CC")
    write_mg(root / "e_prior_lcc.dcm", OLD, "20220301", side="L", view="CC")


def bright(cell: Locator) -> tuple[int, int, int, int]:
    """The white area of a cell's canvas screenshot: x0, y0, x1, y1 (screen px)."""
    rgb = np.asarray(Image.open(io.BytesIO(cell.locator("canvas").screenshot())).convert("RGB"))
    white = (rgb.astype(int) > 240).all(axis=2)  # the box, not the corner texts
    ys, xs = np.nonzero(white)
    assert len(xs), "nothing white on screen"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def zoom_percent(cell: Locator) -> int:
    m = re.search(r"Zoom (\d+)%", cell.get_by_test_id("window-readout").inner_text())
    assert m
    return int(m[1])


# ---- §1: linked slices by position, linked pan in mm ------------------------------------------


def test_linked_stacks_follow_by_patient_position_and_pan_in_mm(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    # 2.5 mm slices from z=0 at 0.5 mm pixels; 5 mm slices from z=1 at 1 mm pixels
    write_ct_series(tmp_path / "fine", "Fine", slices=20, gap=2.5, z0=0.0, pixel=0.5)
    write_ct_series(tmp_path / "coarse", "Coarse", slices=10, gap=5.0, z0=1.0, pixel=1.0)
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    one, two = side_by_side(
        page,
        ("series:fine", re.compile(r"^Fine, 20 slices$")),
        ("series:coarse", re.compile(r"^Coarse, 10 slices$")),
    )
    expect(facts(two)).to_contain_text("Slice 1 / 10")
    expect(facts(one)).to_contain_text("Slice 1 / 20")

    one.locator(".viewport").click()
    page.get_by_role("button", name="Link viewports").click()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    # fine slice 4 is z=10: the nearest coarse slice is z=11 (slice 2), not index 4
    expect(facts(one)).to_contain_text("Slice 5 / 20")
    expect(facts(two)).to_contain_text("Slice 3 / 10")
    page.get_by_role("slider", name="Frame").fill("14")  # z=35: coarse z=36 (slice 7)
    expect(facts(one)).to_contain_text("Slice 15 / 20")
    expect(facts(two)).to_contain_text("Slice 8 / 10")
    # making viewport 2 active moves nothing; stepping it moves viewport 1 by position
    two.locator(".viewport").click()
    expect(two).to_have_attribute("data-active", "true")
    expect(facts(one)).to_contain_text("Slice 15 / 20")
    page.keyboard.press("ArrowLeft")  # coarse slice 6 (z=31): fine z=30 (slice 12)
    expect(facts(two)).to_contain_text("Slice 7 / 10")
    expect(facts(one)).to_contain_text("Slice 13 / 20")

    # zoom and pan in viewport 1: viewport 2 shows the same millimetres at the same place
    one.locator(".viewport").click()
    wait_painted(page)
    assert abs(zoom_percent(two) - 2 * zoom_percent(one)) <= 1  # fitted: the same field
    fitted = bright(one)
    assert all(abs(p - q) <= 2 for p, q in zip(fitted, bright(two), strict=True))
    x, y = centre(one)
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -150)
    page.keyboard.up("Control")
    page.keyboard.press("p")
    drag(page, (x, y), (x + 37, y + 23))
    wait_painted(page)
    za, zb = zoom_percent(one), zoom_percent(two)
    assert za > 130, za
    assert abs(zb - 2 * za) <= 2, (za, zb)  # 1 mm pixels at twice the zoom of 0.5 mm ones
    a, b = bright(one), bright(two)
    assert all(abs(p - q) <= 2 for p, q in zip(a, b, strict=True)), (a, b)
    assert (a[2] - a[0]) > 1.2 * (fitted[2] - fitted[0]), (fitted, a)  # zoomed in
    # and unlinked, a pan moves only the active viewport
    page.get_by_role("button", name="Link viewports").click()
    drag(page, (x, y), (x - 30, y))
    wait_painted(page)
    a2, b2 = bright(one), bright(two)
    assert abs((a[0] - a2[0]) - 30) <= 2, (a, a2)
    assert b2 == b


# ---- §2: tomosynthesis in the hanging ---------------------------------------------------------


def test_hung_tomosynthesis_scrolls_each_cell_linked_by_relative_depth(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    counts = {"R CC": 10, "L CC": 20, "R MLO": 10, "L MLO": 5}
    for name, n in counts.items():
        side, view = name.split()
        write_mg(tmp_path / f"dbt_{side}{view}.dcm", CUR, "20240301", side=side, view=view,
                 frames=n)  # fmt: skip
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    page.locator(".viewport").first.focus()
    page.keyboard.press("g")
    expect(page.get_by_role("radio", name="Hanging")).to_have_attribute("aria-checked", "true")
    cells = {name: region(page, name) for name in counts}
    for name, n in counts.items():
        expect(facts(cells[name])).to_contain_text(f"Frame 1 / {n}")
    expect(cells["R CC"]).to_have_attribute("data-active", "true")

    def at(**frames: int) -> None:
        for key, f in frames.items():
            name = key.replace("_", " ")
            expect(facts(cells[name])).to_contain_text(f"Frame {f} / {counts[name]}")

    for _ in range(4):
        page.keyboard.press("ArrowRight")
    # frame 5 of 10 is 4/9 of the depth: 8.4 → frame 9 of 20, 1.8 → frame 3 of 5
    at(R_CC=5, L_CC=9, R_MLO=5, L_MLO=3)
    # another cell scrolls its own slices; activating it moves nothing
    cells["L CC"].locator(".viewport").click()
    at(R_CC=5, L_CC=9, R_MLO=5, L_MLO=3)
    page.mouse.move(*centre(cells["L CC"]))
    for _ in range(5):
        page.mouse.wheel(0, 120)
    at(L_CC=14, R_CC=7, R_MLO=7, L_MLO=4)  # 13/19 of the depth: 6.2 of 9, 2.7 of 4
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    at(L_CC=20, R_CC=10, R_MLO=10, L_MLO=5)
    # the frame shown is the frame counted: L CC frame 20's tissue is 1000 + 19
    _, cy = centre(cells["L CC"])
    box = cells["L CC"].locator(".viewport").bounding_box()
    assert box
    page.mouse.move(box["x"] + 4, cy)  # at the chest wall (the cell's left edge)
    expect(cells["L CC"].get_by_test_id("probe")).to_contain_text("stored 1019")
    # unlinked, each cell scrolls alone
    page.get_by_role("button", name="Link viewports").click()
    page.keyboard.press("ArrowLeft")
    at(L_CC=19, R_CC=10, R_MLO=10, L_MLO=5)


# ---- §1: each viewport its own tool state ----------------------------------------------------


def roi_rects(cell: Locator) -> Locator:
    return cell.locator("svg.rois rect:not(.handle):not(.draft)")


def test_each_viewport_has_its_own_tool_state(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_phantom(tmp_path / "p_one.dcm", (0.2, 0.2), "ONE")
    write_phantom(tmp_path / "p_two.dcm", (0.2, 0.2), "TWO")
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    nav_open(page, "p_two", re.compile("p_two"))
    page.locator(".viewport").first.focus()
    page.keyboard.press("2")
    one, two = region(page, "Viewport 1"), region(page, "Viewport 2")
    expect(one.locator(".corner.tl")).to_contain_text("TWO")
    expect(two.locator(".corner.tl")).to_contain_text("ONE")
    x, y = centre(one)
    # an ROI, an ellipse and a length drawn in viewport 1 stay there
    page.keyboard.press("r")
    drag(page, (x - 60, y - 40), (x - 10, y - 5))
    expect(roi_rects(one)).to_have_count(1)
    page.keyboard.press("e")
    drag(page, (x + 10, y + 5), (x + 60, y + 40))
    expect(one.locator("svg.regions ellipse")).to_have_count(1)
    expect(one.get_by_test_id("ellipse-stats")).to_be_visible()
    page.keyboard.press("l")
    drag(page, (x - 60, y + 50), (x + 60, y + 50))
    expect(one.get_by_test_id("measurement-label")).to_have_count(1)
    expect(roi_rects(two)).to_have_count(0)
    expect(two.locator("svg.regions ellipse")).to_have_count(0)
    expect(two.get_by_test_id("measurement-label")).to_have_count(0)
    expect(two.get_by_test_id("ellipse-stats")).to_have_count(0)
    # the same file in viewport 2: its ROIs and lengths (the file's) show, not the ellipse or
    # the selection (the viewport's)
    page.get_by_role("treeitem", name=re.compile("p_two")).drag_to(two)
    expect(two.locator(".corner.tl")).to_contain_text("TWO")
    expect(roi_rects(two)).to_have_count(1)
    expect(two.get_by_test_id("measurement-label")).to_have_count(1)
    expect(two.locator("svg.regions ellipse")).to_have_count(0)
    expect(one.locator("svg.regions ellipse")).to_have_count(1)
    expect(one.locator("svg.rois rect.handle")).to_have_count(8)  # its selected ROI
    expect(two.locator("svg.rois rect.handle")).to_have_count(0)
    # an ROI drawn in viewport 2 shows in viewport 1 at once
    page.keyboard.press("r")
    x2, y2 = centre(two)
    drag(page, (x2 + 10, y2 - 40), (x2 + 60, y2 - 5))
    expect(roi_rects(two)).to_have_count(2)
    expect(roi_rects(one)).to_have_count(2)
    expect(two.locator("svg.rois rect.handle")).to_have_count(8)
    saved = server.api(f"file/{server.files['p_two.dcm']}/annotations").json()
    assert saved["num_roi"] == 2, saved


def coloured_halves(cell: Locator) -> tuple[int, int]:
    """Coloured (overlay) screen pixels in the left and right half of a cell's canvas."""
    rgb = np.asarray(Image.open(io.BytesIO(cell.locator("canvas").screenshot())).convert("RGB"))
    colour = rgb.astype(int).max(axis=2) - rgb.astype(int).min(axis=2) > 40
    half = colour.shape[1] // 2
    return int(colour[:, :half].sum()), int(colour[:, half:].sum())


def test_each_viewport_shows_its_own_overlays(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    """A prediction in one viewport and the ground truth in the other, on the same image."""
    study = tmp_path / "study"
    study.mkdir()
    write_phantom(study / "p_one.dcm", (0.2, 0.2), "ONE")
    prediction = np.zeros((80, 96), bool)
    prediction[20:60, 8:40] = True  # the image's left half
    truth = np.zeros((80, 96), bool)
    truth[20:60, 56:88] = True  # its right half
    np.save(tmp_path / "prediction.npy", prediction)
    np.save(tmp_path / "truth.npy", truth)
    server = start_dcmview(
        study,
        "--overlay",
        str(tmp_path / "prediction.npy"),
        "--overlay",
        str(tmp_path / "truth.npy"),
    )
    open_viewer(page, server)
    page.locator(".viewport").first.focus()
    page.keyboard.press("2")
    one, two = region(page, "Viewport 1"), region(page, "Viewport 2")
    page.get_by_role("treeitem", name=re.compile("p_one")).drag_to(two)
    expect(two.locator(".corner.tl")).to_contain_text("ONE")
    panel = page.get_by_role("region", name="Overlays")
    wait_painted(page)
    for cell in (one, two):  # a new viewport starts as the active one shows: both overlays
        left, right = coloured_halves(cell)
        assert left > 200, (left, right)
        assert right > 200, (left, right)
    # viewport 1 (active): the prediction only
    one.locator(".viewport").click()
    panel.get_by_role("checkbox", name="Show truth", exact=True).uncheck()
    # viewport 2: the truth only; the panel shows the active viewport's choices
    two.locator(".viewport").click()
    expect(panel.get_by_role("checkbox", name="Show truth", exact=True)).to_be_checked()
    panel.get_by_role("checkbox", name="Show prediction", exact=True).uncheck()
    wait_painted(page)
    left, right = coloured_halves(one)
    assert left > 200, (left, right)
    assert right == 0, (left, right)
    left, right = coloured_halves(two)
    assert left == 0, (left, right)
    assert right > 200, (left, right)
    # O hides the active viewport's overlays only
    page.keyboard.press("o")
    wait_painted(page)
    assert coloured_halves(two) == (0, 0)
    assert coloured_halves(one)[0] > 200
    one.locator(".viewport").click()
    expect(panel.get_by_role("checkbox", name="Show truth", exact=True)).not_to_be_checked()
    expect(panel.get_by_role("checkbox", name="Show overlays")).to_be_checked()


# ---- §1: the URL fragment restores the reading -------------------------------------------------


def test_a_reload_restores_a_2x2_layout_a_hanging_the_prior_and_mpr(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_mammo(tmp_path)
    write_ct_series(tmp_path / "fine", "Fine", slices=20, gap=2.5, z0=0.0, pixel=0.5)
    server = start_dcmview(tmp_path)
    open_viewer(page, server)

    def reload() -> None:
        page.wait_for_timeout(300)  # the fragment is written at most every 200 ms
        page.reload()
        page.wait_for_selector(".viewport[data-renderer]")

    # 2×2 with four files
    for name in ["a_rcc", "b_lcc", "c_rmlo", "d_prior_rcc"]:
        nav_open(page, name, re.compile(name))
    page.locator(".viewport").first.focus()
    page.keyboard.press("4")
    cells = page.locator("section[data-active]")
    expect(cells).to_have_count(4)
    region(page, "Viewport 3").locator(".viewport").click()
    shown = [cells.nth(i).locator(".corner.tl").inner_text() for i in range(4)]
    assert len(set(shown)) == 4, shown
    assert "layout=2x2" in page.url
    reload()
    expect(page.get_by_role("radio", name="2×2")).to_have_attribute("aria-checked", "true")
    expect(cells).to_have_count(4)
    for i, text in enumerate(shown):
        expect(cells.nth(i).locator(".corner.tl")).to_have_text(text)
    expect(region(page, "Viewport 3")).to_have_attribute("data-active", "true")

    # the hanging
    page.keyboard.press("g")
    expect(page.get_by_role("radio", name="Hanging")).to_have_attribute("aria-checked", "true")
    reload()
    expect(page.get_by_role("radio", name="Hanging")).to_have_attribute("aria-checked", "true")
    for i, name in enumerate(["R CC", "L CC", "R MLO", "L MLO"]):
        expect(cells.nth(i)).to_have_attribute("aria-label", name)
    expect(region(page, "L MLO").get_by_test_id("viewport-message")).to_have_text("L MLO — missing")
    expect(region(page, "R CC").locator(".corner.tl")).to_contain_text("R CC")
    expect(page.get_by_role("button", name="Link viewports")).to_have_attribute(
        "aria-pressed", "true"
    )

    # compare with prior
    region(page, "R CC").locator(".viewport").click()
    page.keyboard.press("Shift+G")
    expect(page.get_by_role("radio", name="Compare with prior")).to_have_attribute(
        "aria-checked", "true"
    )
    reload()
    expect(page.get_by_role("radio", name="Compare with prior")).to_have_attribute(
        "aria-checked", "true"
    )
    for i, name in enumerate(["R CC", "L CC", "R CC prior", "L CC prior"]):
        expect(cells.nth(i)).to_have_attribute("aria-label", name)
        expect(cells.nth(i).get_by_test_id("window-readout")).to_be_visible()

    # the MPR layout of a series, at its crosshair
    page.keyboard.press("1")
    expect(page.get_by_role("radio", name="1×1")).to_have_attribute("aria-checked", "true")
    nav_open(page, "series:fine", re.compile(r"^Fine, 20 slices$"))
    expect(facts(region(page, "Viewport 1"))).to_contain_text("Slice 1 / 20")
    page.locator(".viewport").first.focus()
    page.keyboard.press("m")
    expect(page.get_by_role("radio", name="MPR")).to_have_attribute("aria-checked", "true")
    planes = ["Axial", "Coronal", "Sagittal"]
    for name in planes:
        expect(region(page, name)).to_be_visible()
    region(page, "Axial").locator(".viewport").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    region(page, "Sagittal").locator(".viewport").focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    expect(facts(region(page, "Axial"))).to_contain_text("Slice 4 / 20")
    before = [facts(region(page, n)).inner_text() for n in planes]
    assert "layout=mpr" in page.url
    reload()
    expect(page.get_by_role("radio", name="MPR")).to_have_attribute("aria-checked", "true")
    for name, text in zip(planes, before, strict=True):
        expect(facts(region(page, name))).to_have_text(text)
    expect(region(page, "Sagittal")).to_have_attribute("data-active", "true")


# ---- §3: measurements edited by their handles ------------------------------------------------


def test_a_length_is_edited_by_its_handle_deleted_and_kept(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_phantom(tmp_path / "a_nonsquare.dcm", (0.5, 0.25), "NS")
    write_phantom(tmp_path / "b_square.dcm", (0.2, 0.2), "SQ")
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    expect(page.locator(".corner.tl")).to_contain_text("NS")
    vp = page.locator(".viewport")

    def point(column: float, row: float) -> tuple[float, float]:
        return image_point(vp, column, row, 96, 80)

    labels = page.get_by_test_id("measurement-label")
    values = page.get_by_test_id("measurement-value")
    index = server.files["a_nonsquare.dcm"]

    def saved() -> list[dict[str, object]]:
        out: list[dict[str, object]] = server.api(f"file/{index}/measurements").json()[
            "measurements"
        ]
        return out

    page.keyboard.press("l")
    drag(page, point(24, 20), point(72, 20))  # 48 columns × 0.25 mm
    expect(labels).to_have_text(["12.0 mm"])
    # drag its end handle down 40 rows (× 0.5 mm): √(12² + 20²) = 23.3 mm
    drag(page, point(72, 20), point(72, 60))
    expect(labels).to_have_text(["23.3 mm"])
    expect(values).to_have_text(["23.3 mm"])
    (m,) = saved()
    assert m["unit"] == "mm"
    assert abs(float(str(m["value"])) - (12**2 + 20**2) ** 0.5) < 0.3, m
    # its start handle too: to (24, 60), a horizontal 12 mm again
    drag(page, point(24, 20), point(24, 60))
    expect(labels).to_have_text(["12.0 mm"])
    # a click on a handle selects it; Delete removes it
    page.mouse.click(*point(72, 60))
    page.keyboard.press("Delete")
    expect(labels).to_have_count(0)
    expect(values).to_have_count(0)
    assert saved() == []
    # a new one survives switching files and a reload
    drag(page, point(24, 30), point(24, 50))  # 20 rows × 0.5 mm
    expect(labels).to_have_text(["10.0 mm"])
    nav_open(page, "b_square", re.compile("b_square"))
    expect(page.locator(".corner.tl")).to_contain_text("SQ")
    expect(labels).to_have_count(0)
    nav_open(page, "a_nonsquare", re.compile("a_nonsquare"))
    expect(labels).to_have_text(["10.0 mm"])
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.locator(".corner.tl")).to_contain_text("NS")
    expect(labels).to_have_text(["10.0 mm"])
    assert len(saved()) == 1
