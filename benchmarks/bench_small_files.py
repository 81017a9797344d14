"""Per-file cost of the first frame of small files, measured through a real server socket.

    uv run python benchmarks/bench_small_files.py [--files 300] [--repeat 5] [--clients 1,4]

The ``small_files`` workload of `workloads.py` (one CT series of 64×64 single-frame files, one
file per slice). Each sweep runs on a fresh server process (``dcmview_server.serve``, via
`bench_stacks.Server`) once its scan is complete, so every request is the first frame of its
file (nothing is cached in the server; the OS page cache is warm). Per sweep: files/s over
one client, the median request latency, the median ``Server-Timing`` and the server's CPU time
per file (from ``/proc``, user + system, over the whole sweep). With several clients
(``--clients``), the files are shared out between that many connections (`_client.sweep`) and
latencies are not shown. Sweeps of raw and PNG alternate ``--repeat`` times and the medians
are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import workloads  # noqa: E402
from benchmarks._client import sweep as shared_sweep  # noqa: E402
from benchmarks.bench_stacks import TOKEN, Server, server_ms  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        raw = fh.read().decode("ascii", "replace")
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def sweep(root: Path, files: int, suffix: str, clients: int) -> tuple[float, float, float, float]:
    """(files/s, median latency ms, median server ms, server CPU ms per file) of one sweep
    (latency and server time: NaN with several clients)."""
    server = Server(root)
    paths = [f"/api/file/{i}/frame/0{suffix}" for i in range(files)]
    nan = float("nan")
    try:
        server.wait_scan()
        time.sleep(0.3)  # let the scan's last work settle before the CPU baseline
        latencies, server_times = [], []
        cpu0 = cpu_seconds(server.proc.pid)
        started = time.perf_counter()
        if clients > 1:
            shared_sweep(f"http://127.0.0.1:{server.port}", TOKEN, paths, clients)
        else:
            for path in paths:
                t0 = time.perf_counter()
                _, headers = server.get(path)
                latencies.append(1000 * (time.perf_counter() - t0))
                server_times.append(server_ms(headers))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.proc.pid) - cpu0
    finally:
        server.stop()
    return (
        files / elapsed,
        statistics.median(latencies) if latencies else nan,
        statistics.median(server_times) if server_times else nan,
        1000 * cpu / files,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", default="1", help="comma-separated client counts")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.clients.split(",")]
    scale = replace(workloads.SCALES["full"], small_files=args.files)
    workload = workloads.small_files(scale)
    root = workload.paths[0]
    print(f"{workload.description}; {args.repeat} repeats, medians", flush=True)
    runs: dict[tuple[str, int], list[tuple[float, float, float, float]]] = {}
    for _ in range(args.repeat):
        for clients in counts:
            for kind, suffix in (("raw", "/raw"), ("PNG", "")):
                result = sweep(root, args.files, suffix, clients)
                runs.setdefault((kind, clients), []).append(result)
    for (kind, clients), results in runs.items():
        rate, latency, server, cpu = (statistics.median(r[k] for r in results) for k in range(4))
        print(
            f"  {kind:<4} {clients} client(s), first frame of a file: {rate:7.0f} files/s"
            f"  latency {latency:5.2f} ms"
            f"  server {server:5.2f} ms  server CPU {cpu:5.2f} ms/file"
            f"  (CPU runs: {', '.join(f'{r[3]:.2f}' for r in results)})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
