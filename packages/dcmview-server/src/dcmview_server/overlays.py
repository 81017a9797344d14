"""`OverlayService`: the overlays of ``docs/api.md`` ("Overlays") for the routes.

The catalog (`dcmview_core.overlays.OverlayCatalog`) reads each overlay source once and places
it on the loaded files and stacks; that runs in the worker pool and again only when the
registry or the stacks changed (while the scan runs). Segment masks and label maps are computed
in the pool, shared between concurrent requests and cached in the byte-budgeted cache under
``("overlay", id, file, frame, what)`` (`FrameService.computed`). Sequential requests along an
overlay's target frames (stack order) prefetch the next ones, with the frames' own policy
(`prefetch.Prefetcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from dcmview_core import (
    OVERLAY_SOP_CLASSES,
    FileEntry,
    OverlayCatalog,
    OverlayLayer,
    OverlaySource,
    Stack,
    label_dtype,
    label_map_overlap,
    parse_segment_labels,
    segment_counts,
    segment_mask,
)

from dcmview_server.errors import ApiError
from dcmview_server.keys import RAW, Kind
from dcmview_server.prefetch import Prefetcher
from dcmview_server.responses import json_bytes
from dcmview_server.serialize import shown_path
from dcmview_server.series import series_service

if TYPE_CHECKING:
    from dcmview_server.state import AppState

LABELS = 0
"""The ``what`` of a label-map request (segment requests use the segment number, ≥ 1; a
label map over some segments only is the tuple of their numbers, ascending)."""

What = int | tuple[int, ...]


def overlay_sources(config: Any) -> tuple[tuple[OverlaySource, ...], dict[int, str]]:
    """The ``--overlay`` paths and ``--segment-labels`` of a server config (empty when the
    config has no such options)."""
    paths: Sequence[str] = getattr(config, "overlays", None) or ()
    labels = getattr(config, "segment_labels", None)
    if isinstance(labels, str):
        labels = parse_segment_labels(labels)
    return tuple(OverlaySource(p) for p in paths), dict(labels or {})


class OverlayService:
    """Overlay listing, masks and label maps (event-loop confined, CPU work in the pool)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        sources, labels = overlay_sources(state.config)
        self.catalog = OverlayCatalog(sources, labels)
        self._placed: tuple[tuple[int, int, bool], list[OverlayLayer]] | None = None
        self._body: tuple[tuple[int, int, bool], bytes] | None = None
        self._lock = asyncio.Lock()
        self.prefetch = Prefetcher(
            state.frames.cache.budget_bytes,
            state.workers,
            self._fetch,
            self._is_cached,
            self._touch,
        )
        self._cursors: dict[tuple[str, What], int] = {}
        self._sequences: dict[int, tuple[str, What, tuple[tuple[int, int], ...]]] = {}
        """Prefetch cursor number → (overlay id, what, target frames in order)."""
        # read overlay sources in the background: the given ones now, discovered ones as the
        # scan finds them (headers are read once; placing waits for a request)
        state.pool.submit(self.catalog.prepare, state.registry.entries())
        state.registry.add_listener(self._added)

    def _added(self, entry: FileEntry) -> None:
        if entry.sop_class_uid in OVERLAY_SOP_CLASSES:
            with contextlib.suppress(RuntimeError):  # the pool is shut down: server stopping
                self.state.pool.submit(self.catalog.prepare, [entry])

    # ---- placing -------------------------------------------------------------------------------

    def _stacks(self) -> list[Stack]:
        stacks: list[Stack] = series_service(self.state).index.stacks()
        return stacks

    async def overlays(self) -> list[OverlayLayer]:
        """Every overlay placed on what is loaded now (placed again only after a change)."""
        registry = self.state.registry
        complete = registry.complete
        series = series_service(self.state)
        key = (len(registry), series.index.version, complete)
        if self._placed is not None and self._placed[0] == key:
            return self._placed[1]
        async with self._lock:
            if self._placed is not None and self._placed[0] == key:
                return self._placed[1]
            entries = registry.entries()
            stacks = self._stacks()
            loop = asyncio.get_running_loop()
            placed = await loop.run_in_executor(
                self.state.pool, self.catalog.overlays, entries, stacks
            )
            self._placed = (key, placed)
            return placed

    async def listing(self) -> bytes:
        """The body of ``/api/overlays``."""
        overlays = await self.overlays()
        assert self._placed is not None
        key = self._placed[0]
        if self._body is None or self._body[0] != key:
            items = []
            for overlay in overlays:
                item = overlay.to_json()
                item["source"] = shown_path(self.state, overlay.source)
                items.append(item)
            body = {"overlays": items, "scan_complete": key[2]}
            self._body = (key, json_bytes(body))
        return self._body[1]

    async def overlay(self, overlay_id: str) -> OverlayLayer:
        """The overlay with this id, else ``404 not_found``."""
        for overlay in await self.overlays():
            if overlay.id == overlay_id:
                return overlay
        raise ApiError("not_found", f"no overlay with id {overlay_id[:40]!r}")

    # ---- masks ---------------------------------------------------------------------------------

    @staticmethod
    def check(overlay: OverlayLayer, entry: FileEntry, frame: int, what: What) -> None:
        """``404 not_found`` unless the overlay covers that frame (and has that segment)."""
        if (entry.index, frame) not in overlay.planes:
            raise ApiError(
                "not_found",
                f"overlay {overlay.id} does not cover file {entry.index} frame {frame}",
            )
        known = (s.number for s in overlay.segments)
        if isinstance(what, int) and what != LABELS and what not in known:
            raise ApiError("not_found", f"overlay {overlay.id} has no segment {what}")

    @staticmethod
    def segment_subset(overlay: OverlayLayer, text: str | None) -> What:
        """The ``what`` of ``labels?segments=1,3``: `LABELS` when absent, else the listed
        segment numbers (ascending, each once); ``400 invalid_query`` unless every one is a
        segment of the overlay."""
        if text is None:
            return LABELS
        parts = text.split(",")
        if not text or any(not p.isascii() or not p.isdigit() or len(p) > 9 for p in parts):
            raise ApiError(
                "invalid_query",
                f"segments must be segment numbers separated by commas, not {text[:40]!r}",
            )
        numbers = sorted({int(p) for p in parts})
        known = {s.number for s in overlay.segments}
        unknown = [n for n in numbers if n not in known]
        if unknown:
            raise ApiError(
                "invalid_query", f"overlay {overlay.id} has no segment {unknown[0]} (segments)"
            )
        return tuple(numbers)

    @staticmethod
    def _key(overlay: OverlayLayer, file: int, frame: int, what: What) -> tuple[Any, ...]:
        return ("overlay", overlay.id, file, frame, what)

    async def _compute(
        self, overlay: OverlayLayer, file: int, frame: int, what: What
    ) -> tuple[np.ndarray, bool | None]:
        """The mask or label map, and (label maps) whether segments overlap on that frame."""
        key = self._key(overlay, file, frame, what)
        if isinstance(what, int) and what != LABELS:
            mask: np.ndarray = await self.state.frames.computed(
                key, segment_mask, overlay, file, frame, what, size=lambda a: a.nbytes + 128
            )
            return mask, None
        subset = None if what == LABELS else what
        labels: tuple[np.ndarray, bool] = await self.state.frames.computed(
            key, label_map_overlap, overlay, file, frame, subset, size=lambda a: a[0].nbytes + 160
        )
        return labels

    async def mask(
        self, overlay: OverlayLayer, entry: FileEntry, frame: int, what: What
    ) -> tuple[memoryview, dict[str, str]]:
        """Segment ``what`` (≥ 1), the label map (`LABELS`) or the label map over some segments
        (a tuple) of a target frame, and headers."""
        self.check(overlay, entry, frame, what)
        key = self._key(overlay, entry.index, frame, what)
        hit = key in self.state.frames.encoded
        cursor = self._cursor(overlay, what, entry)
        position = self._position(cursor, entry.index, frame)
        if cursor is not None and position is not None:
            self.prefetch.before(cursor, position, RAW)
        values, overlap = await self._compute(overlay, entry.index, frame, what)
        if cursor is not None and position is not None:
            self.prefetch.after(cursor, position, RAW)
        rows, columns = values.shape
        headers = {
            "X-Cache": "HIT" if hit else "MISS",
            "X-Frame-Rows": str(rows),
            "X-Frame-Columns": str(columns),
            "X-Frame-Bits-Allocated": str(values.dtype.itemsize * 8),
        }
        if overlap is not None:
            headers["X-Segments-Overlap"] = "1" if overlap else "0"
        little = np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"), copy=False))
        return little.data.cast("B"), headers

    async def counts(self, overlay: OverlayLayer) -> bytes:
        """The body of ``/api/overlay/{id}/counts`` (every target frame read once, cached)."""

        def build() -> bytes:
            counts = segment_counts(overlay)
            return json_bytes({"id": overlay.id, "segments": [c.to_json() for c in counts]})

        body: bytes = await self.state.frames.computed(
            ("overlay", overlay.id, "counts", len(overlay.planes)), build, size=len
        )
        return body

    # ---- prefetch along the overlay's target frames --------------------------------------------

    def _order(self, overlay: OverlayLayer) -> tuple[tuple[int, int], ...]:
        """The overlay's target frames in viewing order: stack order, then the rest."""
        covered = set(overlay.planes)
        ordered: list[tuple[int, int]] = []
        for stack in self._stacks():
            ordered.extend(s for s in stack.slices if s in covered)
        seen = set(ordered)
        ordered.extend(k for k in sorted(covered) if k not in seen)
        return tuple(ordered)

    def _cursor(self, overlay: OverlayLayer, what: What, entry: FileEntry) -> FileEntry | None:
        number = self._cursors.get((overlay.id, what))
        if number is None:
            number = self._cursors[(overlay.id, what)] = len(self._cursors)
        known = self._sequences.get(number)
        if known is None or len(known[2]) != len(overlay.planes):
            self._sequences[number] = (overlay.id, what, self._order(overlay))
        order = self._sequences[number][2]
        labels = not isinstance(what, int) or what == LABELS
        bits = 16 if labels and label_dtype(overlay) == np.uint16 else 8
        return replace(
            entry, index=number, frame_count=len(order), bits_allocated=bits, samples_per_pixel=1
        )

    def _position(self, cursor: FileEntry | None, file: int, frame: int) -> int | None:
        if cursor is None:
            return None
        order = self._sequences[cursor.index][2]
        try:
            return order.index((file, frame))
        except ValueError:
            return None

    def _target(self, number: int, k: int) -> tuple[OverlayLayer, int, int, What] | None:
        found = self._sequences.get(number)
        placed = self._placed[1] if self._placed is not None else []
        if found is None or not 0 <= k < len(found[2]):
            return None
        overlay_id, what, order = found
        for overlay in placed:
            if overlay.id == overlay_id:
                file, frame = order[k]
                return overlay, file, frame, what
        return None

    async def _fetch(self, cursor: FileEntry, k: int, kind: Kind) -> bool:
        target = self._target(cursor.index, k)
        if target is None or self._is_cached(cursor.index, k, kind):
            return False
        await self._compute(*target)
        return True

    def _is_cached(self, number: int, k: int, kind: Kind) -> bool:
        target = self._target(number, k)
        return target is None or self._key(*target) in self.state.frames.encoded

    def _touch(self, number: int, k: int, kind: Kind) -> None:
        target = self._target(number, k)
        if target is not None:
            self.state.frames.encoded.get(self._key(*target))


_services: weakref.WeakKeyDictionary[AppState, OverlayService] = weakref.WeakKeyDictionary()


def overlay_service(state: AppState) -> OverlayService:
    """The server's `OverlayService` (created at its first use)."""
    service = _services.get(state)
    if service is None:
        service = _services[state] = OverlayService(state)
    return service
