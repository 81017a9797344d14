"""Overlays (issue 14 §3): a 300 × 512×512 CT with a 20-segment DICOM SEG, through a real server.

    uv run python benchmarks/bench_overlays.py [--quick] [--json FILE]

Data (built once into ``benchmarks/.data/workloads/``, git-ignored): the CT series of
``bench_stacks.py`` (native, file names shuffled against the slice order; ``--quick``: 40 ×
128×128) and a BINARY SEG over it written by ``dcmview_core.overlays.seg_dataset``: segment 1 a
body outline on every slice, segments 2–20 spheres spread through the volume (one frame per
slice and segment they touch, bit-packed).

Each figure comes from a fresh server process (``bench_stacks.Server``'s code, 512 MB cache unless
said), server times from ``Server-Timing``:

- overlay metadata ready with the scan: when ``/api/overlays`` first lists the SEG with all
  its target frames, next to when ``/api/files`` first says ``scan_complete``;
- first labels frame: the first ``…/labels`` request of a fresh server (target ≤ 20 ms server
  time), and the first ``…/segment/1``;
- labels sweep (stack order, every slice) against the PNG sweep of the same frames
  (``/api/file/{i}/frame/0``), slices/s (target: at least as fast);
- memory: RSS growth of a server with a 64 MiB cache over the whole labels sweep, against the
  SEG unpacked in full (target: bounded by the cache budget, far below the unpacked SEG).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_stacks, workloads  # noqa: E402

SEGMENTS = 20

FIGURES: list[dict[str, Any]] = []


def line(name: str, value: float, unit: str, note: str = "") -> None:
    FIGURES.append({"name": name, "value": value, "unit": unit, "note": note})
    print(f"  {name:<52} {value:10.2f} {unit:<8} {note}", flush=True)


# --- the workload ------------------------------------------------------------------------------


def _spheres(size: int, slices: int) -> list[tuple[float, float, float, float]]:
    """Centre (row, column, slice) and radius in voxels of segments 2–20 (seeded)."""
    rng = np.random.default_rng(14)
    out = []
    for _ in range(SEGMENTS - 1):
        r = float(rng.uniform(0.04, 0.09) * size)
        k = float(rng.uniform(0.15, 0.85) * slices)
        out.append(
            (float(rng.uniform(0.3, 0.7) * size), float(rng.uniform(0.25, 0.75) * size), k, r)
        )
    return out


def planes(size: int, slices: int) -> Iterator[tuple[int, int, npt.NDArray[np.bool_]]]:
    """The SEG's frames as ``(slice, segment, plane)``, one segment after the other."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    body = ((x / size - 0.5) / 0.45) ** 2 + ((y / size - 0.5) / 0.35) ** 2 <= 1
    for k in range(slices):
        yield k, 1, body
    depth = max(slices / size, 1e-6)  # slices are thicker than pixels in the quick set too
    for n, (cy, cx, ck, r) in enumerate(_spheres(size, slices), start=2):
        for k in range(slices):
            dz = (k - ck) / depth
            if abs(dz) < r:
                yield k, n, (y - cy) ** 2 + (x - cx) ** 2 <= r * r - dz * dz


def seg_file(ct: Path, slices: int, size: int) -> Path:
    """The SEG over the CT series (built once)."""
    from dcmview_core.overlays import seg_dataset

    def build(target: Path) -> None:
        headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(ct.glob("*.dcm"))]
        headers.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
        labels = ["body"] + [f"lesion {n}" for n in range(2, SEGMENTS + 1)]
        ds = seg_dataset(headers, planes(size, slices), labels, series_description="Bench SEG")
        ds.save_as(target / "seg.dcm", enforce_file_format=True)

    params: dict[str, object] = {"slices": slices, "size": size, "segments": SEGMENTS, "v": 1}
    return workloads._cached(workloads.DATA_DIR, "overlays-seg", params, build) / "seg.dcm"


# --- a server process -------------------------------------------------------------------------


Server = bench_stacks.Server  # one benchmark server process, on one or several paths

server_ms = bench_stacks.server_ms


# --- measurements ------------------------------------------------------------------------------


def metadata_figures(paths: list[Path], slices: int) -> tuple[list[int], int]:
    """When /api/files and /api/overlays first report everything; the target files in stack
    order and the SEG's frame count."""
    server = Server(paths)
    files_at = overlays_at = None
    order: list[int] = []
    frames = 0
    try:
        while files_at is None or overlays_at is None:
            now = time.perf_counter() - server.ready
            if files_at is None and server.json("/api/files?since=999999999")["scan_complete"]:
                files_at = now
            if overlays_at is None:
                body = server.json("/api/overlays")
                listed = body["overlays"]
                if body["scan_complete"] and listed and len(listed[0]["targets"]) == slices:
                    overlays_at = time.perf_counter() - server.ready
            time.sleep(0.005)
        times = [server_ms(server.get("/api/overlays")[1]) for _ in range(20)]
        order = [f for f, _ in server.json("/api/series")["series"][0]["slices"]]
        files = server.json("/api/files")["files"]
        frames = next(f["frame_count"] for f in files if f["modality"] == "SEG")
    finally:
        server.stop()
    line("/api/files scan_complete after ready", files_at * 1000, "ms")
    delta = 1000 * (overlays_at - files_at)
    note = f"(Δ {delta:+.0f} ms after the scan; {frames} SEG frames)"
    line("/api/overlays lists the SEG placed, after ready", overlays_at * 1000, "ms", note)
    line("/api/overlays on the complete scan (server time)", statistics.median(times), "ms")
    return order, frames


