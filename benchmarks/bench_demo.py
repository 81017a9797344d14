"""``dcmview --demo`` start-up: the ready line after the first run (issue 12 §8).

    uv run python benchmarks/bench_demo.py [--runs 5]

Target on a 2-core machine: the ready line (``dcmview: server running at …``) at most 1.0 s
after the process starts, once the demo study has been built into the user cache dir. The
first (cold) run builds it and is reported separately. Runs in a private ``XDG_CACHE_HOME``,
so it neither uses nor disturbs the user's cache, and checks that every DICOM file of the
study has the same bytes in every run.
"""

from __future__ import annotations

import argparse
import hashlib
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

READY_TARGET = 1.0
READY_PREFIX = "dcmview: server running at "


def _dcmview() -> str:
    script = Path(sys.executable).parent / "dcmview"
    return str(script) if script.exists() else shutil.which("dcmview") or "dcmview"


def _digests(url: str) -> dict[str, str]:
    """SHA-256 of each served file, keyed by its path below the run's study directory."""
    base, _, token = url.partition("/#token=")
    request = urllib.request.Request(f"{base}/api/files")
    request.add_header("Authorization", f"Bearer {token}")
    for _ in range(200):
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        if body.get("scan_complete"):
            break
        time.sleep(0.05)
    out = {}
    for item in body["files"]:
        path = Path(item["path"])
        root = next(p for p in path.parents if p.name == "study")
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def time_demo(dcmview: str, env: dict[str, str]) -> tuple[float, dict[str, str]]:
    """Seconds from process start to the ready line, and the study's file digests."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [dcmview, "--demo", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith(READY_PREFIX):
                ready = time.perf_counter() - started
                return ready, _digests(line.strip().removeprefix(READY_PREFIX))
        raise RuntimeError("dcmview --demo ended without a ready line")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)


def main() -> int:
    """Run the measurements and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    dcmview = _dcmview()
    with tempfile.TemporaryDirectory(prefix="bench-demo-cache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "SSH_CONNECTION"}
        env["XDG_CACHE_HOME"] = cache
        cold, reference = time_demo(dcmview, env)
        warm = []
        for _ in range(args.runs):
            seconds, digests = time_demo(dcmview, env)
            warm.append(seconds)
            if digests != reference:
                print("FAIL: the demo files differ between runs", file=sys.stderr)
                return 1
    median = statistics.median(warm)
    verdict = "OK" if median <= READY_TARGET else "OVER TARGET"
    print(f"demo ready line, first run (builds the cache)  {cold:6.2f} s")
    print(
        f"demo ready line, later runs (median of {len(warm)})     {median:6.2f} s  "
        f"(min {min(warm):.2f}, max {max(warm):.2f}; target <= {READY_TARGET:.1f} s)  {verdict}"
    )
    print(f"demo files byte-identical across {len(warm) + 1} runs: {len(reference)} files")
    return 0 if median <= READY_TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
