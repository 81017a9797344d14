"""`create_app(config)`: the Sanic application of ``docs/api.md`` (no global app).

The routes live in `dcmview_server.routes` (one module per resource); the request gate and the
response stamp in `dcmview_server.middleware`; every error becomes ``{"code", "error"}`` in
`dcmview_server.errors`. This module only wires them to one Sanic instance.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import os
import threading
from typing import Any

from sanic import Request, Sanic
from sanic.config import Config
from sanic.http import Http
from sanic.response import HTTPResponse
from sanic.touchup.schemes import BaseScheme

from dcmview_server import routes
from dcmview_server.config import ServerConfig
from dcmview_server.errors import DcmviewErrorHandler
from dcmview_server.middleware import guard, stamper
from dcmview_server.responses import stamp_timing
from dcmview_server.state import AppState

MAX_BODY = 2 * 2**20
REQUEST_TIMEOUT = 30.0
"""Seconds a client may take to send its request (headers and body)."""
RESPONSE_TIMEOUT = 120.0
KEEP_ALIVE_TIMEOUT = 5.0
GRACEFUL_SHUTDOWN_TIMEOUT = 1.5
_app_ids = itertools.count()
_touchup_lock = threading.Lock()


class _App(Sanic[Any, Any]):
    """Sanic with its TouchUp applied once per process.

    TouchUp rewrites Sanic's request-path classes (process-wide) to drop the dispatch of every
    signal no handler listens to: a quarter of the CPU of a cached-frame request. Every app of
    ours listens to the same signals, so the first server's rewrite serves all later ones; a
    second rewrite of already rewritten code fails, hence once per process.
    """

    async def _startup(self) -> None:
        with _touchup_lock:  # Sanic's _startup never suspends: the lock spans no real await
            self.config.TOUCHUP = not getattr(Http, "__touched__", False)
            await super()._startup()  # type: ignore[no-untyped-call]


class _NoAltSvc(BaseScheme):  # type: ignore[no-untyped-call]  # (Sanic registers it)
    """Drop the empty ``alt-svc`` header Sanic's HTTP/1 writer adds to every response.

    Sanic removes it only when its own TouchUp finds exactly one server at start; ours are made
    with ``create_server``, so it finds none and the header stayed. This scheme (registered
    with Sanic's TouchUp on import) removes the assignment when the request path is rewritten.
    """

    ident = "DCMVIEW_NO_ALTSVC"

    def visitors(self) -> list[ast.NodeTransformer]:
        """The one rewrite: delete ``headers["alt-svc"] = …``."""
        return [_DropAltSvc()]


class _DropAltSvc(ast.NodeTransformer):
    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value == "alt-svc"
            ):
                return None
        return node


def _sanic_config() -> Config:
    config = Config()
    config.REQUEST_MAX_SIZE = MAX_BODY
    config.update(
        {
            "REQUEST_TIMEOUT": REQUEST_TIMEOUT,
            "RESPONSE_TIMEOUT": RESPONSE_TIMEOUT,
            "KEEP_ALIVE_TIMEOUT": KEEP_ALIVE_TIMEOUT,
        }
    )
    config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_TIMEOUT
    config.NOISY_EXCEPTIONS = False
    config.ACCESS_LOG = False
    config.AUTO_EXTEND = False
    config.AUTO_RELOAD = False
    config.MOTD = False
    config.TOUCHUP = False  # decided per process at server start: see `_App._startup`
    config.FALLBACK_ERROR_FORMAT = "json"
    config.REAL_IP_HEADER = None
    return config


def create_app(config: ServerConfig, state: AppState | None = None) -> Sanic[Any, Any]:
    """Build the app for ``config`` (or for an already validated ``state``).

    The background scan starts when the server starts (``before_server_start``). Raises
    `ConfigError` for a bad filter or a structurally bad annotations CSV.
    """
    if state is None:
        state = AppState.build(config)
    app: Sanic[Any, Any] = _App(
        f"dcmview-{os.getpid()}-{next(_app_ids)}",
        config=_sanic_config(),
        error_handler=DcmviewErrorHandler(),
        strict_slashes=True,
        configure_logging=False,
    )
    app.ctx.state = state
    decorate = stamper(str(state.server_start_ms))
    app.ctx.decorate_response = decorate  # also used by `routes.base.stream` and the errors

    @app.on_request
    async def _guard(request: Request) -> None:
        guard(state, request)

    @app.signal("http.lifecycle.response")
    async def _stamp(request: Request, response: HTTPResponse) -> None:
        if getattr(request.ctx, "streamed", False):
            return  # `routes.base.stream` stamped it before sending its headers
        decorate(response)
        stamp_timing(request, response)

    @app.before_server_start
    async def _start(app: Sanic[Any, Any]) -> None:
        state.start(asyncio.get_running_loop())

    @app.after_server_start
    async def _services(app: Sanic[Any, Any]) -> None:
        # Overlay metadata (SEG/RTSTRUCT headers) is read as the scan finds the files, not at
        # the viewer's first request; imported here so start-up does not pay for it earlier.
        from dcmview_server.overlays import overlay_service

        overlay_service(state)

    @app.after_server_stop
    async def _stop(app: Sanic[Any, Any]) -> None:
        state.close()

    routes.register(app)
    return app
