"""Series resources: the stack list, a stack's slices and reformats (PNG, raw, statistics) and
the statistics of one frame of a file (``docs/api.md``, "Series stacks and volumes" and
"Region statistics")."""

from __future__ import annotations

from typing import cast

from dcmview_core import Box, RegionShape
from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.errors import ApiError
from dcmview_server.keys import DisplayKey
from dcmview_server.query import choice_arg, float_arg, path_index, window_args
from dcmview_server.routes.base import (
    JSON,
    Route,
    app_state,
    entry_for,
    frame_for,
    json_response,
    stream,
)
from dcmview_server.routes.files import accepts_gzip
from dcmview_server.series import AXES, series_service


def _axis(request: Request) -> int:
    return int(choice_arg(request, "axis", AXES, "0"))


def _region(request: Request) -> tuple[RegionShape, Box]:
    shape = cast(RegionShape, choice_arg(request, "shape", ("rect", "ellipse"), "rect"))
    values = []
    for name in ("y0", "x0", "y1", "x1"):
        value = float_arg(request, name)
        if value is None:
            raise ApiError("invalid_query", f"{name} is required: give the box as y0, x0, y1, x1")
        values.append(value)
    return shape, Box(*values)


async def series_list(request: Request) -> HTTPResponse:
    """``GET /api/series``: every stack; answers during the scan (stacks grow; gzip when
    accepted, as ``/api/files``)."""
    gzip_ok = accepts_gzip(request.headers.get("accept-encoding", ""))
    body, gzipped = series_service(app_state(request)).listing(gzip_ok)
    headers = {"Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return raw(body, content_type=JSON, headers=headers)


async def series_slice(request: Request, s: str, k: str) -> None:
    """``GET /api/series/{id}/slice/{k}[?axis][&wc&ww][&mode]``: the display PNG."""
    service = series_service(app_state(request))
    stack = service.stack(s)
    axis = _axis(request)
    wc, ww = window_args(request)
    full = choice_arg(request, "mode", ("default", "full_dynamic"), "default") == "full_dynamic"
    display = DisplayKey(wc, ww, "full_dynamic" if full else "default")
    body, headers = await service.display(stack, axis, path_index(k, "slice"), display)
    await stream(request, memoryview(body), "image/png", headers)


async def series_slice_raw(request: Request, s: str, k: str) -> None:
    """``GET /api/series/{id}/slice/{k}/raw[?axis]``: samples plus ``X-Pixel-Spacing``."""
    service = series_service(app_state(request))
    stack = service.stack(s)
    axis = _axis(request)
    body, headers = await service.raw(stack, axis, path_index(k, "slice"))
    await stream(request, body, "application/octet-stream", headers)


async def series_slice_stats(request: Request, s: str, k: str) -> HTTPResponse:
    """``GET /api/series/{id}/slice/{k}/stats?axis&shape&y0&x0&y1&x1``: `RegionStats`."""
    service = series_service(app_state(request))
    stack = service.stack(s)
    axis = _axis(request)
    shape, box = _region(request)
    stats = await service.stats(stack, axis, path_index(k, "slice"), shape, box)
    return json_response(stats.to_json())


async def frame_stats(request: Request, i: str, f: str) -> HTTPResponse:
    """``GET /api/file/{i}/frame/{f}/stats?shape&y0&x0&y1&x1``: `RegionStats`."""
    state = app_state(request)
    entry = entry_for(state, i)
    index = frame_for(entry, f)
    shape, box = _region(request)
    stats = await series_service(state).frame_stats(entry, index, shape, box)
    return json_response(stats.to_json())


ROUTES = (
    Route("GET", "/api/series", series_list),
    Route("GET", "/api/series/<s:str>/slice/<k:str>", series_slice),
    Route("GET", "/api/series/<s:str>/slice/<k:str>/raw", series_slice_raw),
    Route("GET", "/api/series/<s:str>/slice/<k:str>/stats", series_slice_stats),
    Route("GET", "/api/file/<i:str>/frame/<f:str>/stats", frame_stats),
)
