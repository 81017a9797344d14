"""`FrameService`: frames, PNGs, thumbnails, overlays and tags, computed off the event loop.

- CPU work (decode, window, encode, tag trees) runs in the worker pool sized to the cores.
- Concurrent requests for the same frame (or the same PNG) share one computation (`SharedWork`).
- Decoded frames and encoded images live in dcmview-core's byte-budgeted caches, which share
  ``--cache-budget``; cache access happens on the event loop only.
- Sequential requests (frame n then n±1 of the same file) prefetch the next frames in that
  direction, at most ``depth`` ahead and never more than fits beside the viewed frame in the
  cache's probation segment (a quarter of the budget); a jump cancels
  the prefetches not yet started. At most ``workers - 1`` prefetches run at once, leaving one
  worker for requests, so prefetch never delays what is being viewed. A request that finds its
  frame (or PNG) being prefetched waits for that work and *adopts* it: the prefetch stops
  counting against the limit, so the next one starts on the freed core. A single client
  sweeping therefore keeps every core busy (one computing what it waits for, the others ahead).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from dcmview_core import tags as core_tags
from dcmview_core.cache import ByteBudgetCache, CacheView
from dcmview_core.encode import encode_png, encode_thumbnail_jpeg
from dcmview_core.errors import UsageError
from dcmview_core.frames import Frame, read_frame
from dcmview_core.model import FileEntry
from dcmview_core.present import render_display

from dcmview_server.errors import ApiError
from dcmview_server.header import header_extras
from dcmview_server.inflight import SharedWork

PREFETCH_DEPTH = 8
STRAGGLER = 2
"""A request this many frames behind the front (several clients sweeping) is not a jump."""


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where sequential access to one file has got to, and in which direction (±1, 0 = none)."""

    front: int
    direction: int
    kind: Hashable


PROTECTED_FRACTION = 0.75


class _Slots:
    """An asyncio gate for prefetches: at most ``limit`` hold a slot (event-loop confined).

    First come, first served (the nearest frames are scheduled first): a freed slot is handed
    straight to the oldest waiter, so a newcomer cannot take it in between."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> _Slot:
        """Wait for a free slot and take it."""
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return _Slot(self)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # done: the slot was handed over (still counted in ``used``)
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        return _Slot(self)

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.used -= 1


class _Slot:
    """One prefetch's hold on a `_Slots` gate; `release` is idempotent."""

    __slots__ = ("_gate", "released")

    def __init__(self, gate: _Slots) -> None:
        self._gate = gate
        self.released = False

    def release(self) -> None:
        """Give the slot back (once)."""
        if not self.released:
            self.released = True
            self._gate._release()


