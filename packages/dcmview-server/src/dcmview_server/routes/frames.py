"""Frame resources: display PNG, raw samples, overlay mask and thumbnail of one frame."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.keys import DisplayKey
from dcmview_server.query import choice_arg, int_arg, window_args
from dcmview_server.routes.base import Route, app_state, entry_for, frame_for, stream


async def frame(request: Request, i: str, f: str) -> None:
    """``GET /api/file/{i}/frame/{f}[?wc&ww][&mode]``: the display PNG (streamed)."""
    state = app_state(request)
    entry = entry_for(state, i)
    wc, ww = window_args(request)
    full = choice_arg(request, "mode", ("default", "full_dynamic"), "default") == "full_dynamic"
    index = frame_for(entry, f)
    display = DisplayKey(wc, ww, "full_dynamic" if full else "default")
    body, headers = await state.frames.display(entry, index, display)
    await stream(request, memoryview(body), "image/png", headers)


async def frame_raw(request: Request, i: str, f: str) -> None:
    """``GET /api/file/{i}/frame/{f}/raw``: decoded little-endian samples (streamed)."""
    state = app_state(request)
    entry = entry_for(state, i)
    index = frame_for(entry, f)
    body, headers = await state.frames.raw(entry, index)
    await stream(request, body, "application/octet-stream", headers)


async def frame_overlay(request: Request, i: str, f: str) -> HTTPResponse:
    """``GET /api/file/{i}/frame/{f}/overlay``: one byte (0/1) per pixel."""
    state = app_state(request)
    entry = entry_for(state, i)
    index = frame_for(entry, f)
    body, headers = await state.frames.overlay(entry, index)
    return raw(body, content_type="application/octet-stream", headers=headers)


async def frame_thumbnail(request: Request, i: str, f: str) -> HTTPResponse:
    """``GET /api/file/{i}/frame/{f}/thumbnail[?size]``: a JPEG, default window."""
    state = app_state(request)
    entry = entry_for(state, i)
    size = int_arg(request, "size", 256, 1, 1024)
    index = frame_for(entry, f)
    body = await state.frames.thumbnail(entry, index, size)
    return raw(body, content_type="image/jpeg")


ROUTES = (
    Route("GET", "/api/file/<i:str>/frame/<f:str>", frame),
    Route("GET", "/api/file/<i:str>/frame/<f:str>/raw", frame_raw),
    Route("GET", "/api/file/<i:str>/frame/<f:str>/overlay", frame_overlay),
    Route("GET", "/api/file/<i:str>/frame/<f:str>/thumbnail", frame_thumbnail),
)
