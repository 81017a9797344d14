"""Discovery: turn paths into a stream of `FileEntry` records, headers only.

`scan` walks its inputs in a deterministic order (input order, then directory entries sorted by
name, depth first), reads each file's header (never its pixel data), and yields one
`FileEntry` per accepted file, with indices 0, 1, 2 … in that order, or a `Skipped` record
saying why a file was left out. Parsing may run in worker threads; the order never changes.

Nothing here blocks on special files: a path is opened with ``O_NONBLOCK`` and checked to be a
regular file with ``fstat`` before a byte is read, so FIFOs, sockets and devices are skipped.
Directory symlinks are followed once (a loop is walked once).
"""

from __future__ import annotations

import os
import stat
import struct
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import IO, Any, Literal

from pydicom import dcmread
from pydicom.datadict import dictionary_has_tag
from pydicom.dataset import Dataset

from dcmview_core import _colour, _header
from dcmview_core._header import (
    DEFLATED_LE,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    NATIVE_SYNTAXES,
    UNDEFINED,
    Header,
    OffsetFile,
    PixelElement,
    TruncatedError,
)
from dcmview_core.decoders import support_reason as _syntax_support_reason
from dcmview_core.filters import Filter
from dcmview_core.model import FileEntry, SupportState, Window

SkipReason = Literal["not_dicom", "unreadable", "unparsable", "filtered"]
PathInput = str | bytes | os.PathLike[str] | os.PathLike[bytes]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_DEFER = 64 * 1024
_MAX_FRAGMENTS = 1_000_000


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path discovery left out, and why (``reason`` is stable, ``detail`` is for people)."""

    path: str
    reason: SkipReason
    detail: str


class _NotDicomError(Exception):
    pass


class _UnparsableError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# walking


def _normalize(path: PathInput) -> str:
    return os.path.abspath(os.fsdecode(os.fspath(path)))


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _os_detail(error: OSError) -> str:
    return error.strerror or type(error).__name__


def walk(
    paths: Iterable[PathInput] | PathInput, *, recursive: bool = True
) -> Iterator[str | Skipped]:
    """Yield candidate file paths (absolute, normalized) in discovery order, or `Skipped`.

    Input order first; inside a directory, entries sorted by name, depth first. Each directory
    is entered once (by device and inode), so symlink loops end. Unreadable inputs and
    special files become `Skipped` records.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    if isinstance(paths, str | bytes | os.PathLike):
        paths = [paths]  # one path, not an iterable of characters
    for raw in paths:
        path = _normalize(raw)
        try:
            st = os.stat(path)
        except OSError as error:
            yield Skipped(path, "unreadable", _os_detail(error))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(path, st, recursive, seen_dirs, seen_files)
        elif stat.S_ISREG(st.st_mode):
            if path not in seen_files:
                seen_files.add(path)
                yield path
        else:
            yield Skipped(path, "unreadable", _special(st.st_mode))


