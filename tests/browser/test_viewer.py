"""The viewer against a real dcmview on generated files, in Debian's headless Chromium."""

from __future__ import annotations

import csv
import http.server
import io
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Dialog, Locator, Page, expect

from tests.browser._helpers import Server

pytestmark = pytest.mark.browser


def open_viewer(page: Page, server: Server, query: str = "?renderer=webgl") -> None:
    """Open the launch URL (token in the fragment) and wait for the first image.

    The tests force the WebGL2 path (the shader is what they check); on this software-only
    Chromium the viewer would pick the CPU path by itself (`test_renderer_auto_choice`).
    """
    page.goto(f"{server.base}/{query}#token={server.token}")
    page.wait_for_selector(".viewport[data-renderer]")
    page.wait_for_function(
        "document.querySelector('[data-testid=frame-counter]')?.textContent.includes('/')"
    )
    page.wait_for_selector(".viewport .spinner", state="detached")
    wait_painted(page)


def wait_painted(page: Page) -> None:
    """Wait until the CPU renderer's worker has answered for the newest frame and window (after
    two animation frames, so a change made just before has reached the renderer)."""
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_selector(".viewport[data-renderer]:not([data-painting])")


def canvas_png(page: Page) -> bytes:
    return page.locator(".viewport canvas").screenshot()


def counter(page: Page) -> Locator:
    return page.get_by_test_id("frame-counter")


def rois(page: Page) -> Locator:
    return page.get_by_role("listbox", name="ROI list").get_by_role("option")


def open_file(page: Page, name: str) -> None:
    page.get_by_role("treeitem", name=re.compile(re.escape(name))).click()
    page.wait_for_selector(".viewport .spinner", state="detached")


def test_load_shows_the_first_file_and_hides_the_token(page: Page, server: Server) -> None:
    open_viewer(page, server)
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('dcmview.token')") == server.token
    expect(page.get_by_role("tab", selected=True)).to_have_text("P001 · CT · 20240101")
    expect(page.get_by_test_id("file-count")).to_have_text("6 files")
    expect(page.get_by_test_id("scan-progress")).to_contain_text("scan complete")
    assert page.locator(".viewport").get_attribute("data-renderer") == "webgl2"
    expect(counter(page)).to_have_text("1 / 12")
    expect(page.get_by_test_id("window-text")).to_have_text("W 400 · C 40")
    # the tree: two patients, counts on groups, one row per instance
    expect(page.get_by_role("treeitem", name=re.compile(r"^P001, 3 instances"))).to_be_visible()
    expect(page.get_by_role("treeitem", name=re.compile(r"^P002, 1 instance"))).to_be_visible()
    page.screenshot(path=str(Path(server.data) / "viewer.png"))


def test_frames_step_by_key_and_wheel(page: Page, server: Server) -> None:
    open_viewer(page, server)
    viewport = page.locator(".viewport")
    viewport.focus()
    first = canvas_png(page)
    page.keyboard.press("ArrowRight")
    expect(counter(page)).to_have_text("2 / 12")
    page.wait_for_selector(".viewport .spinner", state="detached")
    page.wait_for_timeout(100)
    assert canvas_png(page) != first, "the next frame looks the same"
    page.keyboard.press("]")
    expect(counter(page)).to_have_text("3 / 12")
    page.keyboard.press("[")
    page.keyboard.press("ArrowLeft")
    expect(counter(page)).to_have_text("1 / 12")
    box = viewport.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 100)
    expect(counter(page)).to_have_text("2 / 12")
    page.mouse.wheel(0, 100)
    page.mouse.wheel(0, -100)
    expect(counter(page)).to_have_text("2 / 12")
    page.get_by_role("button", name="Next frame").click()
    expect(counter(page)).to_have_text("3 / 12")
    page.get_by_role("slider", name="Frame").fill("11")
    expect(counter(page)).to_have_text("12 / 12")


def test_cine_plays_at_the_dicom_rate_and_pauses(page: Page, server: Server) -> None:
    open_viewer(page, server)
    # FrameTime 100 ms → 10 fps chosen by default
    expect(page.get_by_role("combobox", name="FPS")).to_have_value("10")
    page.get_by_role("combobox", name="FPS").select_option("30")
    page.locator(".viewport").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_timeout(1500)
    rate = page.get_by_test_id("cine-rate").text_content() or ""
    assert re.match(r"\d+(\.\d)? fps", rate), rate
    assert float(rate.split()[0]) > 5
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    stopped = counter(page).text_content()
    page.wait_for_timeout(400)
    assert counter(page).text_content() == stopped


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_window_drag_changes_pixels_and_carries_across_the_series(
    page: Page, server: Server, renderer: str
) -> None:
    open_viewer(page, server, f"?renderer={renderer}")
    expected = "webgl2" if renderer == "webgl" else "cpu"
    assert page.locator(".viewport").get_attribute("data-renderer") == expected
    before = canvas_png(page)
    page.get_by_role("radio", name="Window/Level").click()
    box = page.locator(".viewport").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 60, steps=6)
    page.mouse.up()
    text = page.get_by_test_id("window-text").text_content()
    assert text != "W 400 · C 40"
    expect(page.get_by_role("combobox", name="Window presets")).to_have_value("manual")
    page.wait_for_timeout(100)
    assert canvas_png(page) != before
    # the other instance of the same series opens with the same manual window
    open_file(page, "ct2.dcm")
    expect(page.get_by_test_id("window-text")).to_have_text(text or "")
    # another series opens with its default
    open_file(page, "roi.dcm")
    expect(page.get_by_test_id("window-text")).to_have_text("W 400 · C 40")


