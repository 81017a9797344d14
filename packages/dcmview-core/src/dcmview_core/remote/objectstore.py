"""Object storage sources: ``s3://``, ``gs://`` and ``https://…`` objects read by byte range.

Through fsspec (s3fs, gcsfs, its HTTP filesystem): credentials from each library's standard
chain, an S3-compatible endpoint from ``--s3-endpoint`` or ``AWS_ENDPOINT_URL``. An object is a
`RangedObject`: small reads (header windows, 8-byte item headers of the fragment walk) are served
from aligned blocks kept in the process's one cache budget (``--cache-budget``, shared with the
decoded frames: `dcmview_core.cache.process_cache`); large reads (a frame) are one ranged
request, decoded and cached as a frame. Nothing ever reads a whole object, so the first frame
of a 2 GB object costs a few ranged requests. Listing yields names in key order and starts each
object's first-block read on a bounded pool, so header reads run concurrently while discovery
stays in order.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from dcmview_core.cache import ByteBudgetCache, process_cache
from dcmview_core.errors import UsageError
from dcmview_core.remote.errors import UpstreamError

BLOCK = 64 * 1024
"""Block of the small-read cache near the start (the header's windows fit in one or two)."""
SMALL_BLOCK = 4 * 1024
"""Block for small reads further in (8-byte item headers of the fragment walk)."""
HEAD = 4 * BLOCK
"""Where `BLOCK`-sized blocks end and `SMALL_BLOCK`-sized ones begin."""
BLOCK_CACHE_BYTES = 64 * 2**20
"""Budget of the blocks when no frame cache exists in the process (no server: a script)."""
PREFETCH_WORKERS = 8
PREFETCH_AHEAD = 64
_PROTOCOLS = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "http": "http", "https": "https"}
_EXTRAS = {"s3": "s3", "gcs": "gcs", "http": "s3", "https": "s3"}
_BACKENDS = {"s3": ("s3://", "s3fs"), "gcs": ("gs://", "gcsfs"), "http": ("http://", "aiohttp")}
_BACKENDS["https"] = ("https://", "aiohttp")
_GLOB = set("*?[")


class Settings:
    """Process-wide object-store settings (set by `configure`)."""

    s3_endpoint: str | None = None


settings = Settings()
_filesystems: dict[str, Any] = {}
_fs_lock = threading.Lock()


def protocol_of(name: str) -> str:
    """fsspec protocol for *name* (``s3``, ``gcs``, ``http``, ``https``)."""
    scheme = urlsplit(name).scheme.lower()
    try:
        return _PROTOCOLS[scheme]
    except KeyError:
        raise UsageError(f"no object store for {scheme}:// names") from None


def filesystem(protocol: str) -> Any:
    """The shared fsspec filesystem for *protocol* (created on first use)."""
    with _fs_lock:
        found = _filesystems.get(protocol)
        if found is not None:
            return found
        try:
            import fsspec  # type: ignore[import-untyped]

            kwargs: dict[str, Any] = {}
            if protocol == "s3":
                endpoint = settings.s3_endpoint or os.environ.get("AWS_ENDPOINT_URL")
                if endpoint:
                    kwargs["endpoint_url"] = endpoint
            fs = fsspec.filesystem(protocol, skip_instance_cache=True, **kwargs)
        except ImportError as exc:
            extra = _EXTRAS.get(protocol, protocol)
            scheme, package = _BACKENDS.get(protocol, (f"{protocol}://", "an fsspec backend"))
            missing = "fsspec" if exc.name == "fsspec" else package
            raise UsageError(
                f"{scheme} sources need {missing}: pip install 'dcmview-core[{extra}]'"
            ) from None
        if protocol == "gcs":
            _quiet_gcsfs()
        _filesystems[protocol] = fs
        return fs


def _quiet_gcsfs() -> None:
    """gcsfs warns per call when it cannot ask a bucket's type (anonymous or emulator access)
    and then reads it as usual: that warning alone is dropped."""
    import logging

    log = logging.getLogger("gcsfs")
    if not any(isinstance(f, _BucketTypeFilter) for f in log.filters):
        log.addFilter(_BucketTypeFilter())


class _BucketTypeFilter:
    def filter(self, record: Any) -> bool:
        return not str(record.msg).startswith("Could not determine bucket type")


def reset_filesystems() -> None:
    """Forget the filesystems and known objects (tests; settings take effect again)."""
    with _fs_lock:
        _filesystems.clear()
    with _objects_lock:
        _objects.clear()
    global _generation
    _generation += 1


def _upstream(name: str, exc: BaseException) -> UpstreamError:
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return UpstreamError(f"{name}: not found")
    if isinstance(exc, PermissionError):
        return UpstreamError(f"{name}: access denied (check the credentials)")
    return UpstreamError(f"{name}: {type(exc).__name__}: {exc}".splitlines()[0])


def _path(name: str) -> str:
    """The fsspec path of *name* (``bucket/key`` for s3/gcs, the URL for http)."""
    protocol = protocol_of(name)
    if protocol in ("http", "https"):
        return name
    return name.split("://", 1)[1]


