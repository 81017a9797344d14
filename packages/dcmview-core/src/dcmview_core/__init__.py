"""dcmview-core: DICOM discovery, header model, tag tree and frame decoding."""

from __future__ import annotations

from dcmview_core.decoders import can_decode, support_reason
from dcmview_core.discovery import Skipped, read_entry, scan, walk
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
from dcmview_core.tags import TagNotFound, TagReadError, select_tag, tag_tree

__version__ = "0.1.0"

__all__ = [
    "DcmviewError",
    "DecodeError",
    "FileEntry",
    "Filter",
    "Frame",
    "FrameMeta",
    "FrameOutOfRange",
    "NoPixelData",
    "PixelError",
    "Skipped",
    "SupportState",
    "TagNotFound",
    "TagReadError",
    "UnsupportedTransferSyntax",
    "UsageError",
    "Window",
    "__version__",
    "can_decode",
    "parse_filter",
    "parse_filters",
    "read_entry",
    "read_frame",
    "scan",
    "select_tag",
    "support_reason",
    "tag_tree",
    "walk",
]
