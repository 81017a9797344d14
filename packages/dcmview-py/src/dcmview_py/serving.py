"""Running the server in this process and printing the startup lines of ``cli.md``.

The ready line comes once the first file is registered (the server calls ``on_ready`` then),
so a start that finds no file prints only its error and opens no browser.
"""

from __future__ import annotations

import errno
import sys
import threading
from typing import TYPE_CHECKING

from dcmview_server.config import ConfigError

from dcmview_py.browser import BrowserOpener
from dcmview_py.output import (
    PROG,
    error,
    no_files_message,
    on_stdin_eof,
    reach_hint,
    say,
    scan_line,
    skipped_lines,
    wants_reach_hint,
)
from dcmview_py.readyline import SOCKET_PREFIX, TOKEN_PREFIX, ready_line

if TYPE_CHECKING:
    from dcmview_server.config import Ready, ScanSummary, ServerConfig


def serve_with_output(
    config: ServerConfig, *, browser: bool, exit_on_eof: bool, verbose: bool = False
) -> int:
    """Serve ``config`` until Ctrl+C/idle timeout (or stdin EOF); print the startup lines."""
    from dcmview_server import serve

    stop = threading.Event()
    opener = BrowserOpener()
    if exit_on_eof:
        on_stdin_eof(stop.set)

    def on_ready(ready: Ready) -> None:
        if ready.unix_socket:
            say(f"{SOCKET_PREFIX}{ready.unix_socket}")
            if ready.token:
                say(f"{TOKEN_PREFIX}{ready.token}")
            return
        say(ready_line(ready.url))
        if ready.port is not None and wants_reach_hint(config.host):
            say(reach_hint(ready.port))
        if browser:
            opener.open(ready.url)

    def on_scan_complete(summary: ScanSummary) -> None:
        for message in summary.annotation_messages:
            say(f"{PROG}: annotations: {message}", sys.stderr)
        if verbose:
            for line in skipped_lines(summary):
                say(line, sys.stderr)
        if summary.loaded == 0:
            error(no_files_message(summary))
        else:
            say(scan_line(summary, verbose=verbose))

    def on_recovered(path: str) -> None:
        say(f"{PROG}: unsaved ROI edits were written to {path}")

    try:
        status = serve(
            config,
            on_ready=on_ready,
            on_scan_complete=on_scan_complete,
            stop_event=stop,
            on_recovered=on_recovered,
            freeze_heap=True,  # this process is the server: see `serve`
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {config.port} on {config.host} is already in use") from None
        raise
    finally:
        opener.close()
    if status == 0:
        say(f"{PROG}: stopped")
    return status
