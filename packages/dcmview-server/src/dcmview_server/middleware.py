"""The two per-request hooks: the security gate before routing, the stamp on every response.

`guard` applies the rules of ``docs/api.md`` in order (Host, Origin, token) and resets the idle
timer; `stamper` builds the function that adds the security headers to every response, errors
and static files included, and removes any ``Access-Control-*`` header.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from sanic import Request
from sanic.response import HTTPResponse

from dcmview_server.errors import UNAUTHORIZED_MESSAGE, ApiError
from dcmview_server.responses import PreparedResponse, stamp_headers
from dcmview_server.routes.static import PUBLIC
from dcmview_server.security import check_bearer, origin_allowed

if TYPE_CHECKING:
    from dcmview_server.state import AppState

_CORS = "access-control-"


def absolute_form_authority(target: bytes) -> str | None:
    """The authority of an absolute-form request target (``GET http://host/path``), else None.

    Such a target overrides the Host header (RFC 9112 3.2.2), so it must pass the same check.
    """
    if target.startswith((b"/", b"*")):
        return None
    parts = urllib.parse.urlsplit(target.decode("latin-1"))
    return parts.netloc or ""


def guard(state: AppState, request: Request) -> None:
    """Raise `ApiError` for a request the security rules refuse; touch the idle timer."""
    request.ctx.started = time.perf_counter()
    method = request.method
    if method == "NONE":
        # Sanic's stand-in for a request that never finished parsing (timeout, garbage):
        # there is nothing to authorize; the protocol error itself is answered.
        return
    headers = request.headers
    hosts = headers.getall("host", ())
    if len(hosts) > 1:
        raise ApiError("bad_request", "the request has more than one Host header")
    host = hosts[0] if hosts else None
    policy = state.host_policy
    target = request.raw_url
    if not target.startswith((b"/", b"*")):
        authority = absolute_form_authority(target)
        if authority is not None and not policy.allows(authority):
            raise ApiError(
                "forbidden_host",
                "the host in the request target is not allowed (DNS-rebinding defence)",
            )
    if not policy.allows(host) and not (state.unix_socket and host is None):
        raise ApiError(
            "forbidden_host",
            "this Host header is not allowed (DNS-rebinding defence); use 127.0.0.1, "
            "localhost or add the name with --allow-host",
        )
    origin = headers.get("origin")
    if origin is not None and not origin_allowed(method, origin, host):
        raise ApiError(
            "forbidden_origin", "cross-origin requests may not change anything on this server"
        )
    route = request.route
    public, page = _route_kind(route.name) if route is not None else (False, False)
    path = request.path
    decoded = urllib.parse.unquote(path) if "%" in path else path
    if not public or decoded.startswith("/api"):
        token = state.token
        if token is not None and not check_bearer(headers.get("authorization"), token):
            raise ApiError("unauthorized", UNAUTHORIZED_MESSAGE, {"WWW-Authenticate": "Bearer"})
        if decoded.startswith("/api/"):
            state.touch()
    elif page:
        state.touch()


@functools.lru_cache(maxsize=256)
def _route_kind(route_name: str) -> tuple[bool, bool]:
    """(public viewer route, viewer page) for a Sanic route name (``<app>.<handler>``)."""
    name = route_name.rsplit(".", 1)[-1]
    return name in PUBLIC, name in ("index", "index_html")


def stamper(instance: str) -> Callable[[HTTPResponse], None]:
    """The function that stamps one response of the server instance ``instance``."""
    stamp = stamp_headers(instance)
    fixed = {name: stamp.pop(name) for name in ("X-Content-Type-Options", "X-Server-Instance")}

    def decorate(response: HTTPResponse) -> None:
        if type(response) is PreparedResponse:
            return  # its encoded headers hold the stamp (`responses.prepared`) and no CORS header
        headers = response.headers
        headers.update(fixed)
        for name, value in stamp.items():
            headers.setdefault(name, value)
        # No CORS, ever. (The first-letter test spares lower-casing every X-Frame-* name.)
        for name in [h for h in headers if h[:1] in "aA" and h.lower().startswith(_CORS)]:
            del headers[name]

    return decorate
