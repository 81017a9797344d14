"""The mammography hanging protocol (issue 15 §2) on generated MG views with a known laterality,
view and tissue edge, against a real dcmview in Debian's headless Chromium: each view lands in its
cell, flipped so its chest wall is at the centre, at one physical scale; a missing view leaves a
labelled cell; Shift+G hangs the prior."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.browser._helpers import (
    MG_HEIGHT_MM,
    MG_TISSUE_MM,
    MG_WIDTH_MM,
    Server,
    drag,
    image_point,
    wait_painted,
    write_mg,
    write_phantom,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def mammo(tmp_path: Path) -> Path:
    """The current study (R CC, L CC, R MLO; L MLO missing) and a prior (R CC, L CC)."""
    cur, old = "1.2.826.0.1.3680043.10.999.1", "1.2.826.0.1.3680043.10.999.0"
    # R CC: tissue on the image's left, so it must be flipped (R views: chest wall on the right)
    write_mg(tmp_path / "a_rcc.dcm", cur, "20240301", side="R", view="CC", wall="left")
    # L CC: half the resolution (same 16 mm), tissue on the left already: not flipped
    write_mg(tmp_path / "b_lcc.dcm", cur, "20240301", side="L", view="CC", wall="left", spacing=0.2)
    # R MLO: known from its description only, tissue on the right already
    write_mg(
        tmp_path / "c_rmlo.dcm", cur, "20240301", side="R", view=None, wall="right",
        description="RMLO",
    )  # fmt: skip
    write_mg(tmp_path / "d_prior_rcc.dcm", old, "20220301", side="R", view="CC", wall="right")
    write_mg(tmp_path / "e_prior_lcc.dcm", old, "20220301", side="L", view="CC", wall="right")
    return tmp_path


def tissue(region: Locator) -> tuple[int, int, int, int]:
    """The white (tissue) span of a cell's screenshot: its left and right column on the middle
    row of the white area, the cell width, and the white height (screen px)."""
    rgb = np.asarray(Image.open(io.BytesIO(region.locator("canvas").screenshot())).convert("RGB"))
    white: np.ndarray = np.asarray((rgb.astype(int) > 200).all(axis=2))
    ys = np.nonzero(white.any(axis=1))[0]
    assert len(ys), "no tissue on screen"
    mid = int(np.median(ys))
    xs = np.nonzero(white[mid])[0]
    return int(xs.min()), int(xs.max()) + 1, white.shape[1], int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_hanging_places_flips_and_scales_each_view(
    page: Page, start_dcmview: Callable[..., Server], mammo: Path, renderer: str
) -> None:
    server = start_dcmview(mammo)
    page.goto(f"{server.base}/?renderer={renderer}#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    page.locator(".viewport").first.focus()
    page.keyboard.press("g")
    expect(page.get_by_role("radio", name="Hanging")).to_have_attribute("aria-checked", "true")
    names = ["R CC", "L CC", "R MLO", "L MLO"]
    regions = page.locator("section[data-active]")  # the viewport cells, in grid order
    expect(regions).to_have_count(4)
    for i, name in enumerate(names):
        expect(regions.nth(i)).to_have_attribute("aria-label", name)
    missing = page.get_by_role("region", name="L MLO", exact=True)
    expect(missing.get_by_test_id("viewport-message")).to_have_text("L MLO — missing")
    for name in names[:3]:
        cell = page.get_by_role("region", name=name, exact=True)
        expect(cell.get_by_test_id("window-readout")).to_be_visible()
    expect(page.get_by_role("button", name="Link viewports")).to_have_attribute(
        "aria-pressed", "true"
    )
    wait_painted(page)
    spans = {name: tissue(page.get_by_role("region", name=name, exact=True)) for name in names[:3]}
    width = spans["R CC"][2]
    # the same screen pixels per mm in every cell: the image (16 × 20 mm) fits the cell
    box = page.get_by_role("region", name="R CC", exact=True).locator("canvas").bounding_box()
    assert box
    per_mm = min(box["width"] / MG_WIDTH_MM, box["height"] / MG_HEIGHT_MM)
    for name, (x0, x1, w, h) in spans.items():
        assert abs((x1 - x0) - MG_TISSUE_MM * per_mm) <= 2, (name, x0, x1, per_mm)
        assert abs(h - MG_HEIGHT_MM * per_mm) <= 2, (name, h, per_mm)
        if name.startswith("R"):
            assert x1 >= w - 1, f"{name}: the chest wall must be at the cell's right edge"
        else:
            assert x0 <= 1, f"{name}: the chest wall must be at the cell's left edge"
    assert width > 0

    # Shift+G: the view pair of the active view (R CC) above the prior's, linked
    page.keyboard.press("Shift+G")
    expect(page.get_by_role("radio", name="Compare with prior")).to_have_attribute(
        "aria-checked", "true"
    )
    prior_names = ["R CC", "L CC", "R CC prior", "L CC prior"]
    for i, name in enumerate(prior_names):
        expect(regions.nth(i)).to_have_attribute("aria-label", name)
        expect(regions.nth(i).get_by_test_id("window-readout")).to_be_visible()
    wait_painted(page)
    for name in prior_names:
        x0, x1, w, _ = tissue(page.get_by_role("region", name=name, exact=True))
        assert abs((x1 - x0) - MG_TISSUE_MM * per_mm) <= 2, name
        assert (x1 >= w - 1) if name.startswith("R") else (x0 <= 1), name


def mm(text: str) -> float:
    assert text.endswith(" mm"), text
    return float(text[:-3])


def test_lengths_and_angles_in_mm_on_square_and_non_square_pixels(
    page: Page, start_dcmview: Callable[..., Server], tmp_path: Path
) -> None:
    write_phantom(tmp_path / "a_nonsquare.dcm", (0.5, 0.25))
    write_phantom(tmp_path / "b_square.dcm", (0.2, 0.2))
    server = start_dcmview(tmp_path)
    page.goto(f"{server.base}/#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_test_id("window-readout")).to_be_visible()
    wait_painted(page)  # the image and its pixel spacing are in: a drag now measures
    vp = page.locator(".viewport")
    box = vp.bounding_box()
    assert box
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    rows, columns = 80, 96
    values = page.get_by_test_id("measurement-value")

    def point(column: float, row: float) -> tuple[float, float]:
        return image_point(vp, column, row, columns, rows)

    page.keyboard.press("l")
    expect(page.get_by_role("radio", name="Length")).to_have_attribute("aria-checked", "true")
    # the square's top edge (48 columns × 0.25 mm = 12 mm) and left edge (40 rows × 0.5 = 20 mm)
    drag(page, point(24, 20), point(72, 20))
    expect(values).to_have_count(1)
    assert abs(mm(values.nth(0).inner_text()) - 12.0) <= 0.25 + 0.05
    drag(page, point(24, 60), point(24, 20))
    expect(values).to_have_count(2)
    assert abs(mm(values.nth(1).inner_text()) - 20.0) <= 0.5 + 0.05
    index = server.files["a_nonsquare.dcm"]
    saved = server.api(f"file/{index}/measurements").json()["measurements"]
    assert [m["unit"] for m in saved] == ["mm", "mm"]
    # rotated clockwise: a vertical drag on screen runs along the image's columns (0.25 mm each)
    page.keyboard.press(".")
    rz = min(box["width"] / rows, box["height"] / columns)
    drag(page, (cx + 30, cy - 20 * rz), (cx + 30, cy + 20 * rz))
    expect(values).to_have_count(3)
    assert abs(mm(values.nth(2).inner_text()) - 40 * 0.25) <= 0.25 + 0.05
    # an angle: a drag (first arm, to the vertex) and a click (second arm); rotate back first
    page.keyboard.press(",")
    page.keyboard.press("a")
    drag(page, point(80, 40), point(40, 40))
    page.mouse.click(*point(40, 70))
    expect(values).to_have_count(4)
    assert values.nth(3).inner_text() == "90.0°"
    # square pixels
    server_b = server.files["b_square.dcm"]
    page.get_by_role("treeitem", name=re.compile("b_square")).click()
    expect(values).to_have_count(0)
    page.keyboard.press("l")
    drag(page, point(24, 20), point(72, 20))
    expect(values).to_have_count(1)
    assert abs(mm(values.nth(0).inner_text()) - 48 * 0.2) <= 0.2 + 0.05
    assert len(server.api(f"file/{server_b}/measurements").json()["measurements"]) == 1
    # select + Delete removes; they survive switching files and a reload
    page.get_by_role("treeitem", name=re.compile("a_nonsquare")).click()
    expect(values).to_have_count(4)
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    expect(values).to_have_count(4)
    values.nth(0).click()
    page.get_by_role("button", name="Delete measurement").click()
    expect(values).to_have_count(3)
    assert len(server.api(f"file/{index}/measurements").json()["measurements"]) == 3


def test_hung_views_zoom_and_pan_linked_mirrored_at_one_physical_scale(
    page: Page, start_dcmview: Callable[..., Server], mammo: Path
) -> None:
    server = start_dcmview(mammo)
    page.goto(f"{server.base}/?renderer=webgl#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    page.locator(".viewport").first.focus()
    page.keyboard.press("g")
    expect(
        page.get_by_role("region", name="R MLO", exact=True).get_by_test_id("window-readout")
    ).to_be_visible()
    wait_painted(page)
    rcc = page.get_by_role("region", name="R CC", exact=True)
    lcc = page.get_by_role("region", name="L CC", exact=True)
    rmlo = page.get_by_role("region", name="R MLO", exact=True)
    box = rcc.locator(".viewport").bounding_box()
    assert box
    fitted = tissue(rcc)
    # zoom in R CC about its chest wall (the cell's right edge), then pan up
    at = (box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    page.mouse.move(*at)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.keyboard.press("p")
    page.mouse.move(*at)
    page.mouse.down()
    page.mouse.move(at[0], at[1] - 20, steps=4)
    page.mouse.up()
    wait_painted(page)
    x0, x1, w, _ = tissue(rcc)
    assert x1 >= w - 2, "the chest wall stays at the centre edge"
    width = x1 - x0
    assert width > 1.5 * (fitted[1] - fitted[0]), (fitted, (x0, x1))
    # L CC (0.2 mm pixels, the mirror side): the same millimetres from its chest wall
    lx0, lx1, _, _ = tissue(lcc)
    assert lx0 <= 1, "L CC's chest wall stays at its left edge"
    assert abs((lx1 - lx0) - width) <= 2, ((x0, x1), (lx0, lx1))
    # R MLO (the same side): the same span at the same place
    mx0, mx1, _, _ = tissue(rmlo)
    assert abs(mx0 - x0) <= 2, (x0, mx0)
    assert abs(mx1 - x1) <= 2, (x1, mx1)
    readouts = [
        page.get_by_role("region", name=n, exact=True).get_by_test_id("window-readout")
        for n in ("R CC", "L CC")
    ]
    zooms = [int(re.findall(r"Zoom (\d+)%", r.inner_text())[0]) for r in readouts]
    assert abs(zooms[1] - 2 * zooms[0]) <= 2, zooms  # 0.2 mm pixels: twice the zoom of 0.1 mm
