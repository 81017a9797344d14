"""Concurrent first reads, as the server's thread pool makes them.

pydicom warns about odd headers and dcmview-core silences it with `warnings.catch_warnings`,
which swaps the process-wide filter list: two threads inside it at once can leave every
warning ignored for good (or restore another thread's state). `_header.quiet_pydicom` is the
one lock-protected way in; these tests hammer it from many threads with a tiny GIL switch
interval so overlapping windows are likely, then check that the results equal a sequential
run and that the warning filters are exactly what they were.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from dcmview_core import _header, frames, quiet_pydicom
from dcmview_core.discovery import read_entry, scan
from dcmview_core.frames import read_frame
from dcmview_core.model import FileEntry, SupportState
from dcmview_core.tags import tag_tree

DATA = Path(pydicom.__file__).parent / "data"


def renderable() -> list[FileEntry]:
    found = [
        e
        for e in scan(sorted(str(p) for p in DATA.rglob("*.dcm")))
        if isinstance(e, FileEntry) and e.support_state is SupportState.RENDERABLE
    ]
    assert len(found) > 60
    return found


def first_samples(entry: FileEntry) -> np.ndarray:
    return read_frame(entry, 0).samples


def tree_size(path: str) -> int:
    return len(tag_tree(path))


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every 10 µs instead of 5 ms, so critical sections interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def run_concurrently(calls: list[Callable[[], Any]], workers: int = 8) -> list[Any]:
    start = threading.Barrier(workers)

    def first(call: Callable[[], Any]) -> Any:
        return call()

    def warm(_: int) -> None:
        start.wait(5)  # every worker alive before the first read

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(warm, range(workers)))
        return list(pool.map(first, calls))


@pytest.mark.usefixtures("fast_switching")
def test_concurrent_first_reads_of_many_files() -> None:
    entries = renderable()
    frames.clear_layout_cache()
    expected = [read_frame(e, 0).samples for e in entries]
    trees = [len(tag_tree(e.path)) for e in entries[:20]]
    filters_before = list(warnings.filters)
    for _ in range(3):
        frames.clear_layout_cache()  # every read below parses its file's header again
        calls: list[Callable[[], Any]] = [partial(first_samples, e) for e in entries]
        for e in entries[:20]:
            calls.append(partial(tree_size, e.path))
            calls.append(partial(read_entry, e.path, (), e.index))
        results = run_concurrently(calls)
        for got, want in zip(results[: len(entries)], expected, strict=True):
            np.testing.assert_array_equal(got, want)
        rest = results[len(entries) :]
        assert rest[0::2] == trees
        assert rest[1::2] == entries[:20]
        assert warnings.filters == filters_before
    # the suite's "error" filter is still in force in this thread
    with pytest.raises(UserWarning, match="still an error"):
        warnings.warn("still an error", UserWarning, stacklevel=1)


@pytest.mark.usefixtures("fast_switching")
def test_scan_with_workers_while_frames_are_read() -> None:
    entries = renderable()
    paths = [e.path for e in entries]
    filters_before = list(warnings.filters)
    frames.clear_layout_cache()
    result: list[Any] = []
    reader = threading.Thread(
        target=lambda: result.append([read_frame(e, 0).meta.rows for e in entries])
    )
    reader.start()
    scanned = list(scan(paths, workers=4))
    reader.join(60)
    assert not reader.is_alive()
    assert [e.path for e in scanned if isinstance(e, FileEntry)] == paths
    assert result == [[e.rows for e in entries]]
    assert warnings.filters == filters_before


def test_quiet_pydicom_is_reentrant_and_restores_the_filters() -> None:
    filters_before = list(warnings.filters)
    with quiet_pydicom():  # the public name for what every read in dcmview-core uses
        warnings.warn("silenced", UserWarning, stacklevel=1)
        with _header.quiet_pydicom():  # a quiet read decoding text quietly: no deadlock
            warnings.warn("silenced too", UserWarning, stacklevel=1)
    assert warnings.filters == filters_before
    assert not _header.PYDICOM_LOCK._is_owned()  # type: ignore[attr-defined]
