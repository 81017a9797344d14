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
from dcmview_core.model import FileEntry, SupportState, Window
from dcmview_core.present import Display, render_display
from dcmview_core.presets import PRESETS, Preset
from dcmview_core.tags import TagNotFound, TagReadError, select_tag, tag_tree

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
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
    "NoPixelData",
    "PixelError",
    "Preset",
    "Skipped",
    "SupportState",
    "TagNotFound",
    "TagReadError",
    "UnsupportedTransferSyntax",
    "UsageError",
    "Window",
    "__version__",
    "can_decode",
    "encode_png",
    "encode_thumbnail_jpeg",
    "parse_filter",
    "parse_filters",
    "quiet_pydicom",
    "read_entry",
    "read_frame",
    "render_display",
    "scan",
    "select_tag",
    "support_reason",
    "tag_tree",
    "walk",
]
