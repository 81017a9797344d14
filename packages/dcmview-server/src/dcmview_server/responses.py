"""Small response helpers shared by the routes."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator, Mapping
from itertools import chain
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse
from sanic.response.types import HEADER_TRANSLATION_TABLE

HeaderBlock = tuple[tuple[bytes, bytes], ...]
"""Response headers encoded as Sanic's HTTP/1 writer sends them: (name, value) byte pairs."""
_CORS = "access-control-"
_ESCAPE = "surrogateescape"


def json_bytes(value: Any) -> bytes:
    """Compact JSON encoding used for every API body.

    Paths are made printable before they get here (`serialize.shown_path`); any other text that
    still holds a lone surrogate is written as a ``\\udcXX`` escape rather than failing the
    whole response."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def stamp_timing(request: Request, response: HTTPResponse) -> None:
    """``Server-Timing: app;dur=<ms>`` since the request gate saw the request."""
    started = getattr(request.ctx, "started", None)
    if started is not None:
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"


def encode_headers(headers: Mapping[str, object]) -> HeaderBlock:
    """``headers`` encoded exactly as Sanic encodes a response's headers (CR, LF and NUL
    removed; names ASCII, values UTF-8 with surrogate escapes), without ``Access-Control-*``."""
    return tuple(_encoded(headers))


def _encoded(headers: Mapping[str, object]) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in headers.items():
        if name[:1] in "aA" and name.lower().startswith(_CORS):
            continue
        out.append((_clean(name).encode("ascii"), _clean(f"{value}").encode(errors=_ESCAPE)))
    return out


def _clean(text: str) -> str:
    # Sanic's sanitising (`str.translate` with its table) for the rare text that needs it: the
    # three membership tests cost a fifth of the translation
    if "\r" in text or "\n" in text or "\0" in text:
        return text.translate(HEADER_TRANSLATION_TABLE)
    return text


class PreparedResponse(HTTPResponse):
    """A response whose headers are encoded already (a cached frame's, the stamp of
    `middleware.stamper` and the content type, in ``fixed``), sent in one block with its body.

    Only what is set per request (``Server-Timing``, Sanic's ``content-length`` and
    ``connection``) is still encoded per response. The stamp leaves it alone (``fixed`` holds
    the stamp headers: build it with `prepared`)."""

    __slots__ = ("fixed",)

    def __init__(self, body: bytes | memoryview, fixed: HeaderBlock, content_type: str) -> None:
        super().__init__(body, content_type=content_type)
        self.fixed = fixed

    @property
    def processed_headers(self) -> Iterator[tuple[bytes, bytes]]:
        """``fixed``, then the headers set on this response since it was made."""
        return chain(self.fixed, _encoded(self.headers))


def stamp_headers(instance: str) -> dict[str, str]:
    """The headers `middleware.stamper` gives every response of server instance ``instance``
    (unless the route set ``Referrer-Policy`` or ``Cache-Control`` itself)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Server-Instance": instance,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def prepared(
    instance: int | str, body: bytes | memoryview, content_type: str, headers: HeaderBlock
) -> PreparedResponse:
    """A `PreparedResponse` of ``body`` with the encoded ``headers``, the content type and the
    stamp of server instance ``instance`` (what `middleware.stamper` would add)."""
    return PreparedResponse(body, headers + _stamp_block(instance, content_type), content_type)


async def stream_prepared(request: Request, response: PreparedResponse, body: memoryview) -> None:
    """Send ``response``'s headers, then ``body`` behind them without first copying it there
    (`prepared` with an empty body; a one-block response would concatenate header and body)."""
    response.headers["content-length"] = str(len(body))
    await request.respond(response)
    stamp_timing(request, response)
    request.ctx.streamed = True  # stamped: the response signal that follows has nothing to do
    await response.send(b"", end_stream=False)  # headers only
    await response.send(body, end_stream=True)  # type: ignore[type-var]  # any buffer works


@functools.lru_cache(maxsize=64)
def _stamp_block(instance: int | str, content_type: str) -> HeaderBlock:
    return encode_headers({**stamp_headers(str(instance)), "content-type": content_type})
