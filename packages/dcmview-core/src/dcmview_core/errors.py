"""Exceptions raised by dcmview-core.

DcmviewError
├── UsageError                 the caller asked for something invalid (bad filter, bad path)
├── TagReadError               a header could not be read for the tag tree
├── TagNotFound                a tag path names no element
└── PixelError                 a frame could not be produced
    ├── NoPixelData            the file has no Pixel Data element
    ├── FrameOutOfRange        the frame index is outside [0, frame_count)
    ├── UnsupportedTransferSyntax  no installed decoder handles the syntax
    └── DecodeError            a decoder failed on the data (corrupt, truncated)
"""

from __future__ import annotations


class DcmviewError(Exception):
    """Root of every exception dcmview-core raises on purpose."""


class UsageError(DcmviewError, ValueError):
    """The caller passed an invalid argument (for example an unknown filter field)."""


class TagReadError(DcmviewError):
    """The file's header could not be read at all."""


class TagNotFound(DcmviewError, LookupError):
    """The tag path names no element (or no item) in the file."""


class PixelError(DcmviewError):
    """A frame could not be read, decoded or presented."""


class NoPixelData(PixelError):
    """The file holds no Pixel Data (Float/Double Float Pixel Data included)."""


class FrameOutOfRange(PixelError, IndexError):
    """The requested frame index is outside ``[0, frame_count)``."""


class UnsupportedTransferSyntax(PixelError):
    """No available decoder handles this transfer syntax; the message names what would."""


class DecodeError(PixelError):
    """A decoder failed on the file's data (corrupt or truncated pixel data)."""
