"""Byte sources: where a DICOM object's bytes come from (a local file, an object store, HTTP).

Every reader in dcmview-core (the lean header reader, pydicom through `as_file`, the fragment
walk, frame reads, the tag tree) reads through a `ByteSource`: a name, a size and positioned
reads. A local file and a remote object are the same to them.

`open_source(name)` turns a name into a source: a ``scheme://`` name goes to the opener
registered for its scheme (`register_scheme`; the remote sources add ``s3``, ``gs``,
``https``, ``dicomweb``), anything else is a local path (`LocalFile`).

Optional members a source may have (readers use them when present, through ``getattr``):
``version`` (changes when the object changes; keys the per-file caches with ``name`` and
``size``), ``read_into(offset, buffer) -> int`` (fill a writable buffer without a copy) and
``close()`` (release the source; `close_source` calls it); for sources that already hold the
header (DICOMweb metadata): ``header_dataset() -> pydicom.Dataset`` with ``has_pixels`` and
``frame_count`` (discovery and the tag tree read no bytes), and ``frame_bytes(index)`` (frame
reading takes each frame's bytes from it: native samples, or one codestream).
"""

from __future__ import annotations

import io
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol, cast, runtime_checkable

from dcmview_core.errors import UsageError

__all__ = [
    "ByteSource",
    "LocalFile",
    "NotRegularFile",
    "as_file",
    "close_source",
    "is_source_name",
    "list_source",
    "open_source",
    "register_lister",
    "register_scheme",
    "source_version",
]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@runtime_checkable
class ByteSource(Protocol):
    """Random read access to one object's bytes."""

    @property
    def name(self) -> str:
        """What ``/api/files`` shows as the path (absolute local path, ``s3://…``, …)."""
        ...

    @property
    def size(self) -> int:
        """Length of the object in bytes."""
        ...

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; fewer only at the end of the object."""
        ...


class NotRegularFile(OSError):
    """A local path that is a FIFO, socket or device (never read: a read could block)."""


def special_kind(mode: int) -> str:
    """What a non-regular file is, in words (``a FIFO``, ``a socket``, ``a device``)."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class LocalFile:
    """A regular local file read with ``os.pread`` on one descriptor (thread-safe).

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` before any read, so a FIFO or device
    raises `NotRegularFile` instead of blocking. ``version`` is the modification time (ns).
    """

    __slots__ = ("_fd", "name", "size", "version")

    def __init__(self, path: str) -> None:
        self._fd = -1
        fd = os.open(path, _OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                kind = special_kind(st.st_mode)
                raise NotRegularFile(0, kind, path)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.name: str = path
        self.size: int = st.st_size
        self.version: int = st.st_mtime_ns

    @property
    def fd(self) -> int:
        """The open descriptor (for readers that need the file itself, e.g. mmap)."""
        return self._fd

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at end of file)."""
        return os.pread(self._fd, length, offset)

    def read_into(self, offset: int, buffer: memoryview) -> int:
        """Fill *buffer* from ``offset``; the number of bytes read (fewer at end of file)."""
        return os.preadv(self._fd, [buffer], offset)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> LocalFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalFile({self.name!r}, size={self.size})"


Opener = Callable[[str], ByteSource]
Lister = Callable[[str], Iterator[str]]
_openers: dict[str, Opener] = {}
_listers: dict[str, Lister] = {}
_openers_lock = threading.Lock()


def is_source_name(name: str) -> bool:
    """Whether *name* is a ``scheme://`` name (not a local path)."""
    return _SCHEME.match(name) is not None


def register_lister(scheme: str, lister: Lister) -> None:
    """Make discovery expand an input ``scheme://…`` into the names *lister* yields."""
    with _openers_lock:
        _listers[scheme.lower()] = lister


def list_source(name: str) -> Iterator[str] | None:
    """The names under a ``scheme://`` input (its registered lister), None without one."""
    match = _SCHEME.match(name)
    if match is None:
        return None
    with _openers_lock:
        lister = _listers.get(match.group(1).lower())
    return None if lister is None else lister(name)


def register_scheme(scheme: str, opener: Opener) -> None:
    """Make `open_source` hand names ``scheme://…`` to *opener* (replaces an earlier one)."""
    with _openers_lock:
        _openers[scheme.lower()] = opener


def open_source(name: str) -> ByteSource:
    """The source for *name*: a registered ``scheme://`` opener, else a local `LocalFile`.

    Raises `UsageError` for a scheme nobody registered, `OSError` for a local file that cannot
    be opened (`NotRegularFile` for FIFOs, sockets, devices).
    """
    match = _SCHEME.match(name)
    if match is None:
        return LocalFile(name)
    scheme = match.group(1).lower()
    with _openers_lock:
        opener = _openers.get(scheme)
    if opener is None:
        raise UsageError(f"no byte source for {scheme}:// names (is its extra installed?)")
    return opener(name)


def close_source(source: ByteSource) -> None:
    """Release *source* when it has a ``close()``; a no-op otherwise."""
    close = getattr(source, "close", None)
    if close is not None:
        close()


def source_version(source: ByteSource) -> object:
    """``(size, version)``: changes when the object changes (keys per-file caches)."""
    return (source.size, getattr(source, "version", None))


class _Raw(io.RawIOBase):
    """A seekable raw stream over ``source`` starting ``start`` bytes in."""

    def __init__(self, source: ByteSource, start: int) -> None:
        super().__init__()
        self._source, self._start, self._pos = source, start, 0
        self._end = max(source.size - start, 0)

    @property
    def name(self) -> str:
        return self._source.name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._end - self._pos)
        if want <= 0:
            return 0
        data = self._source.read_at(self._start + self._pos, want)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = pos
        elif whence == 1:
            self._pos += pos
        else:
            self._pos = self._end + pos
        self._pos = max(self._pos, 0)
        return self._pos

    def tell(self) -> int:
        return self._pos


def as_file(source: ByteSource, start: int = 0, buffer_size: int = 16384) -> BinaryIO:
    """A buffered, seekable file object over *source* whose position 0 is byte *start*.

    pydicom reads through it; closing it leaves the source open.
    """
    return cast(BinaryIO, io.BufferedReader(_Raw(source, start), buffer_size))
