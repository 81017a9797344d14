"""Remote sources (issue 16 §4): a real Orthanc (DICOMweb) and a real S3 (moto) on loopback.

    uv run python benchmarks/bench_remote.py [--quick] [--only PART ...] [--runs N] [--json FILE]

``--only tomo --runs 5`` runs the tomosynthesis sweep alone, five times (local then remote each
time: the shared machine's load moves both, so each run's pair is what compares).

- DICOMweb scan: the stacks benchmark's CT series (300 × 512×512; ``--quick``: 40 × 128×128)
  stored in a private Orthanc; a fresh dcmview server on ``ROOT/studies/UID``: time from the
  ready line to ``scan_complete`` with every file listed (target ≤ 3 s), then the first raw
  frame (target ≤ 300 ms after ready + scan);
- tomosynthesis sweep: ``workloads.tomo`` (60 × 2048×1664 native; ``--quick``: 6 × 512×416)
  swept frame by frame (``/raw``, one client, in order, after frame 0) from the local file and
  from the same instance on Orthanc: remote rate ≥ 50 % of local; frame 0's time and the frames
  requests Orthanc served (a multi-frame instance is read in frames-list windows);
- S3 ranged reads: one multi-frame native object of 2 GB (300 × 2048×1664 × 16 bit;
  ``--quick``: 150 × 1024×832, 256 MB) in moto; `read_entry` + `read_frame(0)` in this process:
  bytes moto served against the object size (target ≤ 1 %), requests and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "packages" / "dcmview-core" / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from remote_servers import (  # type: ignore[import-not-found]  # noqa: E402
    MotoS3,
    OrthancServer,
    orthanc_binary,
)

from benchmarks import bench_stacks, workloads  # noqa: E402

TOKEN = "bench-remote-token"
SERVER_CODE = """
import json, sys
from dcmview_server import ServerConfig, serve
args = json.loads(sys.argv[1])
def ready(r):
    print(json.dumps({"port": r.port}), flush=True)
