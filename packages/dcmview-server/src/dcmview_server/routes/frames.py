"""Frame resources: display PNG, raw samples, overlay mask and thumbnail of one frame."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.keys import DisplayKey
from dcmview_server.query import choice_arg, int_arg, window_args
from dcmview_server.responses import HeaderBlock, prepared, stream_prepared
from dcmview_server.routes.base import Route, app_state, entry_for, frame_for

ONE_BLOCK_BYTES = 1 << 18
"""A frame body up to this size is sent with its headers in one block (one socket write: the
copy behind the headers costs less than a second write); larger ones are streamed behind them.
Either way the headers are encoded once per cached frame (`FrameService.raw_block`,
`responses.prepared`)."""
_X_CACHE = {True: ((b"X-Cache", b"HIT"),), False: ((b"X-Cache", b"MISS"),)}
PNG = "image/png"
OCTETS = "application/octet-stream"


async def _answer(
    request: Request, body: bytes | memoryview, content_type: str, block: HeaderBlock
) -> HTTPResponse | None:
    instance = app_state(request).server_start_ms
    if len(body) <= ONE_BLOCK_BYTES:
        return prepared(instance, body, content_type, block)
    await stream_prepared(request, prepared(instance, b"", content_type, block), memoryview(body))
    return None


async def frame(request: Request, i: str, f: str) -> HTTPResponse | None:
    """``GET /api/file/{i}/frame/{f}[?wc&ww][&mode]``: the display PNG."""
    state = app_state(request)
    entry = entry_for(state, i)
    wc, ww = window_args(request)
    full = choice_arg(request, "mode", ("default", "full_dynamic"), "default") == "full_dynamic"
    index = frame_for(entry, f)
    display = DisplayKey(wc, ww, "full_dynamic" if full else "default")
    rendered, hit = await state.frames.display_rendered(entry, index, display)
    block = _X_CACHE[hit] + state.frames.display_block(rendered)
    return await _answer(request, rendered[0], PNG, block)


async def frame_raw(request: Request, i: str, f: str) -> HTTPResponse | None:
    """``GET /api/file/{i}/frame/{f}/raw``: decoded little-endian samples."""
    state = app_state(request)
    entry = entry_for(state, i)
    index = frame_for(entry, f)
    body, decoded, hit = await state.frames.raw_frame(entry, index)
    return await _answer(request, body, OCTETS, _X_CACHE[hit] + state.frames.raw_block(decoded))


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
