"""DICOMweb sources: QIDO-RS to find studies and series, WADO-RS metadata for the scan, frames.

The scan reads series metadata only (``…/series/{uid}/metadata``, one request per series, run
concurrently): each instance's JSON becomes a header `Dataset` (no pixel data, no bulk download)
and an `Instance` source named ``dicomweb://host/studies/…/series/…/instances/…``. Frames come
from WADO-RS ``…/frames/…`` in the stored transfer syntax (``transfer-syntax=*``), so our
decoders decode them and lossless stays lossless; only when the server cannot send frames
(406/415/501/400) is the whole instance fetched once and the frame cut from it.

A multi-frame instance is read in windows: the frame asked for and the next ones in the
direction of travel as one frames list (``…/frames/5,6,7``, PS3.18 10.4.1.1.3), streamed, each
part kept in the process's cache budget until it is asked for. Servers such as Orthanc parse the
whole instance for every frames request (3-5 s for a 390 MiB tomosynthesis, however many frames
are asked for), so per-frame requests cost that per frame; a window costs it once. A window is as
long as `WINDOW_SHARE` of the budget allows until a window's first part comes back quickly
(then `PREFETCH_FRAMES`). A window is read with `http.client` (`_http.stream_into`), each part
with a Content-Length straight into its own buffer (`PartStream.sink`) and handed out as soon as
its bytes are in; a native frame's samples are that buffer (`HeldFrame`): one copy per frame, by
the kernel, with the GIL released. The stored syntax comes from the metadata when it names it
(`stored_syntax`), else from the first frames response (``""`` until then: never guessed).
"""

from __future__ import annotations

import io
import json
import re
import struct
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import numpy as np
from pydicom import dcmread
from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, get_frame
from pydicom.uid import UID

from dcmview_core._header import quiet_pydicom
from dcmview_core.cache import ByteBudgetCache, process_cache
from dcmview_core.errors import FrameOutOfRange, UsageError
from dcmview_core.frames import Frame, read_source_frame
from dcmview_core.remote import _http
from dcmview_core.remote._json import dataset_from_json
from dcmview_core.remote.errors import UpstreamError

SCHEME = "dicomweb"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
ACCEPT_JSON = "application/dicom+json, application/json"
ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
ACCEPT_INSTANCE = 'multipart/related; type="application/dicom"; transfer-syntax=*'
ACCEPT_BULK = 'multipart/related; type="application/octet-stream"'
DEFAULT_LIMIT = 100
SERIES_WORKERS = 4
_FALLBACK_STATUSES = (400, 406, 415, 500, 501)
"""Answers to a frames request meaning "cannot send frames" (Orthanc says 500)."""
_PIXEL_KEYS = ("7FE00008", "7FE00009", "7FE00010")
# media types of frames sent without a transfer-syntax parameter (PS3.18 8.7.3.5.2)
_MEDIA_SYNTAX = {
    "application/octet-stream": EXPLICIT_LE,
    "image/jpeg": "1.2.840.10008.1.2.4.50",
    "image/jls": "1.2.840.10008.1.2.4.80",
    "image/jp2": "1.2.840.10008.1.2.4.90",
    "image/x-dicom-rle": "1.2.840.10008.1.2.5",
    "image/dicom-rle": "1.2.840.10008.1.2.5",
}
_NAME = re.compile(r"^dicomweb://([^/]+)/studies/([^/]+)/series/([^/]+)/instances/([^/]+)$")


@dataclass(frozen=True, slots=True)
class Target:
    """What a DICOMweb URL names: a service root and a study/series, or a QIDO study query."""

    root: str
    """The service root (``http://host/dicom-web``), without credentials."""
    study: str | None = None
    series: str | None = None
    query: tuple[tuple[str, str], ...] = ()


def is_dicomweb_url(url: str) -> bool:
    """Whether *url* is ``http(s)://…/studies[/…]`` (a DICOMweb resource, not an object)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and "/studies" in f"{parts.path}/".replace(
        "/studies/", "/studies"
    )


def parse_target(url: str) -> Target:
    """Split ``ROOT/studies[/UID[/series/UID]][?query]`` into a `Target`."""
    clean = _http.strip_userinfo(url)
    parts = urlsplit(clean)
    path = parts.path.rstrip("/")
    head, sep, tail = path.partition("/studies")
    root = urlunsplit((parts.scheme, parts.netloc, head, "", ""))
    if not sep:
        return Target(root, query=tuple(parse_qsl(parts.query)))
    segments = [s for s in tail.split("/") if s]
    study = segments[0] if segments else None
    series = segments[2] if len(segments) >= 3 and segments[1] == "series" else None
    if segments and (len(segments) not in (1, 3) or (len(segments) == 3 and series is None)):
        raise UsageError(f"not a DICOMweb study or series URL: {display_url(clean)}")
    return Target(root, study, series, tuple(parse_qsl(parts.query)))


def display_url(url: str) -> str:
    """*url* without credentials or query (what messages show)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _http.host_of(url), parts.path, "", ""))


# --- QIDO-RS -----------------------------------------------------------------------------------


