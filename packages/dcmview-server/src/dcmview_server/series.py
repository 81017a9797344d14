"""`SeriesService`: stacks (``/api/series``), their slices and reformats, and region statistics.

- Stacks are grouped incrementally: a registry listener hands every file the scan adds to
  dcmview-core's `StackIndex` (in the scan thread, no second pass over files); ids are stable
  and stacks grow in place while the scan runs.
- Axis 0 is the stack's own slices: each is a frame of a file, served by `FrameService` (same
  caches, same display and raw rules). Axes 1 and 2 are planes of the stack's volume, built in
  the worker pool on the first reformat request and kept in the shared byte-budgeted cache at
  its real size. A volume larger than `VOLUME_SHARE` of the budget is read as strips of rows or
  columns (each at most `STRIP_SHARE` of the budget) around the requested plane; when even a
  one-plane strip is too large the answer is ``422 volume_too_large`` naming the budget needed.
- Prefetch follows the direction of travel through a stack (across files on axis 0, through
  the planes on axes 1 and 2) with the frame service's policy (`Prefetcher`), one cursor per
  stack and axis.
"""

from __future__ import annotations

import gzip
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dcmview_core import (
    Box,
    FileEntry,
    Frame,
    NotMonochrome,
    PixelArea,
    RegionError,
    RegionShape,
    RegionStats,
    Stack,
    StackIndex,
    Volume,
    build_volume,
    entry_pixel_area,
    modality_values,
    read_frame,
    region_stats,
    stack_label,
    stats_unit,
    voxel_bytes,
)

from dcmview_server.errors import ApiError
from dcmview_server.frames import Rendered, raw_headers, render_png
from dcmview_server.keys import RAW, DisplayKey, Kind, frame_key
from dcmview_server.prefetch import Prefetcher
from dcmview_server.responses import json_bytes

if TYPE_CHECKING:
    from dcmview_server.state import AppState

VOLUME_SHARE = 0.75
"""A whole volume may take at most this share of ``--cache-budget`` (a 600-slice 512×512 CT,
315 MB, fits the default 512 MB)."""
STRIP_SHARE = 0.125
"""A strip of a larger volume may take at most this share."""
AXES = ("0", "1", "2")


def _spacing_header(row_mm: float, column_mm: float) -> str:
    return f"{row_mm:g}\\{column_mm:g}"