def test_presets(page: Page, server: Server) -> None:
    open_viewer(page, server)
    presets = page.get_by_role("combobox", name="Window presets")
    names = presets.locator("option").all_text_contents()
    assert names[:2] == ["Default", "Full Dynamic"]
    assert "CT Lung" in names
    assert "CT Brain" in names
    before = canvas_png(page)
    presets.select_option(label="CT Lung")
    expect(page.get_by_test_id("window-text")).to_have_text("W 1500 · C -600")
    page.wait_for_timeout(100)
    lung = canvas_png(page)
    assert lung != before
    presets.select_option(label="Full Dynamic")
    # modality range of frame 0: -1024 .. 4000-1024 = 2976
    expect(page.get_by_test_id("window-text")).to_have_text("W 4000 · C 976")
    presets.select_option(label="Default")
    expect(page.get_by_test_id("window-text")).to_have_text("W 400 · C 40")


def test_pixel_probe_reports_stored_and_modality_values(page: Page, server: Server) -> None:
    open_viewer(page, server)
    page.get_by_role("button", name="Fit").click()
    box = page.locator(".viewport").bounding_box()
    assert box
    # the image (256×192) is fitted and centred: find the screen point of column 200, row 150
    zoom = min(box["width"] / 256, box["height"] / 192)
    ox = box["x"] + (box["width"] - 256 * zoom) / 2
    oy = box["y"] + (box["height"] - 192 * zoom) / 2
    page.mouse.move(ox + (200 + 0.5) * zoom, oy + (150 + 0.5) * zoom)
    stored = int(np.linspace(0, 2000, 256)[200])
    expect(page.get_by_test_id("probe")).to_have_text(
        re.compile(rf"row 150\s+col 200\s+·\s+stored {stored}\s+·\s+modality {stored - 1024}")
    )


def test_orientation_and_view_controls(page: Page, server: Server) -> None:
    open_viewer(page, server)
    viewport = page.locator(".viewport")
    viewport.focus()
    start = canvas_png(page)
    for key in ["h", "v", "period", "comma", "i"]:
        page.keyboard.press(key if len(key) == 1 else {"period": ".", "comma": ","}[key])
    expect(page.get_by_role("button", name="Flip horizontal")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Invert")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(100)
    assert canvas_png(page) != start
    # Ctrl+wheel zooms about the pointer, F fits again
    readout = page.get_by_test_id("window-readout")
    fitted = readout.text_content() or ""
    box = viewport.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    zoom = re.compile(r"Zoom (\d+)%")
    expect(readout).not_to_have_text(fitted)
    before = int(zoom.findall(fitted)[0])
    after = int(zoom.findall(readout.text_content() or "")[0])
    assert after > before
    expect(counter(page)).to_have_text("1 / 12")  # zooming did not scroll frames
    page.keyboard.press("f")
    expect(readout).to_have_text(fitted)
    # orientation is kept per file
    open_file(page, "mr.dcm")
    expect(page.get_by_role("button", name="Flip horizontal")).to_have_attribute(
        "aria-pressed", "false"
    )
    page.get_by_role("tab", name="P001 · CT · 20240101").click()
    expect(page.get_by_role("button", name="Flip horizontal")).to_have_attribute(
        "aria-pressed", "true"
    )
    viewport.dblclick()
    expect(page.get_by_role("button", name="Flip horizontal")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.get_by_role("button", name="Invert")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()


def test_navigator_filter(page: Page, server: Server) -> None:
    open_viewer(page, server)
    box = page.get_by_role("searchbox", name="Filter files")
    box.fill("modality:mr")
    expect(page.get_by_role("treeitem", name=re.compile("mr.dcm"))).to_be_visible()
    expect(page.get_by_role("treeitem", name=re.compile("ct.dcm"))).to_have_count(0)
    box.fill('patient:P001 series:"ROI series"')
    expect(page.get_by_role("treeitem", name=re.compile("roi.dcm"))).to_be_visible()
    expect(page.get_by_role("treeitem", name=re.compile("ct2.dcm"))).to_have_count(0)


def test_tags_filter_and_sequences(page: Page, server: Server) -> None:
    open_viewer(page, server)
    tags = page.get_by_role("table", name="DICOM tags")
    expect(tags.locator('[data-tag="(0010,0020)"]')).to_contain_text("P001")
    page.get_by_role("searchbox", name="Filter tags").fill("modality")
    expect(tags.locator("[data-tag]")).to_have_count(1)
    expect(tags.locator('[data-tag="(0008,0060)"]')).to_contain_text("CT")
    # pixel data is shown by length only
    page.get_by_role("searchbox", name="Filter tags").fill("7fe0")
    expect(tags.locator('[data-tag="(7FE0,0010)"]')).to_contain_text(
        re.compile(r"\[O[BW] · 1179648 bytes\]")
    )
    # inside sequences: the MR file references an image
    open_file(page, "mr.dcm")
    page.get_by_role("searchbox", name="Filter tags").fill("1.2.3.4.5.6.7")
    expect(tags.locator('[data-tag="(0008,1140)"]')).to_be_visible()
    expect(tags.locator('[data-tag="(0008,1155)"]')).to_contain_text("1.2.3.4.5.6.7")
    page.get_by_role("searchbox", name="Filter tags").fill("")
    page.get_by_role("button", name="Expand ReferencedImageSequence").click()
    expect(tags.locator('[data-tag="(0008,1150)"]')).to_be_visible()
    # paged items: 16 in the preview, the rest through tags/select
    expect(tags.locator('[data-tag="(0008,1115)"]')).to_contain_text("40 items")
    page.get_by_role("button", name="Expand ReferencedSeriesSequence").click()
    referenced = tags.locator('[data-tag="(0020,000E)"]', has_text="1.2.826.0.1.3680043.10.9.")
    expect(referenced).to_have_count(16)
    page.get_by_role("button", name="Load more items (16 of 40)").click()
    expect(referenced).to_have_count(40)
    expect(page.get_by_role("button", name=re.compile("Load more items"))).to_have_count(0)
    expect(referenced.last).to_contain_text("1.2.826.0.1.3680043.10.9.39")


def test_roi_draw_move_delete_export(page: Page, server: Server) -> None:
    index = server.files["roi.dcm"]
    server.put_rois(index, {"num_roi": 0, "roi_coords": [], "roi_frames": []})
    open_viewer(page, server)
    open_file(page, "roi.dcm")
    viewport = page.locator(".viewport")
    viewport.focus()
    page.keyboard.press("r")
    expect(page.get_by_role("radio", name="ROI")).to_have_attribute("aria-checked", "true")
    box = viewport.bounding_box()
    assert box
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 60, cy - 40)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 40, steps=5)
    page.mouse.up()
    expect(rois(page)).to_have_count(1)
    expect(page.locator(".saving")).to_have_text("")
    stored = server.api(f"file/{index}/annotations").json()
    assert stored["num_roi"] == 1
    assert stored["roi_frames"] == [[0]]
    y0, x0, y1, x1 = stored["roi_coords"][0]
    assert 0 <= y0 < y1 <= 192
    assert 0 <= x0 < x1 <= 256
    # move it by dragging its inside
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 30, cy + 20, steps=5)
    page.mouse.up()
    expect(page.locator(".saving")).to_have_text("")
    page.wait_for_timeout(200)
    moved = server.api(f"file/{index}/annotations").json()["roi_coords"][0]
    assert moved[1] > x0
    assert moved[0] > y0
    assert moved[3] - moved[1] == x1 - x0
    # resize from the south-east handle
    zoom = min(box["width"] / 256, box["height"] / 192)
    ox = box["x"] + (box["width"] - 256 * zoom) / 2
    oy = box["y"] + (box["height"] - 192 * zoom) / 2
    page.mouse.move(ox + moved[3] * zoom, oy + moved[2] * zoom)
    page.mouse.down()
    page.mouse.move(ox + (moved[3] + 10) * zoom, oy + (moved[2] + 5) * zoom, steps=4)
    page.mouse.up()
    expect(page.locator(".saving")).to_have_text("")
    page.wait_for_timeout(200)
    resized = server.api(f"file/{index}/annotations").json()["roi_coords"][0]
    assert resized[:2] == moved[:2]
    assert resized[3] == min(256, moved[3] + 10)
    assert resized[2] == min(192, moved[2] + 5)
    # scope: all frames
    page.get_by_label("All frames").check()
    page.wait_for_timeout(300)
    assert server.api(f"file/{index}/annotations").json()["roi_frames"] == [[]]
    # export with the token header
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export ROIs").click()
    download = dl.value
    assert download.suggested_filename == "dcmview-annotations.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert any(r["anon_dicom_path"].endswith("roi.dcm") and r["num_ROI"] == "1" for r in rows)
    # delete with the key
    viewport.focus()
    page.keyboard.press("Delete")
    expect(rois(page)).to_have_count(0)
    expect(rois(page)).to_have_count(0)
    page.wait_for_timeout(300)
    assert server.api(f"file/{index}/annotations").json()["num_roi"] == 0


