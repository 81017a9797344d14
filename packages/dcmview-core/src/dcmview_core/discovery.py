"""Discovery: turn paths into a stream of `FileEntry` records, headers only.

`scan` walks its inputs in a deterministic order (input order, then directory entries sorted by
name, depth first), reads each file's header (never its pixel data), and yields one
`FileEntry` per accepted file, with indices 0, 1, 2 … in that order, or a `Skipped` record
saying why a file was left out. Parsing may run in worker threads; the order never changes.

Nothing here blocks on special files: a path is opened with ``O_NONBLOCK`` and checked to be a
regular file with ``fstat`` before a byte is read, so FIFOs, sockets and devices are skipped.
Directory symlinks are followed once (a loop is walked once).

Bytes come through `dcmview_core.source` (a ``scheme://`` input is expanded by its registered
lister and read by its registered opener), the dataset is opened by
`dcmview_core.dataset.open_dataset` when the lean reader (`_header.read_lean`) declines, frames
are counted by `dcmview_core.pixelmap` and windows parsed by `dcmview_core.voi`: the rules frame
reading and the tag tree use too. A skipped path says why in one line; its ``reason`` is a
stable kind (`SKIP_KIND_NAMES`), and a file with the ``DICM`` magic whose dataset is empty or
junk is skipped as ``unparsable``, never listed.
"""

from __future__ import annotations

import math
import os
import stat
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from dcmview_core import _colour, _header
from dcmview_core._header import DEFLATED_LE, UNDEFINED, Header, TruncatedError
from dcmview_core.dataset import NotDicomError, open_dataset
from dcmview_core.decoders import NATIVE_SYNTAXES, decoder_for
from dcmview_core.decoders import support_reason as _syntax_support_reason
from dcmview_core.errors import UnsupportedTransferSyntax, UsageError
from dcmview_core.filters import Filter
from dcmview_core.model import (
    FileEntry,
    Geometry,
    NamedWindow,
    SupportState,
    Window,
    display_path,
)
from dcmview_core.pixelmap import (
    default_bits_allocated,
    frame_bits,
    map_encapsulated,
    truncation_message,
)
from dcmview_core.source import (
    ByteSource,
    close_source,
    is_source_name,
    list_source,
    open_source,
    special_kind,
)
from dcmview_core.voi import float_values, named_windows

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

SkipReason = Literal["not_dicom", "unreadable", "unparsable", "filtered"]
PathInput = str | bytes | os.PathLike[str] | os.PathLike[bytes]

_DEFER = 64 * 1024


SKIP_KIND_NAMES: dict[str, str] = {
    "not_dicom": "not DICOM",
    "unreadable": "unreadable",
    "unparsable": "unparsable DICOM",
    "filtered": "filtered out",
}
"""Each stable skip kind in words, for summaries (``7 not DICOM, 2 unreadable``)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path discovery left out, and why.

    ``reason`` is the stable kind (`SkipReason`: ``not_dicom``, ``unreadable``,
    ``unparsable``, ``filtered``); ``detail`` one line for people (``no DICM magic and …``).
    """

    path: str
    reason: SkipReason
    detail: str

    @property
    def kind(self) -> SkipReason:
        """The stable kind (same as ``reason``)."""
        return self.reason

    @property
    def message(self) -> str:
        """One line: ``not DICOM (no DICM magic and no plausible DICOM dataset at the start)``."""
        name = SKIP_KIND_NAMES.get(self.reason, self.reason)
        return f"{name} ({self.detail})" if self.detail else name


def skipped_summary(skipped: Iterable[Skipped]) -> str:
    """``9 skipped: 7 not DICOM, 2 unreadable`` (kinds by count, most first); ``0 skipped``."""
    counts = Counter(s.reason for s in skipped)
    total = sum(counts.values())
    if not total:
        return "0 skipped"
    kinds = ", ".join(f"{n} {SKIP_KIND_NAMES.get(k, k)}" for k, n in counts.most_common())
    return f"{total} skipped: {kinds}"


class _UnparsableError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# walking


def _normalize(path: PathInput) -> str:
    return os.path.abspath(os.fsdecode(os.fspath(path)))


