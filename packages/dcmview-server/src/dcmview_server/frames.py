"""`FrameService`: frames, PNGs, thumbnails, overlays and tags, computed off the event loop.

- CPU work (decode, window, encode, tag trees) runs in the worker pool sized to the cores,
  except a request's small native frame (`INLINE_FRAME_BYTES`): read (`read_frame_inline`:
  no pydicom, no codec, local files only) and encoded on the event loop, where the pool hop
  would cost more than the work.
- Concurrent requests for the same result share one computation (`SharedWork`).
- Decoded frames and encoded results live in dcmview-core's byte-budgeted caches, which share
  ``--cache-budget``; cache access happens on the event loop only.
- Sequential frame requests prefetch ahead (`prefetch.Prefetcher`: the policy lives there).

A new resource that computes something per file reuses `FrameService.computed` (pool, sharing
and the byte-budgeted cache in one call) with a key that starts with its own name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from typing import Any, TypeVar

import numpy as np
from dcmview_core import (
    ByteBudgetCache,
    CacheView,
    FileEntry,
    Frame,
    TagNotFound,
    TagReadError,
    UpstreamError,
    UsageError,
    encode_png,
    encode_thumbnail_jpeg,
    frame_nbytes,
    overlay_mask,
    read_frame,
    read_frame_inline,
    render_display,
    select_tag,
    tag_tree,
)

from dcmview_server.errors import ApiError
from dcmview_server.inflight import SharedWork
from dcmview_server.keys import RAW, DisplayKey, Kind, frame_key, png_key
from dcmview_server.prefetch import PROTECTED_FRACTION, Prefetcher
from dcmview_server.responses import HeaderBlock, encode_headers

T = TypeVar("T")
Rendered = tuple[bytes, dict[str, str]]
"""An encoded image and the headers describing how it was rendered."""
INLINE_FRAME_BYTES = 1 << 17
"""A request's uncached native frame up to this size (as `frame_nbytes` counts it; 256×256
16-bit) is read on the event loop. Measured per first frame of a file (FrameService alone, one
caller): for 64×64 16-bit the pool hop costs the loop as much CPU as the read itself (0.15 ms)
and the process 0.25 ms more in all; for 512×512 it saves 0.3 ms of CPU but adds 0.3 ms to the
loop, which several clients share (the loop is the server's bottleneck), so larger frames and
prefetches use the pool."""
INLINE_PNG_BYTES = 1 << 15
"""A request's display PNG of a frame up to this size (samples; 128×128 16-bit) is encoded on
the loop: at 128×128 that adds 0.1 ms to the loop and saves 0.6 ms of CPU; at 512×512 it would
add 0.85 ms to the loop."""


class FrameService:
    """Decoded frames and encoded images for the routes, with sharing, caching and prefetch."""

    def __init__(self, pool: Executor, budget: int, workers: int, *, inline: bool = True) -> None:
        self.pool = pool
        self.inline = inline
        """Whether small frames are read and encoded on the loop (`INLINE_FRAME_BYTES`)."""
        self.work = SharedWork(pool)
        self.cache = ByteBudgetCache(budget, protected_fraction=PROTECTED_FRACTION)
        self.frames: CacheView[Frame] = self.cache.view("frame")
        self.encoded: CacheView[Any] = self.cache.view("encoded")
        self.prefetch = Prefetcher(budget, workers, self.fetch, self.is_cached, self.touch)
        self._blocks = BlockMemo()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by `AppState.start` with the server's loop (the service needs none stored)."""

    # ---- the one compute-and-cache helper ------------------------------------------------------

    async def computed(
        self,
        key: Hashable,
        fn: Callable[..., T],
        *args: Any,
        size: Callable[[T], int] | None = None,
    ) -> T:
        """``fn(*args)`` computed once in the pool, shared by concurrent callers and cached
        under ``key`` in the byte-budgeted cache (``size`` estimates bytes; default: measured).

        ``key`` must start with the resource's name, e.g. ``("thumb", file, frame, size)``."""
        cached = self.encoded.get(key)
        if cached is not None:
            hit: T = cached
            return hit

        def store(value: T) -> None:
            self.encoded.put(key, value, size(value) if size is not None else None)

        result: T = await self.work.run(key, lambda: fn(*args), store)
        return result

    # ---- decoded frames ------------------------------------------------------------------------

    async def frame(
        self, entry: FileEntry, index: int, *, requested: bool = False
    ) -> tuple[Frame, bool]:
        """The decoded frame and whether it came from the cache (``requested``: for a request,
        not a prefetch; then a small native frame is read on the loop unless a worker is
        already reading it)."""
        key = frame_key(entry.index, index)
        cached = self.frames.get(key)
        if cached is not None:
            return cached, True
        decode_key = ("decode", *key)
        small = self.inline and frame_nbytes(entry) <= INLINE_FRAME_BYTES
        if requested and small and not self.work.is_running(decode_key):
            read = _read_inline(entry, index)
            if read is not None:
                self.frames.put(key, read)
                return read, False
        frame: Frame = await self.work.run(
            decode_key, lambda: _read(entry, index), lambda f: self.frames.put(key, f)
        )
        return frame, False

    async def _png(
        self, entry: FileEntry, index: int, display: DisplayKey, *, requested: bool = False
    ) -> Rendered:
        key = png_key(entry.index, index, display)
        cached = self.encoded.get(key)
        if cached is not None:
            hit: Rendered = cached
            return hit
        frame, _ = await self.frame(entry, index, requested=requested)
        small = self.inline and frame.nbytes <= INLINE_PNG_BYTES
        if requested and small and not self.work.is_running(key):
            rendered = render_png(frame, display)
            self.encoded.put(key, rendered, len(rendered[0]) + 256)
            return rendered
        result: Rendered = await self.work.run(
            key,
            lambda: render_png(frame, display, self.pool),
            lambda r: self.encoded.put(key, r, len(r[0]) + 256),
        )
        return result

    # ---- what a prefetcher needs (public: a stack prefetcher reuses them) ---------------------

    async def fetch(self, entry: FileEntry, index: int, kind: Kind) -> bool:
        """Compute frame ``index`` as ``kind`` unless cached; True when it computed it."""
        if kind == RAW:
            if self.frames.get(frame_key(entry.index, index)) is not None:
                return False
            await self.frame(entry, index)
            return True
        if self.encoded.get(png_key(entry.index, index, kind)) is not None:
            return False
        await self._png(entry, index, kind)
        return True

    def is_cached(self, file_index: int, index: int, kind: Kind) -> bool:
        """Whether the frame is cached as ``kind`` (no promotion in the cache)."""
        if kind == RAW:
            return frame_key(file_index, index) in self.frames
        return png_key(file_index, index, kind) in self.encoded

    def touch(self, file_index: int, index: int, kind: Kind) -> None:
        """Access the cached frame once more (promotes it to the protected segment)."""
        if kind == RAW:
            self.frames.get(frame_key(file_index, index))
        else:
            self.encoded.get(png_key(file_index, index, kind))

    # ---- responses -----------------------------------------------------------------------------

    async def raw(self, entry: FileEntry, index: int) -> tuple[memoryview, dict[str, str]]:
        """``/raw`` body (little-endian samples, zero-copy view) and its ``X-Frame-*`` headers."""
        body, frame, hit = await self.raw_frame(entry, index)
        return body, {"X-Cache": "HIT" if hit else "MISS", **raw_headers(frame)}

    async def raw_frame(self, entry: FileEntry, index: int) -> tuple[memoryview, Frame, bool]:
        """`raw`'s body with its frame and whether it was cached (the headers: `raw_block`)."""
        self.prefetch.before(entry, index, RAW)
        frame, hit = await self.frame(entry, index, requested=True)
        self.prefetch.after(entry, index, RAW)
        samples = frame.samples
        if samples.dtype.byteorder == ">":
            samples = samples.astype(samples.dtype.newbyteorder("<"))
        samples = np.ascontiguousarray(samples)
        return samples.data.cast("B"), frame, hit

    def raw_block(self, frame: Frame) -> HeaderBlock:
        """`raw_headers` of ``frame``, encoded once per frame metadata (`encode_headers`)."""
        return self._blocks.get(frame.meta, lambda: raw_headers(frame))

    async def display(self, entry: FileEntry, index: int, display: DisplayKey) -> Rendered:
        """The display PNG and its headers (``X-Cache``, ``X-Frame-Window-*``)."""
        (body, headers), hit = await self.display_rendered(entry, index, display)
        return body, {**headers, "X-Cache": "HIT" if hit else "MISS"}

    async def display_rendered(
        self, entry: FileEntry, index: int, display: DisplayKey
    ) -> tuple[Rendered, bool]:
        """The cached (or new) `Rendered` PNG, and whether it was cached (headers without
        ``X-Cache``; encoded: `display_block`)."""
        hit = png_key(entry.index, index, display) in self.encoded
        self.prefetch.before(entry, index, display)
        rendered = await self._png(entry, index, display, requested=True)
        self.prefetch.after(entry, index, display)
        return rendered, hit

    def display_block(self, rendered: Rendered) -> HeaderBlock:
        """The ``X-Frame-Window-*`` headers of a `Rendered` PNG, encoded once per PNG."""
        return self._blocks.get(rendered[1], lambda: rendered[1])

    async def thumbnail(self, entry: FileEntry, index: int, size: int) -> bytes:
        """A JPEG of the frame with the default window, longest edge ≤ ``size``."""
        key = ("thumb", entry.index, index, size)
        cached: bytes | None = self.encoded.get(key)
        if cached is not None:
            return cached
        frame, _ = await self.frame(entry, index, requested=True)
        if self.inline and frame.nbytes <= INLINE_PNG_BYTES and not self.work.is_running(key):
            body = _render_thumbnail(frame, size)  # a small frame: on the loop, as its PNG
            self.encoded.put(key, body)
            return body
        return await self.computed(key, _render_thumbnail, frame, size)

    async def overlay(self, entry: FileEntry, index: int) -> Rendered:
        """The frame's overlay planes merged into one byte per pixel (0/1)."""
        frame, _ = await self.frame(entry, index)
        if not frame.meta.overlays:
            raise ApiError("no_overlay", f"frame {index} of file {entry.index} has no overlay")
        body: bytes = await self.work.run(
            ("overlay", entry.index, index), lambda: overlay_mask(frame).tobytes()
        )
        headers = {"X-Frame-Rows": str(frame.meta.rows), "X-Frame-Columns": str(frame.meta.columns)}
        return body, headers

    async def tags(self, entry: FileEntry) -> list[dict[str, Any]]:
        """The file's ``TagNode[]`` preview tree (cached: a few KiB, counted as 32 KiB)."""
        return await self.computed(
            ("tags", entry.index), _tag_tree, entry.path, size=lambda _nodes: 32_768
        )

    async def tags_body(
        self,
        entry: FileEntry,
        encode: Callable[[list[dict[str, Any]]], bytes],
        variant: Hashable,
    ) -> bytes:
        """The preview tree as a response body: ``encode(tree)`` (the route's masking and JSON)
        computed in the pool once per file and ``variant``, and cached as those bytes (counted
        at their length), so a repeated request encodes nothing."""

        def body() -> bytes:
            return encode(_tag_tree(entry.path))

        return await self.computed(
            ("tags_body", entry.index, variant), body, size=lambda b: len(b) + 256
        )

    async def select_tag(
        self, entry: FileEntry, tag_path: str, offset: int, limit: int
    ) -> dict[str, Any]:
        """One ``TagNode`` at full depth, sequence items paged."""
        key = ("tag", entry.index, tag_path, offset, limit)
        try:
            node: dict[str, Any] = await self.work.run(
                key, lambda: select_tag(entry.path, tag_path, offset=offset, limit=limit)
            )
        except UpstreamError:
            raise  # a remote source failed: 502 (errors._translate)
        except (UsageError, ValueError) as error:
            raise ApiError("invalid_query", f"bad tag path {tag_path[:80]!r}: {error}") from error
        except TagNotFound as error:
            raise ApiError("not_found", f"no element at {tag_path[:80]!r}: {error}") from error
        except (TagReadError, OSError) as error:
            raise ApiError("tag_read_failed", f"the header could not be read: {error}") from error
        return node

    def close(self) -> None:
        """Cancel pending prefetches."""
        self.prefetch.close()


class BlockMemo:
    """Encoded header blocks of the last objects they were made from, by identity.

    A cached frame or PNG answers again and again with the same headers: encoding them
    (Sanic's sanitising and ASCII encoding, per header) is done once per frame metadata or
    `Rendered` PNG. Entries hold their source, so an identity is never reused while listed.
    Event loop only."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, HeaderBlock]] = {}

    def get(self, source: object, headers: Callable[[], dict[str, str]]) -> HeaderBlock:
        """The block of ``headers()`` for ``source`` (computed on the first call)."""
        hit = self._memo.get(id(source))
        if hit is not None and hit[0] is source:
            return hit[1]
        block = encode_headers(headers())
        if len(self._memo) >= self.LIMIT:
            self._memo.clear()
        self._memo[id(source)] = (source, block)
        return block


def _num(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def raw_headers(frame: Frame) -> dict[str, str]:
    """The ``X-Frame-*`` headers of a raw frame (``docs/api.md``, "Raw frames")."""
    m = frame.meta
    headers = {
        "X-Frame-Rows": str(m.rows),
        "X-Frame-Columns": str(m.columns),
        "X-Frame-Bits-Allocated": str(m.bits_allocated),
        "X-Frame-Bits-Stored": str(m.bits_stored),
        "X-Frame-Pixel-Representation": str(m.pixel_representation),
        "X-Frame-Samples-Per-Pixel": str(m.samples_per_pixel),
        "X-Frame-Photometric-Interpretation": m.photometric_interpretation,
        "X-Frame-Sample-Format": m.sample_format,
        "X-Frame-Rescale-Slope": _num(m.rescale_slope),
        "X-Frame-Rescale-Intercept": _num(m.rescale_intercept),
        "X-Frame-Voi-Lut-Function": m.voi_lut_function,
        "X-Frame-Has-Overlay": "1" if m.overlays else "0",
    }
    window = m.default_window
    if window is not None:
        headers["X-Frame-Default-Wc"] = _num(window.center)
        headers["X-Frame-Default-Ww"] = _num(window.width)
    return headers


def _read(entry: FileEntry, index: int) -> Frame:
    return _translated(read_frame, entry, index)


def _read_inline(entry: FileEntry, index: int) -> Frame | None:
    return _translated(read_frame_inline, entry, index)


def _translated(read: Callable[[FileEntry, int], T], entry: FileEntry, index: int) -> T:
    try:
        return read(entry, index)
    except UpstreamError:
        raise  # a remote source failed: 502 (errors._translate), not a local read error
    except OSError as error:  # the file changed or vanished since the scan
        raise ApiError(
            "pixel_decode_failed", f"the file can no longer be read: {error.strerror or error}"
        ) from error


def _tag_tree(path: str) -> list[dict[str, Any]]:
    try:
        return tag_tree(path)
    except UpstreamError:
        raise
    except (TagReadError, OSError) as error:
        raise ApiError("tag_read_failed", f"the header could not be read: {error}") from error


def render_png(frame: Frame, display: DisplayKey, pool: Executor | None = None) -> Rendered:
    """The display PNG of ``frame`` rendered as ``display``, and its ``X-Frame-Window-*``."""
    shown = render_display(frame, center=display.center, width=display.width, mode=display.mode)
    headers: dict[str, str] = {}
    if shown.is_linear and shown.window is not None:
        headers["X-Frame-Window-Center"] = _num(shown.window.center)
        headers["X-Frame-Window-Width"] = _num(shown.window.width)
    if shown.function is not None:
        headers["X-Frame-Voi-Lut-Function"] = shown.function
    headers["X-Frame-Window-Source"] = shown.source
    # a free worker deflates half of the PNG (a busy pool costs nothing: see encode_png)
    return encode_png(shown.image, executor=pool), headers


def _render_thumbnail(frame: Frame, size: int) -> bytes:
    display = render_display(frame, center=None, width=None, mode="default")
    return encode_thumbnail_jpeg(display.image, size)
