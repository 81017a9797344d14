"""Overlay resources (``docs/api.md``, "Overlays"): the list, one segment of a target frame,
and a target frame's label map."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.errors import ApiError
from dcmview_server.overlays import LABELS, overlay_service
from dcmview_server.query import path_index, str_arg
from dcmview_server.routes.base import JSON, Route, app_state, entry_for, stream


def _frame(text: str) -> int:
    return path_index(text, "frame")


async def overlay_list(request: Request) -> HTTPResponse:
    """``GET /api/overlays``: every overlay, with its segments and targets."""
    body = await overlay_service(app_state(request)).listing()
    return raw(body, content_type=JSON)


async def overlay_segment(request: Request, o: str, i: str, f: str, n: str) -> None:
    """``GET /api/overlay/{id}/file/{i}/frame/{f}/segment/{n}``: uint8 rows×columns."""
    state = app_state(request)
    service = overlay_service(state)
    overlay = await service.overlay(o)
    entry = entry_for(state, i)
    number = path_index(n, "segment")
    if number == LABELS:
        raise ApiError("not_found", "segment numbers start at 1 (0 is the background)")
    body, headers = await service.mask(overlay, entry, _frame(f), number)
    await stream(request, body, "application/octet-stream", headers)


async def overlay_labels(request: Request, o: str, i: str, f: str) -> None:
    """``GET /api/overlay/{id}/file/{i}/frame/{f}/labels[?segments=1,3]``: uint8 (uint16)
    label map, over the listed segments only when ``segments`` is given."""
    state = app_state(request)
    service = overlay_service(state)
    overlay = await service.overlay(o)
    entry = entry_for(state, i)
    what = service.segment_subset(overlay, str_arg(request, "segments"))
    body, headers = await service.mask(overlay, entry, _frame(f), what)
    await stream(request, body, "application/octet-stream", headers)


async def overlay_counts(request: Request, o: str) -> HTTPResponse:
    """``GET /api/overlay/{id}/counts``: per segment, pixels per target frame and in all."""
    service = overlay_service(app_state(request))
    body = await service.counts(await service.overlay(o))
    return raw(body, content_type=JSON)


ROUTES = (
    Route("GET", "/api/overlays", overlay_list),
    Route(
        "GET", "/api/overlay/<o:str>/file/<i:str>/frame/<f:str>/segment/<n:str>", overlay_segment
    ),
    Route("GET", "/api/overlay/<o:str>/file/<i:str>/frame/<f:str>/labels", overlay_labels),
    Route("GET", "/api/overlay/<o:str>/counts", overlay_counts),
)
