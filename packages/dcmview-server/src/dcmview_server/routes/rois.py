"""ROI resources (annotations): one file's ``RoiSet`` (GET/PUT) and the EMBED CSV export."""

from __future__ import annotations

import asyncio

from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.query import flag_arg
from dcmview_server.routes.base import Route, app_state, entry_for, json_body, json_response


async def annotations_get(request: Request, i: str) -> HTTPResponse:
    """``GET /api/file/{i}/annotations``."""
    state = app_state(request)
    entry = entry_for(state, i)
    return json_response(state.annotations.get(entry).to_json())


async def annotations_put(request: Request, i: str) -> HTTPResponse:
    """``PUT /api/file/{i}/annotations``: replace the file's ROIs; answer the canonical set."""
    state = app_state(request)
    payload = json_body(request)
    entry = entry_for(state, i)
    roi_set = state.annotations.replace(entry, payload)
    state.roi_changed()  # counts the edit; rewrites --save-annotations (atomically)
    return json_response(roi_set.to_json())


async def annotations_export(request: Request) -> HTTPResponse:
    """``GET /api/annotations/export.csv``: every loaded file that has ROIs."""
    state = app_state(request)
    body = await asyncio.get_running_loop().run_in_executor(
        state.pool, state.annotations.export_csv, state.registry.entries()
    )
    if not flag_arg(request, "peek"):  # a script's read (?peek=1) saves nothing for the user
        state.roi_exported()  # the edits so far are exported: no recovery file for them
    return raw(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dcmview-annotations.csv"'},
    )


ROUTES = (
    Route("GET", "/api/file/<i:str>/annotations", annotations_get),
    Route("PUT", "/api/file/<i:str>/annotations", annotations_put),
    Route("GET", "/api/annotations/export.csv", annotations_export),
)
