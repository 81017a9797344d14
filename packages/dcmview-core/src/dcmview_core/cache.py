"""Byte-budgeted, scan-resistant caches that share one budget.

`ByteBudgetCache` is a segmented LRU (SLRU) over entries weighed in bytes. A new entry enters
the *probation* segment; a second access promotes it to the *protected* segment (at most
``protected_fraction`` of the budget; overflow is demoted back to probation). Eviction takes
the least recently used probation entry first. A sequential sweep over more frames than fit
therefore only churns probation, and frames the user came back to stay cached.

Several named views (`ByteBudgetCache.view`) share the budget and the recency order, e.g.
decoded frames and encoded PNGs. An entry larger than the whole budget is never cached.
``get_or_compute`` runs one computation per key at a time: concurrent callers for the same
key wait for the first one's result instead of decoding the frame again.

One budget per process: `process_cache` is the most recently created cache still alive (the
server's frame cache, sized by ``--cache-budget``). Caches outside the frame pipeline (the
remote sources' byte blocks and fetched instances) put their entries there, so frames and
remote bytes are weighed together; with no cache alive they use a small private one.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["ByteBudgetCache", "CacheStats", "CacheView", "process_cache", "sizeof"]

V = TypeVar("V")


def sizeof(value: object) -> int:
    """Bytes a cached value holds: arrays and byte strings by their data, frames and display
    images by their pixel array, anything else by ``sys.getsizeof``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    for attribute in ("samples", "image"):  # Frame, Display
        inner = getattr(value, attribute, None)
        if isinstance(inner, np.ndarray):
            return int(inner.nbytes) + 256
    return sys.getsizeof(value)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a cache's counters."""

    budget_bytes: int
    used_bytes: int
    entries: int
    hits: int
    misses: int
    evictions: int
    rejected: int
    """Entries not cached because they were larger than the whole budget."""
    protected_bytes: int = 0
    """Bytes in the protected segment (entries used twice); the rest of the budget is what new
    entries can take without pushing those out."""


