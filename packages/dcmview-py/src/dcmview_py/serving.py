"""Running the server in this process and printing the startup lines of ``cli.md``."""

from __future__ import annotations

import errno
import getpass
import os
import socket
import sys
import threading
from typing import TYPE_CHECKING

from dcmview_py.browser import BrowserOpener
from dcmview_py.cli import PROG, UsageError, error, say
from dcmview_py.readyline import SOCKET_PREFIX, TOKEN_PREFIX, ready_line

if TYPE_CHECKING:
    from dcmview_server.config import Ready, ScanSummary, ServerConfig

MAX_REASONS = 5


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


def scan_line(summary: ScanSummary) -> str:
    """``dcmview: loaded N DICOM file(s) from M path(s) (K skipped)``."""
    return (
        f"{PROG}: loaded {summary.loaded} DICOM file(s) from {summary.paths} path(s) "
        f"({summary.skipped} skipped)"
    )


def no_files_message(summary: ScanSummary) -> str:
    """``no DICOM files found (…why each was skipped…)``."""
    reasons = list(summary.skip_reasons[:MAX_REASONS])
    if len(summary.skip_reasons) > MAX_REASONS:
        reasons.append(f"and {len(summary.skip_reasons) - MAX_REASONS} more")
    if summary.filtered:
        reasons.append(f"{summary.filtered} hidden by --filter")
    return f"no DICOM files found ({'; '.join(reasons) or 'the paths hold no files'})"


def _watch_stdin(stop: threading.Event) -> None:
    """Set ``stop`` when standard input reaches EOF (the parent or the SSH session is gone)."""

    def run() -> None:
        # os.read on the raw descriptor: a buffered reader's lock would abort the interpreter
        # at shutdown while this daemon thread blocks in it
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=run, daemon=True, name="dcmview-stdin-eof").start()


def serve_with_output(config: ServerConfig, *, browser: bool, exit_on_eof: bool) -> int:
    """Serve ``config`` until Ctrl+C/idle timeout (or stdin EOF); print the startup lines."""
    from dcmview_server import ConfigError, serve

    stop = threading.Event()
    opener = BrowserOpener()
    if exit_on_eof:
        _watch_stdin(stop)

    def on_ready(ready: Ready) -> None:
        if ready.unix_socket:
            say(f"{SOCKET_PREFIX}{ready.unix_socket}")
            if ready.token:
                say(f"{TOKEN_PREFIX}{ready.token}")
            return
        say(ready_line(ready.url))
        if ready.port is not None:
            say(reach_hint(ready.port))
        if browser:
            opener.open(ready.url)

    def on_scan_complete(summary: ScanSummary) -> None:
        for message in summary.annotation_messages:
            say(f"{PROG}: annotations: {message}", sys.stderr)
        if summary.loaded == 0:
            error(no_files_message(summary))
        else:
            say(scan_line(summary))

    try:
        status = serve(
            config, on_ready=on_ready, on_scan_complete=on_scan_complete, stop_event=stop
        )
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {config.port} on {config.host} is already in use") from None
        raise
    finally:
        opener.close()
    if status == 0:
        say(f"{PROG}: stopped")
    return status