def _os_detail(error: OSError) -> str:
    return _one_line(error.strerror or type(error).__name__)


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
        if isinstance(raw, str) and is_source_name(raw):
            yield from _walk_source(raw)
            continue
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
            yield Skipped(path, "unreadable", special_kind(st.st_mode))


def _walk_source(name: str) -> Iterator[str | Skipped]:
    """A ``scheme://`` input: the names its lister yields, else the name itself."""
    try:
        listed = list_source(name)
        if listed is None:
            yield name
            return
        yield from listed
    except (OSError, UsageError) as error:
        yield Skipped(name, "unreadable", _one_line(str(error)))


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
            yield Skipped(path, "unreadable", special_kind(mode))


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


def _read_pydicom(source: ByteSource) -> tuple[Header, int | None]:
    """Header via pydicom; also the pixel length for deflated files (read inflated)."""
    try:
        opened = open_dataset(source, defer_size=_DEFER)
        ds = opened.dataset
        with _header.quiet_pydicom():
            if not _has_content(ds):
                raise _UnparsableError("the DICOM dataset after the file meta information is empty")
            inline: int | None = None
            if opened.transfer_syntax_uid == DEFLATED_LE:
                full = open_dataset(source, stop_before_pixels=False).dataset
                data = full.get("PixelData") or full.get("FloatPixelData")
                data = data or full.get("DoubleFloatPixelData")
                inline = len(data) if data else None
            ts, little = opened.transfer_syntax_uid, opened.little_endian
            header = _header.header_from_dataset(ds, ts, little)
    except (NotDicomError, _UnparsableError):
        raise
    except Exception as error:  # hostile input: pydicom raises many kinds (RecursionError too)
        raise _UnparsableError(_one_line(f"{type(error).__name__}: {error}")) from None
    header.pixel = opened.pixel
    header.start_offset = opened.start
    return header, inline


def _has_content(ds: Dataset) -> bool:
    """A dataset pydicom read from a DICM file holds something beyond its File Meta
    Information: at least one element past the command and meta groups (0000, 0002), and
    not mostly tags no dictionary knows (junk read as elements)."""
    tags = [t for t in ds.keys() if t.group not in (0x0000, 0x0002)]  # noqa: SIM118
    if not tags:
        return False
    from pydicom.datadict import dictionary_has_tag

    unknown = sum(1 for t in tags if not (t.group % 2 or dictionary_has_tag(t)))
    return unknown * 2 <= len(tags)


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class _Pixels(NamedTuple):
    has_pixels: bool
    declared: int
    present: int
    detail: str | None
    """Why fewer frames are present than declared (a sentence), else None."""


