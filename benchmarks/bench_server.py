"""dcmview-server throughput and latency, measured through a real socket.

    uv run python benchmarks/bench_server.py [--repeat 3] [--soak 30]

The server runs in its own process (``dcmview_server.serve``), started fresh for every cold
sweep so nothing is cached; clients are keep-alive ``http.client`` connections in threads.
Workloads come from ``benchmarks/workloads.py`` (generated once, cached under
``benchmarks/.data/``): the 60-frame 2048×1664 16-bit native tomosynthesis file and 5,000 small
CT files.

Prints, next to the Rust dcmview 0.4.1 figures of issue 5 (same kind of machine):
raw and PNG frames/s for a cold sweep with 1 and 4 clients, cached-frame latency, and
``/api/files`` latency for 5,000 files (with and without gzip). ``--soak N`` also runs 8 clients
mixing frames, tags and PUTs for N seconds and reports requests/s, 5xx count and server RSS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads  # noqa: E402

TOKEN = "bench-server-token"
RUST = {
    "raw_1": 70.0,
    "raw_4": 136.0,
    "png_1": 36.0,
    "png_4": 55.0,
    "files_5000_ms": 13.0,
}
SERVER_CODE = """
import json, sys
from dcmview_server import ServerConfig, serve
args = json.loads(sys.argv[1])
def ready(r):
    print(json.dumps({"port": r.port}), flush=True)
serve(ServerConfig(paths=tuple(args["paths"]), token=args["token"],
                   cache_budget=args["budget"]), on_ready=ready)
