"""ROI annotations in the server: the dcmview-annotations store fed by the CSV and by PUTs.

The CSV is read once before the socket is bound (structural errors → `ConfigError`); rows are
matched to files as the progressive scan finds them (by path, else by the optional
``sop_instance_uid`` column, which suits remote instances), so a file found late still gets its row,
and a row never overwrites a set that a user already replaced in this session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from dcmview_annotations import (
    AnnotationCsv,
    AnnotationStore,
    CsvProblem,
    Geometry,
    RoiSet,
    RoiValidationError,
    export_csv,
    read_csv,
)
from dcmview_core import FileEntry, display_path

from dcmview_server.config import ConfigError
from dcmview_server.errors import ApiError
from dcmview_server.registry import Registry


def geometry(entry: FileEntry) -> Geometry:
    """What the ROI rules need to know about a file."""
    return Geometry(frame_count=entry.frame_count, rows=entry.rows, columns=entry.columns)


class AnnotationsState:
    """The store, the parsed CSV (if any) and the problems found matching it."""

    def __init__(self, csv: AnnotationCsv | None, shown_path: Callable[[FileEntry], str]) -> None:
        self.store = AnnotationStore()
        self.csv = csv
        self.shown_path = shown_path
        self._lock = threading.Lock()
        self._problems: list[CsvProblem] = list(csv.row_errors) if csv is not None else []

    @classmethod
    def load(
        cls,
        csv_path: str | None,
        registry: Registry,
        shown_path: Callable[[FileEntry], str],
    ) -> AnnotationsState:
        """Read the CSV once (structural errors → `ConfigError`) and follow the registry."""
        csv = None
        if csv_path is not None:
            csv = read_csv(csv_path)
            if csv.structural_errors:
                details = "; ".join(str(p) for p in csv.structural_errors[:5])
                more = len(csv.structural_errors) - 5
                if more > 0:
                    details += f"; and {more} more"
                raise ConfigError(f"--annotations {csv_path}: {details}")
        state = cls(csv, shown_path)
        if csv is not None:
            registry.add_listener(state._on_entry)
        return state

    def _on_entry(self, entry: FileEntry) -> None:
        assert self.csv is not None
        match = self.csv.match(entry.path, geometry(entry), entry.sop_instance_uid)
        if match is None:
            return
        if match.roi_set is not None:
            self.store.seed(entry.index, match.roi_set)
        elif match.row.roi_set is not None:
            with self._lock:
                self._problems.extend(match.problems)

    def messages(self) -> list[str]:
        """Row problems and the count of rows naming files that were not loaded."""
        if self.csv is None:
            return []
        with self._lock:
            problems = sorted(self._problems, key=lambda p: p.line or 0)
        out = [str(p) for p in problems]
        valid_unmatched = [row for row in self.csv.unclaimed() if not row.problems]
        if valid_unmatched:
            out.append(
                f"{len(valid_unmatched)} row(s) name files that were not loaded and were ignored"
            )
        return out

    def get(self, entry: FileEntry) -> RoiSet:
        """The file's current set (empty when it has none)."""
        return self.store.get(entry.index)

    def replace(self, entry: FileEntry, payload: object) -> RoiSet:
        """Validate and store a PUT body; ``400 bad_request`` naming the rule when invalid."""
        try:
            return self.store.replace(entry.index, payload, geometry(entry))
        except RoiValidationError as error:
            raise ApiError("bad_request", f"invalid RoiSet: {error}") from error

    def export_csv(self, entries: list[FileEntry]) -> bytes:
        """EMBED CSV of every loaded file with ROIs, paths as ``/api/files`` shows them
        (`display_path`: the CSV stays UTF-8, and `read_csv` maps such a row back to its file)."""
        sets = self.store.snapshot()
        by_index = {e.index: e for e in entries}
        rows = [
            (display_path(self.shown_path(by_index[i])), roi_set)
            for i, roi_set in sets.items()
            if i in by_index
        ]
        return export_csv(rows)
