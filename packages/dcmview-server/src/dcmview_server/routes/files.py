"""Server and file-list resources: ``/api/health``, ``/api/files``, ``/api/presets``, ``…/info``."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server import serialize
from dcmview_server._version import __version__
from dcmview_server.query import flag_arg, int_arg
from dcmview_server.routes.base import (
    JSON,
    MAX_INDEX,
    Route,
    app_state,
    entry_for,
    json_response,
)


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``gzip;q=0`` does not)."""
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


async def health(request: Request) -> HTTPResponse:
    """``GET /api/health``."""
    state = app_state(request)
    return json_response(
        {
            "status": "ok",
            "viewer": {"name": "dcmview", "version": __version__},
            "file_count": len(state.registry),
            "server_start_ms": state.server_start_ms,
            "masked": state.masker is not None,
            "scan_complete": state.registry.complete,
        }
    )


async def files(request: Request) -> HTTPResponse:
    """``GET /api/files[?since=N][&skipped=1]`` (gzip when accepted)."""
    state = app_state(request)
    since = int_arg(request, "since", 0, 0, MAX_INDEX)
    with_skipped = flag_arg(request, "skipped")
    gzip_ok = accepts_gzip(request.headers.get("accept-encoding", ""))
    body, gzipped = serialize.files_response(state, since, gzip_ok, with_skipped)
    headers = {"Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return raw(body, content_type=JSON, headers=headers)


async def presets(request: Request) -> HTTPResponse:
    """``GET /api/presets``."""
    return json_response(serialize.presets())


async def info(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/info``."""
    return json_response(serialize.info(entry_for(app_state(request), i)))


ROUTES = (
    Route("GET", "/api/health", health),
    Route("GET", "/api/files", files),
    Route("GET", "/api/presets", presets),
    Route("GET", "/api/file/<i:str>/info", info),
)
