"""The `--demo` study shows this wave's reading features, against a real dcmview in Debian's
headless Chromium: its two phantom series (2 mm and 4 mm, one frame of reference) side by side
follow each other by position when linked, and its two SEGs of the phantom (the truth and a
model's prediction) are shown one per viewport on the same slice."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from dcmview_py.demo.study import write_demo
from playwright.sync_api import Locator, Page, expect

from tests.browser._helpers import (
    Server,
    facts,
    image_point,
    open_viewer,
    side_by_side,
    wait_painted,
)

pytestmark = pytest.mark.browser

FINE = ('series:"phantom:"', re.compile(r"^Phantom: sphere, box, cylinder, 64 slices$"))
THICK = ('series:"phantom 4 mm"', re.compile(r"^Phantom 4 mm: sphere, box, cylinder, 32 slices$"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    return root


def test_the_demo_phantom_series_link_by_position(
    page: Page, start_dcmview: Callable[..., Server], demo: Path
) -> None:
    server = start_dcmview(demo)
    open_viewer(page, server)
    one, two = side_by_side(page, FINE, THICK)
    expect(facts(one)).to_contain_text("Slice 1 / 64")
    expect(facts(two)).to_contain_text("Slice 1 / 32")
    one.locator(".viewport").click()
    page.get_by_role("button", name="Link viewports").click()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    # 2 mm slice 6 (index 5) lies 1 mm above 4 mm slice 3 (the mean of 2 mm slices 5 and 6)
    expect(facts(one)).to_contain_text("Slice 6 / 64")
    expect(facts(two)).to_contain_text("Slice 3 / 32")
    page.get_by_role("slider", name="Frame").fill("41")
    expect(facts(one)).to_contain_text("Slice 42 / 64")
    expect(facts(two)).to_contain_text("Slice 21 / 32")


def test_the_demo_shows_truth_and_prediction_one_per_viewport(
    page: Page, start_dcmview: Callable[..., Server], demo: Path
) -> None:
    server = start_dcmview(demo)
    open_viewer(page, server)
    one, two = side_by_side(page, FINE, FINE)
    panel = page.get_by_role("region", name="Overlays")
    truth = panel.get_by_role("checkbox", name="Show Phantom inserts")
    model = panel.get_by_role("checkbox", name="Show Model prediction")
    # z = 9 mm (slice 37): the predicted sphere reaches 4 mm further along x than the true one
    for cell, hide in ((two, truth), (one, model)):
        cell.locator(".viewport").click()
        page.get_by_role("slider", name="Frame").fill("36")
        expect(facts(cell)).to_contain_text("Slice 37 / 64")
        hide.uncheck()
    expect(truth).to_be_checked()
    expect(model).not_to_be_checked()
    wait_painted(page)

    def probe_at(cell: Locator, column: int, row: int) -> Locator:
        page.mouse.move(*image_point(cell.locator(".viewport"), column + 0.5, row + 0.5, 256, 256))
        return cell.get_by_test_id("probe")

    # column 119 (x −6.8 mm), row 109 (y −14.8 mm): water, inside the predicted sphere only
    expect(probe_at(one, 119, 109)).to_have_text("row 109 col 119 · stored 1024 · modality 0")
    expect(probe_at(two, 119, 109)).to_have_text(
        "row 109 col 119 · stored 1024 · modality 0 · Sphere"
    )
    # column 84 (x −34.8 mm): the sphere in both
    expect(probe_at(one, 84, 109)).to_contain_text("stored 1224 · modality 200 · Sphere")
    expect(probe_at(two, 84, 109)).to_contain_text("stored 1224 · modality 200 · Sphere")
    # each viewport keeps its own choice
    two.locator(".viewport").click()
    expect(truth).not_to_be_checked()
    expect(model).to_be_checked()
