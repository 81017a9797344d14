"""`RemoteProcess` on in-memory streams: what the command wrote is in once it has ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dcmview_tunnel import process
from dcmview_tunnel.process import RemoteProcess


def _late_stderr(release: threading.Event) -> Iterator[bytes]:
    release.wait(5)
    time.sleep(0.05)
    yield b"oops\n"


def test_the_end_waits_for_stderr_written_before_the_exit_status() -> None:
    """An SSH channel delivers the exit status as soon as it comes, while the thread reading
    stderr may not have run yet; `wait` must not report the end before that text is in."""
    release = threading.Event()

    def status() -> int:
        release.set()
        return 3

    proc = RemoteProcess(
        "sh -c 'echo oops >&2; exit 3'",
        stdout=iter([b"out\n"]),
        stderr=_late_stderr(release),
        wait_status=status,
        terminate=lambda: None,
        close_stdin=lambda: None,
    )
    assert proc.wait(timeout=5) == 3
    assert proc.stderr_text() == "oops\n"
    assert proc.readline(timeout=5) == "out"
    assert proc.readline(timeout=5) is None


def test_a_stderr_that_never_closes_delays_the_end_only_boundedly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(process, "DRAIN_SECONDS", 0.2)
    never = threading.Event()

    def silent() -> Iterator[bytes]:
        never.wait(10)
        yield from ()

    proc = RemoteProcess(
        "sleep",
        stdout=iter([]),
        stderr=silent(),
        wait_status=lambda: 0,
        terminate=lambda: None,
        close_stdin=lambda: None,
    )
    assert proc.wait(timeout=5) == 0  # the drain gave up after 0.2 s
    never.set()
