"""Discovery speed: 10,000 small CT slices in 50 series directories, plus non-DICOM clutter.

    uv run python benchmarks/bench_discovery.py [--files 10000] [--runs 3] [--workers N]

The data set is the benchmark runner's discovery workload (`workloads.discovery`), generated
once into ``benchmarks/.data/`` (git-ignored) and reused. Prints the time to the first entry
and to the end of the scan for each run; the target is a full scan in at most 1.5 s on a
2-core machine with the first entry within 0.1 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from dcmview_core.discovery import Skipped, read_entry, scan
from dcmview_core.tags import tag_tree
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import workloads

DATA = Path(__file__).resolve().parent / ".data"
SERIES = 50


def generate(files: int) -> Path:
    """The run's discovery workload with ``files`` CT slices (generated once, then cached)."""
    scale = dataclasses.replace(
        workloads.SCALES["full"], discovery_files_per_series=max(1, files // SERIES)
    )
    return workloads.discovery(scale, DATA).paths[0]


def measure(root: Path, workers: int | None) -> tuple[float, float, float, int, int]:
    """Time to first entry, wall time and CPU time of the whole scan, and the counts."""
    start = time.perf_counter()
    cpu = time.process_time()
    first = 0.0
    accepted = skipped = 0
    for item in scan([root], workers=workers):
        if not first:
            first = time.perf_counter() - start
        if isinstance(item, Skipped):
            skipped += 1
        else:
            accepted += 1
    return first, time.perf_counter() - start, time.process_time() - cpu, accepted, skipped


def big_file(root: Path) -> Path:
    """A 1 GiB native multi-frame file (sparse on disk: only the header is written)."""
    path = root / "big-1GiB.dcm"
    if path.exists():
        return path
    ds = workloads._base_dataset(
        sop_class=workloads.CT_IMAGE,
        sop_instance=workloads._uid("bench-discovery-big"),
        transfer_syntax=ExplicitVRLittleEndian,
        modality="CT",
    )
    workloads._set_image(ds, rows=1024, columns=1024, frames=512, bits=16, stored=16)
    ds.PixelData = b""
    ds.save_as(path, enforce_file_format=True)
    size = path.stat().st_size
    length = 1024 * 1024 * 2 * 512
    with path.open("r+b") as fp:
        fp.seek(size - 4)
        fp.write(length.to_bytes(4, "little"))
        fp.truncate(size + length)
    return path


def measure_big(root: Path) -> None:
    path = big_file(root)
    start = time.perf_counter()
    entry = read_entry(str(path))
    header_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    nodes = tag_tree(path)
    tree_ms = (time.perf_counter() - start) * 1000
    frames = getattr(entry, "frame_count", None)
    print(
        f"1 GiB file: header {header_ms:.1f} ms ({frames} frames), "
        f"tag tree {tree_ms:.1f} ms ({len(nodes)} nodes)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    root = generate(args.files)
    print(f"data: {root} (ready in {time.perf_counter() - t0:.1f} s), cpus={os.cpu_count()}")
    measure_big(DATA)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} (other processes share the {os.cpu_count()} cores)")
    for run in range(args.runs):
        first, total, cpu, accepted, skipped = measure(root, args.workers)
        print(
            f"run {run + 1}: first entry {first * 1000:.1f} ms, full scan {total:.3f} s "
            f"(CPU {cpu:.3f} s), {accepted} accepted, {skipped} skipped "
            f"({accepted / total:,.0f} files/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