def test_rejected_roi_edit_restores_the_boxes(
    page: Page, server: Server, console: list[str]
) -> None:
    index = server.files["roi.dcm"]
    server.put_rois(index, {"num_roi": 1, "roi_coords": [[10, 10, 50, 60]], "roi_frames": [[0]]})
    open_viewer(page, server)
    open_file(page, "roi.dcm")
    expect(rois(page)).to_have_count(1)
    # make the server reject the next edit: the ROI's frame list names frame 3 which we then
    # ask for on a file whose frames are 0..3, via a scope change on frame 4 (out of range)
    page.evaluate(
        """() => {
          const orig = window.fetch;
          window.fetch = (input, init) => {
            if (init && init.method === 'PUT') {
              const body = JSON.parse(init.body);
              body.roi_frames = [[99]];
              init = { ...init, body: JSON.stringify(body) };
            }
            return orig(input, init);
          };
        }"""
    )
    rois(page).click()
    page.get_by_label("All frames").check()
    expect(page.get_by_role("alert")).to_contain_text("ROI edit rejected")
    expect(rois(page)).to_contain_text("frame 1")
    assert server.api(f"file/{index}/annotations").json()["roi_frames"] == [[0]]
    server.put_rois(index, {"num_roi": 0, "roi_coords": [], "roi_frames": []})
    # the browser itself logs the 400 answer as a failed resource: expected here
    console[:] = [c for c in console if "status of 400" not in c]


def test_renderer_auto_choice(page: Page, server: Server) -> None:
    """WebGL2 on a GPU; the CPU path where WebGL2 is a software rasteriser (as here)."""
    open_viewer(page, server, "")
    name = page.evaluate(
        """() => {
          const gl = document.createElement('canvas').getContext('webgl2');
          if (!gl) return '';
          const ext = gl.getExtension('WEBGL_debug_renderer_info');
          return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
        }"""
    )
    software = re.search(r"swiftshader|llvmpipe|softpipe|software", name, re.IGNORECASE)
    expected = "cpu" if not name or software else "webgl2"
    assert page.locator(".viewport").get_attribute("data-renderer") == expected, name


def test_cpu_fallback_renders(page: Page, server: Server) -> None:
    open_viewer(page, server, "?renderer=cpu")
    assert page.locator(".viewport").get_attribute("data-renderer") == "cpu"
    before = canvas_png(page)
    page.get_by_role("combobox", name="Window presets").select_option(label="Full Dynamic")
    page.wait_for_timeout(150)
    assert canvas_png(page) != before


def test_without_the_token_the_page_asks_for_the_access_link(
    page: Page, server: Server, console: list[str]
) -> None:
    page.goto(f"{server.base}/")
    expect(page.get_by_role("heading", name="This viewer needs its access link")).to_be_visible()
    page.wait_for_timeout(300)
    # one request, answered 401 (the browser logs that itself), and nothing after it
    assert console == [
        "console.error: Failed to load resource: "
        "the server responded with a status of 401 (Unauthorized)"
    ]
    console.clear()
    page.goto(f"{server.base}/#token=wrong-token")
    expect(page.get_by_role("heading", name="This viewer needs its access link")).to_be_visible()
    console.clear()


