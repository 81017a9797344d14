"""The pixel-data map: where each frame's bytes lie in a file, and how many are present.

Native data (PS3.5 8.1.1): frame ``k`` is bits ``[k·b, (k+1)·b)`` of the value, with ``b`` from
`frame_bits`. Encapsulated data (PS3.5 A.4): the items after the Basic Offset Table are walked
from their headers only (values are skipped, never read), then frames are mapped to fragments
by, in order: the Extended Offset Table, one fragment for a single frame, the Basic Offset
Table, one fragment per frame when the counts agree, else the codestream markers that start a
frame (`starts_codestream`). Discovery counts frames and frame reading slices them with this
one map, so both always agree.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from dcmview_core import _colour
from dcmview_core.model import FileEntry
from dcmview_core.source import ByteSource

__all__ = [
    "PixelMap",
    "frame_bits",
    "frame_nbytes",
    "map_encapsulated",
    "starts_codestream",
    "truncation_message",
]

ITEM = 0xFFFEE000
SEQ_DELIMITER = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
MAX_FRAGMENTS = 1_000_000
FLOAT_PIXEL_DATA, DOUBLE_PIXEL_DATA = 0x7FE00008, 0x7FE00009
_ITEM_HEAD = struct.Struct("<HHL")


def frame_bits(
    rows: int,
    columns: int,
    samples_per_pixel: int,
    bits_allocated: int,
    photometric: str | None,
) -> int:
    """Bits one native frame occupies (4:2:2 YBR stores two samples per pixel)."""
    if photometric in _colour.SUBSAMPLED_422 and samples_per_pixel == 3:
        return rows * columns * 2 * bits_allocated
    return rows * columns * samples_per_pixel * bits_allocated


def default_bits_allocated(tag: int, declared: int | None) -> int:
    """Bits Allocated of the samples: 32/64 for Float/Double Float Pixel Data, else declared."""
    if tag == FLOAT_PIXEL_DATA:
        return 32
    if tag == DOUBLE_PIXEL_DATA:
        return 64
    return declared or 0


def starts_codestream(head: bytes) -> bool:
    """Whether a fragment starts a frame's codestream: JPEG SOI (JPEG, JPEG-LS), JPEG 2000
    SOC + SIZ, or the JP2 signature box (needs the first 8 bytes)."""
    return head.startswith((b"\xff\xd8\xff", b"\xff\x4f\xff\x51")) or head[4:8] == b"jP  "


_UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def truncation_message(present: int, needed: int) -> str:
    """``the pixel data is truncated: 7.9 of 32 KiB present`` (the unit of *needed*; bytes
    for a present count under one unit)."""
    unit, scale = next(((u, s) for u, s in _UNITS if needed >= s), ("bytes", 1))

    def text(n: int) -> str:
        value = n / scale
        return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"

    shown = f"{present} bytes" if 0 < present < scale else text(present)
    return f"the pixel data is truncated: {shown} of {text(needed)} {unit} present"


@dataclass(slots=True)
class PixelMap:
    """Fragments of encapsulated pixel data and the frames they make up."""

    fragments: list[tuple[int, int]] = field(default_factory=list)
    """(value offset, bytes present) of each fragment after the Basic Offset Table."""
    lengths: list[int] = field(default_factory=list)
    """Declared length of each fragment (more than present for a fragment cut short)."""
    frames: list[tuple[int, int]] = field(default_factory=list)
    """Per frame found: (first fragment index, fragment count)."""
    truncated: int | None = None
    """Index of the fragment the end of the file cuts short."""
    error: str | None = None
    """Why no fragment could be read (no item where the data starts, …)."""

    @property
    def frames_present(self) -> int:
        """Leading frames whose fragments are all wholly present."""
        count = 0
        for first, n in self.frames:
            if n == 0 or (self.truncated is not None and self.truncated < first + n):
                break
            count += 1
        return count

    def frame_fragments(self, index: int) -> list[tuple[int, int]] | None:
        """(offset, length) of frame *index*'s fragments; None when the frame is not mapped."""
        if index >= len(self.frames) or self.frames[index][1] == 0:
            return None
        first, n = self.frames[index]
        return self.fragments[first : first + n]

    def frame_truncated(self, index: int) -> bool:
        """Whether frame *index* includes the fragment cut short by the end of the file."""
        first, n = self.frames[index]
        return self.truncated is not None and first <= self.truncated < first + n


