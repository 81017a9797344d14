"""`AppState`: everything one server process holds in memory, built once from `ServerConfig`.

`AppState.build` validates the config (filters, paths, the annotations CSV) and raises
`ConfigError` before any socket is bound. `start()` launches the background scan thread;
`close()` stops it and the worker pool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dcmview_core.model import FileEntry

from dcmview_server import scanning
from dcmview_server.annotations import AnnotationsState
from dcmview_server.config import ConfigError, ScanSummary, ServerConfig
from dcmview_server.frames import FrameService
from dcmview_server.masking import Masker
from dcmview_server.registry import Registry
from dcmview_server.responses import now_ms
from dcmview_server.security import HostPolicy, StaticBundle, resolve_token

log = logging.getLogger("dcmview_server")

STATIC_DIR = Path(__file__).parent / "static"


def validate_config(config: ServerConfig) -> None:
    """Raise `ConfigError` for values no server could start with."""
    if not config.paths:
        raise ConfigError("no input path given")
    for p in config.paths:
        if not os.path.lexists(p):
            raise ConfigError(f"path not found: {p}")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, not {config.port}")
    if config.timeout is not None and not config.timeout > 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {config.timeout}")
    if config.cache_budget < 0:
        raise ConfigError("cache budget must not be negative")
    if config.token is not None and not config.token.strip():
        raise ConfigError("the access token must not be empty")
    if config.unix_socket is not None:
        parent = os.path.dirname(os.path.abspath(config.unix_socket)) or "."
        if not os.path.isdir(parent):
            raise ConfigError(f"unix socket directory does not exist: {parent}")
        if len(os.fsencode(os.path.abspath(config.unix_socket))) > 100:
            raise ConfigError(f"unix socket path is too long: {config.unix_socket}")


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
