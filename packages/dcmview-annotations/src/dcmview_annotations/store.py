"""`AnnotationStore`: the server's in-memory ROIs, one `RoiSet` per file index, thread-safe."""

from __future__ import annotations

import threading

from dcmview_annotations.model import Geometry, RoiSet, parse_roi_set


class AnnotationStore:
    """ROI sets keyed by file index; every method may be called from any thread.

    ``seed`` (from the CSV, possibly late in a progressive scan) never overwrites a set that a
    user replaced in this session; ``replace`` validates fully before it changes anything.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[int, RoiSet] = {}
        self._edited: set[int] = set()

    def get(self, index: int) -> RoiSet:
        """The file's current set (empty when it has none)."""
        with self._lock:
            return self._sets.get(index, RoiSet.empty())

    def replace(self, index: int, value: object, geometry: Geometry) -> RoiSet:
        """Validate ``value`` (a `RoiSet` or a decoded api.md body) and make it the file's set.

        Raises `RoiValidationError` (and keeps the previous set) when anything is wrong.
        Returns the canonical set that is now stored. Marks the file as edited.
        """
        payload = value.to_json() if isinstance(value, RoiSet) else value
        roi_set = parse_roi_set(payload, geometry)
        with self._lock:
            self._sets[index] = roi_set
            self._edited.add(index)
        return roi_set

    def seed(self, index: int, roi_set: RoiSet) -> bool:
        """Set the file's initial set (from the CSV) unless a user edited it; True if stored."""
        with self._lock:
            if index in self._edited:
                return False
            self._sets[index] = roi_set
            return True

    def edited(self, index: int) -> bool:
        """Whether the file's set was replaced by a user in this session."""
        with self._lock:
            return index in self._edited

    def snapshot(self) -> dict[int, RoiSet]:
        """A consistent copy of every stored set with boxes, ordered by index (for export)."""
        with self._lock:
            return {i: s for i, s in sorted(self._sets.items()) if s.num_roi}
