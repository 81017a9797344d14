"""Profile our server with py-spy while the benchmark client sweeps a workload.

    uv run python benchmarks/_profile.py tomo_j2k --kind png --clients 1 [--scale full]

Starts `dcmview` on the workload, attaches `py-spy record` (run through `uvx`, nothing is
added to the project) to the server process, sweeps every frame, and prints where the
samples fall: by leaf function (self time) and by top-level phase (decode, window, PNG
encode, HTTP, idle). The collapsed stacks are kept under benchmarks/.data/profiles/.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _servers, workloads  # noqa: E402
from benchmarks._client import sweep  # noqa: E402
from benchmarks._measure import Settings, wait_scan  # noqa: E402

# Phase name -> substrings of a stack frame "function (file:line)". A sample belongs to the
# first phase (in this order) any of whose substrings occurs anywhere in its stack.
PHASES = (
    ("import", ("<frozen importlib",)),
    ("png encode", ("encode_png", "png_encode", "deflate", "PngImagePlugin")),
    ("window/LUT", ("render_display", "apply_window", "present.py", "percentile", "histogram")),
    ("decode", ("openjpeg", "jpeg2k", "htj2k", "pylibjpeg", "read_frame", "jpeg8", "frames.py")),
    ("header/discovery", ("_header.py", "discovery.py", "dcmread", "filereader")),
    ("serialize JSON", ("serialize.py", "json/encoder", "dumps")),
    (
        "event loop/HTTP (incl. epoll wait)",
        ("sanic", "httptools", "asyncio", "selector", "transport"),
    ),
)


def classify(stack: list[str]) -> str:
    """The phase a sampled stack belongs to, else 'other'."""
    low = [frame.lower() for frame in stack]
    for phase, needles in PHASES:
        if any(n.lower() in frame for frame in low for n in needles):
            return phase
    return "other"


def summarize(collapsed: Path, top: int = 15) -> str:
    """Self-time by function and samples by phase from py-spy's collapsed ('raw') output."""
    leaf: collections.Counter[str] = collections.Counter()
    phase: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text:
            continue
        count = int(count_text)
        frames = stack_text.split(";")
        total += count
        leaf[frames[-1]] += count
        phase[classify(frames[1:])] += count
    lines = [f"{total} samples of active threads (py-spy leaves idle ones out)"]
    lines.append("by phase:")
    for name, n in phase.most_common():
        lines.append(f"  {100 * n / max(total, 1):5.1f}%  {name}")
    lines.append("by leaf function (self time):")
    for name, n in leaf.most_common(top):
        lines.append(f"  {100 * n / max(total, 1):5.1f}%  {name}")
    return "\n".join(lines)


def _profile_scan(
    impl: _servers.Implementation, wl: workloads.Workload, collapsed: Path, rate: int
) -> int:
    """Run the server under py-spy from its first instruction until its scan completes."""
    spied = _servers.Implementation(
        impl.key,
        impl.label,
        ("uvx", "py-spy", "record", "--subprocesses", "--threads", "--rate", str(rate),
         "--format", "raw", "-o", str(collapsed), "--", *impl.argv),
        impl.version,
    )  # fmt: skip
    server = _servers.start_server(spied, wl.paths)
    try:
        scan_s, _ = wait_scan(server, Settings())
    finally:
        server.stop(grace=20.0)
    print(f"{wl.name}: ready line {server.ready_seconds:.2f} s, scan complete {scan_s:.2f} s")
    print("(under py-spy, which slows the process a little)")
    if not collapsed.exists():
        print("py-spy wrote nothing", file=sys.stderr)
        return 1
    print(f"profile: {collapsed}")
    print(summarize(collapsed))
    return 0


def main() -> int:
    """Run one profiled sweep and print the summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "workload",
        help="startup, discovery (profiled from process start to scan complete), or "
        "tomo_native, tomo_j2k, tomo_htj2k, cine, jpeg_baseline (profiled during a sweep)",
    )
    p.add_argument("--kind", choices=("png", "raw"), default="png")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--scale", choices=tuple(workloads.SCALES), default="full")
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    p.add_argument("--frames", type=int, help="sweep only the first N frames")
    p.add_argument("--ours", type=Path, help="dcmview executable (default: the workspace's)")
    args = p.parse_args()

    wl = workloads.all_workloads(workloads.SCALES[args.scale])[args.workload]
    impl = _servers.ours(ROOT, args.ours)
    if impl is None:
        print("_profile.py: our dcmview does not run yet", file=sys.stderr)
        return 1
    out_dir = workloads.DATA_DIR / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    collapsed = out_dir / f"{args.workload}-{args.kind}-{args.clients}-{stamp}.txt"
    if args.workload in ("startup", "discovery"):
        return _profile_scan(impl, wl, collapsed, args.rate)
    server = _servers.start_server(impl, wl.paths)
    try:
        wait_scan(server, Settings())
        spy = subprocess.Popen(
            ["uvx", "py-spy", "record", "--pid", str(server.proc.pid), "--subprocesses",
             "--threads", "--rate", str(args.rate), "--format", "raw", "--nonblocking",
             "-o", str(collapsed)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.0)  # let py-spy attach
        suffix = "" if args.kind == "png" else "/raw"
        n = args.frames or wl.frames
        paths = [f"/api/file/0/frame/{f}{suffix}" for f in range(n)]
        result = sweep(server.base_url, server.token, paths, args.clients)
        _, cpu = server.usage()
        os.kill(spy.pid, signal.SIGINT)
        _, err = spy.communicate(timeout=60)
    finally:
        server.stop()
    print(
        f"{args.workload} {args.kind} sweep, {args.clients} client(s): {result.requests} frames "
        f"in {result.seconds:.2f} s = {result.per_second:.2f} frames/s; server CPU so far "
        f"{cpu:.1f} s, peak RSS {server.peak_rss / 1e6:.0f} MB"
    )
    if not collapsed.exists():
        print(f"py-spy wrote nothing:\n{err[-2000:]}", file=sys.stderr)
        return 1
    print(f"profile: {collapsed}")
    print(summarize(collapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