def _spans(starts: list[int], n_fragments: int) -> list[tuple[int, int]]:
    ends = [*starts[1:], n_fragments]
    return [(s, max(e - s, 0)) for s, e in zip(starts, ends, strict=True)]


def map_encapsulated(
    source: ByteSource,
    value_offset: int,
    end: int,
    number_of_frames: int,
    extended_offsets: bytes | None = None,
) -> PixelMap:
    """Map encapsulated pixel data starting at *value_offset* (its first item) up to *end*."""
    found = PixelMap()
    head = source.read_at(value_offset, 8)
    if len(head) < 8 or value_offset + 8 > end:
        found.error = "the encapsulated Pixel Data ends before its offset table"
        return found
    group, elem, bot_length = _ITEM_HEAD.unpack(head)
    if (group << 16 | elem) != ITEM or bot_length == UNDEFINED:
        found.error = "the encapsulated Pixel Data does not start with an item"
        return found
    bot_bytes = source.read_at(value_offset + 8, bot_length) if bot_length else b""
    bot = struct.unpack(f"<{len(bot_bytes) // 4}L", bot_bytes[: len(bot_bytes) // 4 * 4])
    first_item = pos = value_offset + 8 + bot_length
    items: list[int] = []
    while pos + 8 <= end and len(items) < MAX_FRAGMENTS:
        head = source.read_at(pos, 8)
        if len(head) < 8:
            break
        group, elem, length = _ITEM_HEAD.unpack(head)
        if (group << 16 | elem) != ITEM:
            break  # the sequence delimiter, or the end of the data
        if length == UNDEFINED:
            found.error = "a fragment has an undefined length"
            break
        present = max(min(length, end - pos - 8), 0)
        items.append(pos - first_item)
        found.fragments.append((pos + 8, present))
        found.lengths.append(length)
        if present < length:
            found.truncated = len(found.fragments) - 1
            break
        pos += 8 + length
    found.frames = _frame_spans(source, found, items, bot, number_of_frames, extended_offsets)
    return found


def _frame_spans(
    source: ByteSource,
    found: PixelMap,
    items: list[int],
    bot: tuple[int, ...],
    n: int,
    extended_offsets: bytes | None,
) -> list[tuple[int, int]]:
    frags = found.fragments
    if not frags:
        return []
    index_of = {p: i for i, p in enumerate(items)}
    if extended_offsets and n > 1 and len(extended_offsets) >= 8 * n:
        offsets = struct.unpack(f"<{n}Q", extended_offsets[: 8 * n])
        starts = [index_of.get(o, -1) for o in offsets]
        if -1 not in starts:
            return _spans(starts, len(frags))
    if n <= 1:
        return [(0, len(frags))]
    if bot and bot[0] == 0:
        found_starts = [index_of.get(o, -1) for o in bot[:n]]
        starts = [s for s in found_starts if s != -1]
        if len(starts) < len(found_starts) and found.truncated is None:
            # offsets past the fragments present: the file ends there; the last frame found
            # is whole only when the next frame's offset is exactly where the data ends
            data_end = items[-1] + 8 + found.lengths[-1]
            if bot[len(starts)] != data_end:
                found.truncated = len(frags) - 1
        return _spans(starts, len(frags))
    if len(frags) == n and found.truncated is None:
        return [(i, 1) for i in range(n)]
    starts = [i for i, (off, ln) in enumerate(frags) if starts_codestream(_head(source, off, ln))]
    if not starts:
        # no codestream markers (RLE …): each fragment is taken as one frame
        return [(i, 1) for i in range(min(n, len(frags)))]
    return _spans(starts[:n], len(frags))


def _head(source: ByteSource, offset: int, length: int) -> bytes:
    return source.read_at(offset, min(length, 8))


def frame_nbytes(entry: FileEntry) -> int:
    """Bytes of one frame as `read_frame` returns it (colour: 8-bit RGB; 1-bit: one byte per
    pixel), the size caches and prefetch budgets count."""
    pixels = max(entry.rows * entry.columns, 1)
    photometric = (entry.photometric_interpretation or "").upper()
    if (entry.samples_per_pixel or 1) == 3 or photometric == "PALETTE COLOR":
        return pixels * 3
    return pixels * max(1, (entry.bits_allocated or 8) // 8)
