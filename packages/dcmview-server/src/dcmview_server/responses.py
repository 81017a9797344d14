"""Small response helpers shared by the routes."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, raw


def gzip_if_accepted(request: Request, body: bytes, content_type: str) -> HTTPResponse:
    """A response with ``body``, gzip-compressed when the client accepts it and it is worth it."""
    accept = request.headers.get("accept-encoding", "")
    if len(body) > 1024 and "gzip" in accept.lower():
        return raw(
            gzip.compress(body, compresslevel=1, mtime=0),
            content_type=content_type,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return raw(body, content_type=content_type, headers={"Vary": "Accept-Encoding"})


def json_bytes(value: Any) -> bytes:
    """Compact JSON encoding used for every API body."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)
