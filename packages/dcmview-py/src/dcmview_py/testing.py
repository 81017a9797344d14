"""Helpers for tests that run the ``dcmview`` CLI as a real process and call its API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def dcmview_command() -> list[str]:
    """How the tests start the CLI as a real process."""
    return [sys.executable, "-m", "dcmview_py"]


def dcmview_script() -> str:
    """This environment's ``dcmview`` console script (the tunnel's remote command)."""
    script = Path(sys.executable).parent / "dcmview"
    assert script.exists(), script
    return str(script)


def start_cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m dcmview_py ARGS`` with text pipes."""
    return subprocess.Popen(
        [*dcmview_command(), *args],
        stdin=kwargs.pop("stdin", subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def api_get(base_url: str, path: str, token: str | None) -> tuple[int, Any]:
    """GET ``base_url + path`` with the bearer token; (status, parsed JSON)."""
    request = urllib.request.Request(base_url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"null")


def scanned_files(base_url: str, token: str | None, *, within: float = 30.0) -> dict[str, Any]:
    """``/api/files`` once the server's scan is complete (or ``within`` seconds have passed)."""
    deadline = time.monotonic() + within
    while True:
        status, body = api_get(base_url, "/api/files", token)
        if status != 200:
            raise AssertionError(f"/api/files answered {status}: {body}")
        if body.get("scan_complete") or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.1)
