"""One repeat of one workload against one implementation: returns {figure: value}.

Each frame phase runs on a freshly started server, so "cold" really means nothing of the
file was decoded or encoded yet (the OS page cache is warm for both implementations: the
workloads were just generated or read by the previous repeat).
"""

from __future__ import annotations

import statistics
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks._client import Client, RequestError, SweepResult, sweep
from benchmarks._servers import Implementation, Server, ServerError, start_server, time_help
from benchmarks.workloads import Workload

Figures = dict[str, Any]

LOADED_LINE = r"dcmview: loaded \d+"


@dataclass(frozen=True)
class Settings:
    """Knobs that differ between full, quick and tiny runs."""

    help_runs: int = 3
    cached_requests: int = 5
    files_requests: int = 3
    poll_interval: float = 0.05
    scan_timeout: float = 120.0
    sweep_time_limit: float = 60.0
    clients: tuple[int, ...] = (1, 4)


class PhaseError(RuntimeError):
    """A phase could not be measured (e.g. the server refused the format): recorded as text."""


class PhaseFailedError(RuntimeError):
    """A phase failed: the error text and the tail of the server's stderr."""

    def __init__(self, text: str, stderr_tail: list[str]) -> None:
        super().__init__(text)
        self.text = text
        self.stderr_tail = stderr_tail


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        code = ""
        try:
            import json

            code = json.loads(exc.body).get("code", "")
        except ValueError:
            pass
        return f"HTTP {exc.status} {code}".strip()
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


def wait_scan(server: Server, settings: Settings) -> tuple[float, dict[str, Any]]:
    """Poll /api/files (incrementally with `since`) until scan_complete; seconds from start."""
    client = Client(server.base_url, server.token)
    seen = 0
    deadline = time.perf_counter() + settings.scan_timeout
    try:
        while True:
            body = client.json(f"/api/files?since={seen}")
            if body.get("scan_complete"):
                return time.perf_counter() - server.started_at, body
            files = body.get("files", [])
            if files:
                seen = max(int(f["index"]) for f in files) + 1
            if time.perf_counter() > deadline:
                raise PhaseError(f"scan not complete after {settings.scan_timeout:.0f} s")
            time.sleep(settings.poll_interval)
    finally:
        client.close()


def _with_server(
    impl: Implementation, workload: Workload, settings: Settings, body: Callable[[Server], Figures]
) -> Figures:
    """Start a server, wait for its scan, run `body`, add usage figures, stop it."""
    server = start_server(impl, workload.paths)
    try:
        wait_scan(server, settings)
        _, cpu_before = server.usage()
        figures = body(server)
        _, cpu_after = server.usage()
        figures["_cpu_s"] = cpu_after - cpu_before
        figures["_peak_rss_mb"] = server.peak_rss / 1e6
        return figures
    except (RequestError, PhaseError, OSError) as exc:
        time.sleep(0.2)  # let the server log the failure
        raise PhaseFailedError(_error_text(exc), list(server.stderr_lines)[-12:]) from exc
    finally:
        server.stop()


def measure_startup(impl: Implementation, workload: Workload, settings: Settings) -> Figures:
    """`--help` time, process start → ready line, and idle RSS after the one-file scan."""
    helps = [time_help(impl) for _ in range(settings.help_runs)]
    server = start_server(impl, workload.paths)
    try:
        ready = server.ready_seconds
        scan_s, _ = wait_scan(server, settings)
        rss, cpu = server.usage()
    finally:
        server.stop()
    return {
        "help_s": statistics.median(helps),
        "ready_s": ready,
        "one_file_loaded_s": scan_s,
        "idle_rss_mb": rss / 1e6,
        "startup_cpu_s": cpu,
    }


