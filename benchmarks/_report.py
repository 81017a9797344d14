"""Statistics, targets, the markdown table and the chart of a benchmark run."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Our server's default --cache-budget (spec/cli.md) and the Rust default (its --help).
OUR_CACHE_BUDGET_MB = 512 * 1.048576
RSS_ALLOWANCE_MB = 150.0
COMPRESSED = ("tomo_j2k", "tomo_htj2k")


@dataclass(frozen=True)
class Figure:
    """How to show and judge one measured figure."""

    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"


STARTUP = [
    Figure("ready_s", "process start → ready line", "s", "lower"),
    Figure("help_s", "`dcmview --help`", "s", "lower"),
    Figure("one_file_loaded_s", "start → one-file scan complete", "s", "lower"),
    Figure("idle_rss_mb", "RSS after startup", "MB", "lower"),
    Figure("startup_cpu_s", "CPU to start", "s", "lower"),
]
DISCOVERY = [
    Figure("scan_s", "start → scan complete (polling /api/files)", "s", "lower"),
    Figure("scan_after_ready_s", "ready line → scan complete", "s", "lower"),
    Figure("scan_line_s", "start → 'loaded N' line on stdout", "s", "lower"),
    Figure("files_latency_s", "GET /api/files (complete list, identity)", "s", "lower"),
    Figure("files_size_mb", "/api/files body size (identity)", "MB", "lower"),
    Figure("files_gzip_latency_s", "GET /api/files, Accept-Encoding: gzip", "s", "lower"),
    Figure("files_gzip_size_mb", "/api/files bytes sent with gzip accepted", "MB", "lower"),
    Figure("peak_rss_mb", "server peak RSS (process tree)", "MB", "lower"),
    Figure("scan_cpu_s", "server CPU to start + scan", "s", "lower"),
]
FRAMES = [
    Figure("cold_png_s", "first PNG, cold", "s", "lower"),
    Figure("cached_png_s", "same PNG again, cached", "s", "lower"),
    Figure("png_sweep_1_fps", "PNG sweep, 1 client", "frames/s", "higher"),
    Figure("png_sweep_4_fps", "PNG sweep, 4 clients", "frames/s", "higher"),
    Figure("raw_sweep_1_fps", "raw sweep, 1 client", "frames/s", "higher"),
    Figure("raw_sweep_4_fps", "raw sweep, 4 clients", "frames/s", "higher"),
    Figure("peak_rss_mb", "server peak RSS (process tree, any phase)", "MB", "lower"),
    Figure("sweep_cpu_s", "server CPU for one PNG sweep (1 client)", "s", "lower"),
    Figure("png_cpu_ms", "server CPU per PNG frame (1-client sweep)", "ms", "lower"),
]
SMALL_FILES = [
    Figure("png_first_s", "first PNG of a file", "s", "lower"),
    Figure("png_files_fps", "PNG across files (first of each), 1 client", "files/s", "higher"),
    Figure("png_cpu_ms", "server CPU per first PNG of a file", "ms", "lower"),
    Figure("png_again_s", "PNG of a file again (cached)", "s", "lower"),
    Figure("png_again_fps", "PNG across files again (cached), 1 client", "files/s", "higher"),
    Figure("raw_first_s", "first raw frame of a file", "s", "lower"),
    Figure("raw_files_fps", "raw across files (first of each), 1 client", "files/s", "higher"),
    Figure("raw_cpu_ms", "server CPU per first raw frame of a file", "ms", "lower"),
    Figure("raw_again_s", "raw frame of a file again (cached)", "s", "lower"),
    Figure("raw_again_fps", "raw across files again (cached), 1 client", "files/s", "higher"),
    Figure("tags_first_s", "tag preview of a file, first time", "s", "lower"),
    Figure("tags_again_s", "tag preview of a file again", "s", "lower"),
    Figure("peak_rss_mb", "server peak RSS (process tree, any phase)", "MB", "lower"),
]
FRAME_TARGETS = {
    "cold_png_s",
    "cached_png_s",
    "png_sweep_1_fps",
    "png_sweep_4_fps",
    "raw_sweep_1_fps",
    "raw_sweep_4_fps",
}


def figures_for(workload: str) -> list[Figure]:
    """The figures reported for a workload."""
    if workload == "startup":
        return STARTUP
    if workload == "discovery":
        return DISCOVERY
    if workload == "small_files":
        return SMALL_FILES
    return FRAMES


def summarize(samples: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """Median/min/max of a figure over repeats; an error when no repeat produced a number."""
    values = [s[key] for s in samples if isinstance(s.get(key), int | float)]
    if values:
        return {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }
    errors = [s[key]["error"] for s in samples if isinstance(s.get(key), dict)]
    errors += [s["_error"] for s in samples if "_error" in s]
    if errors:
        return {"error": errors[0]}
    return None


def _better(fig: Figure, ours: float, theirs: float, strict: bool) -> bool:
    if fig.better == "lower":
        return ours < theirs if strict else ours <= theirs
    return ours > theirs if strict else ours >= theirs


def judge(
    workload: str, fig: Figure, ours: dict[str, Any] | None, theirs: dict[str, Any] | None
) -> tuple[str, str] | None:
    """(target text, 'met' | 'NOT MET' | 'n/a') for a figure with a target, else None."""
    ours_v = ours.get("median") if ours else None
    theirs_v = theirs.get("median") if theirs else None
    if workload == "startup" and fig.key == "ready_s":
        target = "≤ 1.0 s"
        if ours_v is None:
            return target, "n/a"
        return target, "met" if ours_v <= 1.0 else "NOT MET"
    if workload == "discovery" and fig.key == "scan_s":
        target = "≤ 1.5 × Rust"
        if ours_v is None or theirs_v is None:
            return target, "n/a"
        return target, "met" if ours_v <= 1.5 * theirs_v else "NOT MET"
    if fig.key == "peak_rss_mb" and workload != "startup":
        limit = OUR_CACHE_BUDGET_MB + RSS_ALLOWANCE_MB
        target = f"≤ cache budget + 150 MB ({limit:.0f} MB)"
        if ours_v is None:
            return target, "n/a"
        return target, "met" if ours_v <= limit else "NOT MET"
    if fig.key in FRAME_TARGETS:
        strict = workload in COMPRESSED
        target = "faster than Rust" if strict else "at least as fast as Rust"
        if ours_v is None:
            return target, "n/a" if ours is None else "NOT MET"
        if theirs is not None and "error" in theirs:
            return target, f"met (Rust: {theirs['error']})"
        if theirs_v is None:
            return target, "n/a"
        return target, "met" if _better(fig, ours_v, theirs_v, strict) else "NOT MET"
    return None


# Issue 17: (workload, figure, kind, bound): "s abs" bounds ours alone, "at most" bounds
# ours ≤ bound × Rust (times, CPU, memory), "at least" ours ≥ bound × Rust (rates).
ISSUE17: list[tuple[str, str, str, float]] = [
    ("startup", "ready_s", "s abs", 0.10),
    ("startup", "one_file_loaded_s", "s abs", 0.12),
    ("discovery", "scan_s", "at most", 1.5),
    ("small_files", "png_first_s", "at most", 1.2),
    ("small_files", "png_files_fps", "at least", 0.8),
    ("small_files", "raw_files_fps", "at least", 0.8),
    ("small_files", "raw_cpu_ms", "at most", 1.5),
    ("small_files", "tags_first_s", "at most", 1.2),
    ("small_files", "tags_again_s", "at most", 1.2),
    ("small_files", "png_again_fps", "at least", 1.0),
    ("small_files", "raw_again_fps", "at least", 1.0),
    ("tomo_native", "png_cpu_ms", "at most", 1.0),
    ("tomo_native", "png_sweep_4_fps", "at least", 1.0),
    ("tomo_native", "cached_png_s", "at most", 1.0),
    ("cine", "cached_png_s", "at most", 1.0),
    ("startup", "idle_rss_mb", "at most", 1.2),
    ("small_files", "peak_rss_mb", "at most", 1.2),
]
ADVANTAGE_FLOOR = 0.8


def _median(stats: dict[str, Any], impl: str, key: str) -> float | None:
    v = stats.get(impl, {}).get(key)
    return float(v["median"]) if isinstance(v, dict) and "median" in v else None


def issue17_targets(workloads: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdict of every issue-17 target whose workload was measured."""
    out: list[dict[str, Any]] = []
    for name, key, kind, bound in ISSUE17:
        w = workloads.get(name)
        if w is None:
            continue
        fig = next(f for f in figures_for(name) if f.key == key)
        o, t = _median(w["stats"], "ours", key), _median(w["stats"], "rust", key)
        if kind == "s abs":
            target, ok = f"≤ {bound:g} s", None if o is None else o <= bound
        elif kind == "at least":
            target, ok = f"≥ {bound:g}× Rust", None if o is None or t is None else o >= bound * t
        else:  # a Rust figure of 0 (CPU below the 10 ms tick of /proc over the phase): n/a
            target, ok = f"≤ {bound:g}× Rust", None if o is None or not t else o <= bound * t
        out.append(
            {
                "workload": name,
                "figure": key,
                "label": fig.label,
                "ours": cell(w["stats"].get("ours", {}).get(key), fig.unit),
                "rust": cell(w["stats"].get("rust", {}).get(key), fig.unit),
                "ratio": None if o is None or not t else o / t,
                "target": target,
                "status": "n/a" if ok is None else "met" if ok else "NOT MET",
            }
        )
    return out


