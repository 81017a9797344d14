"""Tag resources: the preview tree and one element at full depth (masked under ``--mask``)."""

from __future__ import annotations

from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.errors import ApiError
from dcmview_server.query import int_arg, str_arg
from dcmview_server.responses import json_bytes
from dcmview_server.routes.base import (
    JSON,
    MAX_INDEX,
    Route,
    app_state,
    entry_for,
    json_response,
)


async def tags(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/tags``: the ``TagNode[]`` preview, masked under ``--mask``; its JSON
    body is encoded once per file (`FrameService.tags_body`)."""
    state = app_state(request)
    entry = entry_for(state, i)
    masker = state.masker
    if masker is None:
        body = await state.frames.tags_body(entry, json_bytes, "plain")
    else:
        patient = entry.patient_id

        def masked(nodes: list[dict[str, Any]]) -> bytes:
            return json_bytes(masker.tags(nodes, patient))

        body = await state.frames.tags_body(entry, masked, "masked")
    return raw(body, content_type=JSON)


async def tags_select(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/tags/select?path=…[&offset][&limit]``: one ``TagNode``."""
    state = app_state(request)
    entry = entry_for(state, i)
    tag_path = str_arg(request, "path")
    if not tag_path:
        raise ApiError("invalid_query", "path is required, e.g. path=(0008,1140)/0/(0008,1155)")
    offset = int_arg(request, "offset", 0, 0, MAX_INDEX)
    limit = int_arg(request, "limit", 64, 1, 10_000)
    node = await state.frames.select_tag(entry, tag_path, offset, limit)
    if state.masker is not None:
        node = state.masker.tag(node, entry.patient_id)
    return json_response(node)


ROUTES = (
    Route("GET", "/api/file/<i:str>/tags", tags),
    Route("GET", "/api/file/<i:str>/tags/select", tags_select),
)
