"""dcmview-core: DICOM discovery, header model, tag tree and frame decoding."""

from __future__ import annotations

from dcmview_core._header import quiet_pydicom
from dcmview_core.cache import ByteBudgetCache, CacheView
from dcmview_core.decoders import can_decode, support_reason
from dcmview_core.discovery import Skipped, read_entry, scan, walk
from dcmview_core.encode import encode_png, encode_thumbnail_jpeg
from dcmview_core.errors import (
    DcmviewError,
    DecodeError,
    FrameOutOfRange,
    NoPixelData,
    PixelError,
    UnsupportedTransferSyntax,
    UsageError,
)
from dcmview_core.filters import Filter, parse_filter, parse_filters
from dcmview_core.frames import Frame, FrameMeta, read_frame
from dcmview_core.model import FileEntry, Geometry, SupportState, Window
from dcmview_core.present import Display, render_display
from dcmview_core.presets import PRESETS, Preset
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
from dcmview_core.tags import TagNotFound, TagReadError, select_tag, tag_tree
from dcmview_core.volume import Volume, build_volume, voxel_bytes

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Box",
    "ByteBudgetCache",
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
    "NoPixelData",
    "NotMonochrome",
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
    "UsageError",
    "Volume",
    "VolumeInfo",
    "Window",
    "__version__",
    "build_stack",
    "build_volume",
    "can_decode",
    "encode_png",
    "encode_thumbnail_jpeg",
    "entry_pixel_area",
    "modality_values",
    "parse_filter",
    "parse_filters",
    "pixel_area",
    "plane_label",
    "quiet_pydicom",
    "read_entry",
    "read_frame",
    "region_stats",
    "render_display",
    "scan",
    "select_tag",
    "stack_label",
    "stackable",
    "stats_unit",
    "support_reason",
    "tag_tree",
    "voxel_bytes",
    "walk",
]
