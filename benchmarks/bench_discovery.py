"""Discovery speed: 10,000 small CT slices in 50 series directories, plus non-DICOM clutter.

    uv run python benchmarks/bench_discovery.py [--files 10000] [--runs 3] [--workers N]

The data set is generated once into ``benchmarks/.data/discovery-<files>/`` (git-ignored) and
reused. Prints the time to the first entry and to the end of the scan for each run; the target
is a full scan in at most 1.5 s on a 2-core machine with the first entry within 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from dcmview_core.discovery import Skipped, read_entry, scan
from dcmview_core.tags import tag_tree
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

DATA = Path(__file__).resolve().parent / ".data"
SERIES = 50
# fixed, short UIDs: reproducible data, well under the 64-character limit
UID_ROOT = "1.2.826.0.1.3680043.10.1512.99"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def _slice(study: str, series: str, series_no: int, instance: int) -> Any:
    ds: Any = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    sop = f"{series}.{instance}"
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop
    ds.StudyDate = "20240101"
    ds.SeriesDate = "20240101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "BENCH0001"
    ds.Modality = "CT"
    ds.Manufacturer = "dcmview benchmark"
    ds.StudyDescription = "Benchmark study"
    ds.SeriesDescription = f"Series {series_no}"
    ds.PatientName = "Bench^Patient"
    ds.PatientID = "BENCH"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.SliceThickness = "1.0"
    ds.KVP = "120"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.StudyID = "1"
    ds.SeriesNumber = series_no
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, float(instance)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.FrameOfReferenceUID = study + ".9"
    ds.SliceLocation = float(instance)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 64
    ds.Columns = 64
    ds.PixelSpacing = [0.5, 0.5]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    rng = np.random.default_rng(instance)
    ds.PixelData = rng.integers(-1000, 1000, (64, 64), dtype=np.int16).tobytes()
    return ds


def generate(root: Path, files: int) -> Path:
    """Write the data set once; a marker file says it is complete."""
    target = root / f"discovery-{files}"
    done = target / ".complete"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    study = f"{UID_ROOT}.1"
    per_series = files // SERIES
    for s in range(SERIES):
        series_dir = target / f"series_{s:03d}"
        series_dir.mkdir(exist_ok=True)
        series_uid = f"{UID_ROOT}.2.{s + 1}"
        for i in range(per_series):
            _slice(study, series_uid, s + 1, i + 1).save_as(
                series_dir / f"IM{i:05d}.dcm", enforce_file_format=True
            )
        (series_dir / "README.txt").write_text("not DICOM\n")
        (series_dir / "notes.json").write_text('{"x": 1}\n')
    (target / "empty.dcm").write_bytes(b"")
    done.write_text("ok\n")
    return target


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
    ds = _slice(f"{UID_ROOT}.9", f"{UID_ROOT}.9.1", 99, 1)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 1024, 1024, 512
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
    root = generate(DATA, args.files)
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
