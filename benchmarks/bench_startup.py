"""CLI start-up speed: ``dcmview --help`` and start → ready line.

    uv run python benchmarks/bench_startup.py [--runs 5]

Targets on a 2-core machine: ``dcmview --help`` in at most 0.3 s, and the first startup line
(``dcmview: server running at …``) at most 1.0 s after the process starts. Also prints
``python -c pass`` as the floor every Python command pays, and the time until the scan line.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.data import get_testdata_file

HELP_TARGET = 0.3
READY_TARGET = 1.0


def _dcmview() -> str:
    script = Path(sys.executable).parent / "dcmview"
    return str(script) if script.exists() else shutil.which("dcmview") or "dcmview"


def time_command(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` to completion."""
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def time_ready(argv: list[str]) -> tuple[float, float]:
    """Seconds until the ready line and until the scan line, then stop with SIGINT."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    ready = scanned = float("nan")
    try:
        for line in proc.stdout:
            now = time.perf_counter() - started
            if line.startswith("dcmview: server running at "):
                ready = now
            elif line.startswith("dcmview: loaded "):
                scanned = now
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    return ready, scanned


def main() -> int:
    """Run the measurements and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    dcmview = _dcmview()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for name in ("CT_small.dcm", "MR_small.dcm"):
            source = get_testdata_file(name)
            assert source is not None
            shutil.copy(str(source), Path(tmp) / name)
        time_command([dcmview, "--help"])  # warm the OS file cache
        floor = [time_command([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
        helps = [time_command([dcmview, "--help"]) for _ in range(args.runs)]
        runs = [time_ready([dcmview, "--no-browser", tmp]) for _ in range(args.runs)]
    ready = [r for r, _ in runs]
    scanned = [s for _, s in runs]

    def show(label: str, values: list[float], target: float | None = None) -> None:
        med = statistics.median(values)
        verdict = "" if target is None else ("  OK" if med <= target else "  OVER TARGET")
        limit = "" if target is None else f"  target <= {target:.2f} s"
        print(f"{label:<32} median {med:6.3f} s  min {min(values):6.3f} s{limit}{verdict}")

    print(f"dcmview start-up, {args.runs} runs each ({dcmview})")
    show("python -c pass (floor)", floor)
    show("dcmview --help", helps, HELP_TARGET)
    show("start -> ready line", ready, READY_TARGET)
    show("start -> scan line (2 files)", scanned)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
