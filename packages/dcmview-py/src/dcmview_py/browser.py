"""Opening the viewer in a browser without putting the token on a visible command line.

Browsers are started with the URL as a command-line argument, and any local user can read
command lines (``ps``). So the launch URL (which carries the token in its fragment) is written
into a small 0600 HTML file in a private 0700 directory that redirects to it; the browser is
given the file's path only.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

_REDIRECT = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={attr}"><title>dcmview</title></head>
<body><script>location.replace({js});</script>
<p><a href="{attr}">Open dcmview</a></p></body></html>
"""


def display_available(environ: dict[str, str] | None = None) -> bool:
    """Whether a graphical browser can be shown: macOS/Windows, or a Linux display/BROWSER."""
    env = os.environ if environ is None else environ
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("BROWSER"))


def write_redirect(url: str, directory: str | os.PathLike[str]) -> Path:
    """Write a 0600 HTML file that redirects to ``url``; return its path."""
    path = Path(directory) / "open-dcmview.html"
    script = json.dumps(url).replace("<", "\\u003c")  # no "</script>" breakout
    data = _REDIRECT.format(attr=html.escape(url, quote=True), js=script)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)
    return path


class BrowserOpener:
    """Opens launch URLs through redirect files kept in one private temp dir until close()."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def open(self, url: str) -> bool:
        """Open ``url`` in a background thread if a display is available; True if attempted."""
        if not display_available():
            return False
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="dcmview-open-")
        path = write_redirect(url, self._dir.name)

        def launch() -> None:
            import webbrowser

            with contextlib.suppress(Exception):  # a browser that cannot start must not stop us
                webbrowser.open(path.as_uri(), new=2)

        threading.Thread(target=launch, daemon=True, name="dcmview-browser").start()
        return True

    def close(self) -> None:
        """Remove the redirect files."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
