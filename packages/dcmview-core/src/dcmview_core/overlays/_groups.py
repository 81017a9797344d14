"""A lean reader for the Per-Frame Functional Groups Sequence of a SEG (PS3.5 7.5).

pydicom builds a Dataset per item and per nested item (~1 ms a frame); a SEG of a CT with
twenty segments has thousands of frames. This walks the sequence's raw bytes once and keeps
only what placing a SEG frame needs: source references, plane position and orientation, pixel
spacing and the segment number. Anything it does not expect raises `ValueError`, and the
caller falls back to pydicom.
"""

from __future__ import annotations

import struct
from typing import Any

ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
)
_MAX_DEPTH = 12

# sequences we descend into, and the leaf values we keep (tag → kind)
SEQUENCES = frozenset(
    {
        0x00089124,  # DerivationImageSequence
        0x00082112,  # SourceImageSequence
        0x00209113,  # PlanePositionSequence
        0x00209116,  # PlaneOrientationSequence
        0x00289110,  # PixelMeasuresSequence
        0x0062000A,  # SegmentIdentificationSequence
    }
)
VALUES = {
    0x00081155: "UI",  # ReferencedSOPInstanceUID
    0x00081160: "IS",  # ReferencedFrameNumber
    0x00200032: "DS",  # ImagePositionPatient
    0x00200037: "DS",  # ImageOrientationPatient
    0x00280030: "DS",  # PixelSpacing
    0x0062000B: "US",  # ReferencedSegmentNumber
}
Item = dict[int, Any]
"""An item's kept elements: tag → converted value, or list of items for a sequence."""


def _value(kind: str, raw: bytes) -> Any:
    if kind == "US":
        if len(raw) < 2:
            raise ValueError("short US value")
        return struct.unpack_from("<H", raw)[0]
    text = raw.decode("ascii").strip(" \x00")
    if kind == "UI":
        return text
    if kind == "IS":
        return [int(v) for v in text.split("\\") if v.strip()]
    return [float(v) for v in text.split("\\") if v.strip()]


class _Walker:
    __slots__ = ("data", "explicit")

    def __init__(self, data: bytes, explicit: bool) -> None:
        self.data, self.explicit = data, explicit

    def items(self, pos: int, end: int | None, depth: int) -> tuple[list[Item], int]:
        """Items of a sequence whose value starts at ``pos`` (``end`` None: undefined length)."""
        if depth > _MAX_DEPTH:
            raise ValueError("sequences nested too deep")
        data = self.data
        out: list[Item] = []
        while end is None or pos < end:
            if pos + 8 > len(data):
                raise ValueError("sequence runs past its data")
            tag = (struct.unpack_from("<H", data, pos)[0] << 16) | struct.unpack_from(
                "<H", data, pos + 2
            )[0]
            length = struct.unpack_from("<L", data, pos + 4)[0]
            pos += 8
            if tag == SEQ_END:
                if end is not None:
                    raise ValueError("sequence delimiter in a defined-length sequence")
                return out, pos
            if tag != ITEM:
                raise ValueError(f"expected an item, found ({tag >> 16:04X},{tag & 0xFFFF:04X})")
            item, pos = self.dataset(pos, None if length == UNDEFINED else pos + length, depth)
            out.append(item)
        return out, pos

    def dataset(self, pos: int, end: int | None, depth: int) -> tuple[Item, int]:
        """The kept elements of an item whose content starts at ``pos``."""
        data = self.data
        item: Item = {}
        while end is None or pos < end:
            if pos + 8 > len(data):
                raise ValueError("item runs past its data")
            group, element = struct.unpack_from("<HH", data, pos)
            tag = group << 16 | element
            if tag == ITEM_END:
                if end is not None:
                    raise ValueError("item delimiter in a defined-length item")
                return item, pos + 8
            if self.explicit:
                vr = data[pos + 4 : pos + 6]
                if vr in _LONG_VRS:
                    length = struct.unpack_from("<L", data, pos + 8)[0]
                    pos += 12
                else:
                    length = struct.unpack_from("<H", data, pos + 6)[0]
                    pos += 8
                is_sequence = vr == b"SQ" or (vr == b"UN" and length == UNDEFINED)
            else:
                length = struct.unpack_from("<L", data, pos + 4)[0]
                pos += 8
                is_sequence = tag in SEQUENCES or length == UNDEFINED
            if is_sequence:
                stop = None if length == UNDEFINED else pos + length
                if tag in SEQUENCES or stop is None:
                    items, pos = self.items(pos, stop, depth + 1)
                    if tag in SEQUENCES:
                        item[tag] = items
                else:
                    pos = stop
                continue
            if length == UNDEFINED or pos + length > len(data):
                raise ValueError("element runs past its data")
            kind = VALUES.get(tag)
            if kind is not None:
                item[tag] = _value(kind, data[pos : pos + length])
            pos += length
        return item, pos


def per_frame_items(raw: bytes, explicit: bool) -> list[Item]:
    """The items of a Per-Frame Functional Groups Sequence value (little endian), each a
    dict of the kept tags: sequences as lists of such dicts, values converted."""
    items, _ = _Walker(raw, explicit).items(0, len(raw), 0)
    return items
