"""The HTTP endpoints of ``docs/api.md``: one module per resource, each a table of handlers.

Each module holds small module-level ``async`` handlers and ``ROUTES`` (a tuple of `Route`);
`register` adds every module in `MODULES` to the app. A new resource is a new module here,
listed in `MODULES` (before `static`, whose catch-all route comes last).
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from dcmview_server.routes import (
    files,
    frames,
    measurements,
    overlays,
    rois,
    series,
    static,
    tags,
)
from dcmview_server.routes.base import Route

MODULES = (files, frames, tags, rois, measurements, series, overlays, static)


def register(app: Sanic[Any, Any]) -> None:
    """Add the routes of every module in `MODULES` to ``app``."""
    for module in MODULES:
        routes: tuple[Route, ...] = module.ROUTES
        for route in routes:
            app.add_route(route.handler, route.path, methods=[route.method], name=route.name)
