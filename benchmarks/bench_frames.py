"""Frame pipeline speed: decode, display PNG, cached PNG, JPEG 2000, memory over a sweep.

    uv run python benchmarks/bench_frames.py [--frames 60] [--sweep-frames 150] [--repeat 15]

Generates once into ``benchmarks/.data/`` (git-ignored):
- ``frames-native-60.dcm``: 60 frames of 2048×1664 16-bit (12 bits stored) native samples
  (409 MB), a smooth image with noise so PNG sizes are realistic;
- ``frames-native-150.dcm``: the same at 150 frames (1.02 GB) for the memory sweep;
- ``frames-j2k.dcm``: 4 such frames in JPEG 2000 Lossless (one fragment per frame).

Prints, against the issue's targets (2-core machine): any frame decoded ≤ 15 ms; a display
PNG ≤ 40 ms; a cached PNG ≤ 2 ms; a J2K lossless frame within 1.2× of OpenJPEG's own
single-thread decode; RSS while sweeping every frame of a 1 GB file < 200 MB + cache budget.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
from dcmview_core.cache import ByteBudgetCache
from dcmview_core.encode import encode_png
from dcmview_core.frames import Frame, clear_layout_cache, read_frame
from dcmview_core.model import FileEntry, SupportState
from dcmview_core.present import render_display
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless

DATA = Path(__file__).resolve().parent / ".data"
ROWS, COLUMNS = 1664, 2048
UID_ROOT = "1.2.826.0.1.3680043.10.1512.98"


def _entry(path: Path) -> FileEntry:
    return FileEntry(
        index=0, path=str(path), label=path.name, patient_id=None, patient_name=None,
        study_instance_uid=None, study_date=None, study_description=None,
        series_instance_uid=None, series_number=None, series_description=None, modality="MG",
        instance_number=None, sop_class_uid=None, sop_instance_uid=None,
        transfer_syntax_uid="", photometric_interpretation="MONOCHROME2", rows=ROWS,
        columns=COLUMNS, frame_count=1, bits_allocated=16, bits_stored=12,
        pixel_representation=0, samples_per_pixel=1, has_pixels=True, default_window=None,
        support_state=SupportState.RENDERABLE, support_reason=None,
    )  # fmt: skip


def _frame(index: int) -> np.ndarray:
    """A 12-bit breast-like frame: smooth tissue, a dark background, noise; varies by index."""
    y, x = np.mgrid[0:ROWS, 0:COLUMNS].astype(np.float32)
    tissue = 1800 + 900 * np.sin((x + 37 * index) / 230.0) * np.cos(y / 170.0)
    body = ((x - 0.0) ** 2 / (1.6 * COLUMNS) ** 2 + (y - ROWS / 2) ** 2 / (0.55 * ROWS) ** 2) < 0.5
    rng = np.random.default_rng(index)
    noise = rng.normal(0, 25, (ROWS, COLUMNS)).astype(np.float32)
    image = np.where(body, tissue + noise, 60 + noise / 5)
    return np.clip(image, 0, 4095).astype(np.uint16)


def _header(n_frames: int, ts: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.1.2")  # digital mammography
    meta.MediaStorageSOPInstanceUID = UID(f"{UID_ROOT}.{n_frames}.{len(ts)}")
    meta.TransferSyntaxUID = UID(ts)
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = n_frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2000, 2000
    return ds


def make_native(n_frames: int) -> Path:
    """Stream the frames after a pydicom-written header: never the whole file in memory."""
    path = DATA / f"frames-native-{n_frames}.dcm"
    frame_bytes = ROWS * COLUMNS * 2
    if path.is_file() and path.stat().st_size > n_frames * frame_bytes:
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    head = BytesIO()
    _header(n_frames, ExplicitVRLittleEndian).save_as(head, enforce_file_format=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(head.getvalue())
        f.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OW", 0, n_frames * frame_bytes))
        for i in range(n_frames):
            f.write(_frame(i % 60).tobytes())
    tmp.replace(path)
    return path


def make_j2k(n_frames: int = 4) -> tuple[Path, list[bytes]]:
    path = DATA / "frames-j2k.dcm"
    codestreams_path = DATA / "frames-j2k.codestreams.npz"
    if path.is_file() and codestreams_path.is_file():
        stored = np.load(codestreams_path)
        return path, [bytes(stored[f"f{i}"]) for i in range(n_frames)]
    DATA.mkdir(parents=True, exist_ok=True)
    codestreams = [
        bytes(imagecodecs.jpeg2k_encode(_frame(i), level=0, reversible=True, numthreads=2))
        for i in range(n_frames)
    ]
    ds = _header(n_frames, JPEG2000Lossless)
    ds.PixelData = encapsulate(codestreams, has_bot=False)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)
    arrays: dict[str, Any] = {
        f"f{i}": np.frombuffer(c, np.uint8) for i, c in enumerate(codestreams)
    }
    np.savez(codestreams_path, **arrays)
    return path, codestreams


def _ms(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Min, median and max wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), statistics.median(times), max(times)


def _line(name: str, best: float, median: float, worst: float, target: str) -> None:
    print(f"  {name:<42} min {best:7.2f}  median {median:7.2f}  max {worst:7.2f} ms  {target}")


def bench_native(path: Path, n_frames: int, repeat: int) -> None:
    entry = _entry(path)
    clear_layout_cache()
    t0 = time.perf_counter()
    read_frame(entry, 0)
    first = (time.perf_counter() - t0) * 1000
    print(
        f"native 16-bit, {n_frames} frames of {COLUMNS}×{ROWS} ({path.stat().st_size / 1e6:.0f} MB)"
    )
    print(f"  first frame of the file (parses the header)   {first:7.2f} ms")
    indices = iter(np.random.default_rng(1).integers(0, n_frames, 10_000).tolist())
    _line(
        "frame decode (read_frame)",
        *_ms(lambda: read_frame(entry, next(indices)), repeat),
        "target ≤ 15 ms",
    )
    frame = read_frame(entry, 37)
    _line("  window → 8-bit (render_display)", *_ms(lambda: render_display(frame), repeat), "")
    display = render_display(frame)
    _line("  PNG encode (encode_png)", *_ms(lambda: encode_png(display.image), repeat), "")
    png = encode_png(display.image)
    print(f"  PNG size {len(png) / 1e6:.2f} MB")

    def display_png() -> bytes:
        return encode_png(render_display(read_frame(entry, next(indices))).image)

    _line("display PNG (decode + window + PNG)", *_ms(display_png, repeat), "target ≤ 40 ms")
    cache = ByteBudgetCache(512 * 1024 * 1024).view("png")
    cache.put((0, 37, None, None, "default"), png)
    _line(
        "cached PNG (cache lookup)",
        *_ms(lambda: cache.get((0, 37, None, None, "default")), repeat * 10),
        "target ≤ 2 ms",
    )
    from pydicom.pixels.utils import pixel_array

    _line(
        "  for comparison: pydicom pixel_array(index=n)",
        *_ms(lambda: pixel_array(str(path), index=next(indices)), max(3, repeat // 3)),
        "",
    )


def bench_j2k(path: Path, codestreams: list[bytes], repeat: int) -> None:
    entry = _entry(path)
    read_frame(entry, 0)
    print(f"JPEG 2000 Lossless, {len(codestreams)} frames of {COLUMNS}×{ROWS}")
    ours_t: list[float] = []
    plain_t: list[float] = []
    for _ in range(repeat):  # interleaved, so load from other processes hits both alike
        ours_t.append(_ms(lambda: read_frame(entry, 2), 1)[0])
        plain_t.append(_ms(lambda: imagecodecs.jpeg2k_decode(codestreams[2], numthreads=1), 1)[0])
    ours = min(ours_t), statistics.median(ours_t), max(ours_t)
    plain = min(plain_t), statistics.median(plain_t), max(plain_t)
    _line("read_frame (J2K)", *ours, "target ≤ 1.2× OpenJPEG")
    _line("OpenJPEG single thread (imagecodecs)", *plain, "")
    try:
        # pylibjpeg-openjpeg, OpenJPEG's thin wrapper, if installed
        openjpeg: Any = importlib.import_module("openjpeg")

        _line(
            "OpenJPEG (pylibjpeg-openjpeg)",
            *_ms(lambda: openjpeg.decode(codestreams[2]), repeat),
            "",
        )
    except ImportError:
        print("  (pylibjpeg-openjpeg not installed: no second OpenJPEG baseline)")
    print(
        f"  ratio read_frame / OpenJPEG: min {ours[0] / plain[0]:.2f}×,"
        f" median {ours[1] / plain[1]:.2f}×"
    )
    np.testing.assert_array_equal(read_frame(entry, 2).samples, _frame(2))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _display_png(frame: Frame) -> bytes:
    return encode_png(render_display(frame).image)


def rss_child(path: str, n_frames: int, budget: int) -> None:
    """Run in a fresh process: sweep every frame through the display path with a cache."""
    entry = _entry(Path(path))
    base = _status_kb("VmRSS")
    cache = ByteBudgetCache(budget)
    frames, pngs = cache.view("frame"), cache.view("png")
    t0 = time.perf_counter()
    for i in range(n_frames):
        frame, _ = frames.get_or_compute(i, partial(read_frame, entry, i))
        pngs.get_or_compute(i, partial(_display_png, frame))
    seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM")  # this process's peak RSS (ru_maxrss survives exec)
    used = cache.stats().used_bytes
    print(json.dumps({"base_kb": base, "peak_kb": peak, "seconds": seconds, "cache_bytes": used}))


def bench_rss(path: Path, n_frames: int, budget: int) -> None:
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(path), str(n_frames), str(budget)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    size = path.stat().st_size / 1e9
    print(f"memory: sweeping all {n_frames} frames of a {size:.2f} GB file (decode + display PNG)")
    print(
        f"  peak RSS {result['peak_kb'] / 1024:.0f} MB"
        f" (after imports {result['base_kb'] / 1024:.0f} MB),"
        f" cache budget {budget / 2**20:.0f} MB holding {result['cache_bytes'] / 2**20:.0f} MB;"
        f" target < 200 MB + budget; {n_frames / result['seconds']:.1f} frames/s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--sweep-frames", type=int, default=150, help="1.02 GB at 150")
    parser.add_argument("--budget-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rss-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]), int(args.rss_child[2]))
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (medians suffer under load; min ≈ idle)")
    native = make_native(args.frames)
    bench_native(native, args.frames, args.repeat)
    j2k, codestreams = make_j2k()
    bench_j2k(j2k, codestreams, max(3, args.repeat // 3))
    sweep = make_native(args.sweep_frames)
    bench_rss(sweep, args.sweep_frames, args.budget_mb * 2**20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