class SeriesService:
    """Stacks, slices, reformats and statistics for the routes (event-loop confined)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.index = StackIndex()
        state.registry.add_listener(self._added)  # from now on, in the scan thread
        self.index.extend(state.registry.entries())  # what came before (adding twice is a no-op)
        frames = state.frames
        self.prefetch = Prefetcher(
            frames.cache.budget_bytes, state.workers, self._fetch, self._is_cached, self._touch
        )
        self._body: tuple[tuple[int, bool], bytes, bytes | None] | None = None
        self._cursors: dict[int, tuple[str, int]] = {}
        """Prefetch cursor number → (stack id, axis)."""

    def _added(self, entry: FileEntry) -> None:
        self.index.add(entry)

    # ---- the stack list ------------------------------------------------------------------------

    def listing(self, gzip_ok: bool = False) -> tuple[bytes, bool]:
        """``(body, gzipped)`` of ``/api/series``; built again only when a stack changed or the
        scan ended, gzipped (once) when the client accepts it and the body is over 1 KiB."""
        complete = self.state.registry.complete  # read first: a complete scan is all in the index
        key = (self.index.version, complete)
        if self._body is None or self._body[0] != key:
            stacks = [self._json(s) for s in self.index.stacks()]
            self._body = (key, json_bytes({"series": stacks, "scan_complete": complete}), None)
        _, plain, zipped = self._body
        if not gzip_ok or len(plain) <= 1024:
            return plain, False
        if zipped is None:
            zipped = gzip.compress(plain, compresslevel=1, mtime=0)
            self._body = (key, plain, zipped)
        return zipped, True

    def _json(self, stack: Stack) -> dict[str, Any]:
        body = stack.to_json()
        masker = self.state.masker
        if masker is not None:
            pid = masker.patient_id(stack.patient_id)
            body.update(
                patient_id=pid,
                series_instance_uid=masker.uid(stack.series_instance_uid),
                study_instance_uid=masker.uid(stack.study_instance_uid),
                label=stack_label(
                    pid,
                    stack.modality,
                    stack.series_number,
                    stack.series_description,
                    stack.part,
                    stack.id,
                ),
            )
        return body

    def stack(self, stack_id: str) -> Stack:
        """The stack with this id, else ``404 not_found``."""
        stack = self.index.get(stack_id)
        if stack is None:
            raise ApiError("not_found", f"no series stack with id {stack_id[:40]!r}")
        return stack

    @staticmethod
    def extent(stack: Stack, axis: int) -> int:
        """Planes along ``axis``; axes 1 and 2 need a volume (``404 not_found``)."""
        if axis == 0:
            return stack.slice_count
        if stack.volume is None:
            reason = (
                "it is colour"
                if stack.samples_per_pixel != 1
                else "not every slice has a position and spacing"
            )
            raise ApiError(
                "not_found", f"stack {stack.id} has no volume ({reason}): only axis 0 exists"
            )
        return stack.rows if axis == 1 else stack.columns

    def check_plane(self, stack: Stack, axis: int, k: int) -> None:
        """``404 frame_out_of_range`` when plane ``k`` of ``axis`` does not exist."""
        extent = self.extent(stack, axis)
        if k >= extent:
            raise ApiError(
                "frame_out_of_range",
                f"slice {k} is out of range: axis {axis} of stack {stack.id} has {extent}, "
                "numbered from 0",
            )

    def slice_entry(self, stack: Stack, k: int) -> tuple[FileEntry, int]:
        """The file and frame of slice ``k`` on axis 0."""
        file, frame = stack.slices[k]
        entry = self.state.registry.get(file)
        if entry is None:  # pragma: no cover - stacks hold registered files only
            raise ApiError("not_found", f"no loaded file with index {file}")
        return entry, frame

    # ---- prefetch across a stack -----------------------------------------------------------------

    def _cursor(self, stack: Stack, axis: int) -> FileEntry:
        """The prefetcher's view of one stack axis: a pseudo file whose frames are the planes."""
        number = int(stack.id[1:]) * 3 + axis
        self._cursors[number] = (stack.id, axis)
        first = self.state.registry.get(stack.slices[0][0])
        assert first is not None
        return replace(first, index=number, frame_count=self.extent(stack, axis))

    def _target(self, number: int, k: int) -> tuple[Stack, int] | None:
        found = self._cursors.get(number)
        if found is None:
            return None
        stack = self.index.get(found[0])
        return (stack, found[1]) if stack is not None else None

    async def _fetch(self, pseudo: FileEntry, k: int, kind: Kind) -> bool:
        target = self._target(pseudo.index, k)
        if target is None:
            return False
        stack, axis = target
        if axis == 0:
            entry, frame = self.slice_entry(stack, k)
            done: bool = await self.state.frames.fetch(entry, frame, kind)
            return done
        if kind == RAW or self._reformat_png_key(stack, axis, k, kind) in self.state.frames.encoded:
            return False  # raw reformats are a strided copy: nothing to compute ahead
        await self._reformat_png(stack, axis, k, kind)
        return True

    def _is_cached(self, number: int, k: int, kind: Kind) -> bool:
        target = self._target(number, k)
        if target is None:
            return True
        stack, axis = target
        if axis == 0:
            file, frame = stack.slices[k]
            cached: bool = self.state.frames.is_cached(file, frame, kind)
            return cached
        return (
            kind == RAW or self._reformat_png_key(stack, axis, k, kind) in self.state.frames.encoded
        )

    def _touch(self, number: int, k: int, kind: Kind) -> None:
        target = self._target(number, k)
        if target is not None and target[1] == 0:
            file, frame = target[0].slices[k]
            self.state.frames.touch(file, frame, kind)

    # ---- slices ----------------------------------------------------------------------------

    async def display(self, stack: Stack, axis: int, k: int, display: DisplayKey) -> Rendered:
        """The PNG of plane ``k`` of ``axis`` and its headers."""
        self.check_plane(stack, axis, k)
        cursor = self._cursor(stack, axis)
        self.prefetch.before(cursor, k, display)
        if axis == 0:
            entry, frame = self.slice_entry(stack, k)
            body, headers = await self.state.frames.display(entry, frame, display)
            headers = {**headers, **_slice_headers(entry, frame)}
        else:
            hit = self._reformat_png_key(stack, axis, k, display) in self.state.frames.encoded
            body, headers = await self._reformat_png(stack, axis, k, display)
            headers = {**headers, "X-Cache": "HIT" if hit else "MISS"}
        self.prefetch.after(cursor, k, display)
        return body, {**headers, **_spacing_headers(stack, axis, k, self.state)}

    async def raw(self, stack: Stack, axis: int, k: int) -> tuple[memoryview, dict[str, str]]:
        """The samples of plane ``k`` of ``axis`` with ``X-Frame-*`` and ``X-Pixel-Spacing``."""
        self.check_plane(stack, axis, k)
        cursor = self._cursor(stack, axis)
        self.prefetch.before(cursor, k, RAW)
        if axis == 0:
            entry, frame = self.slice_entry(stack, k)
            body, headers = await self.state.frames.raw(entry, frame)
            headers = {**headers, **_slice_headers(entry, frame)}
        else:
            volume, hit = await self.volume(stack, axis, k)
            plane = volume.frame(axis, k)
            body = plane.samples.data.cast("B")
            headers = {"X-Cache": "HIT" if hit else "MISS", **raw_headers(plane)}
        self.prefetch.after(cursor, k, RAW)
        return body, {**headers, **_spacing_headers(stack, axis, k, self.state)}

    async def stats(
        self, stack: Stack, axis: int, k: int, shape: RegionShape, box: Box
    ) -> RegionStats:
        """`RegionStats` of a region of plane ``k`` of ``axis``."""
        self.check_plane(stack, axis, k)
        if axis == 0:
            entry, frame = self.slice_entry(stack, k)
            return await self.frame_stats(entry, frame, shape, box)
        volume, _ = await self.volume(stack, axis, k)
        plane = volume.frame(axis, k)
        assert stack.volume is not None
        first, _ = self.slice_entry(stack, 0)
        area = PixelArea(*volume.plane_spacing(axis), stack.volume.spacing_source)
        unit = stats_unit(first.modality, first.rescale_type)
        return await self._stats(("stats", stack.id, axis, k), plane, shape, box, area, unit)

    async def frame_stats(
        self, entry: FileEntry, frame: int, shape: RegionShape, box: Box
    ) -> RegionStats:
        """`RegionStats` of a region of one frame of a file."""
        decoded, _ = await self.state.frames.frame(entry, frame)
        area = entry_pixel_area(entry)
        unit = stats_unit(entry.modality, entry.rescale_type)
        return await self._stats(("stats", entry.index, frame), decoded, shape, box, area, unit)

    async def _stats(
        self,
        key: tuple[Any, ...],
        frame: Frame,
        shape: RegionShape,
        box: Box,
        area: PixelArea | None,
        unit: str | None,
    ) -> RegionStats:
        work_key = (*key, shape, box)
        try:
            result: RegionStats = await self.state.frames.work.run(
                work_key,
                lambda: region_stats(modality_values(frame), shape, box, area=area, unit=unit),
            )
        except NotMonochrome as error:
            raise ApiError("not_monochrome", str(error)) from error
        except RegionError as error:
            raise ApiError("invalid_query", str(error)) from error
        return result

    # ---- reformats -------------------------------------------------------------------------

    @staticmethod
    def _reformat_png_key(stack: Stack, axis: int, k: int, display: Kind) -> tuple[Any, ...]:
        return ("series-png", stack.id, stack.slice_count, axis, k, display)

    async def _reformat_png(self, stack: Stack, axis: int, k: int, display: Kind) -> Rendered:
        assert isinstance(display, DisplayKey)
        key = self._reformat_png_key(stack, axis, k, display)
        cached = self.state.frames.encoded.get(key)
        if cached is not None:  # no volume needed (it may have been evicted meanwhile)
            hit: Rendered = cached
            return hit
        volume, _ = await self.volume(stack, axis, k)
        plane = volume.frame(axis, k)
        rendered: Rendered = await self.state.frames.computed(
            key,
            render_png,
            plane,
            display,
            self.state.pool,
            size=lambda r: len(r[0]) + 256,
        )
        return rendered

    def _strip(self, stack: Stack, axis: int, k: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The cache key and `build_volume` arguments of the volume (or strip) holding plane
        ``k`` of ``axis`` (see the module doc)."""
        budget = self.state.frames.cache.budget_bytes
        first, _ = self.slice_entry(stack, 0)
        n, rows, columns = stack.slice_count, stack.rows, stack.columns
        whole = voxel_bytes(n, rows, columns, first.bits_allocated)
        if whole <= budget * VOLUME_SHARE:
            return ("volume", stack.id, n), {}
        per_plane = whole // (rows if axis == 1 else columns)
        height = int(budget * STRIP_SHARE) // max(per_plane, 1)
        if height < 1:
            need = -(-int(per_plane / STRIP_SHARE) // 2**20)
            raise ApiError(
                "volume_too_large",
                f"a reformat of stack {stack.id} needs {per_plane / 2**20:.1f} MiB per plane; "
                f"start the server with --cache-budget of at least {need} MiB",
            )
        extent = rows if axis == 1 else columns
        start = (k // height) * height
        span = (start, min(start + height, extent))
        name = "rows" if axis == 1 else "columns"
        return ("volume-strip", stack.id, n, axis, start), {name: span}

    async def volume(self, stack: Stack, axis: int, k: int) -> tuple[Volume, bool]:
        """The cached volume (or strip) holding plane ``k`` of ``axis``, and whether it was
        cached (else it is read now, in the pool)."""
        frames = self.state.frames
        whole = frames.encoded.get(("volume", stack.id, stack.slice_count))
        if whole is not None:
            return whole, True
        key, strip = self._strip(stack, axis, k)
        cached = frames.encoded.get(key)
        if cached is not None:
            return cached, True
        entries = [self.slice_entry(stack, s) for s in range(stack.slice_count)]
        assert stack.volume is not None
        spacing = stack.volume.spacing
        workers = self.state.workers

        def read(s: int) -> Frame:
            # a slice already decoded (scrolled through, prefetched) is not decoded again:
            # after a scroll a JPEG 2000 series' first reformat costs copies, not decodes
            entry, frame = entries[s]
            decoded = frames.frames.get(frame_key(entry.index, frame))
            return decoded if decoded is not None else read_frame(entry, frame)

        def build() -> Volume:
            return build_volume(read, len(entries), spacing, workers=workers, **strip)

        volume: Volume = await frames.computed(key, build, size=lambda v: v.nbytes + 4096)
        return volume, False


def _spacing_headers(stack: Stack, axis: int, k: int, state: AppState) -> dict[str, str]:
    """``X-Pixel-Spacing: <row_mm>\\<col_mm>`` of plane ``k`` of ``axis``, when known."""
    if axis == 0:
        entry = state.registry.get(stack.slices[k][0])
        area = entry_pixel_area(entry) if entry is not None else None
        spacing = None if area is None else (area.row_mm, area.column_mm)
    else:
        assert stack.volume is not None
        s, r, c = stack.volume.spacing
        spacing = (s, c) if axis == 1 else (s, r)
    return {} if spacing is None else {"X-Pixel-Spacing": _spacing_header(*spacing)}


def _slice_headers(entry: FileEntry, frame: int) -> dict[str, str]:
    return {"X-Slice-File": str(entry.index), "X-Slice-Frame": str(frame)}


_services: weakref.WeakKeyDictionary[AppState, SeriesService] = weakref.WeakKeyDictionary()


def series_service(state: AppState) -> SeriesService:
    """The server's `SeriesService` (created at its first use)."""
    service = _services.get(state)
    if service is None:
        service = _services[state] = SeriesService(state)
    return service
