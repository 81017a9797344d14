"""Benchmark dcmview against the Rust dcmview 0.4.1, interleaved, and publish the figures.

    uv run just bench            # full run (about 15 minutes on 2 cores)
    uv run just bench --quick    # small workloads, one repeat, under 2 minutes (CI)

Writes benchmarks/results/<mode>.json and <mode>.md, and for the full run docs/benchmarks.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _report, _servers, workloads  # noqa: E402
from benchmarks._measure import Settings, measure  # noqa: E402

MODES: dict[str, tuple[int, Settings]] = {
    # A sweep stops starting requests after 15 s (the rate then counts completed frames):
    # a full JPEG 2000 sweep takes over a minute for either implementation on 2 cores.
    "full": (3, Settings(sweep_time_limit=15.0)),
    "quick": (
        1,
        Settings(help_runs=1, cached_requests=3, files_requests=1, sweep_time_limit=5.0),
    ),
    "tiny": (
        1,
        Settings(help_runs=1, cached_requests=2, files_requests=1, sweep_time_limit=10.0),
    ),
}
WORKLOAD_ORDER = (
    "startup",
    "discovery",
    "small_files",
    "tomo_native",
    "tomo_j2k",
    "tomo_htj2k",
    "cine",
    "jpeg_baseline",
)
# The feature benchmarks of other owners (ours only: Rust 0.4.1 has no stacks, overlays, remote
# sources or demo), run after the A/B: name -> (arguments, extra arguments in --quick mode).
# In --quick mode only those that take well under a minute run (CI: the quick run stays < 3 min).
EXTRAS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "bench_stacks": (("--json", "{json}"), None),
    "bench_overlays": (("--json", "{json}"), ("--quick",)),
    "bench_remote": (("--json", "{json}"), ("--quick",)),
    "bench_demo": ((), None),
}
# JPEG 2000 decoding dominates the full run: cap its repeats so the run stays near 15 min.
MAX_REPEATS = {"full": {"tomo_j2k": 2}}


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_kb / 1024 / 1024,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _git_head() -> str:
    """The checked-out commit of this repository (with '+dirty' for local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "packages"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty (uncommitted changes under packages/)" if dirty else "")


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _short(figures: dict[str, Any]) -> str:
    parts = []
    for k, v in figures.items():
        if k.startswith("_") and k != "_error":
            continue
        if isinstance(v, float):
            parts.append(f"{k}={v:.3g}")
        elif isinstance(v, dict) and "error" in v:
            parts.append(f"{k}=✗{v['error']}")
        elif k == "_error":
            parts.append(f"error={v}")
    return " ".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small workloads, 1 repeat (< 2 min)")
    mode.add_argument("--tiny", action="store_true", help="toy workloads (the runner's own test)")
    p.add_argument("--repeats", type=int, help="repeats per workload (default: 3 full, 1 quick)")
    p.add_argument(
        "--workloads",
        help=f"comma-separated subset of: {', '.join(WORKLOAD_ORDER)}",
    )
    p.add_argument("--only", choices=("ours", "rust"), help="measure a single implementation")
    p.add_argument(
        "--clients",
        default="1,4",
        help="client counts of the sweeps (default 1,4); the first one also gives sweep CPU",
    )
    p.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="start no repeat after the first once this many minutes have passed "
        "(default: 17 for the full run, none otherwise)",
    )
    p.add_argument(
        "--ours",
        type=Path,
        help="our dcmview executable to measure (default: the workspace venv's)",
    )
    p.add_argument("--ours-note", default="", help="text added to our label (e.g. a commit)")
    p.add_argument("--data-dir", type=Path, default=workloads.DATA_DIR, help="workload cache")
    p.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results", help="results directory"
    )
    p.add_argument("--chart", type=Path, help="chart PNG (default: docs/benchmarks.png, full)")
    p.add_argument("--no-install", action="store_true", help="do not pip-install the Rust binary")
    p.add_argument(
        "--no-extras", action="store_true", help="skip the feature benchmarks (bench_stacks, …)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate workloads, measure both implementations interleaved, write the results."""
    args = parse_args(argv)
    mode = "quick" if args.quick else "tiny" if args.tiny else "full"
    default_repeats, settings = MODES[mode]
    try:
        clients = tuple(int(c) for c in args.clients.split(","))
    except ValueError:
        clients = ()
    if not clients or min(clients) < 1:
        print("run.py: error: --clients takes positive integers, e.g. 1,4", file=sys.stderr)
        return 2
    settings = dataclasses.replace(settings, clients=clients)
    repeats = args.repeats or default_repeats
    if args.budget_minutes is None and mode == "full":
        args.budget_minutes = 17.0
    names = list(WORKLOAD_ORDER)
    if args.workloads:
        wanted = [w.strip() for w in args.workloads.split(",") if w.strip()]
        unknown = sorted(set(wanted) - set(WORKLOAD_ORDER))
        if unknown:
            print(f"run.py: error: unknown workload(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        names = [n for n in WORKLOAD_ORDER if n in wanted]
    started = time.perf_counter()
    machine = _machine()
    command = "uv run just bench" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )

    _log(f"mode {mode}, {repeats} repeat(s); generating workloads in {args.data_dir}")
    t = time.perf_counter()
    all_wl = workloads.all_workloads(workloads.SCALES[mode], args.data_dir)
    all_wl["small_files"] = workloads.small_files(workloads.SCALES[mode], args.data_dir)
    _log(f"workloads ready in {time.perf_counter() - t:.1f} s")

    impls: list[_servers.Implementation] = []
    info: dict[str, dict[str, Any]] = {}
    if args.only != "rust":
        ours = _servers.ours(ROOT, args.ours)
        if ours is not None and args.ours_note:
            ours = dataclasses.replace(ours, label=f"{ours.label}, {args.ours_note}")
        if ours is None:
            info["ours"] = {"available": False, "reason": "`dcmview --help` does not run"}
        else:
            impls.append(ours)
    else:
        info["ours"] = {"available": False, "reason": "skipped (--only rust)"}
    if args.only != "ours":
        rust, why = _servers.rust(args.data_dir, install=not args.no_install)
        if rust is None:
            info["rust"] = {"available": False, "reason": why}
        else:
            impls.append(rust)
    else:
        info["rust"] = {"available": False, "reason": "skipped (--only ours)"}
    for impl in impls:
        info[impl.key] = {
            "available": True,
            "label": impl.label,
            "version": impl.version,
            "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(impl.argv)),
        }
        _log(f"{impl.key}: {impl.label} {impl.version}")
    for key, i in info.items():
        if not i["available"]:
            _log(f"{key}: not available: {i['reason']}")

    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {impl.key: [] for impl in impls} for n in names
    }
    # One unrecorded start each: compiles bytecode and warms the page cache for both.
    for impl in impls:
        try:
            _servers.start_server(impl, all_wl["startup"].paths).stop()
        except _servers.ServerError as exc:
            _log(f"{impl.key}: warm-up start failed: {str(exc).splitlines()[0]}")
    skipped: list[str] = []
    for rep in range(repeats):
        for name in names:
            if rep >= MAX_REPEATS.get(mode, {}).get(name, repeats):
                continue
            elapsed = (time.perf_counter() - started) / 60
            if rep > 0 and args.budget_minutes and elapsed > args.budget_minutes:
                skipped.append(f"repeat {rep + 1} of {name}")
                _log(f"time budget of {args.budget_minutes} min spent: skip rep {rep + 1} {name}")
                continue
            for impl in impls:  # A B, A B, ...
                t = time.perf_counter()
                figures = measure(impl, all_wl[name], settings)
                samples[name][impl.key].append(figures)
                _log(
                    f"rep {rep + 1}/{repeats} {name:<13} {impl.key:<4} "
                    f"{time.perf_counter() - t:5.1f} s  {_short(figures)}"
                )

    result = build_result(
        mode=mode,
        repeats=repeats,
        command=command,
        machine=machine,
        info=info,
        names=names,
        all_wl=all_wl,
        samples=samples,
        duration=time.perf_counter() - started,
    )
    if not args.no_extras and not args.workloads and mode != "tiny":
        result["extras"] = run_extras(quick=mode == "quick")
    result["meta"]["skipped_for_time"] = skipped
    result["meta"]["machine"]["load_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    # A partial run never overwrites the published results of a whole run.
    subset = bool(args.workloads or args.only or args.clients != "1,4")
    stem = f"{mode}-subset" if subset else mode
    json_path = args.out / f"{stem}.json"
    md_path = args.out / f"{stem}.md"
    json_path.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    md_path.write_text(_report.markdown(result))
    _log(f"wrote {json_path} and {md_path}")
    default_chart = ROOT / "docs" / "benchmarks.png" if mode == "full" and not subset else None
    chart_path = args.chart or default_chart
    if chart_path is not None:
        try:
            made = _report.chart(result, chart_path)
        except ImportError:
            _log("matplotlib is not installed: no chart (uv sync --group dev)")
        else:
            _log(f"wrote {chart_path}" if made else "no figures to chart")
    if mode == "full" and not subset:
        doc = ROOT / "docs" / "performance.md"
        if _report.replace_block(doc, _report.summary_block(result)):
            _log(f"updated the summary in {doc}")
    print(md_path.read_text())
    return 0


def run_extras(*, quick: bool, timeout: float = 300.0) -> dict[str, Any]:
    """Run each feature benchmark that exists; its JSON figures, else its printed lines."""
    import tempfile

    out: dict[str, Any] = {}
    for name, (args, quick_args) in EXTRAS.items():
        script = ROOT / "benchmarks" / f"{name}.py"
        if not script.is_file() or (quick and quick_args is None):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            json_path = Path(tmp) / "figures.json"
            argv = [a.replace("{json}", str(json_path)) for a in args]
            argv += list(quick_args or ()) if quick else []
            t = time.perf_counter()
            try:
                proc = subprocess.run(
                    [sys.executable, str(script), *argv],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env=_servers.server_env(),
                )
            except subprocess.TimeoutExpired:
                out[name] = {"error": f"no result after {timeout:.0f} s"}
                continue
            shown = [a.replace(str(json_path), "FILE") for a in argv]
            entry: dict[str, Any] = {"seconds": time.perf_counter() - t, "argv": shown}
            if proc.returncode != 0:
                entry["error"] = f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"
            if json_path.is_file():
                entry["figures"] = json.loads(json_path.read_text())
            else:
                entry["lines"] = [line for line in proc.stdout.splitlines() if line.strip()]
        _log(f"extras: {name} in {entry['seconds']:.0f} s")
        out[name] = entry
    return out


def build_result(
    *,
    mode: str,
    repeats: int,
    command: str,
    machine: dict[str, Any],
    info: dict[str, dict[str, Any]],
    names: list[str],
    all_wl: dict[str, workloads.Workload],
    samples: dict[str, dict[str, list[dict[str, Any]]]],
    duration: float,
) -> dict[str, Any]:
    """The JSON document: metadata, raw samples, statistics and the target verdicts."""
    out_workloads: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for name in names:
        per_impl = samples[name]
        stats: dict[str, dict[str, Any]] = {}
        for key, reps in per_impl.items():
            keys = {k for r in reps for k in r if not k.startswith("_")}
            stats[key] = {}
            for k in sorted(keys):
                s = _report.summarize(reps, k)
                if s is not None:
                    stats[key][k] = s
            if not keys and reps and "_error" in reps[0]:
                stats[key]["error"] = {"error": reps[0]["_error"]}
        notes = _notes(name, per_impl, all_wl[name])
        out_workloads[name] = {
            "description": all_wl[name].description,
            "workload": workloads.describe(all_wl[name]),
            "samples": per_impl,
            "stats": stats,
            "notes": notes,
        }
        for fig in _report.figures_for(name):
            o = stats.get("ours", {}).get(fig.key)
            t = stats.get("rust", {}).get(fig.key)
            verdict = _report.judge(name, fig, o, t)
            if verdict is None:
                continue
            targets.append(
                {
                    "workload": name,
                    "figure": fig.key,
                    "label": fig.label,
                    "ours": _report.cell(o, fig.unit),
                    "rust": _report.cell(t, fig.unit),
                    "ratio": _report.ratio(o, t),
                    "target": verdict[0],
                    "status": verdict[1],
                }
            )
    return {
        "issue17_targets": _report.issue17_targets(out_workloads),
        "advantage": _report.advantage(out_workloads),
        "meta": {
            "mode": mode,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "repeats": repeats,
            "max_repeats": MAX_REPEATS.get(mode, {}),
            "machine": machine,
            "workspace_commit": _git_head(),
            "implementations": info,
            "duration_s": duration,
        },
        "workloads": out_workloads,
        "targets": targets,
    }


def _notes(
    name: str, per_impl: dict[str, list[dict[str, Any]]], wl: workloads.Workload
) -> list[str]:
    """Plain-language caveats found in the samples (partial sweeps, wrong file counts)."""
    notes: list[str] = []
    for key, reps in per_impl.items():
        for i, r in enumerate(reps):
            if (
                name == "discovery"
                and "_files_found" in r
                and r["_files_found"] != wl.expected_files
            ):
                notes.append(
                    f"{key} repeat {i + 1}: listed {r['_files_found']} files, "
                    f"expected {wl.expected_files}"
                )
            if (
                name == "discovery"
                and r.get("_skipped", wl.expected_skipped) != wl.expected_skipped
            ):
                notes.append(
                    f"{key} repeat {i + 1}: reported {r['_skipped']} skipped files, "
                    f"expected {wl.expected_skipped} (the non-DICOM files)"
                )
            for k, v in r.items():
                if isinstance(v, dict) and v.get("partial"):
                    notes.append(
                        f"{key} repeat {i + 1}: {k.lstrip('_')} stopped at the time limit after "
                        f"{v['frames_done']}/{wl.frames} frames (rate over completed frames)"
                    )
    return notes


if __name__ == "__main__":
    sys.exit(main())
