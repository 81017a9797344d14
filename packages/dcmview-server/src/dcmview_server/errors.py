"""The one JSON error shape and the one place exceptions become HTTP responses.

Every error the server sends is ``{"code": "<stable_snake_case>", "error": "<human sentence>"}``
(``docs/api.md``). Route code raises `ApiError` (or lets a dcmview-core `PixelError` through);
`DcmviewErrorHandler` translates everything else once, here. Unexpected exceptions are logged
with their traceback and answered ``500 internal`` without one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dcmview_core import (
    DecodeError,
    FrameOutOfRange,
    NoPixelData,
    PixelError,
    UnsupportedTransferSyntax,
    UpstreamError,
    display_path,
)
from sanic import Request
from sanic.exceptions import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    SanicException,
    ServiceUnavailable,
)
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, json

log = logging.getLogger("dcmview_server")

# Every stable code and its status: the table of docs/api.md, pinned by a test.
ERROR_CODES: dict[str, int] = {
    "invalid_query": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden_host": 403,
    "forbidden_origin": 403,
    "not_found": 404,
    "frame_out_of_range": 404,
    "no_pixel_data": 404,
    "no_overlay": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "payload_too_large": 413,
    "uri_too_long": 414,
    "unsupported_media_type": 415,
    "unsupported_transfer_syntax": 422,
    "pixel_decode_failed": 422,
    "tag_read_failed": 422,
    "not_monochrome": 422,
    "volume_too_large": 422,
    "internal": 500,
    "upstream_failed": 502,
    "unavailable": 503,
}

UNAUTHORIZED_MESSAGE = "missing or invalid access token: send Authorization: Bearer <token>"


class ApiError(Exception):
    """An error with a stable code; its status comes from `ERROR_CODES`."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = ERROR_CODES[code]
        self.message = message
        self.headers = headers or {}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> HTTPResponse:
    """Build the JSON error envelope for ``code`` (a path in the message shown by the one rule,
    `display_path`, so a name that is not UTF-8 can never break the envelope)."""
    body = {"code": code, "error": display_path(message)}
    return json(body, status=ERROR_CODES[code], headers=headers)


REQUEST_LINE_LIMIT = 4096
"""A request line (method, target with query, version) longer than this is ``414``."""


def _request_line_too_long(request: Request | None) -> bool:
    """Whether the request whose head overflowed Sanic's header limit has a long first line."""
    buffer = getattr(getattr(request, "stream", None), "recv_buffer", None)
    if not isinstance(buffer, bytes | bytearray):
        return False
    end = buffer.find(b"\r\n")
    return end == -1 or end > REQUEST_LINE_LIMIT


def _translate(exc: BaseException, request: Request | None = None) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PixelError):
        pixel_map: list[tuple[type[PixelError], str]] = [
            (UpstreamError, "upstream_failed"),  # a remote source failed: first (it is an OSError)
            (NoPixelData, "no_pixel_data"),
            (FrameOutOfRange, "frame_out_of_range"),
            (UnsupportedTransferSyntax, "unsupported_transfer_syntax"),
            (DecodeError, "pixel_decode_failed"),
        ]
        for cls, code in pixel_map:
            if isinstance(exc, cls):
                return ApiError(code, str(exc) or code.replace("_", " "))
        return ApiError("pixel_decode_failed", str(exc) or "the frame could not be decoded")
    if isinstance(exc, MethodNotAllowed):
        # Never echo request data (method or headers) back.
        allow = getattr(exc, "allowed_methods", None) or ()
        headers = {"Allow": ", ".join(sorted(allow))} if allow else None
        return ApiError("method_not_allowed", "this method is not allowed here", headers)
    if isinstance(exc, NotFound):
        return ApiError("not_found", "no such resource")
    if isinstance(exc, PayloadTooLarge) and "header" in str(exc):
        if _request_line_too_long(request):
            return ApiError("uri_too_long", "the request line (path and query) is too long")
        return ApiError("payload_too_large", "the request headers are too large")
    if isinstance(exc, PayloadTooLarge):
        return ApiError(
            "payload_too_large", "the request is too large (bodies are limited to 2 MiB)"
        )
    if isinstance(exc, RequestTimeout):
        return ApiError("request_timeout", "the request was not received in time")
    if isinstance(exc, ServiceUnavailable):
        return ApiError("unavailable", "the response took too long")
    if isinstance(exc, BadRequest):
        return ApiError("bad_request", "the request is malformed")
    if isinstance(exc, asyncio.CancelledError):  # the client went away (a closed tab): no bug
        return ApiError("unavailable", "the request was cancelled")
    if isinstance(exc, SanicException) and 400 <= exc.status_code < 500:
        return ApiError("bad_request", "the request could not be processed")
    return ApiError("internal", "internal server error")


def to_response(exc: BaseException, request: Request | None = None) -> HTTPResponse:
    """Translate any exception into the JSON error envelope (with the security headers)."""
    err = _translate(exc, request)
    if err.code == "internal":
        log.error("internal error", exc_info=exc)
    return error_response(err.code, err.message, err.headers)


class DcmviewErrorHandler(ErrorHandler):
    """Sanic error handler that answers every exception with the JSON envelope."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        """Render ``exception`` as ``{"code", "error"}`` with its stable status."""
        response = to_response(exception, request)
        hook: Any = getattr(request.app.ctx, "decorate_response", None)
        if hook is not None:
            hook(response)
        return response