serve(ServerConfig(paths=tuple(args["paths"]), token=args["token"]), on_ready=ready)
"""
FIGURES: list[dict[str, Any]] = []


def line(name: str, value: float, unit: str, note: str = "") -> None:
    FIGURES.append({"name": name, "value": value, "unit": unit, "note": note})
    print(f"  {name:<56} {value:10.2f} {unit:<6} {note}", flush=True)


class Server:
    """A fresh dcmview server process on *paths* (local or remote names)."""

    def __init__(self, paths: list[str]) -> None:
        config = json.dumps({"paths": paths, "token": TOKEN})
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, config], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(self.proc.stdout.readline())["port"])
        self.ready = time.perf_counter()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:300]!r}")
        return body

    def json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def wait_scan(self, expected: int) -> float:
        """Seconds from the ready line until the scan is complete with *expected* files."""
        while True:
            body = self.json("/api/files?since=999999999")
            if body["scan_complete"]:
                break
            time.sleep(0.01)
        done = time.perf_counter() - self.ready
        files = self.json("/api/files")["files"]
        if len(files) != expected:
            raise RuntimeError(f"listed {len(files)} files, expected {expected}")
        return done

    def stop(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(10)


def study_uid(path: Path) -> str:
    import dcmview_core as dc

    entry = dc.read_entry(str(path))
    assert isinstance(entry, dc.FileEntry)
    assert entry.study_instance_uid
    return entry.study_instance_uid


def dicomweb_scan(orthanc: OrthancServer, slices: int, size: int) -> None:
    series = bench_stacks.series_dir(slices, size, "native")
    files = sorted(series.iterdir())
    started = time.perf_counter()
    orthanc.upload(files)
    print(f"  (stored {len(files)} files in Orthanc in {time.perf_counter() - started:.1f} s)")
    url = f"{orthanc.dicomweb}/studies/{study_uid(files[0])}"
    server = Server([url])
    try:
        while not server.json("/api/files")["files"]:
            time.sleep(0.005)
        server.get("/api/file/0/frame/0/raw")
        first_from_ready = time.perf_counter() - server.ready
        listed = server.wait_scan(len(files))
        t0 = time.perf_counter()
        server.get(f"/api/file/{len(files) // 2}/frame/0/raw")  # a file not yet read
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        server.json("/api/file/0/tags")
        tags = time.perf_counter() - t0
    finally:
        server.stop()
    line(f"DICOMweb {len(files)}-instance CT listed after ready", listed * 1000, "ms", "≤ 3000")
    line("DICOMweb first raw frame after the scan", first * 1000, "ms", "≤ 300")
    line("DICOMweb first raw frame after ready (scan running)", first_from_ready * 1000, "ms")
    line("DICOMweb tag tree of one instance", tags * 1000, "ms")


PARTS = ("scan", "tomo", "s3")
SWEEP_SECONDS = 30.0
"""A sweep stops starting requests after this long (the rate counts completed frames)."""


def sweep_rate(paths: list[str], frames: int) -> tuple[float, float, str]:
    """Frames/s of an in-order raw sweep after frame 0, frame 0's seconds after the scan, and
    what stopped the sweep early (empty when complete)."""
    server = Server(paths)
    try:
        server.wait_scan(1)
        t0 = time.perf_counter()
        server.get("/api/file/0/frame/0/raw")  # layout parsed, connection warm
        first = time.perf_counter() - t0
        started, done, stopped = time.perf_counter(), 0, ""
        for k in range(1, frames):
            try:
                server.get(f"/api/file/0/frame/{k}/raw")
            except RuntimeError as exc:
                stopped = str(exc)[:160]
                break
            done += 1
            if time.perf_counter() - started > SWEEP_SECONDS:
                stopped = f"stopped after {SWEEP_SECONDS:g} s"
                break
        return done / (time.perf_counter() - started), first, stopped
    finally:
        server.stop()


def tomo_sweep(orthanc: OrthancServer, scale: workloads.Scale, runs: int = 1) -> None:
    """Local against DICOMweb, *runs* times (each run: a fresh server on each); Orthanc's
    frames requests are counted from its log (a multi-frame instance is read in frames-list
    windows: one request per window)."""
    work = workloads.tomo(scale, "native")
    path = work.paths[0]
    orthanc.upload([path])
    url = f"{orthanc.dicomweb}/studies/{study_uid(path)}"
    size = f"{work.frames}×{work.rows}×{work.columns}"
    for run in range(runs):
        suffix = f" (run {run + 1}/{runs})" if runs > 1 else ""
        local, local_first, _ = sweep_rate([str(path)], work.frames)
        before = len(orthanc.requests())
        remote, first, stopped = sweep_rate([url], work.frames)
        lists = [r for r in orthanc.requests()[before:] if "/frames/" in r]
        asked = sum(r.rsplit("/frames/", 1)[1].count(",") + 1 for r in lists)
        line(f"tomo sweep local ({size}){suffix}", local, "fps",
             f"frame 0 {1000 * local_first:.0f} ms")  # fmt: skip
        line(f"tomo sweep DICOMweb{suffix}", remote, "fps",
             f"{100 * remote / local:.0f} % of local (≥ 50 %)")  # fmt: skip
        line(f"tomo DICOMweb frame 0 after the scan{suffix}", first * 1000, "ms",
             f"{len(lists)} frames request(s) to Orthanc for {asked} frames")  # fmt: skip
        if stopped:
            print(f"    ({stopped})")


def write_big_object(path: Path, frames: int, rows: int, columns: int) -> int:
    """A native multi-frame file written frame by frame (four distinct frames, cycled)."""
    import io

    ds = workloads._tomo_dataset(
        workloads.Scale("big", 0, 0, 0, frames, rows, columns, 0, 0, 0, 0),
        workloads.TOMO_SYNTAXES["native"],
        workloads._uid("big-object", frames, rows, columns),
    )
    head = io.BytesIO()
    ds.save_as(head, enforce_file_format=True)
    chunks = [f.tobytes() for f in workloads.tomo_frames(rows, columns, 4)]
    with open(path, "wb") as f:
        f.write(head.getvalue())
        f.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OW", 0, len(chunks[0]) * frames))
        for k in range(frames):
            f.write(chunks[k % 4])
    return os.path.getsize(path)


def s3_budget(quick: bool) -> None:
    import dcmview_core as dc
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

    frames, rows, columns = (150, 1024, 832) if quick else (300, 2048, 1664)
    s3 = MotoS3()
    s3.start()
    try:
        dc.remote.configure(s3_endpoint=s3.endpoint)
        client = s3.client()
        client.create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory(prefix="dcmview-bench-remote-") as tmp:
            big = Path(tmp) / "tomo.dcm"
            size = write_big_object(big, frames, rows, columns)
            started = time.perf_counter()
            # few large parts: moto's CompleteMultipartUpload of many parts of 2 GB can fail
            parts = TransferConfig(multipart_chunksize=256 * 2**20, max_concurrency=2)
            client.upload_file(str(big), "bench", "study/tomo.dcm", Config=parts)
            took = time.perf_counter() - started
            print(f"  (uploaded {size / 2**30:.2f} GiB to moto in {took:.1f} s)")
        name = "s3://bench/study/tomo.dcm"
        s3.reset_counts()
        t0 = time.perf_counter()
        (listed,) = list(dc.remote.list_remote("s3://bench/study/"))
        entry = dc.read_entry(listed)
        assert isinstance(entry, dc.FileEntry)
        assert entry.frame_count == frames
        frame = dc.read_frame(entry, 0)
        elapsed = time.perf_counter() - t0
        served = s3.counts("tomo.dcm")
        total = sum(s.nbytes for s in served)
        assert frame.samples.shape == (rows, columns)
        assert name == listed
    finally:
        s3.stop()
    line(f"S3 first frame of a {size / 2**30:.2f} GiB object: bytes read", 100 * total / size, "%",
         f"{total / 2**20:.1f} MiB in {len(served)} requests (≤ 1 %)")  # fmt: skip
    line("S3 list + header + first frame (incl. s3fs start-up)", elapsed * 1000, "ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable; default: all of them)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="tomosynthesis sweeps (local and remote) to run"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    parts = set(args.only or PARTS)
    scale = workloads.SCALES["quick" if args.quick else "full"]
    slices, size = (40, 128) if args.quick else (300, 512)
    binary, why = orthanc_binary()
    if parts & {"scan", "tomo"} and binary is None:
        print(f"  DICOMweb figures skipped: {why}")
    elif parts & {"scan", "tomo"}:
        with (
            tempfile.TemporaryDirectory(prefix="dcmview-bench-orthanc-") as tmp,
            OrthancServer(Path(tmp)) as orthanc,
        ):
            print("DICOMweb (Orthanc on loopback)")
            if "scan" in parts:
                dicomweb_scan(orthanc, slices, size)
            if "tomo" in parts:
                tomo_sweep(orthanc, scale, max(args.runs, 1))
    if "s3" in parts:
        print("S3 (moto on loopback)")
        s3_budget(args.quick)
    if args.json:
        args.json.write_text(json.dumps(FIGURES, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