class _Flight:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class ByteBudgetCache:
    """A segmented LRU weighed in bytes; see the module docstring."""

    _is_process_cache = True
    """Whether a new instance becomes `process_cache` (the fallback caches do not)."""

    def __init__(self, budget_bytes: int, *, protected_fraction: float = 0.8) -> None:
        if budget_bytes < 0:
            raise ValueError("budget_bytes must be >= 0")
        if not 0.0 <= protected_fraction < 1.0:
            raise ValueError("protected_fraction must be in [0, 1)")
        self.budget_bytes = budget_bytes
        self._protected_cap = int(budget_bytes * protected_fraction)
        self._probation: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._protected: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._probation_bytes = 0
        self._protected_bytes = 0
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}
        self._hits = self._misses = self._evictions = self._rejected = 0
        if self._is_process_cache:
            global _latest
            _latest = weakref.ref(self)

    # -- the policy ---------------------------------------------------------------------------

    def get(self, key: Hashable) -> Any | None:
        """The cached value for ``key`` (and mark it used), or None."""
        with self._lock:
            return self._get(key)

    def _get(self, key: Hashable) -> Any | None:
        item = self._protected.get(key)
        if item is not None:
            self._protected.move_to_end(key)
            self._hits += 1
            return item[0]
        item = self._probation.pop(key, None)
        if item is None:
            self._misses += 1
            return None
        self._probation_bytes -= item[1]
        self._protected[key] = item
        self._protected_bytes += item[1]
        while self._protected_bytes > self._protected_cap and len(self._protected) > 1:
            old_key, old = self._protected.popitem(last=False)
            self._protected_bytes -= old[1]
            self._probation[old_key] = old
            self._probation_bytes += old[1]
        self._hits += 1
        return item[0]

    def put(self, key: Hashable, value: object, size: int | None = None) -> bool:
        """Cache ``value``; False when it is larger than the whole budget (not cached)."""
        nbytes = sizeof(value) if size is None else size
        with self._lock:
            self._discard(key)
            if nbytes > self.budget_bytes:
                self._rejected += 1
                return False
            self._probation[key] = (value, nbytes)
            self._probation_bytes += nbytes
            self._evict()
            return True

    def pop(self, key: Hashable) -> Any | None:
        """Remove ``key``'s entry and return its value (None when absent): for bytes wanted once,
        such as a remote frame that is decoded next and cached as a frame."""
        with self._lock:
            item = self._probation.get(key) or self._protected.get(key)
            self._discard(key)
            return None if item is None else item[0]

    def _discard(self, key: Hashable) -> None:
        item = self._probation.pop(key, None)
        if item is not None:
            self._probation_bytes -= item[1]
        item = self._protected.pop(key, None)
        if item is not None:
            self._protected_bytes -= item[1]

    def _evict(self) -> None:
        while self._probation_bytes + self._protected_bytes > self.budget_bytes:
            if self._probation:
                _, (_, nbytes) = self._probation.popitem(last=False)
                self._probation_bytes -= nbytes
            else:
                _, (_, nbytes) = self._protected.popitem(last=False)
                self._protected_bytes -= nbytes
            self._evictions += 1

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], V], size: int | None = None
    ) -> tuple[V, bool]:
        """``(value, hit)``: the cached value, else ``compute()`` cached and returned.

        Concurrent calls for one key share a single ``compute()``; its exception, if any, is
        raised in every waiting caller and nothing is cached.
        """
        with self._lock:
            value = self._get(key)
            if value is not None:
                return value, True
            flight = self._flights.get(key)
            owner = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not owner:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value, True
        try:
            value = compute()
        except BaseException as exc:
            flight.error = exc
            raise
        else:
            flight.value = value
            self.put(key, value, size)
            return value, False
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._protected or key in self._probation

    def __len__(self) -> int:
        with self._lock:
            return len(self._protected) + len(self._probation)

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        with self._lock:
            self._probation.clear()
            self._protected.clear()
            self._probation_bytes = self._protected_bytes = 0

    def stats(self) -> CacheStats:
        """Current size and counters."""
        with self._lock:
            return CacheStats(
                budget_bytes=self.budget_bytes,
                used_bytes=self._probation_bytes + self._protected_bytes,
                entries=len(self._probation) + len(self._protected),
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
                rejected=self._rejected,
                protected_bytes=self._protected_bytes,
            )

    def view(self, namespace: str) -> CacheView[Any]:
        """A cache whose keys live in ``namespace`` and whose entries share this budget."""
        return CacheView(self, namespace)


class CacheView(Generic[V]):
    """One namespace of a shared `ByteBudgetCache` (for example decoded frames, or PNGs)."""

    def __init__(self, shared: ByteBudgetCache, namespace: str) -> None:
        self.shared = shared
        self.namespace = namespace

    def get(self, key: Hashable) -> V | None:
        """The cached value, or None."""
        value: V | None = self.shared.get((self.namespace, key))
        return value

    def put(self, key: Hashable, value: V, size: int | None = None) -> bool:
        """Cache a value; False when it is larger than the whole budget."""
        return self.shared.put((self.namespace, key), value, size)

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], V], size: int | None = None
    ) -> tuple[V, bool]:
        """``(value, hit)``; see `ByteBudgetCache.get_or_compute`."""
        return self.shared.get_or_compute((self.namespace, key), compute, size)

    def __contains__(self, key: Hashable) -> bool:
        return (self.namespace, key) in self.shared


_latest: weakref.ref[ByteBudgetCache] | None = None
_fallbacks: dict[int, ByteBudgetCache] = {}
_fallback_lock = threading.Lock()


def process_cache(fallback_bytes: int = 64 * 2**20) -> ByteBudgetCache:
    """The process's one budget: the most recently created `ByteBudgetCache` still alive (the
    server's frame cache), else a private cache of *fallback_bytes* (one per size, kept)."""
    found = _latest() if _latest is not None else None
    if found is not None:
        return found
    with _fallback_lock:
        made = _fallbacks.get(fallback_bytes)
        if made is None:
            made = _fallbacks[fallback_bytes] = _Quiet(fallback_bytes)
        return made


class _Quiet(ByteBudgetCache):
    """A fallback cache: it does not become `process_cache` itself (a server's cache does)."""

    _is_process_cache = False
