"""Window presets, as data: the display modes and the common CT windows (center/width, HU).

`PRESETS` feeds the server and the viewer's preset menu; ``Default`` and ``Full Dynamic`` are
display modes (no fixed window), the rest are explicit windows in modality units.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcmview_core.model import Window

__all__ = ["PRESETS", "Preset", "preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    """A named entry of the window menu: a display mode, or a window for one modality."""

    key: str
    """Stable identifier (``default``, ``full_dynamic``, ``ct_brain`` …)."""
    name: str
    mode: str
    """``default`` or ``full_dynamic`` (the ``mode`` query parameter of display frames)."""
    window: Window | None = None
    modality: str | None = None
    """The modality the window is meant for (``CT``), None for the display modes."""


def _ct(key: str, name: str, center: float, width: float) -> Preset:
    return Preset(f"ct_{key}", name, "default", Window(center, width), "CT")


PRESETS: tuple[Preset, ...] = (
    Preset("default", "Default", "default"),
    Preset("full_dynamic", "Full Dynamic", "full_dynamic"),
    _ct("brain", "Brain", 40, 80),
    _ct("subdural", "Subdural", 75, 215),
    _ct("stroke", "Stroke", 40, 40),
    _ct("bone", "Bone", 480, 2500),
    _ct("lung", "Lung", -600, 1500),
    _ct("abdomen", "Abdomen", 60, 400),
    _ct("liver", "Liver", 90, 150),
    _ct("mediastinum", "Mediastinum", 50, 350),
    _ct("soft_tissue", "Soft tissue", 40, 400),
)


def preset(key: str) -> Preset:
    """The preset with this key; `KeyError` naming the known keys otherwise."""
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(f"unknown preset {key!r}; known: {', '.join(p.key for p in PRESETS)}")
