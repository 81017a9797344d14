"""The frame-related header values a file's layout holds, parsed once per file.

Modality and VOI lookup tables (PS3.3 C.11.1, C.11.2), the palette of a PALETTE COLOR image
(C.7.9), overlay planes (C.9.2) and the per-frame functional values (rescale, windows, VOI LUT
function; C.7.6.16), from a pydicom header `Dataset`. Windows follow `dcmview_core.voi`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from dcmview_core import _colour
from dcmview_core.errors import DecodeError
from dcmview_core.model import Window
from dcmview_core.voi import float_values, parse_windows


@dataclass(frozen=True, slots=True)
class Lut:
    """A Modality or VOI lookup table (PS3.3 C.11.1, C.11.2): input ``first_mapped + i``
    maps to ``data[i]``; inputs outside the table take the first or last entry."""

    first_mapped: int
    bits: int
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class FrameValues:
    rescale: tuple[float, float] | None
    windows: tuple[Window, ...] | None
    voi_function: str | None


@dataclass(frozen=True, slots=True)
class OverlayPlane:
    rows: int
    columns: int
    origin: tuple[int, int]
    n_frames: int
    first_frame: int
    data: bytes
    """Overlay Data: bit ``k`` of the plane is bit ``k % 8`` of byte ``k // 8``."""


def int_value(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, list | tuple) or (
            hasattr(value, "__getitem__") and not isinstance(value, str | bytes)
        ):
            value = value[0]
        return int(value)
    except (TypeError, ValueError, IndexError):
        return default


def windows_of(item: Dataset) -> tuple[Window, ...] | None:
    return parse_windows(item.get("WindowCenter"), item.get("WindowWidth")) or None


def _first_number(item: Dataset, keyword: str, default: float) -> float:
    values = float_values(item.get(keyword))
    first = values[0] if values else None
    return default if first is None else first


def rescale_of(item: Dataset) -> tuple[float, float] | None:
    if "RescaleSlope" not in item and "RescaleIntercept" not in item:
        return None
    slope = _first_number(item, "RescaleSlope", 1.0)
    intercept = _first_number(item, "RescaleIntercept", 0.0)
    if slope == 0:
        return None
    return slope, intercept


def voi_function(item: Dataset) -> str | None:
    value = item.get("VOILUTFunction")
    if not value:
        return None
    name = str(value).strip().upper()
    return name if name in ("LINEAR", "LINEAR_EXACT", "SIGMOID") else None


def group_values(group: Dataset | None) -> FrameValues:
    if group is None:
        return FrameValues(None, None, None)
    rescale = windows = function = None
    for seq_kw in ("PixelValueTransformationSequence",):
        seq = group.get(seq_kw)
        if seq:
            rescale = rescale_of(seq[0])
    seq = group.get("FrameVOILUTSequence")
    if seq:
        windows = windows_of(seq[0])
        function = voi_function(seq[0])
    return FrameValues(rescale, windows, function)


def _lut_words(value: Any, little: bool, entries: int) -> np.ndarray:
    if isinstance(value, bytes | bytearray):
        if len(value) == entries and entries > 0:
            return np.frombuffer(value, np.uint8).astype(np.int64)
        return np.frombuffer(value, "<u2" if little else ">u2").astype(np.int64)
    return np.asarray(value if isinstance(value, list | tuple) else list(value), dtype=np.int64)


def lut_from_item(item: Dataset, data_kw: str, little: bool, signed: bool) -> Lut | None:
    """A LUT Descriptor + data item (PS3.3 C.11.1.1, C.11.2.1.1); ``signed`` says whether the
    first mapped value is SS (signed inputs) rather than US."""
    descriptor = item.get("LUTDescriptor")
    data = item.get(data_kw)
    if descriptor is None or data is None:
        return None
    desc = [int(v) for v in descriptor]
    entries = desc[0] or 65536
    first = desc[1]
    bits = desc[2] if len(desc) > 2 else 16
    words = _lut_words(data, little, entries)[:entries]
    if words.size == 0:
        return None
    if first >= 32768 and signed:
        first -= 65536
    return Lut(first, bits, words)


def palette_of(ds: Dataset, little: bool, bits_stored: int) -> np.ndarray | None:
    """The stored value → 8-bit RGB table of a PALETTE COLOR image (PS3.3 C.7.9)."""
    channels = []
    for colour in ("Red", "Green", "Blue"):
        descriptor = ds.get(f"{colour}PaletteColorLookupTableDescriptor")
        if descriptor is None:
            raise DecodeError(f"PALETTE COLOR image without {colour} Palette LUT Descriptor")
        desc = [int(v) for v in descriptor]
        entries = desc[0] or 65536
        first = desc[1]
        bits = desc[2]
        segmented = ds.get(f"Segmented{colour}PaletteColorLookupTableData")
        plain = ds.get(f"{colour}PaletteColorLookupTableData")
        if segmented is not None:
            itemsize = 1 if bits == 8 else 2
            raw = bytes(segmented)
            words = np.frombuffer(
                raw, np.uint8 if itemsize == 1 else ("<u2" if little else ">u2")
            ).astype(np.int64)
            values = _colour.expand_segmented_lut(words, entries, itemsize)
        elif plain is not None:
            raw = bytes(plain)
            if bits == 8 and len(raw) == entries:
                values = np.frombuffer(raw, np.uint8).astype(np.int64)
            else:
                values = np.frombuffer(raw, "<u2" if little else ">u2").astype(np.int64)
                if bits == 8 and int(values.max(initial=0)) > 255:
                    values = values >> 8
            values = values[:entries]
        else:
            raise DecodeError(f"PALETTE COLOR image without {colour} Palette LUT Data")
        table8 = _colour.lut_to_8bit(values, bits)
        size = 1 << min(bits_stored, 16)
        index = np.clip(np.arange(size) - first, 0, len(table8) - 1)
        channels.append(table8[index])
    return np.stack(channels, axis=-1)


def overlay_planes(ds: Dataset, little: bool) -> tuple[OverlayPlane, ...]:
    planes = []
    for group in range(0x6000, 0x6020, 2):
        data = ds.get((group, 0x3000))
        rows_el = ds.get((group, 0x0010))
        cols_el = ds.get((group, 0x0011))
        if data is None or rows_el is None or cols_el is None or not data.value:
            continue
        origin_el = ds.get((group, 0x0050))
        origin = [int(v) for v in origin_el.value] if origin_el is not None else [1, 1]
        n_frames_el = ds.get((group, 0x0015))
        first_el = ds.get((group, 0x0051))
        raw = bytes(data.value)
        if not little and data.VR == "OW":
            raw = np.frombuffer(raw[: len(raw) // 2 * 2], ">u2").astype("<u2").tobytes()
        planes.append(
            OverlayPlane(
                rows=int(rows_el.value),
                columns=int(cols_el.value),
                origin=(origin[0] - 1, origin[1] - 1),
                n_frames=int(n_frames_el.value) if n_frames_el is not None else 1,
                first_frame=int(first_el.value) if first_el is not None else 1,
                data=raw,
            )
        )
    return tuple(planes)