def test_a_stopped_server_is_reported(
    page: Page, dataset: Path, console: list[str], start_dcmview: Callable[..., Server]
) -> None:
    own = start_dcmview(dataset)
    open_viewer(page, own)
    own.stop()
    expect(page.get_by_role("heading", name="The dcmview server stopped")).to_be_visible(
        timeout=15000
    )
    # the browser logs failed fetches of a stopped server as network errors: expected here
    console[:] = [
        c for c in console if "ERR_CONNECTION_REFUSED" not in c and "Failed to load" not in c
    ]


def test_a_restarted_server_is_reported(
    page: Page, dataset: Path, console: list[str], start_dcmview: Callable[..., Server]
) -> None:
    token = "restart-test-token-0123456789abcdefghijklmnopq"
    first = start_dcmview(dataset, token=token)
    open_viewer(page, first)
    port = first.base.rsplit(":", 1)[1]
    first.stop()
    expect(page.get_by_role("heading", name="The dcmview server stopped")).to_be_visible(
        timeout=15000
    )
    # a new run on the same address and token: the page notices the new instance
    start_dcmview(dataset, "--port", port, token=token)
    page.get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("heading", name="The viewer restarted")).to_be_visible(timeout=15000)
    console[:] = [c for c in console if "ERR_CONNECTION_REFUSED" not in c]


def test_keyboard_only_operation(page: Page, server: Server) -> None:
    open_viewer(page, server)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "document.activeElement && document.activeElement.outerHTML.slice(0, 80)"
    )
    assert focused
    # every button, select and input has an accessible name
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll(
                  'button, select, input, [role=slider], [role=radio], [role=tab]')]
             .filter(el => !(el.getAttribute('aria-label') || el.getAttribute('title')
                             || el.labels?.length
                             || el.textContent.trim()))
             .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    # the navigator's tree works with arrows and Enter
    page.get_by_role("treeitem", name=re.compile("^P001")).focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", selected=True)).to_have_text("P003 · OT · 20220202")
    assert page.get_by_role("tab", selected=True).get_attribute("title", timeout=1000)
    assert (page.get_by_role("tab", selected=True).get_attribute("title") or "").endswith("rgb.dcm")


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_overlay_planes_are_drawn(page: Page, server: Server, renderer: str) -> None:
    open_viewer(page, server, f"?renderer={renderer}")
    open_file(page, "mr.dcm")
    page.wait_for_timeout(300)
    shot = Image.open(io.BytesIO(canvas_png(page))).convert("RGB")
    width, height = shot.size
    zoom = min(width / 96, height / 64)
    ox, oy = (width - 96 * zoom) / 2, (height - 64 * zoom) / 2

    def at(row: float, col: float) -> tuple[int, int, int]:
        px = shot.getpixel((int(ox + (col + 0.5) * zoom), int(oy + (row + 0.5) * zoom)))
        assert isinstance(px, tuple)
        return (int(px[0]), int(px[1]), int(px[2]))

    # inside the overlay rectangle (rows 20-29, columns 40-59): the overlay colour
    r, g, b = at(25, 50)
    assert r > 200, (r, g, b)
    assert g > 170, (r, g, b)
    assert b < 120, (r, g, b)
    # outside it: the grey checkerboard (0 and 200 under the percentile window)
    r, g, b = at(4, 4)
    assert r == g == b


def draw_roi_by_keyboard(page: Page, server: Server) -> int:
    """Open roi.dcm with no ROIs, add one with R then Enter; its index, once it is saved."""
    index = server.files["roi.dcm"]
    server.put_rois(index, {"num_roi": 0, "roi_coords": [], "roi_frames": []})
    open_viewer(page, server)
    open_file(page, "roi.dcm")
    page.locator(".viewport").focus()
    page.keyboard.press("r")
    page.keyboard.press("Enter")
    expect(rois(page)).to_have_count(1)
    expect(page.locator(".saving")).to_have_text("")
    page.wait_for_timeout(200)
    first = server.api(f"file/{index}/annotations").json()["roi_coords"][0]
    assert first == [72, 96, 120, 160]  # the middle quarter of 192×256
    return index


def test_rois_by_keyboard_only(page: Page, server: Server) -> None:
    index = draw_roi_by_keyboard(page, server)
    # drawn with scope "Current frame": shown on frame 1 only
    outlines = page.locator("svg.rois rect:not(.handle)")
    expect(outlines).to_have_count(1)
    page.keyboard.press("ArrowRight")
    expect(counter(page)).to_have_text("2 / 4")
    expect(outlines).to_have_count(0)
    page.keyboard.press("ArrowLeft")
    expect(outlines).to_have_count(1)
    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+Shift+ArrowDown")
    page.wait_for_timeout(400)
    expect(page.locator(".saving")).to_have_text("")
    assert server.api(f"file/{index}/annotations").json()["roi_coords"][0] == [82, 97, 130, 161]
    page.keyboard.press("Backspace")
    expect(rois(page)).to_have_count(0)
    page.wait_for_timeout(300)
    assert server.api(f"file/{index}/annotations").json()["num_roi"] == 0


