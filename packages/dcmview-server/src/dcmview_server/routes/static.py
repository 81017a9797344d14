"""The viewer build: ``/``, ``/index.html`` and ``/<file>`` (public: no DICOM data)."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING

from sanic import Request
from sanic.response import HTTPResponse, html, raw

from dcmview_server.errors import ApiError
from dcmview_server.routes.base import Route, app_state
from dcmview_server.security import MISSING_VIEWER_PAGE

if TYPE_CHECKING:
    from dcmview_server.state import AppState

_TEXT_TYPES = frozenset({"application/javascript", "application/json", "image/svg+xml"})


def _file(state: AppState, name: str) -> HTTPResponse:
    path = state.bundle.lookup(name)
    if path is None:
        raise ApiError("not_found", "no such file in the viewer build")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in _TEXT_TYPES:
        content_type += "; charset=utf-8"
    cache = "public, max-age=31536000, immutable" if name.startswith("assets/") else "no-cache"
    return raw(path.read_bytes(), content_type=content_type, headers={"Cache-Control": cache})


def _index(state: AppState) -> HTTPResponse:
    if not state.bundle.has_index:
        return html(MISSING_VIEWER_PAGE, headers={"Cache-Control": "no-cache"})
    return _file(state, "index.html")


async def index(request: Request) -> HTTPResponse:
    """``GET /``: the viewer page (or a page saying the build is missing)."""
    return _index(app_state(request))


async def index_html(request: Request) -> HTTPResponse:
    """``GET /index.html``: the same page."""
    return _index(app_state(request))


async def static_file(request: Request, name: str) -> HTTPResponse:
    """``GET /<name>``: a file of the build; unknown ``/api/…`` paths are API 404s."""
    if name.startswith("api/") or name == "api":
        raise ApiError("not_found", "no such API endpoint")
    return _file(app_state(request), name)


PUBLIC = frozenset({"index", "index_html", "static_file"})
"""Route names that need no token (the security middleware's allow-list)."""

ROUTES = (
    Route("GET", "/", index),
    Route("GET", "/index.html", index_html),
    Route("GET", "/<name:path>", static_file),
)
