"""Cache and in-flight keys of the frame service: one place for their shape.

A frame is accessed as ``RAW`` (decoded samples) or through a `DisplayKey` (a PNG windowed one
way). The prefetcher follows each kind separately; the caches key entries by file, frame and
kind, so two windows of one frame are two PNGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["default", "full_dynamic"]
RAW: Literal["raw"] = "raw"


@dataclass(frozen=True, slots=True)
class DisplayKey:
    """How a display PNG is rendered: explicit window (both or neither) and mode."""

    center: float | None
    width: float | None
    mode: Mode = "default"


Kind = DisplayKey | Literal["raw"]
"""What one frame request asks for: decoded samples or one rendering."""


def frame_key(file_index: int, frame: int) -> tuple[int, int]:
    """The decoded-frame cache key."""
    return (file_index, frame)


def png_key(file_index: int, frame: int, display: DisplayKey) -> tuple[str, int, int, DisplayKey]:
    """The encoded-PNG cache key (also the key of its in-flight computation)."""
    return ("png", file_index, frame, display)