def pixel(png: bytes, x: float, y: float) -> tuple[int, int, int]:
    """The RGB of a screenshot at fractional position (x, y) of its width and height."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    px = img.getpixel((int(img.size[0] * x), int(img.size[1] * y)))
    assert isinstance(px, tuple)
    return (int(px[0]), int(px[1]), int(px[2]))


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_monochrome1_is_inverted_and_colour_is_shown(
    page: Page, server: Server, renderer: str
) -> None:
    open_viewer(page, server, f"?renderer={renderer}")
    open_file(page, "mono1.dcm")
    page.wait_for_timeout(200)
    png = canvas_png(page)
    # stored 0 on the left is white under MONOCHROME1, stored 255 on the right black
    left, right = pixel(png, 0.3, 0.5), pixel(png, 0.7, 0.5)
    assert min(left) > 240, left
    assert max(right) < 15, right
    expect(page.get_by_test_id("window-readout")).to_contain_text("MONOCHROME1")
    page.locator(".viewport").focus()
    page.keyboard.press("i")
    page.wait_for_timeout(200)
    assert max(pixel(canvas_png(page), 0.3, 0.5)) < 15
    open_file(page, "rgb.dcm")
    page.wait_for_timeout(200)
    png = canvas_png(page)
    red, blue = pixel(png, 0.3, 0.5), pixel(png, 0.7, 0.5)
    assert red[0] > 240 and red[1] < 15 and red[2] < 15, red  # noqa: PT018
    assert blue[2] > 240 and blue[0] < 15 and blue[1] < 15, blue  # noqa: PT018
    expect(page.get_by_test_id("window-text")).to_have_text("Colour")


def test_tag_click_copies_and_columns_resize(page: Page, server: Server) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_viewer(page, server)
    tags = page.get_by_role("table", name="DICOM tags")
    tags.get_by_role("button", name="Copy (0008,0060) Modality").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(
        "Copied (0008,0060) Modality = CT"
    )
    assert page.evaluate("navigator.clipboard.readText()") == "(0008,0060) Modality = CT"
    grip = page.get_by_role("separator", name="Resize the Keyword column")
    before = int(grip.get_attribute("aria-valuenow") or 0)
    grip.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert int(grip.get_attribute("aria-valuenow") or 0) == before + 20
    cell = tags.locator('[data-tag="(0008,0060)"] .kw')
    width = (cell.bounding_box() or {"width": 0})["width"]
    assert abs(width - (before + 20)) < 2


def test_panels_collapse_and_tabs_close(page: Page, server: Server) -> None:
    open_viewer(page, server)
    page.get_by_role("button", name="Hide Files").click()
    expect(page.get_by_role("searchbox", name="Filter files")).to_have_count(0)
    page.get_by_role("button", name="Show Files").click()
    page.get_by_role("button", name="Hide Tags").click()
    expect(page.get_by_role("searchbox", name="Filter tags")).to_have_count(0)
    page.get_by_role("button", name="Show Tags").click()
    expect(page.get_by_role("searchbox", name="Filter tags")).to_be_visible()
    open_file(page, "mr.dcm")
    expect(page.get_by_role("tab")).to_have_count(2)
    page.get_by_role("button", name="Close P002 · MR · 20230505").click()
    expect(page.get_by_role("tab")).to_have_count(1)
    expect(page.get_by_role("tab", selected=True)).to_have_text("P001 · CT · 20240101")


_HOP_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "connection")


class _PrefixProxy(http.server.BaseHTTPRequestHandler):
    """Serves dcmview under /viewer/ (what a reverse proxy with a path prefix does)."""

    upstream = ""

    def _forward(self) -> None:
        if not self.path.startswith("/viewer/"):
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        keep = ("authorization", "content-type", "accept")
        headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
        answer = httpx.request(
            self.command,
            self.upstream + self.path[len("/viewer") :],
            headers=headers,
            content=body,
            timeout=10,
        )
        self.send_response(answer.status_code)
        for k, v in answer.headers.items():
            if k.lower() not in (
                "content-length",
                "content-encoding",
                "transfer-encoding",
                "connection",
            ):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_works_under_a_path_prefix(page: Page, server: Server) -> None:
    handler = type("Proxy", (_PrefixProxy,), {"upstream": server.base})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{proxy.server_address[1]}/viewer/#token={server.token}")
        expect(counter(page)).to_have_text("1 / 12")
        page.wait_for_selector(".viewport .spinner", state="detached")
        expect(page.get_by_test_id("window-text")).to_have_text("W 400 · C 40")
        # (the fragment keeps the reading: layout and files, never the token)
        assert page.url.split("#")[0].endswith("/viewer/")
        assert "token" not in page.url
    finally:
        page.goto("about:blank")  # no poll may reach the proxy once it is gone
        proxy.shutdown()
        proxy.server_close()


WORKER_PROBE = """
window.__renders = 0;
window.__workers = [];
window.__long = [];
const Base = window.Worker;
window.Worker = class extends Base {
  constructor(url, options) {
    super(url, options);
    window.__workers.push(options && options.name);
  }
  postMessage(msg, transfer) {
    if (msg && msg.type === 'render') window.__renders++;
    return super.postMessage(msg, transfer);
  }
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__long.push(e.duration);
}).observe({ type: 'longtask' });
"""


def test_cpu_windowing_runs_in_a_worker_on_a_large_frame(
    page: Page,
    start_dcmview: Callable[..., Server],
    make_ct: Callable[..., np.ndarray],
    tmp_path: Path,
) -> None:
    rows, columns = 1664, 2048
    stored = make_ct(tmp_path / "big.dcm", frames=1, rows=rows, columns=columns)
    server = start_dcmview(tmp_path)
    page.add_init_script(WORKER_PROBE)
    open_viewer(page, server, "?renderer=cpu")
    assert page.evaluate("window.__workers") == ["dcmview-windowing"]
    first = page.evaluate("window.__renders")
    assert first >= 1
    page.evaluate("window.__long = []")
    page.get_by_role("radio", name="Window/Level").click()
    box = page.locator(".viewport").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 200, y + 100, steps=20)
    page.mouse.up()
    wait_painted(page)
    # every window step went to the worker (or was skipped while it was busy), none ran here
    assert page.evaluate("window.__renders") > first
    longest = max(page.evaluate("window.__long") or [0])
    # the main thread only draws the finished bitmap: no long task near a full LUT pass
    assert longest < 200, longest
    # the worker's pixels are the LUT maths: a known window over the ramp
    page.get_by_role("combobox", name="Window presets").select_option(label="Default")
    expect(page.get_by_test_id("window-text")).to_have_text("W 400 · C 40")
    wait_painted(page)
    shot = Image.open(io.BytesIO(canvas_png(page))).convert("RGB")
    width, height = shot.size
    zoom = min(width / columns, height / rows)
    ox, oy = (width - columns * zoom) / 2, (height - rows * zoom) / 2
    for col in (1000, 1100, 1200, 1300):
        value = int(stored[0, rows - 10, col]) - 1024
        expected = round(min(1.0, max(0.0, (value - 39.5) / 399 + 0.5)) * 255)
        px = shot.getpixel((int(ox + (col + 0.5) * zoom), int(oy + (rows - 10 + 0.5) * zoom)))
        assert isinstance(px, tuple)
        assert abs(int(px[0]) - expected) <= 3, (col, px, expected)
        assert px[0] == px[1] == px[2]


def test_scan_progress_then_the_final_count(
    page: Page,
    start_dcmview: Callable[..., Server],
    make_tiny_series: Callable[[Path, int], None],
    tmp_path: Path,
) -> None:
    count = 30000
    make_tiny_series(tmp_path, count)
    server = start_dcmview(tmp_path, wait_scan=False)
    with page.expect_response(lambda r: "/api/files" in r.url) as first:
        page.goto(f"{server.base}/?renderer=cpu#token={server.token}")
    body = first.value.json()
    # the page's own first answer says the scan is still running: the test is not vacuous
    assert body["scan_complete"] is False, body["scanned"]
    assert body["scanned"] < count
    progress = page.get_by_test_id("scan-progress")
    expect(progress).to_contain_text(re.compile(r"scanning… \d+ found"))
    shown = int(re.findall(r"scanning… (\d+) found", progress.text_content() or "")[0])
    assert 0 <= shown < count
    files = page.get_by_role("region", name="Files")
    expect(files.locator(".count")).to_contain_text("scanning…")
    expect(progress).to_have_text("scan complete", timeout=60000)
    expect(files.locator(".count")).to_have_text(f"{count} files")
    assert server.api("files").json()["scanned"] == count
    # 30,000 files are ~120 MB of blocks: not left behind for pytest's tmp retention
    page.goto("about:blank")  # no thumbnail or poll may meet the stopped server
    server.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_roi_resize_by_keyboard(page: Page, server: Server) -> None:
    index = draw_roi_by_keyboard(page, server)
    # Ctrl+Alt+arrows move the bottom-right corner (Shift: 10 px); the top-left stays put
    page.keyboard.press("Control+Alt+ArrowRight")
    page.keyboard.press("Control+Alt+Shift+ArrowDown")
    page.keyboard.press("Control+Alt+ArrowUp")
    page.wait_for_timeout(400)
    expect(page.locator(".saving")).to_have_text("")
    assert server.api(f"file/{index}/annotations").json()["roi_coords"][0] == [72, 96, 129, 161]
    # shrinking stops one pixel from the top-left corner; growing stops at the image edge
    for _ in range(8):
        page.keyboard.press("Control+Alt+Shift+ArrowLeft")
    for _ in range(20):
        page.keyboard.press("Control+Alt+Shift+ArrowDown")
    page.wait_for_timeout(400)
    expect(page.locator(".saving")).to_have_text("")
    assert server.api(f"file/{index}/annotations").json()["roi_coords"][0] == [72, 96, 192, 97]
    # the frame did not change and no move happened on the way
    expect(counter(page)).to_have_text("1 / 4")
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_contain_text("Resize the selected box (bottom-right corner)")
    expect(sheet).to_contain_text("Ctrl + Alt + arrows (Shift: 10 px)")
    page.keyboard.press("Escape")
    server.put_rois(index, {"num_roi": 0, "roi_coords": [], "roi_frames": []})


def test_tags_of_a_big_header_are_virtualised(
    page: Page,
    start_dcmview: Callable[..., Server],
    make_enhanced: Callable[[Path, int], None],
    tmp_path: Path,
) -> None:
    frames = 700
    make_enhanced(tmp_path / "enhanced.dcm", frames)
    server = start_dcmview(tmp_path)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_viewer(page, server)
    tags = page.get_by_role("table", name="DICOM tags")
    body = tags.locator(".body")

    def to_bottom() -> None:
        tags.evaluate(
            "el => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); }"
        )

    expect(tags.locator('[data-tag="(5200,9230)"]')).to_contain_text("700 items")
    page.get_by_role("button", name="Expand PerFrameFunctionalGroupsSequence").click()
    # every item, paged in through tags/select (the button sits at the end of the loaded items)
    loaded = 16
    expect(body.get_by_role("button", name=f"Load more items (16 of {frames})")).to_have_count(1)
    first = int(tags.get_attribute("aria-rowcount") or 0)
    while loaded < frames:
        to_bottom()
        page.get_by_role("button", name=f"Load more items ({loaded} of {frames})").click()
        loaded = min(frames, loaded + 64)
        # the page has arrived: three rows per item (item, two sequences); no more-row at the end
        rows_now = first + 3 * (loaded - 16) - (1 if loaded == frames else 0)
        expect(tags).to_have_attribute("aria-rowcount", str(rows_now))
    expect(page.get_by_role("button", name=re.compile("Load more items"))).to_have_count(0)
    # thousands of rows, a screenful in the DOM
    count = int(tags.get_attribute("aria-rowcount") or 0)
    assert count > 3 * frames, count
    assert body.get_by_role("row").count() < 120
    to_bottom()
    expect(tags.get_by_role("row", name=f"Item {frames}", exact=True)).to_be_visible()
    # the first item (row 3, under the header and the sequence) is not in the DOM down here
    expect(tags.locator('[aria-rowindex="3"]')).to_have_count(0)
    # expansion deep in the list
    page.get_by_role("button", name="Expand FrameContentSequence").last.click()
    last = tags.locator('[data-tag="(0020,9057)"]', has_text=str(frames))
    expect(last).to_be_visible()
    # the filter covers every loaded item: 4 rows per match (item, sequence, its item, element)
    page.get_by_role("searchbox", name="Filter tags").fill("InStackPositionNumber")
    expect(tags).to_have_attribute("aria-rowcount", str(1 + 1 + 4 * frames))
    assert body.get_by_role("row").count() < 120
    to_bottom()
    last = tags.locator('[data-tag="(0020,9057)"]', has_text=str(frames))
    expect(last).to_be_visible()
    # click to copy a row that was never in the first screenful
    last.get_by_role("button").click()
    expected = f"(0020,9057) InStackPositionNumber = {frames}"
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(f"Copied {expected}")
    assert page.evaluate("navigator.clipboard.readText()") == expected
    # back at the top the first rows are rendered again
    tags.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(tags.locator('[aria-rowindex="3"]')).to_have_text("Item 1")
    expect(tags.locator('[aria-rowindex="3"]')).to_be_visible()


def test_cpu_worker_and_main_thread_paint_the_same_pixels(page: Page, server: Server) -> None:
    """Without OffscreenCanvas the CPU path windows on the main thread with the same kernel."""
    page.add_init_script(WORKER_PROBE)
    open_viewer(page, server, "?renderer=cpu")
    assert page.evaluate("window.__workers") == ["dcmview-windowing"]
    other = page.context.new_page()
    other.add_init_script(WORKER_PROBE + "\ndelete window.OffscreenCanvas;")
    open_viewer(other, server, "?renderer=cpu")
    assert other.evaluate("window.__workers") == []
    assert other.evaluate("window.__renders") == 0
    assert canvas_png(page) == canvas_png(other)
    for pg in (page, other):
        pg.get_by_role("combobox", name="Window presets").select_option(label="Full Dynamic")
        pg.locator(".viewport").focus()
        pg.keyboard.press("i")
        wait_painted(pg)
    assert canvas_png(page) == canvas_png(other)
    other.close()


# ---- issue 12: edits, broken files, transfer syntax names, keyboard and the tags panel -------


def test_unexported_rois_ask_before_the_tab_closes(page: Page, server: Server) -> None:
    index = draw_roi_by_keyboard(page, server)
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()  # stay on the page
    assert not page.is_closed()
    # once exported, leaving is silent
    with page.expect_download():
        page.get_by_role("button", name="Export ROIs").click()
    seen: list[str] = []

    def answer(dialog: Dialog) -> None:
        seen.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    assert seen == []
    server.put_rois(index, {"num_roi": 0, "roi_coords": [], "roi_frames": []})


CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\.[a-z_]+\b")


def test_files_without_pixels_say_what_they_are(
    page: Page,
    console: list[str],
    start_dcmview: Callable[..., Server],
    make_ct: Callable[..., np.ndarray],
    make_sr: Callable[..., None],
    tmp_path: Path,
) -> None:
    from pydicom.data import get_testdata_file

    make_ct(tmp_path / "ct.dcm", frames=3)
    make_sr(tmp_path / "report.dcm")
    shutil.copy(str(get_testdata_file("MR_truncated.dcm")), tmp_path / "truncated.dcm")
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    image_controls = [
        page.get_by_role("combobox", name="Window presets"),
        page.get_by_role("radio", name="Window/Level"),
        page.get_by_role("button", name="Play"),
        page.get_by_role("slider", name="Frame"),
        page.get_by_role("listbox", name="ROI list"),
        page.get_by_role("button", name="Export ROIs"),
        page.get_by_test_id("window-readout"),
    ]
    for control in image_controls:
        expect(control).to_have_count(1)
    message = page.get_by_test_id("viewport-message")
    # an SR: what it is, and no image controls
    open_file(page, "report.dcm")
    expect(message).to_contain_text("A structured report (SR)")
    expect(message).to_contain_text("no pixel data")
    for control in image_controls:
        expect(control).to_have_count(0)
    # a truncated file: a sentence, never a stable code
    page.get_by_role("treeitem", name=re.compile("truncated.dcm")).click()
    expect(message).to_contain_text("An MR image whose pixels cannot be shown")
    expect(message).to_contain_text("truncated")
    text = message.text_content() or ""
    assert not CODE.search(text), text
    for control in image_controls:
        expect(control).to_have_count(0)
    # back to an image: the controls return
    open_file(page, "ct.dcm")
    for control in image_controls:
        expect(control).to_have_count(1)
    # the browser logs the 422 answer for the truncated file's frame itself: expected here
    console[:] = [c for c in console if "status of 422" not in c]


def test_the_transfer_syntax_is_shown_by_name(page: Page, server: Server) -> None:
    open_viewer(page, server)
    expect(page.get_by_test_id("image-facts")).to_contain_text("Explicit VR Little Endian")
    assert "1.2.840.10008.1.2.1" not in (page.get_by_test_id("image-facts").text_content() or "")


def test_shortcuts_work_whatever_panel_was_clicked(page: Page, server: Server) -> None:
    open_viewer(page, server)
    open_file(page, "ct2.dcm")
    expect(counter(page)).to_have_text("1 / 3")
    # the file row chosen in the navigator has the focus: ← → step frames
    page.keyboard.press("ArrowRight")
    expect(counter(page)).to_have_text("2 / 3")
    page.keyboard.press("]")
    expect(counter(page)).to_have_text("3 / 3")
    page.keyboard.press("ArrowLeft")
    expect(counter(page)).to_have_text("2 / 3")
    # ↑ ↓ stay the tree's while one of its rows has the focus
    before = page.evaluate("document.activeElement.dataset.id")
    page.keyboard.press("ArrowUp")
    after = page.evaluate("document.activeElement.dataset.id")
    assert after
    assert after != before
    expect(counter(page)).to_have_text("2 / 3")
    # after a click in the tags panel: tool letters, [ ] and Space
    page.get_by_role("table", name="DICOM tags").locator('[data-tag="(0008,0060)"] .kw').click()
    page.keyboard.press("p")
    expect(page.get_by_role("radio", name="Pan")).to_have_attribute("aria-checked", "true")
    page.keyboard.press("[")
    expect(counter(page)).to_have_text("1 / 3")
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    # after clicking a toolbar button too
    page.get_by_role("button", name="Flip horizontal").click()
    page.keyboard.press("w")
    expect(page.get_by_role("radio", name="Window/Level")).to_have_attribute("aria-checked", "true")
    # typing in a text field is typing
    page.get_by_role("searchbox", name="Filter tags").click()
    page.keyboard.type("p ")
    expect(page.get_by_role("radio", name="Window/Level")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("button", name="Play")).to_be_visible()


def test_a_click_anywhere_on_a_tag_row_copies_it(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_viewer(page, server)
    tags = page.get_by_role("table", name="DICOM tags")
    row = tags.locator('[data-tag="(0010,0020)"]')
    toast = page.get_by_role("status").filter(has_text="Copied")
    for cell in (".kw", ".vr", ".tag"):
        page.evaluate("navigator.clipboard.writeText('')")
        row.locator(cell).click()
        expect(toast).to_have_text("Copied (0010,0020) PatientID = P001")
        assert page.evaluate("navigator.clipboard.readText()") == "(0010,0020) PatientID = P001"
    # the Tag and Keyword columns fit the panel's default width: no horizontal scrolling
    sizes = tags.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1], sizes
    tag = row.locator(".tag")
    assert tag.evaluate("el => el.scrollWidth <= el.clientWidth"), "the tag is cut"
    table_box = tags.bounding_box()
    keyword_box = row.locator(".kw").bounding_box()
    assert table_box
    assert keyword_box
    assert keyword_box["x"] + keyword_box["width"] <= table_box["x"] + table_box["width"]
    assert row.locator(".kw").evaluate("el => el.scrollWidth <= el.clientWidth"), "PatientID is cut"


def test_the_file_opened_at_start_is_shown_in_the_navigator(
    page: Page,
    start_dcmview: Callable[..., Server],
    make_ct: Callable[..., np.ndarray],
    make_sr: Callable[..., None],
    tmp_path: Path,
) -> None:
    # forty reports of patient A000 come first in the tree; the only image is patient Z999's
    series = "1.2.826.0.1.3680043.10.12.1"
    for k in range(40):
        make_sr(tmp_path / f"a{k:02d}.dcm", patient="A000", series=series)
    make_ct(tmp_path / "z.dcm", frames=2, patient="Z999")
    server = start_dcmview(tmp_path)
    open_viewer(page, server)
    expect(page.get_by_role("tab", selected=True)).to_contain_text("Z999")
    row = page.get_by_role("treeitem", name=re.compile("z.dcm"))
    expect(row).to_have_attribute("aria-selected", "true")
    tree = page.get_by_role("tree", name="Studies")
    box, view = row.bounding_box(), tree.bounding_box()
    assert box
    assert view
    assert view["y"] <= box["y"]
    assert box["y"] + box["height"] <= view["y"] + view["height"]


# ---- issue 15 (first part): layouts, the active viewport, linking -----------------------------


def test_layouts_give_each_viewport_its_own_file_and_link_them(page: Page, server: Server) -> None:
    open_viewer(page, server)
    open_file(page, "ct2.dcm")  # two open files: ct.dcm, ct2.dcm (3 frames)
    layout = page.get_by_role("radiogroup", name="Layout")
    expect(layout.get_by_role("radio", name="1×1")).to_have_attribute("aria-checked", "true")
    page.locator(".viewport").focus()
    page.keyboard.press("2")
    expect(layout.get_by_role("radio", name="1×2")).to_have_attribute("aria-checked", "true")
    one = page.get_by_role("region", name="Viewport 1")
    two = page.get_by_role("region", name="Viewport 2")
    # the active viewport keeps its file; the new one shows the other open file
    expect(one.get_by_test_id("image-facts")).to_contain_text("Frame 1 / 3")
    expect(two.get_by_test_id("image-facts")).to_contain_text("Frame 1 / 12")
    expect(one).to_have_attribute("data-active", "true")
    # a click makes viewport 2 active: keys and the navigator act on it
    two.locator(".viewport").click()
    expect(two).to_have_attribute("data-active", "true")
    expect(one).to_have_attribute("data-active", "false")
    page.keyboard.press("ArrowRight")
    expect(two.get_by_test_id("image-facts")).to_contain_text("Frame 2 / 12")
    expect(one.get_by_test_id("image-facts")).to_contain_text("Frame 1 / 3")
    open_file(page, "mr.dcm")
    expect(two.get_by_test_id("viewport-message")).to_have_count(0)
    expect(two.locator(".corner.tl")).to_contain_text("P002")
    expect(one.locator(".corner.tl")).to_contain_text("P001")
    # linked: window and frame follow the active viewport
    one.locator(".viewport").click()
    page.get_by_role("button", name="Link viewports").click()
    page.get_by_role("combobox", name="Window presets").select_option(label="CT Lung")
    expect(two.get_by_test_id("window-readout")).to_contain_text("W 1500 · C -600")
    page.keyboard.press("4")
    expect(page.get_by_role("region", name=re.compile(r"^Viewport \d$"))).to_have_count(4)
    expect(page.get_by_role("region", name="Viewport 4")).to_contain_text("Empty viewport")
    page.keyboard.press("1")
    expect(page.get_by_role("region", name=re.compile(r"^Viewport \d$"))).to_have_count(1)
    expect(page.locator(".corner.tl")).to_contain_text("P001")


def test_a_reload_restores_the_layout_and_a_dragged_file(page: Page, server: Server) -> None:
    open_viewer(page, server)
    page.locator(".viewport").focus()
    page.keyboard.press("3")  # 2×1: one open file, the second viewport is empty
    two = page.get_by_role("region", name="Viewport 2")
    expect(two).to_contain_text("Empty viewport")
    # drag a file from the navigator onto the empty viewport
    page.get_by_role("treeitem", name=re.compile("mr.dcm")).drag_to(two)
    expect(two.locator(".corner.tl")).to_contain_text("P002")
    expect(two).to_have_attribute("data-active", "true")
    expect(page.get_by_role("region", name="Viewport 1").locator(".corner.tl")).to_contain_text(
        "P001"
    )
    assert "layout=2x1" in page.url
    assert "token" not in page.url
    page.reload()
    page.wait_for_selector(".viewport[data-renderer]")
    expect(page.get_by_role("radio", name="2×1")).to_have_attribute("aria-checked", "true")
    expect(two.locator(".corner.tl")).to_contain_text("P002")
    expect(page.get_by_role("region", name="Viewport 1").locator(".corner.tl")).to_contain_text(
        "P001"
    )
    expect(two).to_have_attribute("data-active", "true")
