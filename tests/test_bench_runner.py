"""The benchmark runner itself: deterministic workloads, target verdicts, one real measurement."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _report, workloads  # noqa: E402


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".complete")
    }


def test_workloads_are_deterministic_decodable_and_regenerated(tmp_path: Path) -> None:
    scale = workloads.SCALES["tiny"]
    first = workloads.all_workloads(scale, tmp_path / "a")
    workloads.all_workloads(scale, tmp_path / "b")
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b
    assert (
        len(a)
        == 1
        + scale.discovery_series * scale.discovery_files_per_series
        + (scale.discovery_non_dicom)
        + 5
    )

    expected = np.stack(
        list(workloads.tomo_frames(scale.tomo_rows, scale.tomo_columns, scale.tomo_frames))
    )
    for variant, syntax in workloads.TOMO_SYNTAXES.items():
        ds = pydicom.dcmread(first[f"tomo_{variant}"].paths[0])
        assert ds.file_meta.TransferSyntaxUID == syntax
        assert np.array_equal(ds.pixel_array, expected), variant  # lossless round trip
    jpeg = pydicom.dcmread(first["jpeg_baseline"].paths[0])
    assert jpeg.pixel_array.shape == (scale.jpeg_frames, scale.jpeg_size, scale.jpeg_size, 3)
    discovered = list(first["discovery"].paths[0].rglob("*.dcm"))
    assert len(discovered) == first["discovery"].expected_files

    # A missing marker means an interrupted generation: the directory is rebuilt.
    cine_dir = first["cine"].paths[0].parent
    marker = cine_dir.with_name(cine_dir.name + ".complete")
    (cine_dir / "stray.txt").write_text("left over")
    marker.unlink()
    again = workloads.cine(scale, tmp_path / "a")
    assert marker.is_file()
    assert not (cine_dir / "stray.txt").exists()
    assert (
        again.paths[0].read_bytes()
        == (tmp_path / "b" / again.paths[0].relative_to(tmp_path / "a")).read_bytes()
    )


def _stats(median: float) -> dict[str, float]:
    return {"median": median, "min": median, "max": median, "n": 1}


@pytest.mark.parametrize(
    ("workload", "key", "ours", "rust", "status"),
    [
        ("startup", "ready_s", 0.9, 0.05, "met"),
        ("startup", "ready_s", 1.1, 0.05, "NOT MET"),
        ("discovery", "scan_s", 1.5, 1.0, "met"),
        ("discovery", "scan_s", 1.6, 1.0, "NOT MET"),
        ("tomo_native", "cold_png_s", 0.10, 0.10, "met"),
        ("tomo_j2k", "cold_png_s", 0.10, 0.10, "NOT MET"),  # compressed: must be ahead
        ("tomo_j2k", "png_sweep_4_fps", 3.1, 3.0, "met"),
        ("cine", "raw_sweep_1_fps", 99.0, 100.0, "NOT MET"),
        ("cine", "peak_rss_mb", 700.0, 50.0, "NOT MET"),
        ("cine", "peak_rss_mb", 600.0, 50.0, "met"),
    ],
)
def test_targets_are_judged_from_medians(
    workload: str, key: str, ours: float, rust: float, status: str
) -> None:
    fig = next(f for f in _report.figures_for(workload) if f.key == key)
    verdict = _report.judge(workload, fig, _stats(ours), _stats(rust))
    assert verdict is not None
    assert verdict[1] == status


def test_a_format_rust_cannot_decode_counts_for_us_and_errors_are_shown() -> None:
    fig = next(f for f in _report.FRAMES if f.key == "cold_png_s")
    refused = {"error": "HTTP 422 unsupported_transfer_syntax"}
    assert _report.judge("tomo_htj2k", fig, _stats(0.2), refused) == (
        "faster than Rust",
        "met (Rust: HTTP 422 unsupported_transfer_syntax)",
    )
    assert _report.judge("tomo_htj2k", fig, refused, _stats(0.2))[1] == "NOT MET"  # type: ignore[index]
    assert _report.cell(refused, "s") == "✗ HTTP 422 unsupported_transfer_syntax"
    assert _report.cell({"median": 0.5, "min": 0.4, "max": 0.7, "n": 3}, "s") == (
        "0.500 s [0.400–0.700]"
    )
    assert _report.ratio(_stats(2.0), _stats(4.0)) == 0.5


def test_runner_measures_ours_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--tiny",
            "--only",
            "ours",
            "--workloads",
            "tomo_native",
            "--clients",
            "2",
            "--data-dir",
            str(tmp_path / "data"),
            "--out",
            str(out),
            "--chart",
            str(tmp_path / "chart.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "tiny-subset.json").read_text())
    assert result["meta"]["implementations"]["ours"]["available"] is True
    assert result["meta"]["implementations"]["rust"]["available"] is False
    stats = result["workloads"]["tomo_native"]["stats"]["ours"]
    for key in ("cold_png_s", "cached_png_s", "png_sweep_2_fps", "raw_sweep_2_fps"):
        assert stats[key]["median"] > 0, (key, stats)
    assert stats["peak_rss_mb"]["median"] > 10
    sample = result["workloads"]["tomo_native"]["samples"]["ours"][0]
    assert sample["_raw_sweep_2"]["frames_done"] == workloads.SCALES["tiny"].tomo_frames
    # Raw frames are 16-bit samples: rows × columns × 2 bytes each.
    scale = workloads.SCALES["tiny"]
    assert sample["_raw_sweep_2"]["mb"] * 1e6 == pytest.approx(
        scale.tomo_frames * scale.tomo_rows * scale.tomo_columns * 2
    )
    md = (out / "tiny-subset.md").read_text()
    assert "| tomo_native | first PNG, cold |" in md
    assert "Theirs: not available (skipped (--only ours))" in md
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_block_is_replaced_between_markers_only(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\nintro\n{_report.BLOCK_START}\nold\n{_report.BLOCK_END}\nwhy\n")
    assert _report.replace_block(doc, "new table")
    assert doc.read_text() == (
        f"# Perf\nintro\n{_report.BLOCK_START}\nnew table\n{_report.BLOCK_END}\nwhy\n"
    )
    plain = tmp_path / "plain.md"
    plain.write_text("no markers\n")
    assert not _report.replace_block(plain, "x")
    assert plain.read_text() == "no markers\n"
