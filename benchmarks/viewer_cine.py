"""Cine rate the viewer reaches in headless Chromium on 1024×832 16-bit frames from loopback.

    uv run python benchmarks/viewer_cine.py [--frames 60] [--fps 30] [--seconds 6]

Writes a 60-frame 1024×832 signed 16-bit file, starts the real `dcmview` on it, opens the viewer
in Debian's Chromium (SwiftShader WebGL2, no GPU) and plays cine. It counts, in the page, every
change of the displayed frame during the first pass (frames fetched from the server while
playing, with prefetch) and during later passes (frames from the client cache), and prints the
rates. Needs /usr/bin/chromium; never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CHROMIUM = "/usr/bin/chromium"
ARGS = [
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

# Counts changes of the frame counter on every animation frame for `ms` milliseconds.
COUNT_JS = """async (ms) => {
  const el = document.querySelector('[data-testid=frame-counter]');
  const stamps = [];
  let last = el.textContent;
  const t0 = performance.now();
  await new Promise((done) => {
    const step = (t) => {
      if (el.textContent !== last) { last = el.textContent; stamps.push(t); }
      if (t - t0 < ms) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  return stamps;
}"""


def write_file(path: Path, frames: int, rows: int = 832, columns: int = 1024) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.13.1.3")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = "CINE"
    ds.Modality = "MG"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    yy, xx = np.mgrid[0:rows, 0:columns]
    base = ((xx * 4 + yy) % 4096).astype(np.uint16)
    data = np.empty((frames, rows, columns), dtype=np.uint16)
    for f in range(frames):
        data[f] = (base + f * 37) % 4096
    ds.PixelData = data.tobytes()
    ds.save_as(path, enforce_file_format=True)


def rate(stamps: list[float]) -> float:
    if len(stamps) < 2:
        return 0.0
    return (len(stamps) - 1) * 1000.0 / (stamps[-1] - stamps[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument(
        "--renderer", choices=["auto", "webgl", "cpu"], default="auto", help="viewer renderer"
    )
    parser.add_argument("--size", default="1600x1000", help="browser viewport, WxH")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed", file=sys.stderr)
        return 0
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cine.dcm"
        write_file(path, args.frames)
        exe = Path(sys.executable).parent / "dcmview"
        proc = subprocess.Popen(
            [str(exe), "--no-browser", "--port", "0", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            url = ""
            for line in proc.stdout:
                m = re.search(r"server running at (\S+)", line)
                if m:
                    url = m.group(1)
                    break
            if not url:
                print("dcmview did not start", file=sys.stderr)
                return 1
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                width, height = (int(v) for v in args.size.split("x"))
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(url.replace("/#", f"/?renderer={args.renderer}#"))
                page.wait_for_function(
                    "document.querySelector('[data-testid=frame-counter]')?.textContent"
                    f".endsWith('/ {args.frames}')"
                )
                page.wait_for_selector(".viewport .spinner", state="detached")
                renderer = page.locator(".viewport").get_attribute("data-renderer")
                page.get_by_role("combobox", name="FPS").select_option(str(args.fps))
                page.locator(".viewport").focus()
                t0 = time.perf_counter()
                page.keyboard.press("Space")
                first = page.evaluate(COUNT_JS, args.frames * 1000 / args.fps)
                first_wall = time.perf_counter() - t0
                cached = page.evaluate(COUNT_JS, args.seconds * 1000)
                shown = page.get_by_test_id("cine-rate").text_content()
                page.keyboard.press("Space")
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=15)
    mb = args.frames * 832 * 1024 * 2 / 1e6
    print(
        f"viewer cine, {args.frames} frames 1024x832 16-bit ({mb:.0f} MB), requested {args.fps} fps"
    )
    print(f"  renderer: {renderer}")
    print(
        f"  first pass (fetching /raw while playing): {rate(first):5.1f} fps"
        f" ({len(first)} frames shown in {first_wall:.1f} s)"
    )
    print(f"  later passes (client cache):              {rate(cached):5.1f} fps")
    print(f"  the viewer's own meter at the end:        {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