def _walk_dir(
    root: str,
    st: os.stat_result,
    recursive: bool,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[str],
) -> Iterator[str | Skipped]:
    seen_dirs.add((st.st_dev, st.st_ino))
    stack: list[Iterator[os.DirEntry[str]]] = []
    listing = _list_dir(root)
    if isinstance(listing, Skipped):
        yield listing
        return
    stack.append(iter(listing))
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = entry.path
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as error:
            yield Skipped(path, "unreadable", _os_detail(error))
            continue
        if is_dir:
            if not recursive:
                continue
            try:
                dst = entry.stat()
            except OSError as error:
                yield Skipped(path, "unreadable", _os_detail(error))
                continue
            key = (dst.st_dev, dst.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            listing = _list_dir(path)
            if isinstance(listing, Skipped):
                yield listing
            else:
                stack.append(iter(listing))
        elif is_file:
            if path not in seen_files:
                seen_files.add(path)
                yield path
        else:
            try:
                mode = os.stat(path).st_mode
            except OSError as error:
                detail = "broken symbolic link" if entry.is_symlink() else _os_detail(error)
                yield Skipped(path, "unreadable", detail)
                continue
            yield Skipped(path, "unreadable", _special(mode))


def _list_dir(path: str) -> list[os.DirEntry[str]] | Skipped:
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except OSError as error:
        return Skipped(path, "unreadable", _os_detail(error))
    entries.sort(key=lambda e: e.name)
    return entries


# ---------------------------------------------------------------------------------------------
# reading one file


def _encoding(ds: Dataset) -> tuple[str, bool, bool]:
    """Transfer syntax UID, little endian, explicit VR of a dataset pydicom read.

    The syntax comes from the File Meta Information when present; the byte order and VR
    explicitness from what pydicom found in the data (some files contradict their meta).
    """
    meta = getattr(ds, "file_meta", None)
    ts: str | None = None
    if meta is not None:
        value = meta.get("TransferSyntaxUID")
        ts = str(value).strip(" \x00") or None if value else None
    implicit, little = ds.original_encoding
    if ts is None:
        ts = IMPLICIT_LE if implicit else (EXPLICIT_LE if little else EXPLICIT_BE)
    return ts, bool(little), not implicit


def _plausible(ds: Dataset) -> bool:
    """A preamble-less parse is accepted only when it looks like a real dataset."""
    tags = list(ds.keys())
    if len(tags) < 3:
        return False
    unknown = sum(1 for t in tags if not (t.group % 2 or dictionary_has_tag(t)))
    if unknown * 4 > len(tags):
        return False
    uid = _header._raw_bytes(ds, 0x00080016) or _header._raw_bytes(ds, 0x0020000D)
    if uid is None:
        return False
    text = uid.rstrip(b" \x00")
    return bool(text) and all(c in b"0123456789." for c in text)


def _read_pydicom(fp: IO[bytes], path: str) -> tuple[Header, int | None]:
    """Header via pydicom; also the pixel length for deflated files (read inflated)."""
    fp.seek(0)
    head = fp.read(132)
    preamble = len(head) == 132 and head[128:132] == b"DICM"
    source: Any = fp
    if not preamble:
        offset = _header.plausible_start(head)
        if offset is None:
            raise _NotDicomError("no DICM magic and no plausible DICOM dataset at the start")
        source = OffsetFile(fp, offset, path) if offset else fp
        source.seek(0)
    else:
        fp.seek(0)
    try:
        with _header.quiet_pydicom():
            ds = dcmread(source, force=not preamble, stop_before_pixels=True, defer_size=_DEFER)
            ts, little, explicit = _encoding(ds)
            inline: int | None = None
            pixel: PixelElement | None = None
            if ts == DEFLATED_LE:
                source.seek(0)
                full = dcmread(source, defer_size=None)
                data = full.get("PixelData") or full.get("FloatPixelData")
                data = data or full.get("DoubleFloatPixelData")
                inline = len(data) if data else None
            else:
                pixel = _header.read_pixel_element(source, little, explicit)
            if not preamble and not _plausible(ds):
                raise _NotDicomError("no DICM magic and the data does not parse as a DICOM dataset")
            header = _header.header_from_dataset(ds, ts, little)
    except _NotDicomError:
        raise
    except Exception as error:  # hostile input: pydicom raises many kinds (RecursionError too)
        if not preamble:
            raise _NotDicomError(
                f"no DICM magic and not parsable ({type(error).__name__})"
            ) from None
        raise _UnparsableError(f"{type(error).__name__}: {error}") from None
    if pixel is not None and _offset_of(source) != 0:
        pixel = PixelElement(pixel.tag, pixel.value_offset + _offset_of(source), pixel.length)
    header.pixel = pixel
    header.start_offset = _offset_of(source)
    return header, inline


def _offset_of(source: Any) -> int:
    return source.offset if isinstance(source, OffsetFile) else 0


def _frame_bits(values: dict[str, Any], tag: int) -> int:
    rows, columns = values.get("Rows") or 0, values.get("Columns") or 0
    spp = values.get("SamplesPerPixel") or 1
    bits = values.get("BitsAllocated") or {0x7FE00008: 32, 0x7FE00009: 64}.get(tag, 0)
    if values.get("PhotometricInterpretation") in _colour.SUBSAMPLED_422 and spp == 3:
        return rows * columns * 2 * bits
    return rows * columns * spp * bits


@dataclass(slots=True)
class _Fragments:
    bot_length: int
    complete: list[tuple[int, int]]
    """(value offset, length) of each fragment wholly present, the offset table excluded."""
    partial: int | None
    """Value offset of a fragment cut short by the end of the file."""


def _fragments(fd: int, start: int, size: int) -> _Fragments:
    """Walk the encapsulated items (item headers only; values are skipped, never read)."""
    pos = start
    found = _Fragments(-1, [], None)
    while pos + 8 <= size and len(found.complete) < _MAX_FRAGMENTS:
        head = os.pread(fd, 8, pos)
        if len(head) < 8:
            break
        group, elem, length = struct.unpack("<HHL", head)
        if (group, elem) != (0xFFFE, 0xE000) or length == UNDEFINED:
            break
        if pos + 8 + length > size:
            found.partial = pos + 8
            break
        if found.bot_length < 0:
            found.bot_length = length
        else:
            found.complete.append((pos + 8, length))
        pos += 8 + length
    return found


_CODESTREAM_STARTS = (b"\xff\xd8\xff", b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP")


def _starts_frame(fd: int, offset: int) -> bool:
    return os.pread(fd, 6, offset).startswith(_CODESTREAM_STARTS)


def _encapsulated_frames(fd: int, pixel: PixelElement, size: int, declared: int) -> int:
    """Whole frames present in encapsulated pixel data (PS3.5 A.4).

    With a Basic Offset Table, a frame counts when its fragments are all present. Without
    one, frame starts are found from the codestream markers (JPEG SOI, J2K SOC, JP2
    signature) when there are more fragments than frames or the data is cut short;
    otherwise (RLE, one fragment per frame) each fragment is a frame.
    """
    walk = _fragments(fd, pixel.value_offset, size)
    fragments = walk.complete
    if not fragments:
        return 0
    if declared <= 1:
        return 1 if walk.partial is None else 0
    cut = walk.partial is not None
    if walk.bot_length > 0 and walk.bot_length % 4 == 0:
        bot = os.pread(fd, walk.bot_length, pixel.value_offset + 8)
        offsets = struct.unpack(f"<{walk.bot_length // 4}L", bot)
        first = fragments[0][0] - 8
        starts = {off - 8 - first for off, _ in fragments}
        end = fragments[-1][0] + fragments[-1][1] - first
        count = 0
        for k, off in enumerate(offsets[:declared]):
            following = offsets[k + 1] if k + 1 < len(offsets) else None
            if off not in starts or (following is not None and following > end):
                break
            if following is None and cut:
                break  # the last frame's fragments may continue past the end of the file
            count += 1
        return count
    if len(fragments) == declared and not cut:
        return declared
    starts_found = [_starts_frame(fd, off) for off, _ in fragments]
    marked = sum(starts_found)
    if not marked:
        return min(declared, len(fragments))
    if cut and walk.partial is not None and not _starts_frame(fd, walk.partial):
        marked -= 1  # the last frame continues in the fragment cut short
    return min(declared, marked)


def _frame_count(header: Header, fd: int, size: int, inline: int | None) -> tuple[bool, int]:
    """``(has_pixels, frames present)``; native data is bounded by the bytes in the file."""
    values = header.values
    declared = values.get("NumberOfFrames")
    declared = declared if isinstance(declared, int) and declared > 0 else 1
    pixel = header.pixel
    if inline is not None:
        available, tag = inline, 0x7FE00010
    elif pixel is None or pixel.length == 0:
        return False, 0
    elif header.transfer_syntax_uid not in NATIVE_SYNTAXES:
        end = size if pixel.length == UNDEFINED else min(size, pixel.value_offset + pixel.length)
        return True, _encapsulated_frames(fd, pixel, end, declared)
    elif pixel.length == UNDEFINED:
        return True, 0
    else:
        available, tag = min(pixel.length, max(0, size - pixel.value_offset)), pixel.tag
    bits = _frame_bits(values, tag)
    if bits <= 0:
        return True, 0
    return True, min(declared, available * 8 // bits)


def _support(header: Header, has_pixels: bool, frames: int) -> tuple[SupportState, str | None]:
    if not has_pixels:
        return SupportState.METADATA_ONLY, "pixel_data.absent"
    ts = header.transfer_syntax_uid
    pixel = header.pixel
    if pixel is not None and pixel.length == UNDEFINED and ts in NATIVE_SYNTAXES:
        return SupportState.UNSUPPORTED, "pixel_data.encoding_mismatch"
    reason = _syntax_support_reason(ts)
    if reason is not None:
        return SupportState.UNSUPPORTED, reason
    values = header.values
    if not values.get("Rows") or not values.get("Columns") or not values.get("BitsAllocated"):
        return SupportState.UNSUPPORTED, "pixel_data.missing_attributes"
    photometric = str(values.get("PhotometricInterpretation") or "").upper()
    if (values.get("SamplesPerPixel") == 3 and photometric) and (
        photometric not in _colour.COLOUR_PHOTOMETRICS
        or (photometric in _colour.COMPRESSED_ONLY and ts in NATIVE_SYNTAXES)
    ):
        return SupportState.UNSUPPORTED, "photometric.not_supported"
    if frames == 0:
        return SupportState.UNSUPPORTED, "pixel_data.truncated"
    return SupportState.RENDERABLE, None


def _label(path: str, values: dict[str, Any]) -> str:
    parts = [values.get("PatientID"), values.get("Modality"), values.get("StudyDate")]
    present = [p for p in parts if p]
    return " · ".join(present) if present else os.path.basename(path)


def _build(path: str, header: Header, has_pixels: bool, frames: int, index: int) -> FileEntry:
    v = header.values
    state, reason = _support(header, has_pixels, frames)
    window = Window(*header.window) if header.window else None
    return FileEntry(
        index=index,
        path=path,
        label=_label(path, v),
        patient_id=v.get("PatientID"),
        patient_name=v.get("PatientName"),
        study_instance_uid=v.get("StudyInstanceUID"),
        study_date=v.get("StudyDate"),
        study_description=v.get("StudyDescription"),
        series_instance_uid=v.get("SeriesInstanceUID"),
        series_number=v.get("SeriesNumber"),
        series_description=v.get("SeriesDescription"),
        modality=v.get("Modality"),
        instance_number=v.get("InstanceNumber"),
        sop_class_uid=v.get("SOPClassUID"),
        sop_instance_uid=v.get("SOPInstanceUID"),
        transfer_syntax_uid=header.transfer_syntax_uid,
        photometric_interpretation=v.get("PhotometricInterpretation"),
        rows=v.get("Rows") or 0,
        columns=v.get("Columns") or 0,
        frame_count=frames,
        bits_allocated=v.get("BitsAllocated"),
        bits_stored=v.get("BitsStored"),
        pixel_representation=v.get("PixelRepresentation"),
        samples_per_pixel=v.get("SamplesPerPixel"),
        has_pixels=has_pixels,
        default_window=window,
        support_state=state,
        support_reason=reason,
    )


def read_entry(path: str, filters: Sequence[Filter] = (), index: int = -1) -> FileEntry | Skipped:
    """Read one file's header into a `FileEntry` with *index*, or say why it was skipped.

    *path* should be absolute and normalized (as `walk` yields it); it is stored as given.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        return Skipped(path, "unreadable", _os_detail(error))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Skipped(path, "unreadable", _special(st.st_mode))
        size = st.st_size
        if size == 0:
            return Skipped(path, "not_dicom", "empty file")
        header: Header | None
        try:
            header = _header.read_lean(fd, size)
        except TruncatedError:
            header = None
        inline: int | None = None
        if header is None:
            with open(fd, "rb", closefd=False) as fp:
                header, inline = _read_pydicom(fp, path)
        has_pixels, frames = _frame_count(header, fd, size, inline)
        entry = _build(path, header, has_pixels, frames, index)
        if filters:
            cached: list[Dataset] = []

            def dataset() -> Dataset:
                if not cached:
                    cached.append(_dataset(fd, path))
                return cached[0]

            for flt in filters:
                if not flt.matches(entry, dataset):
                    return Skipped(path, "filtered", f"does not match {flt}")
        return entry
    except _NotDicomError as error:
        return Skipped(path, "not_dicom", str(error))
    except _UnparsableError as error:
        return Skipped(path, "unparsable", str(error))
    except OSError as error:
        return Skipped(path, "unreadable", _os_detail(error))
    finally:
        os.close(fd)


def _dataset(fd: int, path: str) -> Dataset:
    """The header as a pydicom Dataset, for filters on arbitrary keywords."""
    with open(fd, "rb", closefd=False) as fp:
        fp.seek(0)
        head = fp.read(132)
        preamble = len(head) == 132 and head[128:132] == b"DICM"
        offset = 0 if preamble else (_header.plausible_start(head) or 0)
        source: Any = OffsetFile(fp, offset, path) if offset else fp
        source.seek(0)
        with _header.quiet_pydicom():
            try:
                ds = dcmread(source, force=True, stop_before_pixels=True, defer_size=_DEFER)
                for elem in ds:  # convert every value now, while warnings are silenced
                    _ = elem.value
            except Exception:  # an unreadable value cannot match a keyword filter
                return Dataset()
    return ds


# ---------------------------------------------------------------------------------------------
# the stream


def scan(
    paths: Iterable[PathInput] | PathInput,
    *,
    recursive: bool = True,
    filters: Sequence[Filter] = (),
    workers: int | None = None,
) -> Iterator[FileEntry | Skipped]:
    """Stream `FileEntry` records (indices 0, 1, … in discovery order) and `Skipped` records.

    ``workers``: parser threads. The default (None or 0) parses in the calling thread, which
    is fastest on local disks (header parsing holds the GIL; measured in
    ``benchmarks/bench_discovery.py``); threads help only on slow network storage. Results
    come back in walk order whatever the number of workers.
    """
    items = walk(paths, recursive=recursive)
    index = 0
    if not workers or workers <= 0:
        for item in items:
            result = item if isinstance(item, Skipped) else read_entry(item, filters, index)
            if isinstance(result, FileEntry):
                index += 1
            yield result
        return
    window = max(8, workers * 16)
    pending: deque[Skipped | Future[FileEntry | Skipped]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dcmview-scan") as pool:
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    following: str | Skipped | None = next(items, None)
                    if following is None:
                        exhausted = True
                    elif isinstance(following, Skipped):
                        pending.append(following)
                    else:
                        pending.append(pool.submit(read_entry, following, filters))
                if not pending:
                    return
                head = pending.popleft()
                result = head if isinstance(head, Skipped) else head.result()
                if isinstance(result, FileEntry):
                    result = replace(result, index=index)
                    index += 1
                yield result
        finally:
            for future in pending:
                if isinstance(future, Future):
                    future.cancel()
