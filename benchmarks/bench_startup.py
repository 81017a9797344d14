"""CLI start-up speed: ``dcmview --help``, start → ready line, → first API answer, → scan line.

    uv run python benchmarks/bench_startup.py [--runs 10] [--floor]

Targets on a 2-core machine (issue 17): the first startup line (``dcmview: server running at
…``) at most 0.10 s after the process starts, the one-file scan line at most 0.12 s, and
``dcmview --help`` at most 0.3 s. The ready line must be true, so each run also asks
``/api/files`` (with the token) as soon as it reads the line and reports when the answer came,
and the CPU the server had used when it printed the line (all threads, Linux only). Every
figure is min and median; ``--floor`` adds what the interpreter and the big imports cost
alone (``python -c pass``, ``import asyncio, uvloop``, ``import numpy``, ``import sanic``), the
floor any start-up with them before its ready line pays.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pydicom.data import get_testdata_file

HELP_TARGET = 0.3
READY_TARGET = 0.10
SCAN_TARGET = 0.12
READY = "dcmview: server running at "
FLOOR = {
    "python -c pass": "pass",
    "import asyncio, uvloop": "import asyncio, uvloop",
    "import numpy": "import numpy",
    "import sanic": "import sanic",
}


def _dcmview() -> str:
    script = Path(sys.executable).parent / "dcmview"
    return str(script) if script.exists() else shutil.which("dcmview") or "dcmview"


def time_command(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one run of ``argv`` to completion."""
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """CPU time of all threads of ``pid`` so far (``/proc/PID/task/*/schedstat``), else nan."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return float("nan")
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as file:
                total += int(file.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total / 1e9


def first_answer(url: str) -> None:
    """GET ``/api/files`` of the server whose launch URL is ``url``; raise unless it is 200."""
    base, _, token = url.partition("/#token=")
    request = urllib.request.Request(
        base.rstrip("/") + "/api/files", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        json.load(response)


def time_ready(argv: list[str]) -> tuple[float, float, float, float]:
    """Seconds to the ready line, CPU at it, to the first API answer, to the scan line."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    ready = cpu = answered = scanned = float("nan")
    try:
        for line in proc.stdout:
            now = time.perf_counter() - started
            if line.startswith(READY):
                ready = now
                cpu = cpu_seconds(proc.pid)
                first_answer(line[len(READY) :].strip())
                answered = time.perf_counter() - started
            elif line.startswith("dcmview: loaded "):
                scanned = now  # read after the request: at most `answered`
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    return ready, cpu, answered, scanned


def main() -> int:
    """Run the measurements and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--floor", action="store_true", help="also time the big imports alone")
    args = parser.parse_args()
    dcmview = _dcmview()
    floor: dict[str, list[float]] = {name: [] for name in FLOOR} if args.floor else {}
    helps: list[float] = []
    runs: list[tuple[float, float, float, float]] = []
    # the CLI's own environment for numpy (`dcmview_py.cli.main`)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        source = get_testdata_file("CT_small.dcm")
        assert source is not None
        shutil.copy(str(source), Path(tmp) / "CT_small.dcm")
        time_command([dcmview, "--help"])  # warm the OS file cache
        for _ in range(args.runs):  # interleaved: a load that changes hits every figure
            for name, code in FLOOR.items() if args.floor else ():
                floor[name].append(time_command([sys.executable, "-c", code], env=env))
            helps.append(time_command([dcmview, "--help"]))
            runs.append(time_ready([dcmview, "--no-browser", tmp]))

    def show(label: str, values: list[float], target: float | None = None) -> None:
        med = statistics.median(values)
        verdict = "" if target is None else ("  OK" if med <= target else "  OVER TARGET")
        limit = "" if target is None else f"  target <= {target:.2f} s"
        print(f"{label:<36} median {med:6.3f} s  min {min(values):6.3f} s{limit}{verdict}")

    print(f"dcmview start-up, {args.runs} interleaved runs each ({dcmview}), one file")
    for name, values in floor.items():
        show(f"{name} (floor)", values)
    show("dcmview --help", helps, HELP_TARGET)
    show("start -> ready line", [r[0] for r in runs], READY_TARGET)
    show("CPU (all threads) at the ready line", [r[1] for r in runs])
    show("start -> first /api/files answer", [r[2] for r in runs])
    show("start -> scan line", [r[3] for r in runs], SCAN_TARGET)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
