"""The shared, byte-budgeted, scan-resistant cache."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dcmview_core.cache import ByteBudgetCache, sizeof


def test_entries_are_weighed_in_bytes_and_lru_evicted() -> None:
    cache = ByteBudgetCache(300)
    for key in "abc":
        assert cache.put(key, b"x" * 100)
    assert cache.stats().used_bytes == 300
    cache.put("d", b"x" * 100)
    assert "a" not in cache
    assert all(k in cache for k in "bcd")
    assert cache.stats().evictions == 1


def test_an_entry_larger_than_the_budget_is_not_cached() -> None:
    cache = ByteBudgetCache(100)
    cache.put("small", b"s" * 10)
    assert not cache.put("huge", b"h" * 101)
    assert "huge" not in cache
    assert "small" in cache  # nothing was evicted for it
    assert cache.stats().rejected == 1


def test_replacing_a_key_updates_its_size() -> None:
    cache = ByteBudgetCache(100)
    cache.put("a", b"x" * 60)
    cache.put("a", b"x" * 30)
    assert cache.stats().used_bytes == 30
    assert cache.get("a") == b"x" * 30


def test_a_sweep_larger_than_the_cache_does_not_evict_reused_entries() -> None:
    frame = 1000
    cache = ByteBudgetCache(10 * frame)
    for key in ("hot1", "hot2", "hot3"):  # viewed, then viewed again
        cache.put(key, b"h" * frame)
        assert cache.get(key) is not None
    for i in range(100):  # a cine sweep through 100 frames, each seen once
        cache.put(("sweep", i), b"s" * frame)
    assert all(cache.get(k) is not None for k in ("hot1", "hot2", "hot3"))
    assert cache.stats().used_bytes <= 10 * frame
    assert ("sweep", 99) in cache  # the newest frames of the sweep are still there


def test_plain_lru_would_have_lost_them() -> None:
    # the same sweep with no reuse before it keeps only the last frames
    cache = ByteBudgetCache(10 * 1000)
    cache.put("once", b"o" * 1000)
    for i in range(100):
        cache.put(("sweep", i), b"s" * 1000)
    assert "once" not in cache


def test_views_share_one_budget() -> None:
    shared = ByteBudgetCache(1000)
    frames = shared.view("frame")
    pngs = shared.view("png")
    frames.put((0, 1), np.zeros(600, np.uint8))
    pngs.put((0, 1), b"p" * 300)
    assert (0, 1) in frames
    assert (0, 1) in pngs
    assert shared.stats().used_bytes == 900
    pngs.put((0, 2), b"p" * 300)
    assert shared.stats().used_bytes <= 1000
    assert (0, 1) not in frames  # the oldest entry, of the other view, made room


def test_sizeof() -> None:
    assert sizeof(b"abc") == 3
    assert sizeof(np.zeros((4, 5), np.uint16)) == 40


def test_get_or_compute_runs_once_for_concurrent_callers() -> None:
    cache = ByteBudgetCache(10_000)
    calls = []
    started = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return b"frame"

    results: list[tuple[bytes, bool]] = []

    def worker() -> None:
        results.append(cache.get_or_compute("k", slow))

    first = threading.Thread(target=worker)
    first.start()
    started.wait(5)
    others = [threading.Thread(target=worker) for _ in range(4)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(5)
    assert len(calls) == 1
    assert sorted(hit for _, hit in results) == [False, True, True, True, True]
    assert all(value == b"frame" for value, _ in results)
    assert cache.get_or_compute("k", slow) == (b"frame", True)


def test_get_or_compute_propagates_errors_and_caches_nothing() -> None:
    cache = ByteBudgetCache(100)

    def fail() -> bytes:
        raise ValueError("corrupt")

    with pytest.raises(ValueError, match="corrupt"):
        cache.get_or_compute("k", fail)
    assert "k" not in cache
    assert cache.get_or_compute("k", lambda: b"ok") == (b"ok", False)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="budget"):
        ByteBudgetCache(-1)
    with pytest.raises(ValueError, match="protected_fraction"):
        ByteBudgetCache(10, protected_fraction=1.0)
