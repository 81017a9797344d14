"""Small response helpers shared by the routes."""

from __future__ import annotations

import json
import time
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse


def json_bytes(value: Any) -> bytes:
    """Compact JSON encoding used for every API body.

    Paths are made printable before they get here (`serialize.shown_path`); any other text that
    still holds a lone surrogate is written as a ``\\udcXX`` escape rather than failing the
    whole response."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def stamp_timing(request: Request, response: HTTPResponse) -> None:
    """``Server-Timing: app;dur=<ms>`` since the request gate saw the request."""
    started = getattr(request.ctx, "started", None)
    if started is not None:
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"