_generation = 0
"""Part of every block key: `reset_filesystems` makes earlier blocks unreachable."""


def _block_cache() -> ByteBudgetCache:
    """Where blocks live: the process's one budget (`dcmview_core.cache.process_cache`: the
    server's ``--cache-budget``, shared with the frames), else a private `BLOCK_CACHE_BYTES`."""
    return process_cache(BLOCK_CACHE_BYTES)


class RangedObject:
    """One stored object read by byte range (thread-safe); ``version`` is its ETag."""

    __slots__ = ("_fs", "_path", "name", "size", "version")

    def __init__(self, name: str, size: int, version: object, fs: Any) -> None:
        self.name, self.size, self.version = name, size, version
        self._fs, self._path = fs, _path(name)

    def _fetch(self, start: int, end: int) -> bytes:
        try:
            return bytes(self._fs.cat_file(self._path, start=start, end=end))
        except Exception as exc:  # every backend raises its own types
            raise _upstream(self.name, exc) from None

    def _block(self, number: int, block: int = BLOCK) -> bytes:
        key = ("remote-block", _generation, self.name, self.version, block, number)
        cache = _block_cache()
        found: bytes | None = cache.get(key)
        if found is None:
            start = number * block
            found = self._fetch(start, min(start + block, self.size))
            cache.put(key, found, len(found) + 128)
        return found

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer only at the end of the object)."""
        end = min(offset + max(length, 0), self.size)
        if offset >= end:
            return b""
        block = BLOCK if offset < HEAD else SMALL_BLOCK
        if end - offset > block:
            return self._fetch(offset, end)  # a frame: one ranged request, not cached here
        first, last = offset // block, (end - 1) // block
        data = b"".join(self._block(n, block) for n in range(first, last + 1))
        return data[offset - first * block : end - first * block]

    def __repr__(self) -> str:
        return f"RangedObject({self.name!r}, size={self.size})"


_objects: dict[str, RangedObject] = {}
_objects_lock = threading.Lock()


def _scheme_name(scheme: str, path: str) -> str:
    return path if scheme in ("http", "https") else f"{scheme}://{path}"


def _remember(name: str, info: dict[str, Any], fs: Any) -> RangedObject:
    if info.get("size") is None:  # an HTTP index page lists names only: ask the object
        try:
            info = {**info, **fs.info(_path(name))}
        except Exception as exc:
            raise _upstream(name, exc) from None
    version = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime")
    source = RangedObject(name, int(info.get("size") or 0), str(version) if version else None, fs)
    with _objects_lock:
        _objects[name] = source
    return source


def open_object(name: str) -> RangedObject:
    """The source for an object *name* (known from its listing, else one metadata request)."""
    with _objects_lock:
        found = _objects.get(name)
    if found is not None:
        return found
    fs = filesystem(protocol_of(name))
    try:
        info = fs.info(_path(name))
    except Exception as exc:
        raise _upstream(name, exc) from None
    if info.get("type") == "directory":
        raise UpstreamError(f"{name}: is a prefix, not an object")
    return _remember(name, info, fs)


def _listing(name: str) -> list[tuple[str, dict[str, Any]]]:
    scheme = urlsplit(name).scheme.lower()
    fs = filesystem(protocol_of(name))
    path = _path(name)
    try:
        if _GLOB & set(urlsplit(name).path):
            found = fs.glob(path, detail=True)
        else:
            try:
                info = fs.info(path)
            except FileNotFoundError:
                info = {"type": "directory"}
            if info.get("type") == "file":
                return [(name, info)]
            found = fs.find(path.rstrip("/") + "/", detail=True)
    except Exception as exc:
        raise _upstream(name, exc) from None
    items = sorted((p, i) for p, i in found.items() if i.get("type", "file") == "file")
    return [(_scheme_name(scheme, p), i) for p, i in items]


def list_objects(name: str) -> Iterator[str]:
    """Object names under *name* (a prefix, one object, or a glob) in key order.

    Each listed object's first block is read ahead on a bounded pool, so the header reads
    discovery makes in order find their bytes already fetched.
    """
    listing = _listing(name)
    fs = filesystem(protocol_of(name))
    sources = [_remember(n, info, fs) for n, info in listing]
    pending: deque[Future[bytes] | None] = deque()
    with ThreadPoolExecutor(PREFETCH_WORKERS, thread_name_prefix="dcmview-objects") as pool:
        ahead = iter(sources)
        try:
            for source in sources:
                while len(pending) < PREFETCH_AHEAD:
                    following = next(ahead, None)
                    if following is None:
                        break
                    pending.append(pool.submit(following._block, 0) if following.size else None)
                head = pending.popleft()
                if head is not None:
                    head.exception()  # wait for this object's first block; errors surface on read
                yield source.name
        finally:
            for future in pending:
                if future is not None:
                    future.cancel()


def check(name: str) -> None:
    """Fail with one line when *name* cannot be listed or names nothing."""
    try:
        if not _listing(name):
            raise UpstreamError(f"{name}: no objects found")
    except UpstreamError as exc:
        raise UsageError(str(exc)) from None
