"""What the command prints: one flushed line at a time, the texts of ``cli.md``'s lines, and the
stdin-EOF watcher (the parent of ``view()`` or the SSH session is gone).

Imported by `dcmview_py.cli`, `dcmview_py.serving` and `dcmview_py.remote` (and importing
none of them), so the three never import each other in a circle.
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from dcmview_server.config import ScanSummary

PROG = "dcmview"
MAX_REASONS = 5
SKIP_KIND_NAMES = {"not_dicom": "not DICOM", "unreadable": "unreadable", "unparsable": "unparsable"}


def say(line: str, stream: TextIO | None = None) -> None:
    """Print one line and flush it at once (startup lines are read by other programs)."""
    out = sys.stdout if stream is None else stream
    out.write(line + "\n")
    out.flush()


def error(message: str) -> None:
    """Print the one-line ``dcmview: error: …`` message on stderr."""
    say(f"{PROG}: error: {' '.join(message.split())}", sys.stderr)


def line_buffered() -> None:
    """Make stdout/stderr flush per line (they may be pipes read by scripts)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(line_buffering=True)


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def wants_reach_hint(host: str, environ: Mapping[str, str] | None = None) -> bool:
    """The ``ssh -L`` hint helps only in an SSH session or on a non-loopback address."""
    env = os.environ if environ is None else environ
    return bool(env.get("SSH_CONNECTION")) or not is_loopback(host)


def reach_hint(port: int) -> str:
    """The line telling how to reach this server from another machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    host = socket.gethostname() or "this-host"
    return (
        f"{PROG}: to view from another machine: ssh -L {port}:127.0.0.1:{port} {user}@{host}"
        " (then open the URL above there)"
    )


def scan_line(summary: ScanSummary, *, verbose: bool = False) -> str:
    """``dcmview: loaded 3 DICOM files from 1 path (9 skipped: 7 not DICOM, 2 unreadable;
    --verbose lists them)``."""
    skipped = f"{summary.skipped} skipped"
    kinds = summary.skip_kinds()
    if kinds:
        skipped += ": " + ", ".join(
            f"{count} {SKIP_KIND_NAMES.get(kind, kind.replace('_', ' '))}"
            for kind, count in kinds.items()
        )
        if not verbose:
            skipped += "; --verbose lists them"
    return (
        f"{PROG}: loaded {plural(summary.loaded, 'DICOM file')} from "
        f"{plural(summary.paths, 'path')} ({skipped})"
    )


def skipped_lines(summary: ScanSummary) -> list[str]:
    """One ``dcmview: skipped PATH: reason`` line per recorded skipped file (``--verbose``)."""
    return [f"{PROG}: skipped {s.path}: {s.reason}" for s in summary.skipped_files]


def no_files_message(summary: ScanSummary) -> str:
    """``no DICOM files found (…why each was skipped…)``."""
    reasons = list(summary.skip_reasons[:MAX_REASONS])
    if len(summary.skip_reasons) > MAX_REASONS:
        reasons.append(f"and {len(summary.skip_reasons) - MAX_REASONS} more")
    if summary.filtered:
        reasons.append(f"{summary.filtered} hidden by --filter")
    return f"no DICOM files found ({'; '.join(reasons) or 'the paths hold no files'})"


def on_stdin_eof(callback: Callable[[], None]) -> None:
    """Call ``callback()`` (in a daemon thread) once standard input reaches EOF."""

    def run() -> None:
        # os.read on the raw descriptor: a buffered reader's lock would abort the interpreter
        # at shutdown while this daemon thread blocks in it
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        callback()

    threading.Thread(target=run, daemon=True, name="dcmview-stdin-eof").start()
