"""The header model: one immutable `FileEntry` per accepted DICOM file.

A `FileEntry` carries everything the API's `FilesResponse` and `/info` need, read from the
header only. Its `index` is assigned in discovery order and never changes; it keys caches and
annotations.

Paths (the one rule): `FileEntry.path` is the real path as Python names it, so it always
opens the file again; a name that is not valid UTF-8 holds surrogate escapes
(``os.fsdecode``) that JSON and UTF-8 cannot encode. Every output meant for people or other
programs (JSON responses, CSV export, error messages, the CLI) shows `display_path(path)`
instead (also `FileEntry.display_path`): the bytes decoded as UTF-8 with ``backslashreplace``
(``caf\\xe9.dcm``). Valid UTF-8 names are unchanged. To match an exported path against the
files again, compare it with `display_path` of each entry's path, never with the path itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum


def display_path(path: str) -> str:
    """*path* as people and JSON see it: undecodable bytes as ``\\xNN`` (see the module rule)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
LABEL_MAP_SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.7"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
OVERLAY_SOP_CLASSES = frozenset({SEG_STORAGE, LABEL_MAP_SEG_STORAGE, RTSTRUCT_STORAGE})
"""SOP classes whose pixels describe other images (drawn as overlays, never stacked)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A linear VOI window (PS3.3 C.11.2.1.2): centre and width in modality units."""

    center: float
    width: float


@dataclass(frozen=True, slots=True)
class NamedWindow:
    """A window the file declares, named by its Window Center & Width Explanation."""

    name: str
    center: float
    width: float


class SupportState(StrEnum):
    """Whether the viewer can show a file's pixels."""

    RENDERABLE = "renderable"
    METADATA_ONLY = "metadata_only"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class Geometry:
    """Patient-space geometry of a file's frames (PS3.3 C.7.6.2), read from the header only.

    Multi-frame files with per-frame functional groups take positions from each frame's
    PlanePositionSequence and orientation from the shared or per-frame PlaneOrientationSequence.
    """

    frame_of_reference_uid: str | None = None
    orientation: tuple[float, float, float, float, float, float] | None = None
    """ImageOrientationPatient: row direction cosines, then column direction cosines."""
    positions: tuple[tuple[float, float, float], ...] | None = None
    """ImagePositionPatient of each frame (one per frame), None when any is missing."""
    pixel_spacing: tuple[float, float] | None = None
    """PixelSpacing in mm: (between rows, between columns)."""
    imager_pixel_spacing: tuple[float, float] | None = None
    magnification: float | None = None
    """EstimatedRadiographicMagnificationFactor."""
    slice_thickness: float | None = None
    spacing_between_slices: float | None = None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One accepted DICOM file, as discovery read it from its header."""

    index: int
    path: str
    """Absolute, normalized path (``os.path.abspath``; symlinks in file names are kept)."""
    label: str
    """``PatientID · Modality · StudyDate`` from what is present, else the file name."""
    patient_id: str | None
    patient_name: str | None
    study_instance_uid: str | None
    study_date: str | None
    study_description: str | None
    series_instance_uid: str | None
    series_number: int | None
    series_description: str | None
    modality: str | None
    instance_number: int | None
    sop_class_uid: str | None
    sop_instance_uid: str | None
    transfer_syntax_uid: str
    photometric_interpretation: str | None
    rows: int
    columns: int
    frame_count: int
    """Frames the header declares (NumberOfFrames, 1 when absent); 0 without pixel data. A
    truncated file keeps its count: reading a frame not wholly present raises `DecodeError`."""
    bits_allocated: int | None
    bits_stored: int | None
    pixel_representation: int | None
    samples_per_pixel: int | None
    has_pixels: bool
    default_window: Window | None
    support_state: SupportState
    support_reason: str | None
    """Stable reason such as ``transfer_syntax.not_supported``; None when renderable."""
    geometry: Geometry | None = None
    """Patient-space geometry, when the header has any."""
    view_position: str | None = None
    """ViewPosition (mammography: CC, MLO, …)."""
    laterality: str | None = None
    """ImageLaterality, else Laterality, else the per-frame FrameAnatomySequence's."""
    rescale_type: str | None = None
    """RescaleType (the unit of modality values when not HU)."""
    frame_time_ms: float | None = None
    """Milliseconds per frame (cine): FrameTime, else the mean FrameTimeVector step, else
    1000 / CineRate or RecommendedDisplayFrameRate."""
    has_overlay: bool = False
    """Whether the header holds Overlay Data (groups 6000–601E)."""
    window_presets: tuple[NamedWindow, ...] = ()
    """Every valid Window Center/Width pair of the file (top level, else the first frame's
    functional groups), named by its explanation; the first is `default_window`."""
    shown_pixel_spacing: tuple[float, float] | None = None
    """The spacing ``/info`` shows: PixelSpacing (top level or functional groups), else
    ImagerPixelSpacing, else NominalScannedPixelSpacing."""
    support_detail: str | None = None
    """One human sentence behind `support_reason` (for example ``the pixel data is
    truncated: 7.9 of 8 KiB present``); None when renderable."""

    @property
    def display_path(self) -> str:
        """`display_path` of `path`: what every response and export shows."""
        return display_path(self.path)
