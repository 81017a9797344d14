"""The ``/api/`` endpoints of ``docs/api.md``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from dcmview_core.model import FileEntry
from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw

from dcmview_server import serialize
from dcmview_server._version import __version__
from dcmview_server.errors import ApiError
from dcmview_server.query import (
    choice_arg,
    int_arg,
    path_index,
    str_arg,
    window_args,
)
from dcmview_server.responses import json_bytes

if TYPE_CHECKING:
    from dcmview_server.state import AppState

JSON = "application/json"
MAX_INDEX = 10**9


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    return raw(json_bytes(value), status=status, content_type=JSON, headers=headers)


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``gzip;q=0`` does not)."""
    for part in header.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


async def _stream(
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
    started = getattr(request.ctx, "started", None)
    if started is not None:
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.3f}"
    request.ctx.streamed = True  # the response signal that follows has nothing left to stamp
    await response.send(b"", end_stream=False)  # headers only
    await response.send(body, end_stream=True)


def register(app: Sanic[Any, Any], state: AppState) -> None:
    """Add every API route to ``app``."""

    def entry_for(index_text: str) -> FileEntry:
        index = path_index(index_text)
        entry = state.registry.get(index)
        if entry is None:
            raise ApiError("not_found", f"no loaded file with index {index}")
        return entry

    def frame_for(entry: FileEntry, frame_text: str) -> int:
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

    @app.get("/api/health", name="health")
    async def health(request: Request) -> HTTPResponse:
        return _json(
            {
                "status": "ok",
                "viewer": {"name": "dcmview", "version": __version__},
                "file_count": len(state.registry),
                "server_start_ms": state.server_start_ms,
                "masked": state.masker is not None,
                "scan_complete": state.registry.complete,
            }
        )

    @app.get("/api/files", name="files")
    async def files(request: Request) -> HTTPResponse:
        since = int_arg(request, "since", 0, 0, MAX_INDEX)
        gzip_ok = accepts_gzip(request.headers.get("accept-encoding", ""))
        body, gzipped = serialize.files_response(state, since, gzip_ok)
        headers = {"Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return raw(body, content_type=JSON, headers=headers)

    @app.get("/api/presets", name="presets")
    async def presets(request: Request) -> HTTPResponse:
        return _json(serialize.presets())

    @app.get("/api/file/<i:str>/info", name="info")
    async def info(request: Request, i: str) -> HTTPResponse:
        entry = entry_for(i)
        extra = await state.frames.header_info(entry)
        return _json(serialize.info(entry, extra))

    @app.get("/api/file/<i:str>/frame/<f:str>", name="frame")
    async def frame(request: Request, i: str, f: str) -> None:
        entry = entry_for(i)
        wc, ww = window_args(request)
        mode = choice_arg(request, "mode", ("default", "full_dynamic"), "default")
        index = frame_for(entry, f)
        body, headers = await state.frames.display(entry, index, wc, ww, mode)
        await _stream(request, memoryview(body), "image/png", headers)

    @app.get("/api/file/<i:str>/frame/<f:str>/raw", name="frame_raw")
    async def frame_raw(request: Request, i: str, f: str) -> None:
        entry = entry_for(i)
        index = frame_for(entry, f)
        body, headers = await state.frames.raw(entry, index)
        await _stream(request, body, "application/octet-stream", headers)

    @app.get("/api/file/<i:str>/frame/<f:str>/overlay", name="frame_overlay")
    async def frame_overlay(request: Request, i: str, f: str) -> HTTPResponse:
        entry = entry_for(i)
        index = frame_for(entry, f)
        body, headers = await state.frames.overlay(entry, index)
        return raw(body, content_type="application/octet-stream", headers=headers)

    @app.get("/api/file/<i:str>/frame/<f:str>/thumbnail", name="frame_thumbnail")
    async def frame_thumbnail(request: Request, i: str, f: str) -> HTTPResponse:
        entry = entry_for(i)
        size = int_arg(request, "size", 256, 1, 1024)
        index = frame_for(entry, f)
        body = await state.frames.thumbnail(entry, index, size)
        return raw(body, content_type="image/jpeg")

    @app.get("/api/file/<i:str>/tags", name="tags")
    async def tags(request: Request, i: str) -> HTTPResponse:
        entry = entry_for(i)
        nodes = await state.frames.tags(entry)
        if state.masker is not None:
            nodes = state.masker.tags(nodes, entry.patient_id)
        return _json(nodes)

    @app.get("/api/file/<i:str>/tags/select", name="tags_select")
    async def tags_select(request: Request, i: str) -> HTTPResponse:
        entry = entry_for(i)
        tag_path = str_arg(request, "path")
        if not tag_path:
            raise ApiError("invalid_query", "path is required, e.g. path=(0008,1140)/0/(0008,1155)")
        offset = int_arg(request, "offset", 0, 0, MAX_INDEX)
        limit = int_arg(request, "limit", 64, 1, 10_000)
        node = await state.frames.select_tag(entry, tag_path, offset, limit)
        if state.masker is not None:
            node = state.masker.tag(node, entry.patient_id)
        return _json(node)

    @app.get("/api/file/<i:str>/annotations", name="annotations_get")
    async def annotations_get(request: Request, i: str) -> HTTPResponse:
        entry = entry_for(i)
        return _json(state.annotations.get(entry).to_json())

    @app.put("/api/file/<i:str>/annotations", name="annotations_put")
    async def annotations_put(request: Request, i: str) -> HTTPResponse:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            raise ApiError(
                "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"
            )
        entry = entry_for(i)
        try:
            payload = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise ApiError("bad_request", f"the body is not valid JSON: {reason}") from error
        roi_set = state.annotations.replace(entry, payload)
        return _json(roi_set.to_json())

    @app.get("/api/annotations/export.csv", name="annotations_export")
    async def annotations_export(request: Request) -> HTTPResponse:
        body = await asyncio.get_running_loop().run_in_executor(
            state.pool, state.annotations.export_csv, state.registry.entries()
        )
        return raw(
            body,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="dcmview-annotations.csv"'},
        )
