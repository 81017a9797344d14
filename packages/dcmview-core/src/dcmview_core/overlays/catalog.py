"""All overlays of one session: the files given as overlays, then the SEG and RTSTRUCT files
found among the loaded paths, each placed on the loaded images.

`OverlayCatalog(sources, segment_labels)` reads each source once (a SEG or RTSTRUCT header, a
mask array) and places it again whenever it is asked with more loaded files (the scan runs in
the background), so ``/api/overlays`` is right while the scan runs and once it is done. Ids
are ``o1``, ``o2`` … in that order — given sources first, then discovered files by file
index — and never change. A source that cannot be read or placed is still listed, with empty
``targets`` and its one-line ``reason``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

from dcmview_core.errors import DcmviewError, UsageError
from dcmview_core.model import FileEntry
from dcmview_core.overlays.arrays import (
    MaskKind,
    classify,
    load_mask_file,
    mask_label,
    place_array,
    place_nifti,
)
from dcmview_core.overlays.model import OverlayKind, OverlayLayer, Segment
from dcmview_core.overlays.placement import (
    LABEL_MAP_SEG_STORAGE,
    OVERLAY_SOP_CLASSES,
    RTSTRUCT_STORAGE,
    SEG_STORAGE,
    PlaceIndex,
)
from dcmview_core.overlays.rtstruct import RtStructHeader, place_rtstruct, read_rtstruct_header
from dcmview_core.overlays.seg import SegHeader, place_seg, read_seg_header
from dcmview_core.stacks import Stack

__all__ = [
    "MASK_SUFFIXES",
    "OverlayCatalog",
    "OverlaySource",
    "check_overlay_path",
    "parse_segment_labels",
]

MASK_SUFFIXES = (".npy", ".nii", ".nii.gz")


@dataclass(frozen=True, slots=True)
class OverlaySource:
    """An overlay given by the user: a mask file (``.npy``, ``.nii``, ``.nii.gz``) or a DICOM
    SEG / RT Structure Set file, with an optional label (default: the file name)."""

    path: str
    label: str | None = None


def is_mask_file(path: str) -> bool:
    """Whether a path names a mask file by its suffix (else it is read as DICOM)."""
    return path.lower().endswith(MASK_SUFFIXES)


def check_overlay_path(path: str) -> None:
    """Raise `UsageError` (one line) when an ``--overlay`` path cannot be used at all."""
    if not os.path.isfile(path):
        raise UsageError(f"overlay not found: {path}")
    if path.lower().endswith((".nii", ".nii.gz")):
        try:
            import nibabel  # noqa: F401
        except ImportError:
            raise UsageError(
                f"{path}: NIfTI overlays need nibabel: pip install 'dcmview-core[nifti]'"
            ) from None


def parse_segment_labels(text: str) -> dict[int, str]:
    """``{"1": "liver", "2": "spleen"}`` (a JSON object, inline or in a file) → ``{1: …}``;
    `UsageError` naming the problem."""
    raw = text
    if not text.lstrip().startswith("{") and os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            raw = f.read()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise UsageError(f"segment labels are not JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise UsageError('segment labels are a JSON object such as {"1": "tumour"}')
    out: dict[int, str] = {}
    for key, value in data.items():
        try:
            number = int(key)
        except ValueError:
            raise UsageError(f"segment label key {key!r} is not a segment number") from None
        if number <= 0 or not isinstance(value, str):
            raise UsageError(f"segment label {key!r}: numbers are ≥ 1 and labels are text")
        out[number] = value
    return out


@dataclass(slots=True)
class _Loaded:
    """One source, read once: a SEG/RTSTRUCT header, or a mask array, or why it failed."""

    entry: FileEntry | None = None
    seg: SegHeader | None = None
    rtstruct: RtStructHeader | None = None
    array: NDArray[Any] | None = None
    affine: NDArray[Any] | None = None
    kind: MaskKind | None = None
    error: str | None = None
    placed: OverlayLayer | None = None
    placed_for: tuple[int, int] = (-1, -1)


@dataclass(slots=True)
class _Slot:
    id: str
    source: str
    label: str | None
    entry: FileEntry | None
    loaded: _Loaded | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _read_entry(path: str) -> FileEntry:
    from dcmview_core.discovery import Skipped, read_entry

    entry = read_entry(os.path.abspath(path))
    if isinstance(entry, Skipped):
        raise UsageError(f"{path}: {entry.detail}")
    return entry


class OverlayCatalog:
    """The session's overlays (module doc); thread-safe."""

    def __init__(
        self,
        sources: Sequence[OverlaySource] = (),
        segment_labels: Mapping[int, str] | None = None,
    ) -> None:
        self.segment_labels = dict(segment_labels or {})
        self._lock = threading.Lock()
        self._slots: list[_Slot] = [
            _Slot(f"o{k + 1}", os.path.abspath(s.path), s.label, None)
            for k, s in enumerate(sources)
        ]
        self._of_file: dict[int, _Slot] = {}

    def _discover(self, entries: Sequence[FileEntry]) -> list[_Slot]:
        with self._lock:
            for entry in entries:
                if entry.sop_class_uid in OVERLAY_SOP_CLASSES and entry.index not in self._of_file:
                    slot = _Slot(f"o{len(self._slots) + 1}", entry.path, None, entry)
                    self._slots.append(slot)
                    self._of_file[entry.index] = slot
            return list(self._slots)

    def prepare(self, entries: Sequence[FileEntry] = ()) -> None:
        """Read every source not yet read (SEG/RTSTRUCT headers, mask files) without placing
        them: lets a server read them in the background while the scan goes on."""
        for slot in self._discover(entries):
            with slot.lock:
                if slot.loaded is None:
                    slot.loaded = self._load(slot)

    def overlays(
        self, entries: Sequence[FileEntry], stacks: Sequence[Stack] = ()
    ) -> list[OverlayLayer]:
        """Every overlay, placed on ``entries`` (all loaded files, by index) and ``stacks``."""
        slots = self._discover(entries)
        places: list[PlaceIndex] = []  # built once, on first need
        version = (len(entries), sum(s.slice_count for s in stacks))
        return [self._placed(slot, entries, stacks, places, version) for slot in slots]

    def get(
        self, overlay_id: str, entries: Sequence[FileEntry], stacks: Sequence[Stack] = ()
    ) -> OverlayLayer | None:
        """One overlay by id, placed as `overlays` places it."""
        for overlay in self.overlays(entries, stacks):
            if overlay.id == overlay_id:
                return overlay
        return None

    def _placed(
        self,
        slot: _Slot,
        entries: Sequence[FileEntry],
        stacks: Sequence[Stack],
        places: list[PlaceIndex],
        version: tuple[int, int],
    ) -> OverlayLayer:
        with slot.lock:
            if slot.loaded is None:
                slot.loaded = self._load(slot)
            loaded = slot.loaded
            if loaded.placed is not None and loaded.placed_for == version:
                return loaded.placed
            overlay = self._place(slot, loaded, entries, stacks, places)
            loaded.placed, loaded.placed_for = overlay, version
            return overlay

    def _load(self, slot: _Slot) -> _Loaded:
        out = _Loaded(entry=slot.entry)
        try:
            if slot.entry is None and is_mask_file(slot.source):
                out.array, out.affine = load_mask_file(slot.source)
                out.kind = classify(out.array, mask_label(slot.source))
                return out
            entry = slot.entry or _read_entry(slot.source)
            out.entry = entry
            if entry.sop_class_uid in (SEG_STORAGE, LABEL_MAP_SEG_STORAGE):
                out.seg = read_seg_header(entry)
            elif entry.sop_class_uid == RTSTRUCT_STORAGE:
                out.rtstruct = read_rtstruct_header(entry)
            else:
                out.error = "not a DICOM Segmentation or RT Structure Set"
        except (OSError, ValueError, DcmviewError) as error:
            out.error = _one_line(error)
        except Exception as error:  # hostile files: pydicom raises many kinds
            out.error = f"cannot read it ({type(error).__name__}: {_one_line(error)})"
        return out

    def _place(
        self,
        slot: _Slot,
        loaded: _Loaded,
        entries: Sequence[FileEntry],
        stacks: Sequence[Stack],
        places: list[PlaceIndex],
    ) -> OverlayLayer:
        if not places:
            places.append(PlaceIndex(entries))
        label = slot.label
        try:
            if loaded.seg is not None and loaded.entry is not None:
                overlay = place_seg(slot.id, loaded.entry, loaded.seg, entries, places[0])
            elif loaded.rtstruct is not None and loaded.entry is not None:
                overlay = place_rtstruct(slot.id, loaded.entry, loaded.rtstruct, entries, places[0])
            elif loaded.array is not None:
                name = label or mask_label(slot.source)
                if loaded.affine is not None:
                    overlay = place_nifti(
                        slot.id,
                        name,
                        slot.source,
                        loaded.array,
                        loaded.affine,
                        entries,
                        stacks,
                        self.segment_labels,
                        loaded.kind,
                    )
                else:
                    overlay = place_array(
                        slot.id,
                        name,
                        slot.source,
                        loaded.array,
                        entries,
                        stacks,
                        self.segment_labels,
                        loaded.kind,
                    )
            else:
                return self._unplaced(slot, loaded, loaded.error or "cannot be read")
        except ValueError as error:
            return self._unplaced(slot, loaded, _one_line(error))
        if label is not None and overlay.label != label:
            from dataclasses import replace

            overlay = replace(overlay, label=label)
        return overlay

    def _unplaced(self, slot: _Slot, loaded: _Loaded, reason: str) -> OverlayLayer:
        kind: OverlayKind = "mask"
        segments: tuple[Segment, ...] = ()
        label = slot.label
        if loaded.seg is not None:
            kind, segments, label = "segmentation", loaded.seg.segments, label or loaded.seg.label
        elif loaded.rtstruct is not None:
            kind, label = "contours", label or loaded.rtstruct.label
            segments = loaded.rtstruct.segments
        elif loaded.entry is not None and loaded.entry.sop_class_uid == RTSTRUCT_STORAGE:
            kind = "contours"
        elif loaded.entry is not None and loaded.entry.sop_class_uid in OVERLAY_SOP_CLASSES:
            kind = "segmentation"
        return OverlayLayer(
            id=slot.id,
            kind=kind,
            label=label or mask_label(slot.source),
            source=slot.source,
            segments=tuple(segments),
            targets=(),
            reason=reason,
        )


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
