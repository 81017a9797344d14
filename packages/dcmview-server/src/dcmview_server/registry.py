"""The registry: append-only list of loaded files, filled by discovery in the background.

Indices are assigned in discovery order and never change; they key caches and annotations.
Readers (the event loop) and the single writer (the scan thread) share one lock; reads copy
nothing but the slice they need.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dcmview_core import FileEntry, display_path

SKIPPED_LIMIT = 10_000
"""Skipped paths kept for ``/api/files?skipped=1`` (the count goes on past it)."""


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """One path the scan did not load: ``kind`` is dcmview-core's `Skipped.reason`
    (``not_dicom``, ``unreadable``, ``unparsable``), ``reason`` one human line."""

    path: str
    kind: str
    reason: str


@dataclass(frozen=True)
class RegistrySnapshot:
    """Counters and the entries with index >= since, read under one lock."""

    entries: list[FileEntry]
    scan_complete: bool
    scanned: int
    skipped: int
    filtered: int
    version: int


class Registry:
    """Append-only, thread-safe list of `FileEntry`, indexed by ``entry.index``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[FileEntry] = []
        self._by_index: dict[int, FileEntry] = {}
        self._skipped = 0
        self._filtered = 0
        self._skipped_files: list[SkippedFile] = []
        self._complete = threading.Event()
        self._version = 0
        self._listeners: list[Callable[[FileEntry], None]] = []

    def add_listener(self, listener: Callable[[FileEntry], None]) -> None:
        """Call ``listener(entry)`` (in the writer's thread) for every entry added from now on."""
        with self._lock:
            self._listeners.append(listener)

    def add(self, entry: FileEntry) -> None:
        """Append one accepted file (the scan thread's job)."""
        with self._lock:
            if entry.index in self._by_index:
                raise ValueError(f"duplicate file index {entry.index}")
            if self._entries and entry.index < self._entries[-1].index:
                bisect.insort(self._entries, entry, key=lambda e: e.index)
            else:
                self._entries.append(entry)
            self._by_index[entry.index] = entry
            self._version += 1
            listeners = list(self._listeners)
        for listener in listeners:
            listener(entry)

    def add_skipped(self, skipped: SkippedFile) -> None:
        """Count one path that is not loadable DICOM, with its short human reason."""
        with self._lock:
            self._skipped += 1
            if len(self._skipped_files) < SKIPPED_LIMIT:
                self._skipped_files.append(skipped)
            self._version += 1

    def add_filtered(self) -> None:
        """Count one DICOM file excluded by ``--filter``."""
        with self._lock:
            self._filtered += 1
            self._version += 1

    def mark_complete(self) -> None:
        """The scan has finished: no more entries will arrive."""
        with self._lock:
            self._version += 1
        self._complete.set()

    @property
    def complete(self) -> bool:
        """True once the scan has finished."""
        return self._complete.is_set()

    def wait_complete(self, timeout: float | None = None) -> bool:
        """Block until the scan has finished (or ``timeout``); returns whether it did."""
        return self._complete.wait(timeout)

    def get(self, index: int) -> FileEntry | None:
        """The entry with this index, or None when no such file is loaded (yet)."""
        with self._lock:
            return self._by_index.get(index)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def entries(self) -> list[FileEntry]:
        """A copy of every loaded entry, in index order."""
        with self._lock:
            return list(self._entries)

    def skip_reasons(self) -> list[str]:
        """``name: reason`` of the recorded skipped files (at most the first 1,000)."""
        with self._lock:
            kept = self._skipped_files[:1000]
        return [f"{display_path(os.path.basename(s.path) or s.path)}: {s.reason}" for s in kept]

    def skipped_files(self) -> list[SkippedFile]:
        """The recorded skipped files, in scan order (at most `SKIPPED_LIMIT`)."""
        with self._lock:
            return list(self._skipped_files)

    def snapshot(self, since: int = 0) -> RegistrySnapshot:
        """Entries with ``index >= since`` and the counters, consistently."""
        with self._lock:
            if since <= 0:
                selected = list(self._entries)
            else:
                # Entries are appended in index order: binary search the first >= since.
                lo, hi = 0, len(self._entries)
                while lo < hi:
                    mid = (lo + hi) // 2
                    if self._entries[mid].index < since:
                        lo = mid + 1
                    else:
                        hi = mid
                selected = self._entries[lo:]
            return RegistrySnapshot(
                entries=selected,
                scan_complete=self._complete.is_set(),
                scanned=len(self._entries),
                skipped=self._skipped,
                filtered=self._filtered,
                version=self._version,
            )