def measure_discovery(impl: Implementation, workload: Workload, settings: Settings) -> Figures:
    """Time to scan complete (polling /api/files), then /api/files latency and size."""
    server = start_server(impl, workload.paths)
    try:
        scan_s, last = wait_scan(server, settings)
        line_s = server.line_time(LOADED_LINE)
        client = Client(server.base_url, server.token)
        latencies, size, count, skipped = [], 0, 0, 0
        for _ in range(settings.files_requests):
            r = client.get("/api/files")
            latencies.append(r.seconds)
            size = len(r.body)
            import json

            doc = json.loads(r.body)
            count, skipped = len(doc["files"]), int(doc.get("skipped", -1))
        gz_latencies, gz_size, gz_encoding = [], 0, ""
        for _ in range(settings.files_requests):
            r = client.get("/api/files", encoding="gzip")
            gz_latencies.append(r.seconds)
            gz_size = len(r.body)
            gz_encoding = r.headers.get("content-encoding", "identity")
        client.close()
        _, cpu = server.usage()
        figures: Figures = {
            "files_gzip_latency_s": statistics.median(gz_latencies),
            "files_gzip_size_mb": gz_size / 1e6,
            "_files_gzip_encoding": gz_encoding,
            "ready_s": server.ready_seconds,
            "scan_s": scan_s,
            "scan_after_ready_s": scan_s - server.ready_seconds,
            "files_latency_s": statistics.median(latencies),
            "files_size_mb": size / 1e6,
            "scan_cpu_s": cpu,
            "peak_rss_mb": server.peak_rss / 1e6,
            "_files_found": count,
            "_skipped": skipped,
            "_files_expected": workload.expected_files,
            "_last_poll_scanned": last.get("scanned"),
        }
        if line_s is not None:
            figures["scan_line_s"] = line_s
        return figures
    finally:
        server.stop()


def _check_png(body: bytes, workload: Workload) -> None:
    """A real PNG of the frame's size, so a fast but wrong answer is never timed."""
    if body[:8] != b"\x89PNG\r\n\x1a\n" or body[12:16] != b"IHDR":
        raise PhaseError("the frame response is not a PNG")
    width, height = struct.unpack(">II", body[16:24])
    if (height, width) != (workload.rows, workload.columns):
        raise PhaseError(f"PNG is {width}×{height}, expected {workload.columns}×{workload.rows}")


def _frame_paths(workload: Workload, suffix: str) -> list[str]:
    return [f"/api/file/0/frame/{f}{suffix}" for f in range(workload.frames)]


def _sweep_figures(result: SweepResult) -> Figures:
    return {
        "fps": result.per_second,
        "_partial": result.partial,
        "_frames_done": result.requests,
        "_mb": result.total_bytes / 1e6,
        "_hits": result.cache_hits,
    }


def measure_frames(impl: Implementation, workload: Workload, settings: Settings) -> Figures:
    """Cold and cached PNG, then PNG and raw sweeps with 1 and N clients (fresh server each)."""
    figures: Figures = {}
    mid = workload.frames // 2
    phase_rss: list[float] = []

    def single(server: Server) -> Figures:
        client = Client(server.base_url, server.token)
        try:
            cold = client.get(f"/api/file/0/frame/{mid}")
            cached = [
                client.get(f"/api/file/0/frame/{mid}").seconds
                for _ in range(settings.cached_requests)
            ]
        finally:
            client.close()
        _check_png(cold.body, workload)
        return {
            "cold_png_s": cold.seconds,
            "cached_png_s": statistics.median(cached),
            "_png_kb": len(cold.body) / 1e3,
        }

    phases: list[tuple[str, Callable[[Server], Figures]]] = [("png", single)]
    for kind, suffix in (("png", ""), ("raw", "/raw")):
        for n in settings.clients:

            def run_sweep(server: Server, suffix: str = suffix, n: int = n) -> Figures:
                result = sweep(
                    server.base_url,
                    server.token,
                    _frame_paths(workload, suffix),
                    n,
                    time_limit=settings.sweep_time_limit,
                )
                if suffix == "/raw":
                    frame_bytes = workload.rows * workload.columns * workload.raw_bytes_per_pixel
                    if result.total_bytes != result.requests * frame_bytes:
                        raise PhaseError(
                            f"raw frames: {result.total_bytes} bytes for {result.requests} "
                            f"frames, expected {frame_bytes} each"
                        )
                return _sweep_figures(result)

            phases.append((f"{kind}_sweep_{n}", run_sweep))

    for name, body in phases:
        try:
            got = _with_server(impl, workload, settings, body)
        except (PhaseFailedError, ServerError) as exc:
            text = exc.text if isinstance(exc, PhaseFailedError) else _error_text(exc)
            if isinstance(exc, PhaseFailedError) and exc.stderr_tail:
                figures[f"_stderr_{name}"] = exc.stderr_tail
            if name == "png":
                figures["cold_png_s"] = figures["cached_png_s"] = {"error": text}
            else:
                figures[f"{name}_fps"] = {"error": text}
            continue
        phase_rss.append(got.pop("_peak_rss_mb"))
        cpu = got.pop("_cpu_s")
        if name == "png":
            figures.update(got)
        else:
            figures[f"{name}_fps"] = got["fps"]
            figures[f"_{name}"] = {k.lstrip("_"): v for k, v in got.items() if k != "fps"}
            if name == f"png_sweep_{settings.clients[0]}":
                figures["sweep_cpu_s"] = cpu
                if got.get("_frames_done"):
                    figures["png_cpu_ms"] = 1e3 * cpu / got["_frames_done"]
    if phase_rss:
        figures["peak_rss_mb"] = max(phase_rss)
    return figures


