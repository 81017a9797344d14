"""Measurement resources: one file's lengths and angles (GET/PUT) and the JSON export."""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

from dcmview_server import measurements
from dcmview_server.routes.base import Route, app_state, entry_for, json_body, json_response
from dcmview_server.serialize import shown_path


async def measurements_get(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/measurements``."""
    state = app_state(request)
    entry = entry_for(state, i)
    return json_response(measurements.to_json(state.measurements.get(entry.index)))


async def measurements_put(request: Request, i: str) -> HTTPResponse:
    """``PUT /api/file/{i}/measurements``: replace the file's list; answer the canonical one."""
    state = app_state(request)
    payload = json_body(request)
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
