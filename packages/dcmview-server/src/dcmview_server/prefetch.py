"""Prefetch policy: which frames to compute ahead of a sequential reader, and how many at once.

Sequential requests (frame n then n±1 of the same file, same kind) prefetch the next frames in
that direction, at most `PREFETCH_DEPTH` ahead and never more than fits beside the viewed frame
in the cache's probation segment; a jump cancels the prefetches not yet started. At most
``workers - 1`` prefetches run at once (`Slots`), leaving one worker for requests. A request that
finds its frame being prefetched *adopts* that work: the prefetch stops counting against the
limit, so the next one starts on the freed core.

The policy knows nothing of decoding or caching: the owner passes three callables (compute one
target, test whether one is cached, touch the viewed one), so the same policy serves raw frames
and every `DisplayKey`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass

from dcmview_core import FileEntry, frame_nbytes

from dcmview_server.keys import Kind

PREFETCH_DEPTH = 8
STRAGGLER = 2
"""A request this many frames behind the front (several clients sweeping) is not a jump."""
PROTECTED_FRACTION = 0.75
"""The cache's protected segment; prefetched entries enter the rest (probation)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where sequential access to one file has got to, and in which direction (±1, 0 = none)."""

    front: int
    direction: int
    kind: Kind


class Slots:
    """An asyncio gate for prefetches: at most ``limit`` hold a slot (event-loop confined).

    First come, first served (the nearest frames are scheduled first): a freed slot is handed
    straight to the oldest waiter, so a newcomer cannot take it in between."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> Slot:
        """Wait for a free slot and take it."""
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return Slot(self)
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
        return Slot(self)

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.used -= 1


class Slot:
    """One prefetch's hold on a `Slots` gate; `release` is idempotent."""

    __slots__ = ("_gate", "released")

    def __init__(self, gate: Slots) -> None:
        self._gate = gate
        self.released = False

    def release(self) -> None:
        """Give the slot back (once)."""
        if not self.released:
            self.released = True
            self._gate._release()


Fetch = Callable[[FileEntry, int, Kind], Awaitable[bool]]
"""Compute one target unless cached; True when it computed something."""
IsCached = Callable[[int, int, Kind], bool]
"""Whether frame ``n`` of file ``i`` is cached as ``kind`` (no promotion in the cache)."""
Touch = Callable[[int, int, Kind], None]
"""Access the viewed entry once more (promotes it to the cache's protected segment)."""


class Prefetcher:
    """Per-file cursors, the prefetch tasks they start and the slots those tasks hold."""

    def __init__(
        self, budget: int, workers: int, fetch: Fetch, is_cached: IsCached, touch: Touch
    ) -> None:
        self.budget = budget
        self.workers = workers
        self._fetch = fetch
        self._is_cached = is_cached
        self._touch = touch
        self._slots: Slots | None = None
        self.holders: dict[tuple[int, int, Kind], Slot] = {}
        self.cursors: dict[int, Cursor] = {}
        self.tasks: dict[int, dict[int, asyncio.Task[None]]] = {}
        self._planned: dict[int, frozenset[int]] = {}
        self.prefetched = 0
        self.adopted = 0

    def slots(self) -> Slots:
        """The gate (created on the event loop at first use)."""
        if self._slots is None:
            self._slots = Slots(max(1, self.workers - 1))
        return self._slots

    def before(self, entry: FileEntry, index: int, kind: Kind) -> None:
        """A request for ``index`` as ``kind`` starts: plan prefetch, adopt a running one.

        Called before the requested frame is computed, so prefetch of the next frames runs on
        the other cores in parallel with it (the request's own work is submitted first)."""
        self._note(entry, index, kind)
        slot = self.holders.pop((entry.index, index, kind), None)
        if slot is not None and not slot.released:
            slot.release()
            self.adopted += 1

    def after(self, entry: FileEntry, index: int, kind: Kind) -> None:
        """The request has its result: while prefetching, a second access promotes the viewed
        entry to the cache's protected segment, so prefetched entries never evict it."""
        if self.tasks.get(entry.index):
            self._touch(entry.index, index, kind)

    def _restart(self, file_index: int, index: int, kind: Kind) -> None:
        self.cursors[file_index] = Cursor(index, 0, kind)
        self._cancel(file_index, keep=())
        self._planned.pop(file_index, None)

    def _note(self, entry: FileEntry, index: int, kind: Kind) -> None:
        """Record an access; sequential ones schedule prefetch, jumps cancel it."""
        last = self.cursors.get(entry.index)
        if last is None or last.kind != kind:
            self._restart(entry.index, index, kind)
            return
        move = index - last.front
        if move == 0:
            return
        if last.direction == 0:
            if abs(move) != 1:  # a jump: no direction of travel yet
                self._restart(entry.index, index, kind)
                return
            cursor = Cursor(index, move, kind)
        elif move * last.direction > 0 and abs(move) <= PREFETCH_DEPTH + 1:
            cursor = Cursor(index, last.direction, kind)  # onward: the front advances
        elif move * last.direction < 0 and abs(move) <= STRAGGLER:
            cursor = last  # a request just behind the front (several clients): keep going
        else:
            self._restart(entry.index, index, kind)
            return
        self.cursors[entry.index] = cursor
        self._schedule(entry, cursor)

    def _schedule(self, entry: FileEntry, cursor: Cursor) -> None:
        # Prefetched frames enter the cache's probation segment (what the protected segment
        # leaves of the budget); they must fit there beside the viewed frame.
        probation = self.budget - int(self.budget * PROTECTED_FRACTION)
        depth = min(PREFETCH_DEPTH, max(0, probation // (frame_nbytes(entry) + 256) - 1))
        step, front, kind = cursor.direction, cursor.front, cursor.kind
        targets = [front + step * k for k in range(1, depth + 1)]
        targets = [t for t in targets if 0 <= t < entry.frame_count]
        self._cancel(entry.index, keep=targets)
        tasks = self.tasks.setdefault(entry.index, {})
        # Targets planned by the previous step of this sweep were started then or cached.
        planned = self._planned.get(entry.index, frozenset())
        self._planned[entry.index] = frozenset(targets)
        for target in targets:
            if target in tasks or target in planned or self._is_cached(entry.index, target, kind):
                continue  # running, or nothing to do (a sweep over cached frames: no task)
            task = asyncio.get_running_loop().create_task(self._one(entry, target, kind))
            tasks[target] = task

            def _forget(t: asyncio.Task[None], file: int = entry.index, f: int = target) -> None:
                pending = self.tasks.get(file)
                if pending is not None and pending.get(f) is t:
                    del pending[f]

            task.add_done_callback(_forget)

    def _cancel(self, file_index: int, keep: Container[int]) -> None:
        tasks = self.tasks.get(file_index)
        if not tasks:
            return
        for frame_index, task in list(tasks.items()):
            if frame_index not in keep:
                task.cancel()

    async def _one(self, entry: FileEntry, index: int, kind: Kind) -> None:
        slot = await self.slots().acquire()
        holder = (entry.index, index, kind)
        self.holders[holder] = slot
        try:
            with contextlib.suppress(Exception):
                if await self._fetch(entry, index, kind):
                    self.prefetched += 1
        finally:
            if self.holders.get(holder) is slot:
                del self.holders[holder]
            slot.release()

    def close(self) -> None:
        """Cancel pending prefetches."""
        for tasks in self.tasks.values():
            for task in tasks.values():
                task.cancel()
        self.tasks.clear()
        self._planned.clear()