def _json(url: str, params: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    response = _http.get(url, accept=ACCEPT_JSON, params=list(params), ok=(200, 204))
    if response.status_code == 204 or not response.content:
        return []
    try:
        data = response.json()
    except ValueError:
        raise UpstreamError(f"{display_url(url)}: the answer is not DICOM JSON") from None
    if not isinstance(data, list):
        raise UpstreamError(f"{display_url(url)}: the answer is not a DICOM JSON array")
    return [item for item in data if isinstance(item, dict)]


def _value(item: dict[str, Any], tag: str) -> Any:
    values = (item.get(tag) or {}).get("Value") or [None]
    return values[0]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def query_studies(root: str, query: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """Study Instance UIDs matching a QIDO-RS query (at most *limit*; says so when more match)."""
    params = [*query, ("limit", str(limit + 1))]
    found = [_value(item, "0020000D") for item in _json(f"{root}/studies", params)]
    uids = [str(uid) for uid in found if uid]
    if len(uids) > limit:
        text = "&".join(f"{k}={v}" for k, v in query)
        sys.stderr.write(
            f"dcmview: more than {limit} studies match {text}; showing the first {limit}"
            " (raise --query-limit or narrow the query)\n"
        )
        uids = uids[:limit]
    return uids


def series_of(root: str, study: str) -> list[str]:
    """Series Instance UIDs of *study*, by Series Number; `UpstreamError` when it is missing."""
    items = _json(f"{root}/studies/{study}/series")
    if not items:
        raise UpstreamError(f"study {study} not found on {_http.host_of(root)}")
    ordered = sorted(
        items, key=lambda i: (_number(_value(i, "00200011")), str(_value(i, "0020000E")))
    )
    return [str(_value(i, "0020000E")) for i in ordered if _value(i, "0020000E")]


def studies_of(target: Target, limit: int = DEFAULT_LIMIT) -> list[str]:
    """The studies a target names (its study, or the ones its query matches)."""
    if target.study is not None:
        return [target.study]
    if not target.query:
        raise UsageError(
            f"{target.root}: a DICOMweb service root needs --study UID or --query KEY=VALUE"
        )
    uids = query_studies(target.root, target.query, limit)
    if not uids:
        text = "&".join(f"{k}={v}" for k, v in target.query)
        raise UpstreamError(f"no study matches {text} on {_http.host_of(target.root)}")
    return uids


# --- instances -----------------------------------------------------------------------------------


def stored_syntax(item: dict[str, Any]) -> str:
    """The stored transfer syntax an instance's metadata names, else ``""`` (unknown).

    Transfer Syntax UID (0002,0010) when the server sends the file meta (Google's, dcm4chee's
    metadata do), else a single Available Transfer Syntax UID (0008,3002); several available
    syntaxes do not say which one is stored. Orthanc 1.10 sends neither (its plugin's metadata,
    QIDO ``includefield=00083002`` and ``=all`` were checked): its frames responses name it.
    """
    meta = _value(item, "00020010")
    if meta:
        return str(meta)
    available = (item.get("00083002") or {}).get("Value") or []
    return str(available[0]) if len(available) == 1 and available[0] else ""


def _has_pixels(item: dict[str, Any]) -> bool:
    if any(key in item for key in _PIXEL_KEYS):
        return True
    return all(_value(item, tag) for tag in ("00280010", "00280011", "00280100"))


WINDOW_KEY = "dicomweb-window"
"""Namespace of window parts in the process cache."""
WINDOW_SHARE = 0.8
"""A window of a slow server holds at most this share of the cache budget."""
WINDOW_MAX_FRAMES = 256
"""Frames in one frames-list request at most (the URL lists them)."""
PREFETCH_FRAMES = 4
"""Frames in one window when the server answers this instance's frames quickly (per byte)."""
SLOW_SECONDS = 0.5
"""A window whose first part took this long or longer means the server is slow per request for
this instance (Orthanc parses the whole instance for every frames request: 3-5 s for a 390 MiB
tomosynthesis), so the next windows are as long as the budget allows."""
CHUNK = 1 << 16
"""Bytes read at most at a time between parts' data (delimiters, part headers)."""
PART_OVERHEAD = 256
"""Bytes a cached window part is weighed at beyond its data."""
_window_pool = ThreadPoolExecutor(2, thread_name_prefix="dcmview-dicomweb-frames")
_no_lists: set[str] = set()
"""Service roots that refused a frames list: their frames are fetched one by one."""
_no_lists_lock = threading.Lock()


def _windows_ok(root: str) -> bool:
    with _no_lists_lock:
        return root not in _no_lists


def _no_windows(root: str) -> None:
    with _no_lists_lock:
        _no_lists.add(root)


def _frame_of(location: str, default: int) -> int:
    """The 0-based frame a part's ``Content-Location`` (``…/frames/N``) names, else *default*."""
    _, sep, tail = location.rpartition("/frames/")
    return int(tail) - 1 if sep and tail.isdigit() else default


class Instance:
    """One DICOMweb instance as a byte source whose frames come from WADO-RS.

    Readers use `header_dataset`, `has_pixels`, `frame_count` and `read_frame` (or
    `frame_bytes`); `read_at` is refused (an instance is never downloaded to be read as bytes).
    """

    size = 0
    version = None

    def __init__(self, root: str, study: str, series: str, sop: str, item: dict[str, Any]) -> None:
        self.root, self.study, self.series, self.sop = root, study, series, sop
        self.name = (
            f"{SCHEME}://{_http.host_of(root)}/studies/{study}/series/{series}/instances/{sop}"
        )
        self.url = f"{root}/studies/{study}/series/{series}/instances/{sop}"
        self.has_pixels = _has_pixels(item)
        frames = _number(_value(item, "00280008"))
        self.frame_count = (int(frames) if frames != float("inf") else 1) if self.has_pixels else 0
        self.transfer_syntax_uid: str = stored_syntax(item)
        """The stored syntax when known (`stored_syntax`), else ``""`` until the first frame's
        response names it (`fetch_frame` learns it)."""
        self.instance_number = _number(_value(item, "00200013"))
        kept = {k: v for k, v in item.items() if k not in _PIXEL_KEYS}
        self._json = json.dumps(kept, separators=(",", ":")).encode()
        """The metadata, compact (a study of 10,000 instances holds no 10,000 Datasets)."""
        self._bulky = b"BulkDataURI" in self._json
        self._lock = threading.Lock()
        bits = _number(_value(item, "00280100"))
        area = _number(_value(item, "00280010")) * _number(_value(item, "00280011"))
        samples = _number(_value(item, "00280002"))
        estimate = area * (samples if samples != float("inf") else 1) * bits / 8
        self._frame_bytes = int(estimate) if estimate != float("inf") else 2**20
        """A frame's stored size at most (native); compressed frames are smaller."""
        self._pending: dict[int, threading.Event] = {}
        """Frames a window request will deliver, each set when its part arrived (or failed)."""
        self._handed: set[int] = set()
        """Frames a window delivered and `fetch_frame` handed out (decoded and cached upstream)."""
        self._last = -1
        self._first_part: float | None = None
        self._failures = 0
        """Windows that failed (their waiters then fetch their frames alone)."""
        """Seconds the last window waited for its first part (None: no window yet)."""

    def header_dataset(self) -> Dataset:
        """The header as a pydicom `Dataset` (file meta set; no pixel data).

        Values the server sent as BulkDataURI (LUT data, overlays) are left out: the scan
        never downloads bulk data. `frame_dataset` has them.
        """
        return self._from_json(None)

    def frame_dataset(self) -> Dataset:
        """`header_dataset` with its BulkDataURI values fetched (what frames are decoded with);
        the last `FRAME_DATASETS` are kept."""
        with _frame_datasets_lock:
            found = _frame_datasets.get(self.name)
            if found is not None:
                _frame_datasets.move_to_end(self.name)
                return found
        made = self._from_json(_bulk_data if self._bulky else None)
        with _frame_datasets_lock:
            _frame_datasets[self.name] = made
            while len(_frame_datasets) > FRAME_DATASETS:
                _frame_datasets.popitem(last=False)
        return made

    def _from_json(self, handler: Callable[[str, str, str], bytes] | None) -> Dataset:
        """The dataset of the metadata; without *handler*, BulkDataURI values are left out and
        the values stay raw bytes until read (`dataset_from_json`: several times faster)."""
        item: dict[str, Any] = json.loads(self._json)
        with quiet_pydicom():  # servers send odd values too; the header is what it is
            if handler is None:
                ds = dataset_from_json(item)
            else:
                ds = Dataset.from_json(item, bulk_data_uri_handler=handler)
        meta = FileMetaDataset()
        if self.transfer_syntax_uid:  # unknown: left out, not guessed
            meta.TransferSyntaxUID = UID(self.transfer_syntax_uid)
        if "SOPClassUID" in ds:
            meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = UID(self.sop)
        ds.file_meta = meta
        return ds

    def frame_bytes(self, index: int) -> bytes:
        """Frame *index* (0-based) as the server stores it (see `fetch_frame` for its syntax)."""
        return self.fetch_frame(index)[0]

    def fetch_frame(self, index: int) -> tuple[bytes, str]:
        """Frame *index* (0-based) as stored and its transfer syntax UID.

        A multi-frame instance is read in windows (`_start_window`): the frame asked for and
        the next ones in the direction of travel in one frames-list request, each part kept in
        the process cache until it is asked for; the next window starts halfway through.
        """
        if self.frame_count <= 1 or not _windows_ok(self.root):
            return self._fetch_one(index)
        cache = process_cache()
        key = (WINDOW_KEY, self.name, index)
        found: tuple[bytes, str] | None = None
        for _ in range(2):  # a part evicted before use starts one more window from it
            with self._lock:
                forward = index >= self._last
                self._last = index
                failures = self._failures
                found = cache.pop(key)
                event = self._pending.get(index) if found is None else None
                if found is None and event is None:
                    event = self._start_window(index, forward, cache)
            if found is None and event is not None:
                event.wait(_http.settings.timeout * 3)
                found = cache.pop(key)
            if found is not None or self._failures != failures or not _windows_ok(self.root):
                break
        if found is None:  # the window failed (or its part was evicted twice): this frame alone
            return self._fetch_one(index)
        with self._lock:
            self._handed.add(index)
            self._look_ahead(index, forward, cache)
        data, syntax = found
        return data, syntax

    def _window_frames(self, cache: ByteBudgetCache) -> int:
        """How many frames one window asks for: `WINDOW_SHARE` of the budget's room (what the
        protected segment leaves: parts must not evict each other before use) while the server
        is slow for this instance (its cost is per request) or not yet timed (the first window
        of a fast server costs bytes; one frame request of a slow one costs seconds), else
        `PREFETCH_FRAMES`."""
        if self._first_part is not None and self._first_part < SLOW_SECONDS:
            return PREFETCH_FRAMES
        room = cache.budget_bytes - cache.stats().protected_bytes  # without evicting those
        fit = int(room * WINDOW_SHARE) // (self._frame_bytes + PART_OVERHEAD)
        return max(1, min(fit, WINDOW_MAX_FRAMES))

    def _start_window(self, index: int, forward: bool, cache: ByteBudgetCache) -> threading.Event:
        """Mark a window from *index* pending and fetch it in the background (lock held)."""
        step = 1 if forward else -1
        frames = [index]
        wanted = self._window_frames(cache)
        n = index + step
        while len(frames) < wanted and 0 <= n < self.frame_count:
            if n in self._pending or n in self._handed or (WINDOW_KEY, self.name, n) in cache:
                break  # already coming, or handed out (decoded and cached upstream)
            frames.append(n)
            n += step
        events = {n: threading.Event() for n in frames}
        self._pending.update(events)
        self._handed.discard(index)
        _window_pool.submit(self._run_window, frames, events, cache)
        return events[index]

    def _look_ahead(self, index: int, forward: bool, cache: ByteBudgetCache) -> None:
        """Start the next window when fewer than half a window's frames ahead are at hand."""
        step = 1 if forward else -1
        span = max(self._window_frames(cache) // 2, 1)
        n = index + step
        for _ in range(span):
            if not 0 <= n < self.frame_count:
                return
            at_hand = n in self._pending or n in self._handed
            if not at_hand and (WINDOW_KEY, self.name, n) not in cache:
                self._start_window(n, forward, cache)
                return
            n += step

    def _run_window(
        self, frames: list[int], events: dict[int, threading.Event], cache: ByteBudgetCache
    ) -> None:
        """One frames-list request; each part is cached and its waiter woken as it arrives."""
        url = f"{self.url}/frames/{','.join(str(n + 1) for n in frames)}"
        started = time.perf_counter()
        try:
            ok = (200, *_FALLBACK_STATUSES)
            with _http.stream_into(url, accept=ACCEPT_FRAMES, ok=ok) as reply:
                if reply.status_code != 200:
                    _no_windows(self.root)  # frames lists refused: frame by frame from now on
                    return
                content_type = reply.headers.get("content-type", "")
                outer = _params(content_type).get_param("type")
                default = _syntax_of(outer) if isinstance(outer, str) else None
                parts = PartStream.of(content_type)
                done = 0
                while not parts.done and done < len(frames):
                    sink = parts.sink()  # the rest of a part: read straight into it
                    if sink is not None:
                        n = reply.readinto(sink)
                        got = parts.filled(n) if n else None
                    else:
                        chunk = reply.read1(CHUNK)
                        got = parts.feed(chunk) if chunk else None
                    if got is None:  # the body ended early: the waiters fetch theirs alone
                        break
                    for headers, data in got:
                        if done >= len(frames):
                            break
                        if done == 0:
                            self._first_part = time.perf_counter() - started
                        n = _frame_of(headers.get("content-location", ""), frames[done])
                        part_type = headers.get("content-type")
                        syntax = (_syntax_of(part_type) if part_type else None) or default
                        syntax = syntax or self.transfer_syntax_uid or EXPLICIT_LE
                        self._learn(syntax)
                        if n in events:
                            weight = len(data) + PART_OVERHEAD
                            cache.put((WINDOW_KEY, self.name, n), (data, syntax), weight)
                            with self._lock:
                                self._pending.pop(n, None)
                            events[n].set()
                        done += 1
        except UpstreamError:  # each waiter asks for its frame alone and reports that failure
            with self._lock:
                self._failures += 1
        finally:
            with self._lock:
                for n, event in events.items():
                    if self._pending.get(n) is event:
                        del self._pending[n]
                    event.set()

    def _fetch_one(self, index: int) -> tuple[bytes, str]:
        """One frames request for frame *index* (the whole instance if frames are refused)."""
        response = _http.get(
            f"{self.url}/frames/{index + 1}", accept=ACCEPT_FRAMES, ok=(200, *_FALLBACK_STATUSES)
        )
        if response.status_code in _FALLBACK_STATUSES:
            return self._frame_from_instance(index)
        data, syntax = first_part(response.headers.get("content-type", ""), response.content)
        syntax = syntax or self.transfer_syntax_uid or EXPLICIT_LE  # octet-stream: PS3.18 8.7.3
        self._learn(syntax)
        return data, syntax

    def read_frame(self, index: int) -> Frame:
        """Fetch frame *index* and decode it with the frame pipeline (`read_source_frame` of a
        `HeldFrame`: a native frame's samples are the fetched part's buffer)."""
        if not 0 <= index < self.frame_count:
            raise FrameOutOfRange(
                f"frame {index} is out of range: the instance has {self.frame_count} frame(s)"
            )
        data, syntax = self.fetch_frame(index)
        if syntax != EXPLICIT_BE:
            frame = read_source_frame(HeldFrame(self, syntax, index, data), index)
        else:  # the template swaps big-endian samples (held layouts are little-endian)
            with quiet_pydicom():
                one = self._frame_file(f"{self.name}#frame={index}", index, data, syntax)
            frame = read_source_frame(one, 0)
        meta = replace(
            frame.meta,
            frame_index=index,
            number_of_frames=self.frame_count,
            transfer_syntax_uid=syntax,
        )
        return Frame(frame.samples, meta)

    def _frame_file(self, name: str, index: int, data: bytes, syntax: str) -> MemorySource:
        """`one_frame_file` from a header encoded once per syntax (`FrameFileTemplate`): only
        the frame's functional group item and its pixels are encoded per frame."""
        with _frame_datasets_lock:
            template = _templates.get((self.name, syntax))
        if template is None:
            template = FrameFileTemplate(self.frame_dataset(), syntax)
            with _frame_datasets_lock:
                _templates[(self.name, syntax)] = template
                while len(_templates) > FRAME_DATASETS:
                    _templates.popitem(last=False)
        return template.source(name, index, data)

    def _learn(self, syntax: str) -> None:
        with self._lock:
            self.transfer_syntax_uid = syntax

    def _frame_from_instance(self, index: int) -> tuple[bytes, str]:
        ds = _whole_instance(self.url)
        syntax = str(ds.file_meta.TransferSyntaxUID)
        self._learn(syntax)
        if "PixelData" not in ds:
            raise UpstreamError(f"{self.name}: the instance the server sent has no Pixel Data")
        pixels: bytes = ds.PixelData
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            return get_frame(pixels, index, number_of_frames=self.frame_count), syntax
        size = len(pixels) // max(self.frame_count, 1)
        return pixels[index * size : (index + 1) * size], syntax

    def read_at(self, offset: int, length: int) -> bytes:
        """Refused: DICOMweb instances are read by header dataset and by frame."""
        raise UpstreamError(f"{self.name}: DICOMweb instances are read by frame, not by byte")

    def __repr__(self) -> str:
        return f"Instance({self.name!r})"


class HeldFrame:
    """One fetched frame of an `Instance` as a source the frame pipeline reads without bytes:
    its layout comes from the instance's `frame_dataset` in the frame's syntax (parsed once per
    instance and syntax: the name says both), its pixels are the fetched part itself, so a
    native frame's samples are the part's buffer (no copy, no second allocation)."""

    __slots__ = ("_data", "_index", "_instance", "_syntax", "frame_count", "name")
    size = 0
    version = None

    def __init__(self, instance: Instance, syntax: str, index: int, data: bytes) -> None:
        self.name = f"{instance.name}#syntax={syntax}"
        self.frame_count = instance.frame_count
        self._instance, self._syntax, self._index, self._data = instance, syntax, index, data

    def header_dataset(self) -> Dataset:
        """The instance's frame dataset with the frame's syntax in its file meta."""
        ds = self._instance.frame_dataset()
        held = Dataset(ds)  # shares the cached dataset's elements, read only
        meta = FileMetaDataset()  # its own elements: the cached file meta stays as it is
        for element in ds.file_meta:
            if element.tag != 0x00020010:  # TransferSyntaxUID
                meta.add(element)
        meta.TransferSyntaxUID = UID(self._syntax)
        held.file_meta = meta
        return held

    def frame_bytes(self, index: int) -> bytes:
        """The fetched frame (the only one this source holds)."""
        if index != self._index:
            raise FrameOutOfRange(f"{self.name} holds frame {self._index}, not {index}")
        return self._data

    def read_at(self, offset: int, length: int) -> bytes:
        """Refused: the pipeline reads a held frame by `frame_bytes`."""
        raise UpstreamError(f"{self.name}: a fetched frame is read by frame, not by byte")


class MemorySource:
    """Bytes in memory as a `ByteSource`: *head* then *tail* (a header and a frame's pixels,
    kept apart so that the pixels are copied once, into the frame)."""

    __slots__ = ("_head", "_tail", "name", "size")

    def __init__(self, name: str, head: bytes, tail: bytes = b"") -> None:
        self.name, self._head, self._tail = name, head, tail
        self.size = len(head) + len(tail)

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end)."""
        split, end = len(self._head), offset + max(length, 0)
        if end <= split:
            return self._head[offset:end]
        if offset >= split:
            return self._tail[offset - split : end - split]
        return self._head[offset:] + self._tail[: end - split]

    def read_into(self, offset: int, target: memoryview) -> int:
        """Copy the bytes from ``offset`` into *target* (as many as fit); how many were copied.

        numpy copies with the GIL released: the page faults of a new frame's memory (a 6.8 MB
        tomosynthesis frame: 10-30 ms on a loaded machine) would otherwise stall every other
        thread, the server's event loop and the frames stream among them."""
        done, split = 0, len(self._head)
        out = np.frombuffer(target, np.uint8)
        for data, start in ((self._head, 0), (self._tail, split)):
            at = max(offset + done - start, 0)
            if done >= len(out) or at >= len(data):
                continue
            n = min(len(data) - at, len(out) - done)
            np.copyto(out[done : done + n], np.frombuffer(data, np.uint8, n, at))
            done += n
        return done


def one_frame_file(header: Dataset, index: int, data: bytes, syntax: str) -> bytes:
    """A Part-10 file of *header* holding only frame *index* (*data*, in *syntax*).

    The per-frame functional group of that frame is kept as the only item, so rescale and
    windows stay those of frame *index* (`FrameFileTemplate`, which `Instance` keeps).
    """
    return FrameFileTemplate(header, syntax).file(index, data)


class FrameFileTemplate:
    """The Part-10 bytes of `one_frame_file` around the parts that change per frame.

    The header is encoded once (Explicit VR Little Endian, file meta of *syntax*, Number of
    Frames 1): the elements before Per-frame Functional Groups (5200,9230), then those after
    it up to the pixel data. `file` puts frame *index*'s functional group item and its pixels
    between and after them: the same file as `one_frame_file`, without encoding the whole
    header per frame (10 ms for a tomosynthesis header).
    """

    def __init__(self, header: Dataset, syntax: str) -> None:
        from pydicom.filebase import DicomBytesIO
        from pydicom.filewriter import write_dataset

        self.syntax = syntax
        self.compressed = UID(syntax).is_compressed
        self.bits = int(header.get("BitsAllocated") or 8)
        per_frame = header.get("PerFrameFunctionalGroupsSequence")
        self.per_frame = list(per_frame) if per_frame is not None else None
        self.encodings = convert_encodings(header.get("SpecificCharacterSet"))
        before, after = Dataset(), Dataset()
        for element in header:
            if element.tag < PER_FRAME_TAG:
                before.add(element)
            elif PER_FRAME_TAG < element.tag < 0x7FE00008:
                after.add(element)
        if "NumberOfFrames" in before:
            before.NumberOfFrames = 1
        before.file_meta = FileMetaDataset()
        before.file_meta.update(header.file_meta)
        before.file_meta.TransferSyntaxUID = UID(syntax if self.compressed else EXPLICIT_LE)
        buffer = io.BytesIO()
        before.save_as(buffer, enforce_file_format=True)
        self.head = buffer.getvalue()
        tail = DicomBytesIO()
        tail.is_little_endian, tail.is_implicit_VR = True, False
        write_dataset(tail, after)
        self.tail = bytes(tail.getvalue())

    def _group(self, index: int) -> bytes:
        if self.per_frame is None or len(self.per_frame) <= index:
            return b""
        from pydicom.dataelem import DataElement
        from pydicom.filebase import DicomBytesIO
        from pydicom.filewriter import write_data_element
        from pydicom.sequence import Sequence as DicomSequence

        out = DicomBytesIO()
        out.is_little_endian, out.is_implicit_VR = True, False
        element = DataElement(PER_FRAME_TAG, "SQ", DicomSequence([self.per_frame[index]]))
        write_data_element(out, element, self.encodings)
        return bytes(out.getvalue())

    def file(self, index: int, data: bytes) -> bytes:
        """The one-frame Part-10 file of frame *index* whose stored bytes are *data*."""
        source = self.source("", index, data)
        return source.read_at(0, source.size)

    def source(self, name: str, index: int, data: bytes | memoryview) -> MemorySource:
        """`file` as a byte source; native pixels stay *data* (not copied behind the header)."""
        if isinstance(data, memoryview):  # a streamed part: read as bytes behind the header
            data = data.tobytes()
        if self.compressed:
            parts = (_PIXEL_UNDEFINED, encapsulate([data]), _SEQUENCE_END)
        else:
            if self.syntax == EXPLICIT_BE and self.bits > 8:
                kind = f"u{self.bits // 8}"
                data = np.frombuffer(data, f">{kind}").astype(f"<{kind}").tobytes()
            pad = b"\x00" if len(data) % 2 else b""
            vr = b"OB" if self.bits <= 8 else b"OW"
            size = struct.pack("<HI", 0, len(data) + len(pad))
            head = b"".join((self.head, self._group(index), self.tail, b"\xe0\x7f\x10\x00", vr))
            return MemorySource(name, head + size, data + pad if pad else data)
        return MemorySource(name, b"".join((self.head, self._group(index), self.tail, *parts)))


PER_FRAME_TAG = 0x52009230
_PIXEL_UNDEFINED = b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff"
_SEQUENCE_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
FRAME_DATASETS = 64
_templates: OrderedDict[tuple[str, str], FrameFileTemplate] = OrderedDict()
_frame_datasets: OrderedDict[str, Dataset] = OrderedDict()
_frame_datasets_lock = threading.Lock()
WHOLE_KEY = "dicomweb-instance"
"""Namespace of whole instances (the fallback) in the process cache, weighed by their bytes."""


def _whole_instance(url: str) -> Dataset:
    """The whole instance (fallback when frames cannot be sent), kept in the process cache."""
    cache = process_cache()
    found: Dataset | None = cache.get((WHOLE_KEY, url))
    if found is not None:
        return found
    response = _http.get(url, accept=ACCEPT_INSTANCE)
    data, _ = first_part(response.headers.get("content-type", ""), response.content)
    try:
        ds = dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # a corrupt body is the server's failure, not a decode error
        where = display_url(url)
        raise UpstreamError(f"{where}: the instance could not be parsed ({exc})") from None
    cache.put((WHOLE_KEY, url), ds, len(data) + 4096)
    return ds


def _bulk_data(tag: str, vr: str, uri: str) -> bytes:
    """Fetch one BulkDataURI value (LUTs, overlays: small); empty when the server refuses."""
    if tag.upper().startswith(("7FE0", "FFFC")):  # pixel data, trailing padding: never needed
        return b""
    try:
        response = _http.get(uri, accept=ACCEPT_BULK)
        return first_part(response.headers.get("content-type", ""), response.content)[0]
    except UpstreamError:
        return b""


# --- multipart/related (RFC 2387) ------------------------------------------------------------


def _params(content_type: str) -> Message:
    message = Message()
    message["content-type"] = content_type
    return message


def _syntax_of(content_type: str) -> str | None:
    message = _params(content_type)
    syntax = message.get_param("transfer-syntax")
    if isinstance(syntax, str) and syntax and syntax != "*":
        return syntax
    return _MEDIA_SYNTAX.get(message.get_content_type())


def first_part(content_type: str, body: bytes) -> tuple[bytes, str | None]:
    """The first part of a ``multipart/related`` body and its transfer syntax (when it says).

    A single-part answer (``application/octet-stream``) is returned as is. A body without its
    closing delimiter, or shorter than a part's ``Content-Length``, raises `UpstreamError`.
    """
    outer = _params(content_type)
    if outer.get_content_maintype() != "multipart":
        return body, _syntax_of(content_type)
    boundary = outer.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise UpstreamError("the multipart answer names no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise UpstreamError("truncated multipart body (no part)")
    head_start = body.find(b"\r\n", start) + 2
    head_end = body.find(b"\r\n\r\n", head_start)
    if head_start < 2 or head_end < 0:
        raise UpstreamError("truncated multipart body (part headers cut short)")
    headers: dict[str, str] = {}
    for line in body[head_start:head_end].decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    data_start = head_end + 4
    end = body.find(b"\r\n" + delimiter, data_start)
    if end < 0:
        raise UpstreamError("truncated multipart body (no closing delimiter)")
    data = body[data_start:end]
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != len(data):
        raise UpstreamError(
            f"truncated multipart body ({len(data)} of {declared} bytes in the part)"
        )
    part_type = headers.get("content-type")
    syntax = _syntax_of(part_type) if part_type else None
    if syntax is None:
        inner = outer.get_param("type")
        syntax = _syntax_of(inner) if isinstance(inner, str) else None
    return data, syntax


def _part_buffer(size: int) -> memoryview:
    """A part's buffer as a native frame's samples get theirs (numpy, not zeroed: its pages are
    first touched by the socket read, with the GIL released; ``bytearray(n)`` zeroes them under
    the GIL, 6-25 ms per 6.8 MB frame in this VM, stalling the server's loop)."""
    return np.empty(size, np.uint8).data


class PartStream:
    """The parts of a ``multipart/related`` body fed chunk by chunk, each returned once whole.

    A part's end is its ``Content-Length`` when it says (the part is returned then, and the
    delimiter after it checked when it comes), else the next delimiter. `done` is True after the
    closing delimiter; a body that stops before it is truncated.
    """

    def __init__(self, boundary: str) -> None:
        self._delimiter = b"--" + boundary.encode("latin-1")
        self._buffer = bytearray()
        self._state = "preamble"
        self._headers: dict[str, str] = {}
        self._scan = 0
        self._body: memoryview | None = None
        """The data of a part with a Content-Length (`_part_buffer`), filled straight from the
        chunks or read into (`sink`)."""
        self._filled = 0
        self.done = False

    @classmethod
    def of(cls, content_type: str) -> PartStream:
        """The parser for a response's Content-Type; `UpstreamError` when it is not multipart."""
        outer = _params(content_type)
        boundary = outer.get_param("boundary")
        if outer.get_content_maintype() != "multipart" or not isinstance(boundary, str):
            raise UpstreamError(f"not a multipart answer ({content_type.split(';')[0]})")
        return cls(boundary)

    def sink(self) -> memoryview | None:
        """The rest of the current part's data when its length is known and nothing is
        buffered, for the caller to read straight into (then `filled`); else None (`feed`)."""
        body = self._body
        if body is None or self._buffer or self._filled >= len(body):
            return None
        return body[self._filled :]

    def filled(self, n: int) -> list[tuple[dict[str, str], bytes | memoryview]]:
        """`feed` after *n* bytes were read into `sink`'s view."""
        self._filled += n
        return self.feed(b"")

    def feed(self, chunk: bytes) -> list[tuple[dict[str, str], bytes | memoryview]]:
        """The parts completed by *chunk* (headers with lower-case names, data: a part with a
        Content-Length is a `memoryview` of its own buffer filled from the chunks, so that it
        is copied once)."""
        buffer, delimiter = self._buffer, self._delimiter
        out: list[tuple[dict[str, str], bytes | memoryview]] = []
        body = self._body
        if body is not None and self._filled < len(body):  # one copy, chunk to part
            n = min(len(body) - self._filled, len(chunk))
            with memoryview(chunk) as view:
                body[self._filled : self._filled + n] = view[:n]
            self._filled += n
            chunk = chunk[n:] if n < len(chunk) else b""
        buffer += chunk
        while not self.done:
            if self._state in ("preamble", "after"):
                if self._state == "after" and buffer[:2] == b"--":
                    self.done = True
                    break
                at = buffer.find(delimiter) if self._state == "preamble" else 0
                end = buffer.find(b"\r\n", max(at, 0))
                if at < 0 or end < 0:
                    break
                del buffer[: end + 2]
                self._state = "headers"
            elif self._state == "tail":  # after a part with a Content-Length
                tail = b"\r\n" + delimiter
                if len(buffer) < len(tail):
                    break
                if buffer[: len(tail)] != tail:
                    raise UpstreamError("malformed multipart body (part longer than declared)")
                del buffer[: len(tail)]
                self._state = "after"
            elif self._state == "headers":
                end = buffer.find(b"\r\n\r\n")
                if buffer[:2] == b"\r\n":  # a part without headers
                    end = -2
                elif end < 0:
                    break
                lines = bytes(buffer[: max(end, 0)]).decode("latin-1").split("\r\n")
                self._headers = {}
                for line in lines:
                    key, _, value = line.partition(":")
                    if key.strip():
                        self._headers[key.strip().lower()] = value.strip()
                del buffer[: end + 4]
                self._state, self._scan = "data", 0
            else:
                tail = b"\r\n" + delimiter
                declared = self._headers.get("content-length", "")
                if declared.isdigit():
                    if self._body is None:
                        self._body, self._filled = _part_buffer(int(declared)), 0
                    body = self._body
                    n = min(len(body) - self._filled, len(buffer))
                    with memoryview(buffer) as view:
                        body[self._filled : self._filled + n] = view[:n]
                    del buffer[:n]
                    self._filled += n
                    if self._filled < len(body):
                        break
                    # whole as declared: out now, not when the delimiter comes (Orthanc sends
                    # the closing one 0.2-0.3 s after the last part's data)
                    out.append((self._headers, body))  # its own buffer: no second copy
                    self._body, self._state = None, "tail"
                    continue
                length = buffer.find(tail, self._scan)
                if length < 0:
                    self._scan = max(0, len(buffer) - len(tail))
                    break
                with memoryview(buffer) as view:  # one copy (a bytearray slice makes two)
                    out.append((self._headers, bytes(view[:length])))
                del buffer[: length + len(tail)]
                self._state = "after"
        return out


# --- registry and listing ----------------------------------------------------------------------

_instances: dict[str, Instance] = {}
_roots: dict[str, str] = {}
_registry_lock = threading.Lock()


def _series_instances(root: str, study: str, series: str) -> list[Instance]:
    items = _json(f"{root}/studies/{study}/series/{series}/metadata")
    found = []
    for item in items:
        sop = _value(item, "00080018")
        if sop:
            found.append(Instance(root, study, series, str(sop), item))
    found.sort(key=lambda i: (i.instance_number, i.sop))
    return found


def _register(instances: Sequence[Instance]) -> None:
    with _registry_lock:
        for instance in instances:
            _instances[instance.name] = instance
            _roots[_http.host_of(instance.root)] = instance.root


def list_instances(url: str, limit: int = DEFAULT_LIMIT) -> Iterator[str]:
    """Names of the instances a DICOMweb URL names, series by series (metadata fetched ahead)."""
    target = parse_target(url)
    pairs = [
        (study, series)
        for study in studies_of(target, limit)
        for series in ([target.series] if target.series else series_of(target.root, study))
    ]
    with ThreadPoolExecutor(SERIES_WORKERS, thread_name_prefix="dcmview-dicomweb") as pool:
        batches = pool.map(lambda p: _series_instances(target.root, *p), pairs)
        for instances in batches:
            _register(instances)
            for instance in instances:
                yield instance.name


def open_instance(name: str) -> Instance:
    """The `Instance` named *name* (found by the scan, else its metadata is fetched now)."""
    with _registry_lock:
        found = _instances.get(name)
    if found is not None:
        return found
    match = _NAME.match(name)
    if match is None:
        raise UsageError(f"not a DICOMweb instance name: {name}")
    host, study, series, sop = match.groups()
    with _registry_lock:
        root = _roots.get(host)
    if root is None:
        raise UsageError(f"{name}: unknown DICOMweb server (give its service root URL)")
    items = _json(f"{root}/studies/{study}/series/{series}/instances/{sop}/metadata")
    if not items:
        raise UpstreamError(f"{name}: not found")
    instance = Instance(root, study, series, sop, items[0])
    _register([instance])
    return instance


def check(target: Target, limit: int = DEFAULT_LIMIT) -> list[str]:
    """URLs naming each study of *target* (checked to exist); one-line `UsageError` otherwise."""
    try:
        studies = studies_of(target, limit)
        if target.series is None:
            for study in studies:
                series_of(target.root, study)
    except UpstreamError as exc:
        raise UsageError(str(exc)) from None
    if target.series is not None:
        return [f"{target.root}/studies/{target.study}/series/{target.series}"]
    return [f"{target.root}/studies/{study}" for study in studies]
