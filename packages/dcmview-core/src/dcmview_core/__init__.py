"""dcmview-core: DICOM discovery, header model, tag tree and frame decoding."""

from __future__ import annotations

from dcmview_core.decoders import can_decode, support_reason
from dcmview_core.errors import (
    DcmviewError,
    DecodeError,
    FrameOutOfRange,
    NoPixelData,
    PixelError,
    UnsupportedTransferSyntax,
    UsageError,
)
from dcmview_core.frames import Frame, FrameMeta, read_frame
from dcmview_core.model import FileEntry, SupportState, Window

__version__ = "0.1.0"

__all__ = [
    "DcmviewError",
    "DecodeError",
    "FileEntry",
    "Frame",
    "FrameMeta",
    "FrameOutOfRange",
    "NoPixelData",
    "PixelError",
    "SupportState",
    "UnsupportedTransferSyntax",
    "UsageError",
    "Window",
    "__version__",
    "can_decode",
    "read_frame",
    "support_reason",
]