"""


class Server:
    """A dcmview server process (fresh caches) and its port."""

    def __init__(self, paths: list[str], budget: int = 512 * 2**20) -> None:
        config = json.dumps({"paths": paths, "token": TOKEN, "budget": budget})
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, config],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.port = int(json.loads(line)["port"])
        self.wait_scan()

    def wait_scan(self) -> None:
        conn = connect(self.port)
        while True:
            body = json.loads(get(conn, "/api/files?since=999999999")[1])
            if body["scan_complete"]:
                break
            time.sleep(0.05)
        conn.close()

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def connect(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=300)


def get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
    return response.status, body, {k.lower(): v for k, v in response.getheaders()}


def sweep(port: int, frames: int, clients: int, suffix: str) -> float:
    """Frames/s for every frame of file 0, shared by ``clients`` connections in order."""
    todo: queue.Queue[int] = queue.Queue()
    for f in range(frames):
        todo.put(f)

    def work() -> None:
        conn = connect(port)
        while True:
            try:
                f = todo.get_nowait()
            except queue.Empty:
                break
            get(conn, f"/api/file/0/frame/{f}{suffix}")
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return frames / (time.perf_counter() - started)


def latency_ms(
    port: int, path: str, n: int, headers: dict[str, str] | None = None
) -> tuple[float, float]:
    """Median round trip and median server time (``Server-Timing: app;dur=``), in ms."""
    conn = connect(port)
    get(conn, path, headers)
    times = []
    server = []
    for _ in range(n):
        t = time.perf_counter()
        answer = get(conn, path, headers)[2]
        times.append(time.perf_counter() - t)
        server.append(float(answer.get("server-timing", "app;dur=nan").split("dur=")[1]))
    conn.close()
    return statistics.median(times) * 1000, statistics.median(server)


def latency_line(name: str, figures: tuple[float, float], rust: float | None = None) -> None:
    line(f"{name} (server time)", figures[1], "ms", None, False)
    line(f"{name} (round trip)", figures[0], "ms", rust, False)


def line(name: str, ours: float, unit: str, rust: float | None, higher_better: bool) -> None:
    verdict = ""
    if rust is not None:
        ratio = ours / rust if higher_better else rust / ours
        behind = "" if ratio >= 1 else " — behind"
        verdict = f"  (Rust 0.4.1: {rust:g} {unit}; ours/theirs {ratio:.2f}×{behind})"
    print(f"{name:<44} {ours:9.2f} {unit}{verdict}", flush=True)


def soak(paths: list[str], seconds: float) -> None:
    """8 clients mixing raw/PNG frames, tags and PUTs; reports 5xx and RSS."""
    server = Server(paths, budget=256 * 2**20)
    counts = {"requests": 0, "5xx": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def client(me: int) -> None:
        rng = random.Random(me)
        conn = connect(server.port)
        frame = 0
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.5:
                frame = (frame + 1) % 60
                path, method, body = f"/api/file/0/frame/{frame}/raw", "GET", None
            elif roll < 0.6:
                path, method, body = f"/api/file/0/frame/{rng.randrange(60)}", "GET", None
            elif roll < 0.75:
                path, method, body = "/api/file/0/tags", "GET", None
            else:
                y, x = rng.randrange(1600), rng.randrange(2000)
                roi = {"num_roi": 1, "roi_coords": [[y, x, y + 10, x + 10]], "roi_frames": [[]]}
                path, method, body = "/api/file/0/annotations", "PUT", json.dumps(roi)
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                counts["requests"] += 1
                counts["5xx"] += response.status >= 500
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    peak = 0.0
    started = time.perf_counter()
    for t in threads:
        t.start()
    while time.perf_counter() - started < seconds:
        time.sleep(1)
        peak = max(peak, server.rss_mb())
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server.stop()
    print(
        f"soak {seconds:g} s, 8 clients: {counts['requests'] / elapsed:.0f} requests/s, "
        f"{counts['5xx']} 5xx, peak server RSS {peak:.0f} MB (cache budget 256 MB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold sweeps per figure (median)")
    parser.add_argument("--soak", type=float, default=0, help="seconds of 8-client soak (0: skip)")
    parser.add_argument("--soak-only", action="store_true", help="run only the soak")
    args = parser.parse_args(argv)
    scale = workloads.SCALES["full"]
    tomo = workloads.tomo(scale, "native")
    tomo_paths = [str(p) for p in tomo.paths]
    print(f"machine: {os.cpu_count()} cores; workload: {tomo.description}", flush=True)
    if args.soak_only:
        soak(tomo_paths, args.soak or 30)
        return 0

    for suffix, label in (("/raw", "raw"), ("", "PNG")):
        for clients in (1, 4):
            rates = []
            for _ in range(args.repeat):
                server = Server(tomo_paths)
                rates.append(sweep(server.port, tomo.frames, clients, suffix))
                server.stop()
            key = f"{'raw' if suffix else 'png'}_{clients}"
            line(
                f"cold sweep {label}, {clients} client(s) [frames/s]",
                statistics.median(rates),
                "fps",
                RUST[key],
                True,
            )

    server = Server(tomo_paths)
    latency_line(
        "cached raw frame 2048×1664", latency_ms(server.port, "/api/file/0/frame/7/raw", 50)
    )
    latency_line("cached PNG frame", latency_ms(server.port, "/api/file/0/frame/7", 50))
    latency_line("/api/file/0/info", latency_ms(server.port, "/api/file/0/info", 200))
    server.stop()

    small = workloads.Scale("files5000", 25, 200, 0, 1, 64, 64, 1, 64, 1, 64)
    files = workloads.discovery(small)
    server = Server([str(p) for p in files.paths])
    conn = connect(server.port)
    plain = get(conn, "/api/files")[1]
    zipped = get(conn, "/api/files", {"Accept-Encoding": "gzip"})[1]
    conn.close()
    count = len(json.loads(plain)["files"])
    latency_line(
        f"/api/files, {count:,} files, gzip ({len(zipped) / 1e6:.2f} MB)",
        latency_ms(server.port, "/api/files", 30, {"Accept-Encoding": "gzip"}),
        RUST["files_5000_ms"],
    )
    latency_line(
        f"/api/files, {count:,} files, identity ({len(plain) / 1e6:.2f} MB)",
        latency_ms(server.port, "/api/files", 30),
        RUST["files_5000_ms"],
    )
    server.stop()

    if args.soak:
        soak(tomo_paths, args.soak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