def advantage(workloads: dict[str, Any]) -> dict[str, Any]:
    """Geometric mean over every figure both measured of ours' advantage (> 1 = ours better:
    Rust/ours for times, CPU, sizes and memory, ours/Rust for rates), and the figures below
    the 0.8× floor. `help_s` is left out: both are the same Python wrapper start."""
    speeds: list[tuple[str, float]] = []
    for name, w in workloads.items():
        for fig in figures_for(name):
            if fig.key == "help_s":
                continue
            o, t = _median(w["stats"], "ours", fig.key), _median(w["stats"], "rust", fig.key)
            if o is None or t is None or o <= 0 or t <= 0:
                continue
            speeds.append((f"{name}: {fig.label}", t / o if fig.better == "lower" else o / t))
    if not speeds:
        return {"n": 0, "geomean": None, "below_floor": []}
    geomean = math.exp(sum(math.log(s) for _, s in speeds) / len(speeds))
    below = sorted((s, label) for label, s in speeds if s < ADVANTAGE_FLOOR)
    return {
        "n": len(speeds),
        "geomean": geomean,
        "below_floor": [{"figure": label, "advantage": s} for s, label in below],
    }


def issue17_markdown(result: dict[str, Any]) -> list[str]:
    """The issue-17 section: the advantage, the figures below the floor, the targets."""
    adv = result.get("advantage") or {}
    if not adv.get("n"):
        return []
    lines = [
        "## Issue 17: geometric-mean advantage and fixed-cost targets",
        "",
        f"Geometric mean of ours' advantage over {adv['n']} figures measured by both "
        f"(> 1 = ours better; Rust/ours for times, CPU and memory, ours/Rust for rates): "
        f"**{adv['geomean']:.2f}×** (target ≥ 1.0). Figures below {ADVANTAGE_FLOOR}×: "
        f"**{len(adv['below_floor'])}** (target 0).",
        "",
    ]
    if adv["below_floor"]:
        lines += [f"- {b['figure']}: {b['advantage']:.2f}×" for b in adv["below_floor"]]
        lines.append("")
    lines += [
        "| workload | figure | ours | Rust | ours/Rust | target | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result.get("issue17_targets", []):
        r = "—" if t["ratio"] is None else f"{t['ratio']:.2f}"
        status = "**NOT MET**" if t["status"] == "NOT MET" else t["status"]
        lines.append(
            f"| {t['workload']} | {t['label']} | {t['ours']} | {t['rust']} | {r} | "
            f"{t['target']} | {status} |"
        )
    return [*lines, ""]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    if abs(v) >= 0.01:
        return f"{v:.3f}"
    return f"{v:.4f}"


def cell(stats: dict[str, Any] | None, unit: str) -> str:
    """'median unit [min–max]', an error, or '—'."""
    if stats is None:
        return "—"
    if "error" in stats:
        return f"✗ {stats['error']}"
    text = f"{_fmt(stats['median'])} {unit}"
    if stats["n"] > 1:
        text += f" [{_fmt(stats['min'])}–{_fmt(stats['max'])}]"
    return text


def ratio(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> float | None:
    """ours/theirs of the medians, when both are numbers."""
    if not ours or not theirs or "median" not in ours or "median" not in theirs:
        return None
    if theirs["median"] == 0:
        return None
    return float(ours["median"]) / float(theirs["median"])


def markdown(result: dict[str, Any]) -> str:
    """The results as markdown: header, target summary and one table per workload."""
    meta = result["meta"]
    impls = meta["implementations"]
    lines = [
        f"# dcmview benchmarks ({meta['mode']} run)",
        "",
        f"- Date: {meta['date']}; wall time {meta['duration_s']:.0f} s",
        f"- Command: `{meta['command']}`",
        f"- Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
        f"{meta['machine']['memory_gb']:.0f} GB RAM, {meta['machine']['os']}; "
        f"load average at start {meta['machine']['load_at_start']}, "
        f"at end {meta['machine'].get('load_at_end', '?')}",
        f"- Repository commit: {meta.get('workspace_commit', 'unknown')}",
        f"- Repeats: {meta['repeats']} (medians, [min–max]), implementations interleaved "
        "A B A B within each repeat; every frame phase on a freshly started server",
    ]
    if meta.get("skipped_for_time"):
        lines.append(
            "- Skipped to stay within the time budget: " + ", ".join(meta["skipped_for_time"])
        )
    for key, label in (("ours", "Ours"), ("rust", "Theirs")):
        info = impls.get(key, {})
        if info.get("available"):
            lines.append(f"- {label}: {info['label']} `{info['version']}` (`{info['command']}`)")
        else:
            lines.append(f"- {label}: not available ({info.get('reason', 'not measured')})")
    lines += [
        "",
        "Ratio = ours / Rust of the medians (times: below 1 is faster; frames/s: above 1 is "
        "faster).",
        "",
        *issue17_markdown(result),
        "## Targets (issue 8)",
        "",
        "| workload | figure | ours | Rust | ours/Rust | target | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        r = "—" if t["ratio"] is None else f"{t['ratio']:.2f}"
        lines.append(
            f"| {t['workload']} | {t['label']} | {t['ours']} | {t['rust']} | {r} | "
            f"{t['target']} | {'**NOT MET**' if t['status'] == 'NOT MET' else t['status']} |"
        )
    lines += extras_markdown(result.get("extras") or {})
    for name, w in result["workloads"].items():
        lines += ["", f"## {name}: {w['description']}", ""]
        lines += ["| figure | ours | Rust 0.4.1 | ours/Rust |", "|---|---|---|---|"]
        for fig in figures_for(name):
            o = w["stats"].get("ours", {}).get(fig.key)
            t = w["stats"].get("rust", {}).get(fig.key)
            if o is None and t is None:
                continue
            rt = ratio(o, t)
            lines.append(
                f"| {fig.label} | {cell(o, fig.unit)} | {cell(t, fig.unit)} | "
                f"{'—' if rt is None else f'{rt:.2f}'} |"
            )
        notes = w.get("notes", [])
        if notes:
            lines.append("")
            lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _extra_rows(figures: Any) -> list[dict[str, Any]]:
    """The figure rows of a feature benchmark's JSON (a list, or {"figures": [...]})."""
    rows = figures.get("figures", []) if isinstance(figures, dict) else figures or []
    return [r for r in rows if isinstance(r, dict) and "name" in r]


def extras_markdown(extras: dict[str, Any]) -> list[str]:
    """Tables of the feature benchmarks (ours only: Rust 0.4.1 has none of these features)."""
    if not extras:
        return []
    lines = [
        "",
        "## Features without a Rust counterpart (ours only)",
        "",
        "Run by `run.py` after the A/B (each script's own targets in its notes).",
    ]
    for name, entry in extras.items():
        lines += ["", f"### `benchmarks/{name}.py {' '.join(entry.get('argv', []))}`".rstrip(), ""]
        if "error" in entry:
            lines.append(f"- ✗ {entry['error']}")
        rows = _extra_rows(entry.get("figures"))
        if rows:
            lines += ["| figure | value | note |", "|---|---|---|"]
            for r in rows:
                label = f"{r['variant']}: {r['name']}" if r.get("variant") else str(r["name"])
                value = r.get("value")
                shown = f"{_fmt(float(value))} {r.get('unit', '')}" if value is not None else "—"
                note = str(r.get("note", "")).replace("|", "/")
                lines.append(f"| {label} | {shown.strip()} | {note} |")
        for line in entry.get("lines", []):
            lines.append(f"    {line}")
    return lines


def chart(result: dict[str, Any], path: Path) -> bool:
    """Speed of ours relative to Rust per frame/scan figure, and peak RSS; False if no data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[str, float]] = []
    rss: list[tuple[str, float | None, float | None]] = []
    refused: list[str] = []
    for name, w in result["workloads"].items():
        stats = w["stats"]
        rust_errors = {
            v["error"]
            for v in stats.get("rust", {}).values()
            if isinstance(v, dict) and "error" in v
        }
        if rust_errors and any("median" in v for v in stats.get("ours", {}).values()):
            refused.append(f"{name}: Rust 0.4.1 answers {', '.join(sorted(rust_errors))}")
        for fig in figures_for(name):
            if fig.key.endswith("rss_mb") or fig.key.endswith("cpu_s") or fig.unit == "MB":
                continue
            if name != "startup" and fig.key in ("ready_s", "help_s"):
                continue
            if fig.key in ("scan_line_s", "one_file_loaded_s", "scan_after_ready_s"):
                continue
            r = ratio(stats.get("ours", {}).get(fig.key), stats.get("rust", {}).get(fig.key))
            if r is None or r <= 0:
                continue
            speed = 1 / r if fig.better == "lower" else r
            rows.append((f"{name}: {fig.label}", speed))
        o = stats.get("ours", {}).get("peak_rss_mb") or stats.get("ours", {}).get("idle_rss_mb")
        t = stats.get("rust", {}).get("peak_rss_mb") or stats.get("rust", {}).get("idle_rss_mb")
        rss.append(
            (
                name,
                o.get("median") if o and "median" in o else None,
                t.get("median") if t and "median" in t else None,
            )
        )
    if not rows and not any(o or t for _, o, t in rss):
        return False
    meta = result["meta"]
    fig_h = max(4.0, 0.28 * len(rows) + 2.5)
    canvas, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(14, fig_h), gridspec_kw={"width_ratios": [3, 2]}
    )
    labels = [r[0] for r in rows][::-1]
    speeds = [r[1] for r in rows][::-1]
    colours = ["#2e7d32" if s >= 1 else "#c62828" for s in speeds]
    ax1.barh(labels, speeds, color=colours)
    ax1.axvline(1.0, color="black", linewidth=1)
    ax1.set_xscale("log")
    low, high = min([*speeds, 1.0]) / 1.5, max([*speeds, 1.0]) * 1.5
    ticks = [t for t in (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if low <= t <= high]
    ax1.set_xlim(low, high * 1.4)
    ax1.set_xticks(ticks)
    ax1.set_xticklabels([f"{t:g}×" for t in ticks])
    previous = None
    for y, label in enumerate(labels):
        group = label.split(":", 1)[0]
        if previous is not None and group != previous:
            ax1.axhline(y - 0.5, color="#bdbdbd", linewidth=0.6)
        previous = group
    ax1.set_xlabel("speed of ours relative to Rust dcmview 0.4.1 (log; > 1 = ours faster)")
    ax1.tick_params(axis="y", labelsize=7)
    for y, s in enumerate(speeds):
        ax1.text(s, y, f" {s:.2f}×", va="center", fontsize=7)
    names = [r[0] for r in rss]
    xs = range(len(names))
    ax2.bar(
        [x - 0.2 for x in xs], [r[1] or 0 for r in rss], width=0.4, label="ours", color="#1565c0"
    )
    ax2.bar(
        [x + 0.2 for x in xs], [r[2] or 0 for r in rss], width=0.4, label="Rust", color="#9e9e9e"
    )
    ax2.axhline(OUR_CACHE_BUDGET_MB + RSS_ALLOWANCE_MB, color="#c62828", linestyle="--",
                linewidth=1, label="our budget + 150 MB")  # fmt: skip
    tallest = max([OUR_CACHE_BUDGET_MB + RSS_ALLOWANCE_MB] + [r[1] or 0 for r in rss])
    ax2.set_ylim(0, max(tallest, max((r[2] or 0 for r in rss), default=0)) * 1.3)
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax2.set_ylabel("server peak RSS, MB (process tree)")
    ax2.legend(fontsize=8, loc="upper left")
    canvas.suptitle(
        f"dcmview vs Rust dcmview 0.4.1 — {meta['machine']['cpu']}, "
        f"{meta['machine']['cores']} cores — {meta['date']} — `{meta['command']}`",
        fontsize=9,
    )
    if refused:
        note = "Not in the chart (ours serves these, Rust does not): " + "; ".join(refused)
        canvas.text(0.01, 0.005, note, fontsize=8, ha="left", va="bottom")
    canvas.tight_layout(rect=(0, 0.03 if refused else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.savefig(path, dpi=110)
    plt.close(canvas)
    return True


BLOCK_START = "<!-- bench:summary:start (written by benchmarks/run.py) -->"
BLOCK_END = "<!-- bench:summary:end -->"


def summary_block(result: dict[str, Any]) -> str:
    """The target verdicts of a run, for docs/performance.md."""
    meta = result["meta"]
    met = sum(1 for t in result["targets"] if t["status"].startswith("met"))
    missed = [t for t in result["targets"] if t["status"] == "NOT MET"]
    lines = [
        f"Run of {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores, "
        f"load average {meta['machine']['load_at_start']} at start), `{meta['command']}`, "
        f"{meta['repeats']} repeats: **{met} targets met, {len(missed)} not met**, "
        f"{len(result['targets']) - met - len(missed)} not measurable. Full tables: "
        "[`benchmarks/results/full.md`](../benchmarks/results/full.md).",
        "",
        *[line.replace("## Issue 17", "### Issue 17") for line in issue17_markdown(result)],
        "### Issue 8 targets",
        "",
        "| workload | figure | ours | Rust 0.4.1 | ours/Rust | target | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        r = "—" if t["ratio"] is None else f"{t['ratio']:.2f}"
        status = "**NOT MET**" if t["status"] == "NOT MET" else t["status"]
        lines.append(
            f"| {t['workload']} | {t['label']} | {t['ours']} | {t['rust']} | {r} | "
            f"{t['target']} | {status} |"
        )
    return "\n".join(lines)


def replace_block(path: Path, text: str) -> bool:
    """Replace the text between the summary markers of `path`; False if it has none."""
    if not path.is_file():
        return False
    doc = path.read_text()
    start, end = doc.find(BLOCK_START), doc.find(BLOCK_END)
    if start < 0 or end < start:
        return False
    path.write_text(doc[: start + len(BLOCK_START)] + "\n" + text + "\n" + doc[end:])
    return True
