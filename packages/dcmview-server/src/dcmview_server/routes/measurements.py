"""Measurement resources: one file's lengths and angles (GET/PUT) and the JSON export."""

from __future__ import annotations

import json
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from dcmview_server import measurements
from dcmview_server.errors import ApiError
from dcmview_server.routes.base import Route, app_state, entry_for, json_response
from dcmview_server.serialize import shown_path


def _json_body(request: Request) -> Any:
    """The decoded JSON body: ``415`` unless it is ``application/json``, ``400`` when it does
    not parse (the same rules as the annotations PUT)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(
            "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"
        )
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError("bad_request", f"the body is not valid JSON: {reason}") from error


async def measurements_get(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/measurements``."""
    state = app_state(request)
    entry = entry_for(state, i)
    return json_response(measurements.to_json(state.measurements.get(entry.index)))


async def measurements_put(request: Request, i: str) -> HTTPResponse:
    """``PUT /api/file/{i}/measurements``: replace the file's list; answer the canonical one."""
    state = app_state(request)
    payload = _json_body(request)
    entry = entry_for(state, i)
    return json_response(measurements.to_json(state.measurements.replace(entry, payload)))


async def measurements_export(request: Request) -> HTTPResponse:
    """``GET /api/measurements/export.json``: every loaded file that has measurements."""
    state = app_state(request)
    rows = state.measurements.export(state.registry.entries(), lambda e: shown_path(state, e.path))
    return json_response(
        {"measurements": rows},
        headers={"Content-Disposition": 'attachment; filename="dcmview-measurements.json"'},
    )


ROUTES = (
    Route("GET", "/api/file/<i:str>/measurements", measurements_get),
    Route("PUT", "/api/file/<i:str>/measurements", measurements_put),
    Route("GET", "/api/measurements/export.json", measurements_export),
)
