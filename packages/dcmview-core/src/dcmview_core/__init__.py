"""dcmview-core: DICOM discovery, header model, tag tree and frame decoding."""

from __future__ import annotations

import os
from typing import Any

from dcmview_core._header import quiet_pydicom
from dcmview_core.cache import ByteBudgetCache, CacheView
from dcmview_core.dataset import open_dataset
from dcmview_core.decoders import can_decode, support_reason, syntax_name
from dcmview_core.discovery import (
    SKIP_KIND_NAMES,
    Skipped,
    read_entry,
    read_source_entry,
    scan,
    skipped_summary,
    walk,
)
from dcmview_core.encode import encode_png, encode_thumbnail_jpeg
from dcmview_core.errors import (
    DcmviewError,
    DecodeError,
    FrameOutOfRange,
    NoPixelData,
    PixelError,
    TagNotFound,
    TagReadError,
    UnsupportedTransferSyntax,
    UsageError,
)
from dcmview_core.filters import Filter, parse_filter, parse_filters
from dcmview_core.frames import (
    Frame,
    FrameMeta,
    Lut,
    Overlay,
    overlay_mask,
    read_frame,
    read_frame_inline,
    read_source_frame,
)
from dcmview_core.measure import (
    MAX_MEASUREMENTS,
    Measurement,
    MeasurementError,
    MeasurementKind,
    measure,
    parse_measurements,
)
from dcmview_core.model import (
    FileEntry,
    Geometry,
    NamedWindow,
    SupportState,
    Window,
    display_path,
)
from dcmview_core.overlays import (
    OVERLAY_SOP_CLASSES,
    OverlayCatalog,
    OverlayLayer,
    OverlayNotFound,
    OverlaySource,
    check_overlay_path,
    label_dtype,
    label_map,
    label_map_overlap,
    parse_segment_labels,
    seg_dataset,
    segment_counts,
    segment_mask,
)
from dcmview_core.pixelmap import frame_nbytes
from dcmview_core.present import Display, render_display
from dcmview_core.presets import PRESETS, Preset
from dcmview_core.remote import UpstreamError, is_remote, prepare_inputs
from dcmview_core.remote import install as _install_remote
from dcmview_core.source import ByteSource, LocalFile, open_source, register_scheme
from dcmview_core.stacks import (
    Stack,
    StackIndex,
    VolumeInfo,
    build_stack,
    entry_pixel_area,
    plane_label,
    stack_label,
    stackable,
)
from dcmview_core.stats import (
    Box,
    NotMonochrome,
    PixelArea,
    RegionError,
    RegionShape,
    RegionStats,
    modality_values,
    pixel_area,
    region_stats,
    stats_unit,
)
from dcmview_core.voi import named_windows, parse_windows
from dcmview_core.volume import Volume, build_volume, voxel_bytes


def tag_tree(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every header element of *path* as TagNode dicts (`dcmview_core.tags.tag_tree`).

    Here, not re-exported, so that importing dcmview-core never imports pydicom: the tag
    module needs it and is loaded on the first call.
    """
    from dcmview_core import tags

    return tags.tag_tree(path)


def select_tag(
    path: str | os.PathLike[str], tag_path: str, *, offset: int = 0, limit: int = 64
) -> dict[str, Any]:
    """One element by tag path (`dcmview_core.tags.select_tag`); loads the tag module."""
    from dcmview_core import tags

    return tags.select_tag(path, tag_path, offset=offset, limit=limit)


_install_remote()  # dicomweb://, s3://, gs://, http(s):// byte sources and listers

__version__ = "0.1.0"

__all__ = [
    "MAX_MEASUREMENTS",
    "OVERLAY_SOP_CLASSES",
    "PRESETS",
    "SKIP_KIND_NAMES",
    "Box",
    "ByteBudgetCache",
    "ByteSource",
    "CacheView",
    "DcmviewError",
    "DecodeError",
    "Display",
    "FileEntry",
    "Filter",
    "Frame",
    "FrameMeta",
    "FrameOutOfRange",
    "Geometry",
    "LocalFile",
    "Lut",
    "Measurement",
    "MeasurementError",
    "MeasurementKind",
    "NamedWindow",
    "NoPixelData",
    "NotMonochrome",
    "Overlay",
    "OverlayCatalog",
    "OverlayLayer",
    "OverlayNotFound",
    "OverlaySource",
    "PixelArea",
    "PixelError",
    "Preset",
    "RegionError",
    "RegionShape",
    "RegionStats",
    "Skipped",
    "Stack",
    "StackIndex",
    "SupportState",
    "TagNotFound",
    "TagReadError",
    "UnsupportedTransferSyntax",
    "UpstreamError",
    "UsageError",
    "Volume",
    "VolumeInfo",
    "Window",
    "__version__",
    "build_stack",
    "build_volume",
    "can_decode",
    "check_overlay_path",
    "display_path",
    "encode_png",
    "encode_thumbnail_jpeg",
    "entry_pixel_area",
    "frame_nbytes",
    "is_remote",
    "label_dtype",
    "label_map",
    "label_map_overlap",
    "measure",
    "modality_values",
    "named_windows",
    "open_dataset",
    "open_source",
    "overlay_mask",
    "parse_filter",
    "parse_filters",
    "parse_measurements",
    "parse_segment_labels",
    "parse_windows",
    "pixel_area",
    "plane_label",
    "prepare_inputs",
    "quiet_pydicom",
    "read_entry",
    "read_frame",
    "read_frame_inline",
    "read_source_entry",
    "read_source_frame",
    "region_stats",
    "register_scheme",
    "render_display",
    "scan",
    "seg_dataset",
    "segment_counts",
    "segment_mask",
    "select_tag",
    "skipped_summary",
    "stack_label",
    "stackable",
    "stats_unit",
    "support_reason",
    "syntax_name",
    "tag_tree",
    "voxel_bytes",
    "walk",
]
