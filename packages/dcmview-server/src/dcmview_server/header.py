"""Header facts for ``/info`` beyond the basics: a thin view of what discovery already read.

dcmview-core reads these into `FileEntry` (no second read of the file here); this module goes
away once the server builds ``/info`` from the entry directly.
"""

from __future__ import annotations

from typing import Any

from dcmview_core import FileEntry


def header_extras(entry: FileEntry) -> dict[str, Any]:
    """``has_overlay``, ``frame_time_ms``, ``pixel_spacing``, ``window_presets`` of a file."""
    spacing = entry.shown_pixel_spacing
    return {
        "has_overlay": entry.has_overlay,
        "frame_time_ms": entry.frame_time_ms,
        "pixel_spacing": list(spacing) if spacing is not None else None,
        "window_presets": [
            {"name": w.name, "center": w.center, "width": w.width} for w in entry.window_presets
        ],
    }
