"""Run CPU work off the event loop, sharing one computation between concurrent requests.

`SharedWork.run(key, fn)` runs ``fn`` in the worker pool unless a computation with the same key
is already in flight, in which case the caller awaits that one. A caller that goes away does not
cancel work other callers still wait for (`asyncio.shield`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


class SharedWork:
    """De-duplicates in-flight computations by key (event-loop confined)."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}

    def is_running(self, key: Hashable) -> bool:
        """True while a computation for ``key`` is in flight."""
        return key in self._inflight

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, fn: Callable[[], T]) -> T:
        """The result of ``fn()`` computed in the pool, shared with concurrent callers."""
        future = self._inflight.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self.pool, fn)
            self._inflight[key] = future

            def _done(_: asyncio.Future[Any], key: Hashable = key) -> None:
                if self._inflight.get(key) is future:
                    del self._inflight[key]

            future.add_done_callback(_done)
        result: T = await asyncio.shield(future)
        return result