def first_frame_figures(paths: list[Path], order: list[int]) -> None:
    server = Server(paths)
    try:
        server.wait_scan()
        server.json("/api/overlays")
        middle = order[len(order) // 2]
        _, labels = server.get(f"/api/overlay/o1/file/{middle}/frame/0/labels")
        third = order[len(order) // 3]
        _, segment = server.get(f"/api/overlay/o1/file/{third}/frame/0/segment/1")
    finally:
        server.stop()
    line("first labels frame (server time)", server_ms(labels), "ms", "(target ≤ 20 ms)")
    line("first segment frame (server time)", server_ms(segment), "ms")


SWEEP_SECONDS = 15.0


def sweep(
    paths: list[Path], requests: list[str], budget: int = 512 * 2**20
) -> tuple[float, float, float]:
    """Slices/s, median server ms and RSS growth (MiB) of a sweep on a fresh server."""
    server = Server(paths, budget)
    try:
        server.wait_scan()
        server.json("/api/overlays")
        server.json("/api/series")
        time.sleep(0.3)
        before = server.rss_mb()
        times = []
        started = time.perf_counter()
        for path in requests:
            times.append(server_ms(server.get(path)[1]))
            if time.perf_counter() - started > SWEEP_SECONDS:
                break
        elapsed = time.perf_counter() - started
        grown = server.rss_mb() - before
    finally:
        server.stop()
    return len(times) / elapsed, statistics.median(times), grown


def sweep_figures(paths: list[Path], order: list[int], repeat: int) -> None:
    labels = [f"/api/overlay/o1/file/{f}/frame/0/labels" for f in order]
    pngs = [f"/api/file/{f}/frame/0" for f in order]
    runs = [(sweep(paths, labels), sweep(paths, pngs)) for _ in range(repeat)]
    ours = statistics.median(r[0][0] for r in runs)
    base = statistics.median(r[1][0] for r in runs)
    ours_ms = statistics.median(r[0][1] for r in runs)
    base_ms = statistics.median(r[1][1] for r in runs)
    verdict = "met" if ours >= base else "behind"
    note = f"(PNG sweep {base:.1f}/s; {verdict}; server {ours_ms:.2f} vs {base_ms:.2f} ms)"
    line("labels sweep, stack order (slices/s)", ours, "/s", note)


def memory_figures(paths: list[Path], order: list[int], frames: int, size: int) -> None:
    budget = 64 * 2**20
    labels = [f"/api/overlay/o1/file/{f}/frame/0/labels" for f in order]
    _, _, grown = sweep(paths, labels, budget)
    unpacked = frames * size * size / 2**20
    cache = budget / 2**20
    note = f"(cache {cache:.0f} MiB; SEG unpacked {unpacked:.0f} MiB; target ≤ cache + 10 %)"
    line("server RSS growth over the labels sweep", grown, "MiB", note)


def in_process(ct: Path, seg: Path) -> None:
    from dcmview_core import FileEntry, StackIndex, scan
    from dcmview_core.overlays import label_map, place_seg, read_seg_header

    entries = [e for e in scan([str(ct), str(seg)]) if isinstance(e, FileEntry)]
    seg_entry = entries[-1]
    t = time.perf_counter()
    header = read_seg_header(seg_entry)
    parsed = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    overlay = place_seg("o1", seg_entry, header, entries)
    placed = (time.perf_counter() - t) * 1000
    index = StackIndex()
    index.extend(entries)
    file = index.stacks()[0].slices[len(entries) // 2][0]
    t = time.perf_counter()
    label_map(overlay, file, 0)
    drawn = (time.perf_counter() - t) * 1000
    line("in-process: read the SEG header", parsed, "ms", f"({len(header.frames)} frames)")
    line("in-process: place its frames on the series", placed, "ms")
    line("in-process: one label map (middle slice)", drawn, "ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="40 × 128×128 instead of 300 × 512×512"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--repeat", type=int, help="interleaved sweep repeats (3; --quick: 1)")
    args = parser.parse_args(argv)
    slices, size = (40, 128) if args.quick else (300, 512)
    repeat = args.repeat or (1 if args.quick else 3)
    ct = bench_stacks.series_dir(slices, size, "native")
    seg = seg_file(ct, slices, size)
    paths = [ct, seg]
    print(f"{slices} × {size}×{size} CT ({ct.name}) with a {SEGMENTS}-segment SEG", flush=True)
    order, frames = metadata_figures(paths, slices)
    first_frame_figures(paths, order)
    sweep_figures(paths, order, repeat)
    memory_figures(paths, order, frames, size)
    in_process(ct, seg)
    if args.json is not None:
        shape = {"slices": slices, "rows": size, "columns": size, "segments": SEGMENTS}
        args.json.write_text(json.dumps({"series": shape, "figures": FIGURES}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
