"""What every route module shares: the route table entry, state lookup, path indices, bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dcmview_core import FileEntry
from sanic import Request
from sanic.response import HTTPResponse, raw

from dcmview_server.errors import ApiError
from dcmview_server.query import path_index
from dcmview_server.responses import json_bytes, stamp_timing

if TYPE_CHECKING:
    from dcmview_server.state import AppState

JSON = "application/json"
MAX_INDEX = 10**9
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: method, Sanic path pattern and handler (its name is the route name)."""

    method: str
    path: str
    handler: Handler

    @property
    def name(self) -> str:
        """The route name (used by the security middleware for the public viewer routes)."""
        return self.handler.__name__


def app_state(request: Request) -> AppState:
    """The server's `AppState` (set by `create_app`)."""
    state: AppState = request.app.ctx.state
    return state


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A compact JSON body (paths already made safe by `serialize`)."""
    return raw(json_bytes(value), status=status, content_type=JSON, headers=headers)


def entry_for(state: AppState, index_text: str) -> FileEntry:
    """The loaded file at path index ``{i}``, else ``404 not_found``."""
    index = path_index(index_text)
    entry = state.registry.get(index)
    if entry is None:
        raise ApiError("not_found", f"no loaded file with index {index}")
    return entry


def frame_for(entry: FileEntry, frame_text: str) -> int:
    """The frame at path index ``{f}`` of a file with pixels, else the documented 404s."""
    frame = path_index(frame_text, "frame")
    if not entry.has_pixels:
        raise ApiError("no_pixel_data", f"file {entry.index} has no pixel data")
    if frame >= entry.frame_count:
        raise ApiError(
            "frame_out_of_range",
            f"frame {frame} is out of range: file {entry.index} has "
            f"{entry.frame_count} frame(s), numbered from 0",
        )
    return frame


async def stream(
    request: Request, body: memoryview, content_type: str, headers: dict[str, str]
) -> None:
    """Send a large body after its headers, without first copying it behind them.

    (Sanic's one-block responses concatenate header and body: a 7 MB copy per frame.)
    """
    response = await request.respond(
        content_type=content_type, headers={**headers, "content-length": str(len(body))}
    )
    assert response is not None
    request.app.ctx.decorate_response(response)
    stamp_timing(request, response)
    request.ctx.streamed = True  # the response signal that follows has nothing left to stamp
    await response.send(b"", end_stream=False)  # headers only
    await response.send(body, end_stream=True)


def json_body(request: Request) -> Any:
    """A PUT's decoded JSON body: ``415`` unless it is ``application/json``, ``400`` when it does
    not parse (Sanic's ``request.json`` would parse any content type)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != JSON:
        raise ApiError(
            "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"
        )
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError("bad_request", f"the body is not valid JSON: {reason}") from error
