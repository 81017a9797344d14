"""Series stacks and reformats, measured through a real server socket (issue 13 §4).

    uv run python benchmarks/bench_stacks.py [--quick] [--variants native,j2k]

Generates once into ``benchmarks/.data/workloads/`` (git-ignored, same helpers and markers as
``workloads.py``): a CT series of single-frame files, 300 × 512×512 (``--quick``: 40 × 128×128),
12 bits stored with Rescale Intercept -1024, a sphere phantom with noise, file names and
InstanceNumbers shuffled against the slice positions; and the same pixels in JPEG 2000 lossless.

Each figure comes from a fresh server process (``dcmview_server.serve``, default 512 MB cache)
so nothing is cached in it (the OS page cache is warm: files are read, not re-read from disk):

- ``/api/series`` complete with the scan: when ``/api/series`` first reports the whole stack with
  ``scan_complete``, next to when ``/api/files`` first reports ``scan_complete`` (polled in turn);
- stack scroll on axis 0 (``/api/series/s0/slice/k``) against today's per-file sweep
  (``/api/file/{i}/frame/0`` over the same files in the same order), raw and PNG, 1 client;
- first reformat slice (``axis=1``, volume assembly from files the server has not read):
  target ≤ 1.5 s for native; later reformat slices (raw and PNG, axes 1 and 2): target ≤ 15 ms
  server time (``Server-Timing``);
- volume memory: the server's RSS growth over the first reformat against the voxel bytes
  (target: voxel bytes + ≤ 10 %), and `Volume.nbytes` of the same volume built in-process.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads  # noqa: E402

TOKEN = "bench-stacks-token"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SERVER_CODE = """
import json, sys
from dcmview_server import ServerConfig, serve
args = json.loads(sys.argv[1])
def ready(r):
    print(json.dumps({"port": r.port}), flush=True)
serve(ServerConfig(paths=tuple(args["paths"]), token=args["token"],
                   cache_budget=args["budget"]), on_ready=ready)
"""


# --- the workload ------------------------------------------------------------------------------


def phantom(k: int, slices: int, size: int) -> npt.NDArray[np.uint16]:
    """Stored values (HU + 1024) of slice k: air, a body ellipse, a bone sphere, noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    z = k / max(slices - 1, 1) - 0.5
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    hu[(x / 0.45) ** 2 + (y / 0.35) ** 2 <= 1] = 40.0
    hu[x**2 + y**2 + z**2 <= 0.2**2] = 700.0
    noise = np.random.default_rng(k).normal(0, 12, (size, size)).astype(np.float32)
    stored: npt.NDArray[np.uint16] = np.clip(hu + noise + 1024, 0, 4095).astype(np.uint16)
    return stored


def _build(target: Path, slices: int, size: int, variant: str) -> None:
    syntax = JPEG2000Lossless if variant == "j2k" else ExplicitVRLittleEndian
    order = np.random.default_rng(7).permutation(slices)  # file name / InstanceNumber order
    series = workloads._uid("stacks-series", slices, size)
    for k in range(slices):
        ds = workloads._base_dataset(
            sop_class=CT_IMAGE,
            sop_instance=workloads._uid("stacks", slices, size, variant, k),
            transfer_syntax=syntax,
            modality="CT",
        )
        workloads._set_image(ds, rows=size, columns=size, frames=1, bits=16, stored=12)
        ds.StudyInstanceUID = workloads._uid("stacks-study")
        ds.SeriesInstanceUID = series
        ds.SeriesNumber = 2
        ds.SeriesDescription = "Axial 1 mm"
        ds.FrameOfReferenceUID = workloads._uid("stacks-frame-of-reference")
        ds.InstanceNumber = int(order[k]) + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-175.0, -175.0, -150.0 + 1.0 * k]
        ds.PixelSpacing = [350.0 / size, 350.0 / size]
        ds.SliceThickness = 1.0
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        pixels = phantom(k, slices, size)
        if variant == "j2k":
            ds.PixelData = encapsulate([workloads._encode_j2k(pixels)])
            ds["PixelData"].VR = "OB"
            ds.LossyImageCompression = "00"
        else:
            ds.PixelData = pixels.tobytes()
        workloads._save(ds, target / f"IM{int(order[k]):05d}.dcm")


def series_dir(slices: int, size: int, variant: str) -> Path:
    """The generated series (built once, cached with a completion marker)."""
    params: dict[str, object] = {"slices": slices, "size": size, "variant": variant}
    return workloads._cached(
        workloads.DATA_DIR,
        "stacks",
        params,
        lambda target: _build(target, slices, size, variant),
    )


