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

    async def run(
        self,
        key: Hashable,
        fn: Callable[[], T],
        on_result: Callable[[T], object] | None = None,
    ) -> T:
        """The result of ``fn()`` computed in the pool, shared with concurrent callers.

        ``on_result`` (e.g. storing in a cache) runs once, on the loop, when the computation
        succeeds, even if every caller has gone away meanwhile (a cancelled prefetch), so
        finished work is never thrown away.
        """
        future = self._inflight.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self.pool, fn)
            self._inflight[key] = future

            def _done(done: asyncio.Future[Any], key: Hashable = key) -> None:
                if self._inflight.get(key) is done:
                    del self._inflight[key]
                if on_result is not None and not done.cancelled() and done.exception() is None:
                    on_result(done.result())

            future.add_done_callback(_done)
        result: T = await asyncio.shield(future)
        return result