class FrameService:
    """Decoded frames and encoded images for the routes, with sharing, caching and prefetch."""

    def __init__(self, pool: Executor, budget: int, workers: int) -> None:
        self.pool = pool
        self.work = SharedWork(pool)
        self.cache = ByteBudgetCache(budget, protected_fraction=PROTECTED_FRACTION)
        self.frames: CacheView[Frame] = self.cache.view("frame")
        self.encoded: CacheView[Any] = self.cache.view("encoded")
        self.budget = budget
        self.workers = workers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prefetch_slots: _Slots | None = None
        self._holders: dict[tuple[int, int, Hashable], _Slot] = {}
        self.adopted = 0
        self._cursor: dict[int, _Cursor] = {}
        self._planned: dict[int, frozenset[int]] = {}
        self._prefetch: dict[int, dict[int, asyncio.Task[None]]] = {}
        self._extras: dict[int, dict[str, Any]] = {}
        self.prefetched = 0

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the event loop the server runs on."""
        self._loop = loop

    def _slots(self) -> _Slots:
        if self._prefetch_slots is None:
            self._prefetch_slots = _Slots(max(1, self.workers - 1))
        return self._prefetch_slots

    def _adopt(self, entry: FileEntry, index: int, kind: Hashable) -> None:
        """A request now waits for this frame's running prefetch: it no longer holds a slot."""
        slot = self._holders.pop((entry.index, index, kind), None)
        if slot is not None and not slot.released:
            slot.release()
            self.adopted += 1

    async def _run(self, key: Hashable, fn: Any, *args: Any, store: Any = None) -> Any:
        return await self.work.run(key, lambda: fn(*args), store)

    # ---- decoded frames ----------------------------------------------------------------------

    async def frame(self, entry: FileEntry, index: int) -> tuple[Frame, bool]:
        """The decoded frame and whether it came from the cache."""
        key = (entry.index, index)
        cached = self.frames.get(key)
        if cached is not None:
            return cached, True
        frame: Frame = await self._run(
            ("decode", *key), _read, entry, index, store=lambda f: self.frames.put(key, f)
        )
        return frame, False

    # ---- prefetch ------------------------------------------------------------------------------

    def _protect(self, entry: FileEntry, index: int, kind: Hashable) -> None:
        """While prefetching, a second access promotes the viewed frame (or PNG) to the cache's
        protected segment, so prefetched entries (which enter probation) never evict it."""
        if not self._prefetch.get(entry.index):
            return
        if kind == "raw":
            self.frames.get((entry.index, index))
        elif isinstance(kind, tuple):
            _, wc, ww, mode = kind
            self.encoded.get(("png", entry.index, index, wc, ww, mode))

    def _note(self, entry: FileEntry, index: int, kind: Hashable) -> None:
        """Record an access; sequential ones schedule prefetch, jumps cancel it.

        Called before the requested frame is computed, so prefetch of the next frames runs on
        the other cores in parallel with it (the request's own work is submitted first)."""
        last = self._cursor.get(entry.index)
        if last is None or last.kind != kind:
            self._cursor[entry.index] = _Cursor(index, 0, kind)
            self._cancel(entry.index, keep=())
            self._planned.pop(entry.index, None)
            return
        move = index - last.front
        if move == 0:
            return
        if last.direction == 0:
            if abs(move) != 1:  # a jump: no direction of travel yet
                self._cursor[entry.index] = _Cursor(index, 0, kind)
                self._cancel(entry.index, keep=())
                self._planned.pop(entry.index, None)
                return
            cursor = _Cursor(index, move, kind)
        elif move * last.direction > 0 and abs(move) <= PREFETCH_DEPTH + 1:
            cursor = _Cursor(index, last.direction, kind)  # onward: the front advances
        elif move * last.direction < 0 and abs(move) <= STRAGGLER:
            cursor = last  # a request just behind the front (several clients): keep going
        else:
            self._cursor[entry.index] = _Cursor(index, 0, kind)
            self._cancel(entry.index, keep=())
            self._planned.pop(entry.index, None)
            return
        self._cursor[entry.index] = cursor
        step = cursor.direction
        index = cursor.front
        frame_bytes = max(1, entry.rows * entry.columns * max(1, (entry.bits_allocated or 8) // 8))
        if (entry.samples_per_pixel or 1) > 1:
            frame_bytes = entry.rows * entry.columns * 3
        # Prefetched frames enter the cache's probation segment (what the protected segment
        # leaves of the budget); they must fit there beside the viewed frame.
        probation = self.budget - int(self.budget * PROTECTED_FRACTION)
        depth = min(PREFETCH_DEPTH, max(0, probation // (frame_bytes + 256) - 1))
        targets = [index + step * k for k in range(1, depth + 1)]
        targets = [t for t in targets if 0 <= t < entry.frame_count]
        self._cancel(entry.index, keep=targets)
        tasks = self._prefetch.setdefault(entry.index, {})
        cached = self._cached_test(entry.index, kind)
        # Targets planned by the previous step of this sweep were started then or cached.
        planned = self._planned.get(entry.index, frozenset())
        self._planned[entry.index] = frozenset(targets)
        for target in targets:
            if target in tasks or target in planned or cached(target):
                continue  # running, or nothing to do (a sweep over cached frames: no task)
            task = asyncio.get_running_loop().create_task(self._prefetch_one(entry, target, kind))
            tasks[target] = task

            def _forget(t: asyncio.Task[None], file: int = entry.index, f: int = target) -> None:
                pending = self._prefetch.get(file)
                if pending is not None and pending.get(f) is t:
                    del pending[f]

            task.add_done_callback(_forget)

    def _cached_test(self, file_index: int, kind: Hashable) -> Any:
        """A function telling whether frame ``n`` of this file is already cached as ``kind``.

        Membership tests do not count as an access (no promotion in the cache)."""
        if kind == "raw":
            frames = self.frames
            return lambda n: (file_index, n) in frames
        if isinstance(kind, tuple) and kind[0] == "png":
            _, wc, ww, mode = kind
            encoded = self.encoded
            return lambda n: ("png", file_index, n, wc, ww, mode) in encoded
        return lambda n: False

    def _cancel(self, file_index: int, keep: Any) -> None:
        tasks = self._prefetch.get(file_index)
        if not tasks:
            return
        for frame_index, task in list(tasks.items()):
            if frame_index not in keep:
                task.cancel()

    async def _prefetch_one(self, entry: FileEntry, index: int, kind: Hashable) -> None:
        slot = await self._slots().acquire()
        holder = (entry.index, index, kind)
        self._holders[holder] = slot
        try:
            with contextlib.suppress(Exception):
                if kind == "raw":
                    if self.frames.get((entry.index, index)) is None:
                        await self.frame(entry, index)
                        self.prefetched += 1
                elif isinstance(kind, tuple) and kind[0] == "png":
                    _, wc, ww, mode = kind
                    if self.encoded.get(("png", entry.index, index, wc, ww, mode)) is None:
                        await self._png(entry, index, wc, ww, mode)
                        self.prefetched += 1
        finally:
            if self._holders.get(holder) is slot:
                del self._holders[holder]
            slot.release()

    # ---- responses -----------------------------------------------------------------------------

    async def raw(self, entry: FileEntry, index: int) -> tuple[Any, dict[str, str]]:
        """``/raw`` body (little-endian samples, zero-copy view) and its ``X-Frame-*`` headers."""
        self._note(entry, index, "raw")
        self._adopt(entry, index, "raw")
        frame, hit = await self.frame(entry, index)
        self._protect(entry, index, "raw")
        samples = frame.samples
        if samples.dtype.byteorder == ">":
            samples = samples.astype(samples.dtype.newbyteorder("<"))
        samples = np.ascontiguousarray(samples)
        m = frame.meta
        headers = {
            "X-Cache": "HIT" if hit else "MISS",
            "X-Frame-Rows": str(m.rows),
            "X-Frame-Columns": str(m.columns),
            "X-Frame-Bits-Allocated": str(m.bits_allocated),
            "X-Frame-Bits-Stored": str(m.bits_stored),
            "X-Frame-Pixel-Representation": str(m.pixel_representation),
            "X-Frame-Samples-Per-Pixel": str(m.samples_per_pixel),
            "X-Frame-Photometric-Interpretation": m.photometric_interpretation,
            "X-Frame-Sample-Format": m.sample_format,
            "X-Frame-Rescale-Slope": _num(m.rescale_slope),
            "X-Frame-Rescale-Intercept": _num(m.rescale_intercept),
            "X-Frame-Voi-Lut-Function": m.voi_lut_function,
            "X-Frame-Has-Overlay": "1" if m.overlays else "0",
        }
        window = m.default_window
        if window is not None:
            headers["X-Frame-Default-Wc"] = _num(window.center)
            headers["X-Frame-Default-Ww"] = _num(window.width)
        return samples.data.cast("B"), headers

    async def _png(
        self, entry: FileEntry, index: int, wc: float | None, ww: float | None, mode: str
    ) -> tuple[bytes, dict[str, str]]:
        key = ("png", entry.index, index, wc, ww, mode)
        cached = self.encoded.get(key)
        if cached is not None:
            hit: tuple[bytes, dict[str, str]] = cached
            return hit
        frame, _ = await self.frame(entry, index)
        result: tuple[bytes, dict[str, str]] = await self._run(
            key,
            _render_png,
            frame,
            wc,
            ww,
            mode,
            self.pool,
            store=lambda r: self.encoded.put(key, r, len(r[0]) + 256),
        )
        return result

    async def display(
        self, entry: FileEntry, index: int, wc: float | None, ww: float | None, mode: str
    ) -> tuple[bytes, dict[str, str]]:
        """The display PNG and its headers (``X-Cache``, ``X-Frame-Window-*``)."""
        key = ("png", entry.index, index, wc, ww, mode)
        hit = self.encoded.get(key) is not None
        kind = ("png", wc, ww, mode)
        self._note(entry, index, kind)
        self._adopt(entry, index, kind)
        body, headers = await self._png(entry, index, wc, ww, mode)
        self._protect(entry, index, kind)
        return body, {**headers, "X-Cache": "HIT" if hit else "MISS"}

    async def thumbnail(self, entry: FileEntry, index: int, size: int) -> bytes:
        """A JPEG of the frame with the default window, longest edge ≤ ``size``."""
        key = ("thumb", entry.index, index, size)
        cached = self.encoded.get(key)
        if cached is not None:
            body: bytes = cached
            return body
        frame, _ = await self.frame(entry, index)
        thumb: bytes = await self._run(
            key, _render_thumbnail, frame, size, store=lambda b: self.encoded.put(key, b)
        )
        return thumb

    async def overlay(self, entry: FileEntry, index: int) -> tuple[bytes, dict[str, str]]:
        """The frame's overlay planes merged into one byte per pixel (0/1)."""
        frame, _ = await self.frame(entry, index)
        if not frame.meta.overlays:
            raise ApiError("no_overlay", f"frame {index} of file {entry.index} has no overlay")
        body: bytes = await self._run(("overlay", entry.index, index), _overlay_mask, frame)
        headers = {"X-Frame-Rows": str(frame.meta.rows), "X-Frame-Columns": str(frame.meta.columns)}
        return body, headers

    async def header_info(self, entry: FileEntry) -> dict[str, Any]:
        """The ``/info`` extensions read from the header (cached per file)."""
        extras = self._extras.get(entry.index)
        if extras is None:
            extras = await self._run(("info", entry.index), header_extras, entry)
            self._extras[entry.index] = extras
        return extras

    async def tags(self, entry: FileEntry) -> list[dict[str, Any]]:
        """The file's ``TagNode[]`` preview tree."""
        nodes: list[dict[str, Any]] = await self._run(("tags", entry.index), _tag_tree, entry.path)
        return nodes

    async def select_tag(
        self, entry: FileEntry, tag_path: str, offset: int, limit: int
    ) -> dict[str, Any]:
        """One ``TagNode`` at full depth, sequence items paged."""
        key = ("tag", entry.index, tag_path, offset, limit)
        try:
            node: dict[str, Any] = await self._run(
                key, _select, entry.path, tag_path, offset, limit
            )
        except (UsageError, ValueError) as error:
            raise ApiError("invalid_query", f"bad tag path {tag_path[:80]!r}: {error}") from error
        except core_tags.TagNotFound as error:
            raise ApiError("not_found", f"no element at {tag_path[:80]!r}: {error}") from error
        except (core_tags.TagReadError, OSError) as error:
            raise ApiError("tag_read_failed", f"the header could not be read: {error}") from error
        return node

    def close(self) -> None:
        """Cancel pending prefetches."""
        for tasks in self._prefetch.values():
            for task in tasks.values():
                task.cancel()
        self._prefetch.clear()
        self._planned.clear()


def _num(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _read(entry: FileEntry, index: int) -> Frame:
    try:
        return read_frame(entry, index)
    except OSError as error:  # the file changed or vanished since the scan
        raise ApiError(
            "pixel_decode_failed", f"the file can no longer be read: {error.strerror or error}"
        ) from error


def _tag_tree(path: str) -> list[dict[str, Any]]:
    try:
        return core_tags.tag_tree(path)
    except (core_tags.TagReadError, OSError) as error:
        raise ApiError("tag_read_failed", f"the header could not be read: {error}") from error


def _select(path: str, tag_path: str, offset: int, limit: int) -> dict[str, Any]:
    node: dict[str, Any] = core_tags.select_tag(path, tag_path, offset=offset, limit=limit)
    return node


def _render_png(
    frame: Frame, wc: float | None, ww: float | None, mode: str, pool: Executor | None = None
) -> tuple[bytes, dict[str, str]]:
    display = render_display(frame, center=wc, width=ww, mode=_mode(mode))
    headers: dict[str, str] = {}
    if display.is_linear and display.window is not None:
        headers["X-Frame-Window-Center"] = _num(display.window.center)
        headers["X-Frame-Window-Width"] = _num(display.window.width)
    if display.function is not None:
        headers["X-Frame-Voi-Lut-Function"] = display.function
    headers["X-Frame-Window-Source"] = display.source
    # a free worker deflates half of the PNG (a busy pool costs nothing: see encode_png)
    return encode_png(display.image, executor=pool), headers


def _render_thumbnail(frame: Frame, size: int) -> bytes:
    display = render_display(frame, center=None, width=None, mode="default")
    return encode_thumbnail_jpeg(display.image, size)


def _mode(mode: str) -> Literal["default", "full_dynamic"]:
    return "full_dynamic" if mode == "full_dynamic" else "default"


def _overlay_mask(frame: Frame) -> bytes:
    rows, columns = frame.meta.rows, frame.meta.columns
    mask = np.zeros((rows, columns), dtype=np.uint8)
    for plane in frame.meta.overlays:
        r0, c0 = plane.origin
        m = np.asarray(plane.mask).astype(bool)
        top, left = max(r0, 0), max(c0, 0)
        bottom, right = min(r0 + m.shape[0], rows), min(c0 + m.shape[1], columns)
        if bottom <= top or right <= left:
            continue
        src = m[top - r0 : bottom - r0, left - c0 : right - c0]
        mask[top:bottom, left:right] |= src.astype(np.uint8)
    return mask.tobytes()