# --- a server process -------------------------------------------------------------------------


class Server:
    """A fresh dcmview server process on one directory."""

    def __init__(self, paths: Path | list[Path], budget: int = 512 * 2**20) -> None:
        names = [str(p) for p in (paths if isinstance(paths, list) else [paths])]
        config = json.dumps({"paths": names, "token": TOKEN, "budget": budget})
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, config], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(self.proc.stdout.readline())["port"])
        self.ready = time.perf_counter()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def get(self, path: str) -> tuple[bytes, dict[str, str]]:
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:300]!r}")
        return body, {k.lower(): v for k, v in response.getheaders()}

    def json(self, path: str) -> Any:
        return json.loads(self.get(path)[0])

    def wait_scan(self) -> None:
        while not self.json("/api/files?since=999999999")["scan_complete"]:
            time.sleep(0.02)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(10)


def server_ms(headers: dict[str, str]) -> float:
    return float(headers.get("server-timing", "app;dur=nan").split("dur=")[1])


FIGURES: list[dict[str, Any]] = []
"""Every printed figure, for ``--json`` (what `run.py` may fold into its results)."""


def line(name: str, value: float, unit: str, target: str = "") -> None:
    FIGURES.append(
        {"variant": VARIANT[0], "name": name, "value": value, "unit": unit, "note": target}
    )
    print(f"  {name:<52} {value:10.2f} {unit:<8} {target}", flush=True)


VARIANT = [""]


# --- measurements ------------------------------------------------------------------------------


def scan_figures(path: Path, slices: int) -> list[int]:
    """When /api/files and /api/series first report the complete scan; the stack's files."""
    server = Server(path)
    files_at = series_at = None
    slices_list: list[int] = []
    try:
        while files_at is None or series_at is None:
            if files_at is None and server.json("/api/files?since=999999999")["scan_complete"]:
                files_at = time.perf_counter() - server.ready
            if series_at is None:
                body = server.json("/api/series")
                stacks = body["series"]
                if body["scan_complete"] and stacks and stacks[0]["slice_count"] == slices:
                    series_at = time.perf_counter() - server.ready
                    slices_list = [f for f, _ in stacks[0]["slices"]]
            time.sleep(0.005)
        times = []
        for _ in range(20):
            _, headers = server.get("/api/series")
            times.append(server_ms(headers))
    finally:
        server.stop()
    line("/api/files scan_complete after ready", files_at * 1000, "ms")
    line("/api/series complete (whole stack) after ready", series_at * 1000, "ms",
         f"(Δ {1000 * (series_at - files_at):+.0f} ms: no extra pass)")  # fmt: skip
    line("/api/series on the complete scan (server time)", statistics.median(times), "ms")
    return slices_list


SWEEP_SECONDS = 15.0
"""A sweep stops starting requests after this long (the rate counts completed slices)."""


def sweep(path: Path, paths: list[str]) -> tuple[float, float]:
    """Slices/s for ``paths`` in order on a fresh server, and the median server time (ms)."""
    server = Server(path)
    try:
        server.wait_scan()
        server.json("/api/series")  # the stack list exists before the sweep starts
        times = []
        started = time.perf_counter()
        for p in paths:
            times.append(server_ms(server.get(p)[1]))
            if time.perf_counter() - started > SWEEP_SECONDS:
                break
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return len(times) / elapsed, statistics.median(times)


def scroll_figures(path: Path, files: list[int], repeat: int) -> None:
    """Stack and per-file sweeps, interleaved ``repeat`` times; medians of the rates."""
    for kind, suffix in (("raw", "/raw"), ("PNG", "")):
        stack = [f"/api/series/s0/slice/{k}{suffix}" for k in range(len(files))]
        per_file = [f"/api/file/{f}/frame/0{suffix}" for f in files]
        runs = [(sweep(path, stack), sweep(path, per_file)) for _ in range(repeat)]
        ours = statistics.median(r[0][0] for r in runs)
        base = statistics.median(r[1][0] for r in runs)
        ours_ms = statistics.median(r[0][1] for r in runs)
        base_ms = statistics.median(r[1][1] for r in runs)
        verdict = "met" if ours >= 0.95 * base else "behind"
        note = f"(per-file sweep {base:.1f}/s; {verdict}; server {ours_ms:.2f} vs {base_ms:.2f} ms)"
        line(f"stack scroll axis 0, {kind} (slices/s)", ours, "/s", note)