def _pixels(header: Header, source: ByteSource, inline: int | None) -> _Pixels:
    """What the pixel data holds; native data is bounded by the bytes in the file."""
    values = header.values
    declared = values.get("NumberOfFrames")
    declared = declared if isinstance(declared, int) and declared > 0 else 1
    pixel = header.pixel
    size = source.size
    if inline is not None:
        available, tag = inline, 0x7FE00010
    elif pixel is None or pixel.length == 0:
        return _Pixels(False, 0, 0, None)
    elif header.transfer_syntax_uid not in NATIVE_SYNTAXES:
        end = size if pixel.length == UNDEFINED else min(size, pixel.value_offset + pixel.length)
        found = map_encapsulated(
            source, pixel.value_offset, end, declared, values.get("ExtendedOffsetTable")
        )
        present = min(found.frames_present, declared)
        detail = None
        if present < declared:
            detail = found.error or (
                f"the pixel data is truncated: {present} of {declared} frame(s) present"
                if found.truncated is not None
                else f"the encapsulated pixel data holds {len(found.fragments)} fragment(s) "
                f"for {declared} frame(s)"
            )
        return _Pixels(True, declared, present, detail)
    elif pixel.length == UNDEFINED:
        return _Pixels(True, 0, 0, None)
    else:
        available, tag = min(pixel.length, max(0, size - pixel.value_offset)), pixel.tag
    bits = frame_bits(
        values.get("Rows") or 0,
        values.get("Columns") or 0,
        values.get("SamplesPerPixel") or 1,
        default_bits_allocated(tag, values.get("BitsAllocated")),
        values.get("PhotometricInterpretation"),
    )
    if bits <= 0:
        return _Pixels(True, 0, 0, None)
    present = min(declared, available * 8 // bits)
    needed = -(-declared * bits // 8)
    detail = truncation_message(available, needed) if present < declared else None
    return _Pixels(True, declared, present, detail)


_DETAILS = {
    "pixel_data.absent": "the file has no pixel data",
    "pixel_data.encoding_mismatch": (
        "the pixel data has an undefined length in an uncompressed transfer syntax"
    ),
    "pixel_data.missing_attributes": "Rows, Columns or Bits Allocated is missing",
}


def _support(header: Header, pixels: _Pixels) -> tuple[SupportState, str | None, str | None]:
    """``(state, stable reason, human sentence)``."""
    if not pixels.has_pixels:
        return SupportState.METADATA_ONLY, "pixel_data.absent", _DETAILS["pixel_data.absent"]
    ts = header.transfer_syntax_uid
    pixel = header.pixel
    if pixel is not None and pixel.length == UNDEFINED and ts in NATIVE_SYNTAXES:
        code = "pixel_data.encoding_mismatch"
        return SupportState.UNSUPPORTED, code, _DETAILS[code]
    syntax_reason = _syntax_support_reason(ts) if ts else None  # "": unknown until a frame
    if syntax_reason is not None:
        try:
            decoder_for(ts)
            detail = syntax_reason
        except UnsupportedTransferSyntax as error:
            detail = str(error)
        return SupportState.UNSUPPORTED, syntax_reason, detail
    values = header.values
    if not values.get("Rows") or not values.get("Columns") or not values.get("BitsAllocated"):
        code = "pixel_data.missing_attributes"
        return SupportState.UNSUPPORTED, code, _DETAILS[code]
    photometric = str(values.get("PhotometricInterpretation") or "").upper()
    if (values.get("SamplesPerPixel") == 3 and photometric) and (
        photometric not in _colour.COLOUR_PHOTOMETRICS
        or (photometric in _colour.COMPRESSED_ONLY and ts in NATIVE_SYNTAXES)
    ):
        detail = f"Photometric Interpretation {photometric} is not supported for colour images"
        return SupportState.UNSUPPORTED, "photometric.not_supported", detail
    if pixels.present == 0:
        detail = pixels.detail or "no frame of the pixel data is present"
        return SupportState.UNSUPPORTED, "pixel_data.truncated", detail
    return SupportState.RENDERABLE, None, None


def _label(path: str, values: dict[str, Any]) -> str:
    parts = [values.get("PatientID"), values.get("Modality"), values.get("StudyDate")]
    present = [p for p in parts if p]
    return " · ".join(present) if present else os.path.basename(display_path(path))


def _numbers(value: Any, count: int) -> tuple[float, ...] | None:
    """Exactly *count* finite numbers, else None."""
    if value is None:
        return None
    if type(value) is bytes:  # the lean reader's raw value
        key = (value, count)
        known = _PARSED.get(key, _MISSING)
        if known is not _MISSING:
            return cast(tuple[float, ...] | None, known)
        fast: tuple[float, ...] | None
        try:
            parsed = tuple(map(float, value.split(b"\\")))
        except ValueError:
            fast = _numbers(value.decode("latin-1"), count)
        else:
            fast = parsed if len(parsed) == count and math.isfinite(sum(parsed)) else None
        _remember(key, fast)
        return fast
    numbers = float_values(value)
    if len(numbers) != count or None in numbers:
        return None
    return tuple(n for n in numbers if n is not None)


_PARSED: dict[object, object] = {}
"""Raw header values already parsed: a series repeats its orientation, spacing and windows
in every file, so each distinct value is parsed once (bounded; cleared when full)."""
_MISSING = object()


def _remember(key: object, value: object) -> None:
    if len(_PARSED) >= 4096:
        _PARSED.clear()
    _PARSED[key] = value


def _windows_of(v: dict[str, Any]) -> tuple[NamedWindow, ...]:
    centers, widths = v.get("WindowCenter"), v.get("WindowWidth")
    if centers is None or widths is None:
        return ()
    explanations = v.get("WindowCenterWidthExplanation")
    if type(centers) is not bytes or type(widths) is not bytes or type(explanations) is list:
        return named_windows(centers, widths, explanations)
    key = ("windows", centers, widths, explanations)
    known = _PARSED.get(key, _MISSING)
    if known is _MISSING:
        known = named_windows(centers, widths, explanations)
        _remember(key, known)
    return cast(tuple[NamedWindow, ...], known)


def _number(value: Any) -> float | None:
    if value is None or type(value) is float:  # the lean reader converts DS values itself
        return value
    numbers = float_values(value)
    return numbers[0] if numbers else None


def _geometry(v: dict[str, Any], frames: int) -> Geometry | None:
    """The header's patient-space geometry; positions only when every frame has one."""
    if _GEOMETRY_KEYS.isdisjoint(v):
        return None
    positions: tuple[tuple[float, float, float], ...] | None = None
    per_frame = v.get("FramePositions")
    if per_frame is not None:
        found = [_numbers(p, 3) for p in per_frame]
        if None not in found and found:
            positions = tuple(cast(tuple[float, float, float], p) for p in found)
    elif frames == 1:
        single = _numbers(v.get("ImagePositionPatient"), 3)
        positions = None if single is None else (cast(tuple[float, float, float], single),)
    if positions is not None and len(positions) != frames:
        positions = positions[:frames] if len(positions) > frames else None
    fields = (
        _text(v.get("FrameOfReferenceUID")),
        _numbers(v.get("ImageOrientationPatient"), 6),
        positions,
        _numbers(v.get("PixelSpacing"), 2),
        _numbers(v.get("ImagerPixelSpacing"), 2),
        _number(v.get("EstimatedRadiographicMagnificationFactor")),
        _number(v.get("SliceThickness")),
        _number(v.get("SpacingBetweenSlices")),
    )
    if fields.count(None) == len(fields):
        return None
    return Geometry(*cast(Any, fields))


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:  # lean values are stripped already
        return value or None
    text = str(value).strip(" \x00")
    return text or None


_FRAME_TIME_KEYS = frozenset(
    {"FrameTime", "FrameTimeVector", "CineRate", "RecommendedDisplayFrameRate"}
)
_GEOMETRY_KEYS = frozenset(
    {
        "FrameOfReferenceUID",
        "ImageOrientationPatient",
        "ImagePositionPatient",
        "FramePositions",
        "PixelSpacing",
        "ImagerPixelSpacing",
        "EstimatedRadiographicMagnificationFactor",
        "SliceThickness",
        "SpacingBetweenSlices",
    }
)


def _frame_time(v: dict[str, Any]) -> float | None:
    """FrameTime, else the mean step of FrameTimeVector, else 1000 / a frame rate (ms)."""
    if _FRAME_TIME_KEYS.isdisjoint(v):
        return None
    frame_time = _number(v.get("FrameTime"))
    if frame_time is not None and frame_time > 0:
        return frame_time
    steps = [t for t in float_values(v.get("FrameTimeVector"))[1:] if t is not None and t > 0]
    if steps:
        return sum(steps) / len(steps)
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _number(v.get(keyword))
        if rate is not None and rate > 0:
            return 1000.0 / rate
    return None


def _build(path: str, header: Header, pixels: _Pixels, index: int) -> FileEntry:
    v = header.values
    state, reason, detail = _support(header, pixels)
    presets = _windows_of(v)
    window = Window(presets[0].center, presets[0].width) if presets else None
    geometry = _geometry(v, pixels.declared or 1)
    spacing = None
    if geometry is not None:
        spacing = geometry.pixel_spacing or geometry.imager_pixel_spacing
    spacing = spacing or cast(Any, _numbers(v.get("NominalScannedPixelSpacing"), 2))
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
        frame_count=pixels.declared,
        bits_allocated=v.get("BitsAllocated"),
        bits_stored=v.get("BitsStored"),
        pixel_representation=v.get("PixelRepresentation"),
        samples_per_pixel=v.get("SamplesPerPixel"),
        has_pixels=pixels.has_pixels,
        default_window=window,
        support_state=state,
        support_reason=reason,
        geometry=geometry,
        view_position=_text(v.get("ViewPosition")),
        laterality=_text(v.get("ImageLaterality"))
        or _text(v.get("Laterality"))
        or _text(v.get("FrameLaterality")),
        rescale_type=_text(v.get("RescaleType")),
        frame_time_ms=_frame_time(v),
        has_overlay=bool(v.get("HasOverlay")),
        window_presets=presets,
        shown_pixel_spacing=spacing,
        support_detail=detail,
    )


def read_entry(path: str, filters: Sequence[Filter] = (), index: int = -1) -> FileEntry | Skipped:
    """Read one file's header into a `FileEntry` with *index*, or say why it was skipped.

    *path* should be absolute and normalized (as `walk` yields it), or a ``scheme://`` name a
    registered byte source opens (`dcmview_core.source.open_source`); it is stored as given.
    """
    try:
        source = open_source(path)
    except OSError as error:
        return Skipped(path, "unreadable", _os_detail(error))
    except UsageError as error:
        return Skipped(path, "unreadable", _one_line(str(error)))
    try:
        return read_source_entry(source, filters, index)
    finally:
        close_source(source)


def read_source_entry(
    source: ByteSource, filters: Sequence[Filter] = (), index: int = -1
) -> FileEntry | Skipped:
    """`read_entry` for an open `ByteSource` (the entry's path is ``source.name``)."""
    path = source.name
    try:
        held = getattr(source, "header_dataset", None)
        if held is None and source.size == 0:
            return Skipped(path, "not_dicom", "empty file")
        cached: list[Dataset] = []
        if held is not None:  # the source holds the header already (DICOMweb metadata)
            entry, ds = _held_entry(source, held, index)
            cached.append(ds)
        else:
            header: Header | None
            try:
                header = _header.read_lean(source)
            except TruncatedError:
                header = None
            inline: int | None = None
            if header is None:
                header, inline = _read_pydicom(source)
            entry = _build(path, header, _pixels(header, source, inline), index)
        if filters:

            def dataset() -> Dataset:
                if not cached:
                    cached.append(_dataset(source))
                return cached[0]

            for flt in filters:
                if not flt.matches(entry, dataset):
                    return Skipped(path, "filtered", f"does not match {flt}")
        return entry
    except NotDicomError as error:
        return Skipped(path, "not_dicom", _one_line(str(error)))
    except _UnparsableError as error:
        return Skipped(path, "unparsable", str(error))
    except OSError as error:
        return Skipped(path, "unreadable", _os_detail(error))


def _held_entry(source: ByteSource, held: Any, index: int) -> tuple[FileEntry, Dataset]:
    """The entry of a source that holds its header dataset: no byte is read."""
    ds: Dataset = held()
    with _header.quiet_pydicom():
        meta = getattr(ds, "file_meta", None)
        # "" when the source does not know it yet (DICOMweb metadata carries no (0002,0010)):
        # never a guess; the frame is decoded in the syntax its response names
        ts = str(meta.get("TransferSyntaxUID", "") if meta is not None else "")
        header = _header.header_from_dataset(ds, ts, True)
    frames = int(getattr(source, "frame_count", 0) or 0)
    has_pixels = bool(getattr(source, "has_pixels", False))
    pixels = _Pixels(has_pixels, frames if has_pixels else 0, frames if has_pixels else 0, None)
    return _build(source.name, header, pixels, index), ds


def _dataset(source: ByteSource) -> Dataset:
    """The header as a pydicom Dataset, for filters on arbitrary keywords."""
    with _header.quiet_pydicom():
        try:
            ds = open_dataset(source, defer_size=_DEFER).dataset
            for elem in ds:  # convert every value now, while warnings are silenced
                _ = elem.value
        except Exception:  # an unreadable value cannot match a keyword filter
            from pydicom.dataset import Dataset

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
