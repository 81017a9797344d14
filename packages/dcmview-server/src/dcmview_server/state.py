"""`AppState`: everything one server process holds in memory, built once from `ServerConfig`.

`AppState.build` validates the config (filters, paths, the annotations CSV) and raises
`ConfigError` before any socket is bound. `start()` launches the background scan thread;
`close()` stops it and the worker pool.

ROI edits are never lost silently: the PUT route calls `AppState.roi_changed` (which writes
``--save-annotations`` atomically), the export route `AppState.roi_exported`; when the server
stops with edits neither saved nor exported, `AppState.recover_unsaved` writes them to a
recovery CSV in the working directory (or the user cache dir), never beside the inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dcmview_core import FileEntry, display_path

from dcmview_server import scanning
from dcmview_server.annotations import AnnotationsState
from dcmview_server.config import (
    ConfigError,
    ScanSummary,
    ServerConfig,
    Skip,
    check_environment,
    is_url,
    user_cache_dir,
)
from dcmview_server.frames import FrameService
from dcmview_server.masking import Masker
from dcmview_server.measurements import MeasurementStore
from dcmview_server.registry import Registry
from dcmview_server.responses import now_ms
from dcmview_server.security import HostPolicy, StaticBundle, resolve_token

log = logging.getLogger("dcmview_server")

STATIC_DIR = Path(__file__).parent / "static"


def validate_config(config: ServerConfig) -> None:
    """Raise `ConfigError` for a config no server could start with here (values are checked
    when the `ServerConfig` is built; this adds what depends on the file system)."""
    if not config.paths:
        raise ConfigError("no input path given")
    check_environment(config)


class AppState:
    """In-memory state of one server process."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        static_dir: Path = STATIC_DIR,
        workers: int | None = None,
    ) -> None:
        validate_config(config)
        self.config = config
        self.filters = scanning.parse_filters(config.filters)
        self.token = resolve_token(config)
        self.server_start_ms = now_ms()
        self.registry = Registry()
        self.masker = Masker(config.paths) if config.mask else None
        self.host_policy = HostPolicy(config.host, config.allow_hosts)
        self.unix_socket = config.unix_socket is not None
        self.bundle = StaticBundle(static_dir)
        self.annotations = AnnotationsState.load(config.annotations, self.registry, self.shown_path)
        self.measurements = MeasurementStore()
        self.workers = workers or os.cpu_count() or 2
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dcmview-cpu")
        self.frames = FrameService(self.pool, config.cache_budget, self.workers)
        self.last_activity = time.monotonic()
        self._stop = threading.Event()
        self._scan_thread: threading.Thread | None = None
        self._summary_callbacks: list[Callable[[ScanSummary], None]] = []
        self._summary: ScanSummary | None = None
        self._summary_lock = threading.Lock()
        self.files_cache: dict[tuple[int, int], tuple[bytes, bytes | None]] = {}
        self.entry_json: dict[int, bytes] = {}
        self._roi_lock = threading.Lock()
        self._roi_edits = 0
        self._roi_safe = 0
        """Edits up to this count are saved (``--save-annotations``) or were exported."""

    @classmethod
    def build(cls, config: ServerConfig, **kwargs: Any) -> AppState:
        """Validate ``config`` and build the state (raises `ConfigError`)."""
        return cls(config, **kwargs)

    # ---- activity --------------------------------------------------------------------------

    def touch(self) -> None:
        """Reset the idle timer (authenticated API requests and page loads only)."""
        self.last_activity = time.monotonic()

    def idle_seconds(self) -> float:
        """Seconds since the last authenticated API request or page load."""
        return time.monotonic() - self.last_activity

    # ---- paths as shown ----------------------------------------------------------------------

    def shown_path(self, entry: FileEntry) -> str:
        """The path as responses show it (relative to the common root under ``--mask``)."""
        if self.masker is not None:
            return self.masker.path(entry.path)
        return entry.path

    # ---- ROI edits -----------------------------------------------------------------------------

    def roi_changed(self) -> None:
        """Call after every accepted ROI PUT: counts the edit and, with ``--save-annotations``,
        rewrites that CSV atomically (a failure is warned about; the edit stays unsaved)."""
        with self._roi_lock:
            self._roi_edits += 1
            target = self.config.save_annotations
            if target is None:
                return
            try:
                write_atomic(target, self.annotations.export_csv(self.registry.entries()))
            except OSError as error:
                _warn(f"cannot write --save-annotations {target}: {error.strerror or error}")
            else:
                self._roi_safe = self._roi_edits

    def roi_exported(self) -> None:
        """Call once the EMBED CSV export was served: the edits so far are exported."""
        with self._roi_lock:
            self._roi_safe = self._roi_edits

    def unsaved_edits(self) -> int:
        """ROI edits neither saved by ``--save-annotations`` nor exported."""
        with self._roi_lock:
            return self._roi_edits - self._roi_safe

    def recover_unsaved(self) -> str | None:
        """Write unsaved ROI edits to a new recovery CSV; its path, or None when none."""
        with self._roi_lock:
            if self._roi_edits == self._roi_safe:
                return None
            data = self.annotations.export_csv(self.registry.entries())
            path = write_recovery(data, recovery_dirs(self.config.paths))
            self._roi_safe = self._roi_edits
            return path

    # ---- scan --------------------------------------------------------------------------------

    def on_scan_complete(self, callback: Callable[[ScanSummary], None]) -> None:
        """Call ``callback(summary)`` once the scan has finished (at once if it already has)."""
        with self._summary_lock:
            summary = self._summary
            if summary is None:
                self._summary_callbacks.append(callback)
                return
        callback(summary)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the background scan (idempotent)."""
        if loop is not None:
            self.frames.bind_loop(loop)
        if self._scan_thread is not None:
            return
        self._scan_thread = threading.Thread(target=self._scan, name="dcmview-scan", daemon=True)
        self._scan_thread.start()

    def _scan(self) -> None:
        try:
            scanning.run_scan(self.config, self.filters, self.registry, self._stop)
        except Exception:
            log.exception("the scan failed")
        finally:
            self.registry.mark_complete()
            summary = ScanSummary(
                loaded=len(self.registry),
                skipped=self.registry.snapshot().skipped,
                filtered=self.registry.snapshot().filtered,
                paths=len(self.config.paths),
                skip_reasons=self.registry.skip_reasons(),
                annotation_messages=self.annotations.messages(),
                skipped_files=[
                    Skip(display_path(s.path), s.kind, s.reason)
                    for s in self.registry.skipped_files()
                ],
            )
            with self._summary_lock:
                self._summary = summary
                callbacks = list(self._summary_callbacks)
                self._summary_callbacks.clear()
            for callback in callbacks:
                try:
                    callback(summary)
                except Exception:
                    log.exception("on_scan_complete callback failed")

    def close(self) -> None:
        """Stop the scan and the workers; pending work is cancelled."""
        self._stop.set()
        self.frames.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._scan_thread is not None:
            self._scan_thread.join(timeout=1.0)


RECOVERY_PREFIX = "dcmview-annotations-recovered-"


def recovery_dirs(inputs: tuple[str, ...], cwd: str | None = None) -> list[Path]:
    """Where a recovery CSV may go, best first: the working directory unless it holds (or is
    inside) an input directory or holds an input file, then the user cache dir."""
    here = Path(os.path.abspath(cwd or os.getcwd()))
    beside_inputs = False
    for name in inputs:
        if is_url(name):
            continue
        path = Path(os.path.abspath(name))
        folder = path if path.is_dir() else path.parent
        if here == folder or folder in here.parents:
            beside_inputs = True
    return [user_cache_dir()] if beside_inputs else [here, user_cache_dir()]


def write_recovery(data: bytes, directories: list[Path]) -> str:
    """Write ``data`` as a new private (0600) ``dcmview-annotations-recovered-<time>.csv`` in
    the first writable directory; its path (`OSError` when none is writable)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    last: OSError | None = None
    for directory in directories:
        for attempt in range(100):
            suffix = f"-{attempt}" if attempt else ""
            path = directory / f"{RECOVERY_PREFIX}{stamp}{suffix}.csv"
            try:
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as error:
                last = error
                break
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return str(path)
    raise last or OSError("no directory for the recovery CSV")


def write_atomic(target: str, data: bytes) -> None:
    """Replace ``target`` with ``data`` atomically: a private temp file beside it, fsync,
    rename (readers see the old or the new file, never half of one)."""
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = tempfile.mkstemp(prefix=".dcmview-save-", suffix=".csv.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _warn(message: str) -> None:
    sys.stderr.write(f"dcmview: warning: {message}\n")
    sys.stderr.flush()