def reformat_figures(path: Path, slices: int, size: int, variant: str) -> None:
    server = Server(path)
    try:
        server.wait_scan()
        server.json("/api/series")
        time.sleep(0.5)  # let the allocator settle before the RSS baseline
        before = server.rss_mb()
        t = time.perf_counter()
        _, headers = server.get(f"/api/series/s0/slice/{size // 2}/raw?axis=1")
        first = (time.perf_counter() - t) * 1000
        after = server.rss_mb()
        target = "(target ≤ 1500 ms)" if variant == "native" else ""
        line("first reformat slice, axis 1 (round trip)", first, "ms", target)
        line("first reformat slice, axis 1 (server time)", server_ms(headers), "ms")
        step = max(1, size // 32)
        for axis in (1, 2):
            raw = [server_ms(server.get(f"/api/series/s0/slice/{k}/raw?axis={axis}")[1])
                   for k in range(0, size, step)]  # fmt: skip
            png = [server_ms(server.get(f"/api/series/s0/slice/{k}?axis={axis}")[1])
                   for k in range(1, size, step)]  # fmt: skip
            line(f"later reformat slices, axis {axis}, raw (median server)",
                 statistics.median(raw), "ms", f"(max {max(raw):.2f}; target ≤ 15 ms)")  # fmt: skip
            line(f"later reformat slices, axis {axis}, PNG (median server)",
                 statistics.median(png), "ms", f"(max {max(png):.2f}; target ≤ 15 ms)")  # fmt: skip
        voxels = slices * size * size * 2
        grown = (after - before) * 2**20
        note = f"(voxels {voxels / 2**20:.1f} MiB; ratio {grown / voxels:.3f}; target ≤ 1.10)"
        line("server RSS growth over the first reformat", grown / 2**20, "MiB", note)
    finally:
        server.stop()


def reformat_after_scroll(path: Path, slices: int, size: int) -> None:
    """The viewer's usual order: scroll the stack (every slice decoded once), then open a
    reformat — its volume takes the decoded slices from the frame cache."""
    server = Server(path)
    try:
        server.wait_scan()
        server.json("/api/series")
        for k in range(slices):
            server.get(f"/api/series/s0/slice/{k}/raw")
        t = time.perf_counter()
        _, headers = server.get(f"/api/series/s0/slice/{size // 2}/raw?axis=1")
        first = (time.perf_counter() - t) * 1000
        line("first reformat slice after a scroll, axis 1 (round trip)", first, "ms")
        line("first reformat slice after a scroll, axis 1 (server time)", server_ms(headers), "ms")
    finally:
        server.stop()


def in_process_volume(path: Path) -> None:
    """`Volume.nbytes` against the voxel bytes for the same series, built in this process."""
    from dcmview_core import FileEntry, StackIndex, build_volume, read_entry, read_frame

    entries = []
    for i, file in enumerate(sorted(path.glob("*.dcm"))):
        entry = read_entry(str(file), index=i)
        assert isinstance(entry, FileEntry)
        entries.append(entry)
    index = StackIndex()
    index.extend(entries)
    stack = index.stacks()[0]
    if stack.volume is None:
        line("in-process volume (no geometry from discovery)", float("nan"), "")
        return

    def read(k: int) -> Any:
        file, frame = stack.slices[k]
        return read_frame(entries[file], frame)

    t = time.perf_counter()
    volume = build_volume(read, stack.slice_count, stack.volume.spacing)
    elapsed = (time.perf_counter() - t) * 1000
    voxels = stack.slice_count * stack.rows * stack.columns * 2
    line("in-process build_volume (1 thread)", elapsed, "ms")
    line("Volume.nbytes / voxel bytes", volume.nbytes / voxels, "×", "(target ≤ 1.10)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="40 × 128×128 instead of 300 × 512×512"
    )
    parser.add_argument("--variants", default="native,j2k", help="native, j2k or both")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--repeat", type=int, help="interleaved sweep repeats (3; --quick: 1)")
    args = parser.parse_args(argv)
    slices, size = (40, 128) if args.quick else (300, 512)
    args.repeat = args.repeat or (1 if args.quick else 3)
    for variant in args.variants.split(","):
        VARIANT[0] = variant
        path = series_dir(slices, size, variant)
        print(
            f"{variant}: {slices} × {size}×{size} single-frame CT files ({path.name})", flush=True
        )
        files = scan_figures(path, slices)
        if not files:
            print("  the stack did not form: skipped", flush=True)
            continue
        scroll_figures(path, files, args.repeat)
        reformat_figures(path, slices, size, variant)
        reformat_after_scroll(path, slices, size)
        in_process_volume(path)
    if args.json is not None:
        shape = {"slices": slices, "rows": size, "columns": size}
        args.json.write_text(json.dumps({"series": shape, "figures": FIGURES}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
