"""Measurements in the server: one validated list per file index, kept while the server lives."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dcmview_core import FileEntry, Measurement, MeasurementError, parse_measurements

from dcmview_server.errors import ApiError


class MeasurementStore:
    """Measurement lists keyed by file index; every method may be called from any thread.

    ``replace`` validates the whole body before it changes anything, so a rejected PUT keeps
    the earlier list.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[int, tuple[Measurement, ...]] = {}

    def get(self, index: int) -> tuple[Measurement, ...]:
        """The file's measurements (empty when it has none)."""
        with self._lock:
            return self._lists.get(index, ())

    def replace(self, entry: FileEntry, payload: object) -> tuple[Measurement, ...]:
        """Validate a PUT body against ``entry`` and make it the file's list; the canonical
        list. ``400 bad_request`` naming the measurement and the rule when invalid."""
        try:
            measurements = parse_measurements(payload, entry)
        except MeasurementError as error:
            raise ApiError("bad_request", f"invalid measurements: {error}") from error
        with self._lock:
            if measurements:
                self._lists[entry.index] = measurements
            else:
                self._lists.pop(entry.index, None)
        return measurements

    def export(
        self, entries: list[FileEntry], shown_path: Callable[[FileEntry], str]
    ) -> list[dict[str, Any]]:
        """Every measurement of every loaded file, in file then drawing order, with the path
        as ``/api/files`` shows it."""
        with self._lock:
            lists = sorted(self._lists.items())
        by_index = {e.index: e for e in entries}
        return [
            {"path": shown_path(by_index[i]), "file": i, **m.to_json()}
            for i, measurements in lists
            if i in by_index
            for m in measurements
        ]


def to_json(measurements: tuple[Measurement, ...]) -> dict[str, Any]:
    """The ``GET``/``PUT`` answer ``{"measurements": [...]}``."""
    return {"measurements": [m.to_json() for m in measurements]}
