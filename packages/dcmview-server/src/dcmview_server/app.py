"""`create_app(config)`: the Sanic application of ``docs/api.md`` (no global app).

One request middleware applies the security rules in order (Host, Origin, token); one signal
handler stamps ``X-Content-Type-Options`` and ``X-Server-Instance`` on every response, errors
and static files included; one error handler renders every error as ``{"code", "error"}``.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import os
import threading
import time
import urllib.parse
from typing import Any

from sanic import Request, Sanic
from sanic.config import Config
from sanic.http import Http
from sanic.response import HTTPResponse, html, raw

from dcmview_server import routes
from dcmview_server.config import ServerConfig
from dcmview_server.errors import UNAUTHORIZED_MESSAGE, ApiError, DcmviewErrorHandler
from dcmview_server.security import (
    MISSING_VIEWER_PAGE,
    check_bearer,
    origin_allowed,
)
from dcmview_server.state import AppState

PUBLIC_ROUTES = frozenset({"index", "index_html", "static_file"})
MAX_BODY = 2 * 2**20
REQUEST_TIMEOUT = 30.0
"""Seconds a client may take to send its request (headers and body)."""
RESPONSE_TIMEOUT = 120.0
KEEP_ALIVE_TIMEOUT = 5.0
GRACEFUL_SHUTDOWN_TIMEOUT = 1.5
_app_ids = itertools.count()
_touchup_lock = threading.Lock()
_CORS = "access-control-"


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


def _absolute_form_authority(target: bytes) -> str | None:
    """The authority of an absolute-form request target (``GET http://host/path``), else None.

    Such a target overrides the Host header (RFC 9112 3.2.2), so it must pass the same check.
    """
    if target.startswith((b"/", b"*")):
        return None
    parts = urllib.parse.urlsplit(target.decode("latin-1"))
    return parts.netloc or ""


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
    instance = str(state.server_start_ms)

    def decorate(response: HTTPResponse) -> None:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Server-Instance"] = instance
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cache-Control", "no-store")
        # No CORS, ever. (The first-letter test spares lower-casing every X-Frame-* name.)
        for name in [h for h in headers if h[:1] in "aA" and h.lower().startswith(_CORS)]:
            del headers[name]

    app.ctx.decorate_response = decorate

    @app.signal("http.lifecycle.response")
    async def _stamp(request: Request, response: HTTPResponse) -> None:
        if getattr(request.ctx, "streamed", False):
            return  # `routes._stream` stamped it before sending its headers
        decorate(response)
        started = getattr(request.ctx, "started", None)
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"

    @app.on_request
    async def _security(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        if request.method == "NONE":
            # Sanic's stand-in for a request that never finished parsing (timeout, garbage):
            # there is nothing to authorize; the protocol error itself is answered.
            return
        hosts = request.headers.getall("host", [])
        if len(hosts) > 1:
            raise ApiError("bad_request", "the request has more than one Host header")
        host = hosts[0] if hosts else None
        authority = _absolute_form_authority(request.raw_url)
        if authority is not None and not state.host_policy.allows(authority):
            raise ApiError(
                "forbidden_host",
                "the host in the request target is not allowed (DNS-rebinding defence)",
            )
        if not state.host_policy.allows(host) and not (state.unix_socket and host is None):
            raise ApiError(
                "forbidden_host",
                "this Host header is not allowed (DNS-rebinding defence); use 127.0.0.1, "
                "localhost or add the name with --allow-host",
            )
        if not origin_allowed(request.method, request.headers.get("origin"), host):
            raise ApiError(
                "forbidden_origin", "cross-origin requests may not change anything on this server"
            )
        route = request.route
        public = route is not None and route.name.rsplit(".", 1)[-1] in PUBLIC_ROUTES
        decoded = urllib.parse.unquote(request.path)
        if decoded.startswith("/api") or not public:
            if state.token is not None and not check_bearer(
                request.headers.get("authorization"), state.token
            ):
                raise ApiError("unauthorized", UNAUTHORIZED_MESSAGE, {"WWW-Authenticate": "Bearer"})
            if decoded.startswith("/api/"):
                state.touch()
        elif route is not None and route.name.endswith(("index", "index_html")):
            state.touch()

    @app.before_server_start
    async def _start(app: Sanic[Any, Any]) -> None:
        state.start(asyncio.get_running_loop())

    @app.after_server_stop
    async def _stop(app: Sanic[Any, Any]) -> None:
        state.close()

    # ---- static viewer ---------------------------------------------------------------------

    def _static(name: str) -> HTTPResponse:
        path = state.bundle.lookup(name)
        if path is None:
            raise ApiError("not_found", "no such file in the viewer build")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in {
            "application/javascript",
            "application/json",
            "image/svg+xml",
        }:
            content_type += "; charset=utf-8"
        cache = "public, max-age=31536000, immutable" if name.startswith("assets/") else "no-cache"
        return raw(path.read_bytes(), content_type=content_type, headers={"Cache-Control": cache})

    def _index() -> HTTPResponse:
        if not state.bundle.has_index:
            return html(MISSING_VIEWER_PAGE, headers={"Cache-Control": "no-cache"})
        return _static("index.html")

    @app.get("/", name="index")
    async def index(request: Request) -> HTTPResponse:
        return _index()

    @app.get("/index.html", name="index_html")
    async def index_html(request: Request) -> HTTPResponse:
        return _index()

    @app.get("/<name:path>", name="static_file")
    async def static_file(request: Request, name: str) -> HTTPResponse:
        if name.startswith("api/") or name == "api":
            raise ApiError("not_found", "no such API endpoint")
        return _static(name)

    routes.register(app, state)
    return app