def _file_indices(client: Client) -> list[int]:
    return [int(f["index"]) for f in client.json("/api/files")["files"]]


def _per_file(
    server: Server, client: Client, paths: list[str], check: Callable[[bytes], None]
) -> tuple[list[float], float, float]:
    """GET every path once, in order: (latencies, wall seconds, server CPU seconds)."""
    _, cpu_before = server.usage()
    started = time.perf_counter()
    latencies = []
    for path in paths:
        r = client.get(path)
        check(r.body)
        latencies.append(r.seconds)
    wall = time.perf_counter() - started
    _, cpu_after = server.usage()
    return latencies, wall, cpu_after - cpu_before


def measure_small_files(impl: Implementation, workload: Workload, settings: Settings) -> Figures:
    """What a click on each slice of a CT series costs: one client asks each file once, in
    order (first PNG of a file; first raw frame of a file), then again (cached), and the tag
    preview of each file (first time, then again). Two freshly started servers."""
    frame_bytes = workload.rows * workload.columns * workload.raw_bytes_per_pixel

    def png_ok(body: bytes) -> None:
        _check_png(body, workload)

    def raw_ok(body: bytes) -> None:
        if len(body) != frame_bytes:
            raise PhaseError(f"raw frame of {len(body)} bytes, expected {frame_bytes}")

    def tags_ok(body: bytes) -> None:
        if not body.startswith(b"["):
            raise PhaseError("the tag preview is not a JSON array")

    def run(kind: str, suffix: str, check: Callable[[bytes], None]) -> Callable[[Server], Figures]:
        def body(server: Server) -> Figures:
            client = Client(server.base_url, server.token)
            try:
                indices = _file_indices(client)
                if len(indices) != workload.expected_files:
                    raise PhaseError(
                        f"{len(indices)} files listed, {workload.expected_files} expected"
                    )
                paths = [f"/api/file/{i}/{suffix}" for i in indices]
                first, wall, cpu = _per_file(server, client, paths, check)
                again, wall2, cpu2 = _per_file(server, client, paths, check)
            finally:
                client.close()
            n = len(paths)
            return {
                f"{kind}_first_s": statistics.median(first),
                f"{kind}_files_fps": n / wall,
                f"{kind}_cpu_ms": 1e3 * cpu / n,
                f"{kind}_again_s": statistics.median(again),
                f"{kind}_again_fps": n / wall2,
                f"{kind}_again_cpu_ms": 1e3 * cpu2 / n,
            }

        return body

    figures: Figures = {}
    rss: list[float] = []
    phases = (
        ("png", run("png", "frame/0", png_ok)),
        ("raw", run("raw", "frame/0/raw", raw_ok)),
        ("tags", run("tags", "tags", tags_ok)),
    )
    for name, body in phases:
        try:
            got = _with_server(impl, workload, settings, body)
        except (PhaseFailedError, ServerError) as exc:
            text = exc.text if isinstance(exc, PhaseFailedError) else _error_text(exc)
            figures[f"{name}_first_s"] = {"error": text}
            continue
        rss.append(got.pop("_peak_rss_mb"))
        got.pop("_cpu_s")
        figures.update(got)
    if rss:
        figures["peak_rss_mb"] = max(rss)
    return figures


MEASURES: dict[str, Callable[[Implementation, Workload, Settings], Figures]] = {
    "startup": measure_startup,
    "discovery": measure_discovery,
    "small_files": measure_small_files,
}


def measure(impl: Implementation, workload: Workload, settings: Settings) -> Figures:
    """Measure one workload once; a failure to start is recorded, not raised."""
    fn = MEASURES.get(workload.name, measure_frames)
    try:
        return fn(impl, workload, settings)
    except (ServerError, RequestError, PhaseError, OSError) as exc:
        return {"_error": _error_text(exc)}
