"""The one dataset opener: a `ByteSource` in, a pydicom header `Dataset` and its layout out.

Discovery (its pydicom fallback and keyword filters), frame reading and the tag tree all open
datasets here, so one rule decides where a dataset starts (PS3.10 7.1):

- a 128-byte preamble + ``DICM``: the File Meta Information follows;
- no magic: a dataset starting in the first 8 bytes (`_header.plausible_start`; stray lead
  bytes are skipped) that also looks like a real dataset (`_plausible`: known tags, a UID) —
  else `NotDicomError`.

`Opened.pixel` is where the pixel data element's value starts, in source offsets (the lead
bytes included), read from the element header only: the pixel value is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dcmview_core import _header
from dcmview_core._header import PixelElement
from dcmview_core.decoders import EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE
from dcmview_core.source import ByteSource, as_file

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["NotDicomError", "Opened", "dataset_start", "open_dataset"]


class NotDicomError(Exception):
    """The bytes are not a DICOM dataset (no magic and nothing plausible at the start)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A dataset read from a source, and where its parts lie in that source."""

    dataset: Dataset
    source: ByteSource
    start: int
    """Bytes before the dataset: 0 with a preamble, else the stray lead bytes skipped."""
    preamble: bool
    transfer_syntax_uid: str
    """From the File Meta Information, else what the data's encoding says."""
    little_endian: bool
    """As pydicom found the data (some files contradict their meta)."""
    explicit_vr: bool
    pixel: PixelElement | None
    """The pixel data element (source offsets), when it follows the header; None otherwise
    (no pixel data, or a deflated dataset, whose offsets mean nothing in the file)."""


def dataset_start(source: ByteSource) -> tuple[bool, int]:
    """``(has preamble, where the dataset starts)``; `NotDicomError` when nothing fits."""
    head = source.read_at(0, 132)
    if len(head) == 132 and head[128:132] == b"DICM":
        return True, 0
    offset = _header.plausible_start(head)
    if offset is None:
        raise NotDicomError("no DICM magic and no plausible DICOM dataset at the start")
    return False, offset


def _plausible(ds: Dataset) -> bool:
    """A preamble-less parse is accepted only when it looks like a real dataset."""
    tags = list(ds.keys())
    if len(tags) < 3:
        return False
    from pydicom.datadict import dictionary_has_tag

    unknown = sum(1 for t in tags if not (t.group % 2 or dictionary_has_tag(t)))
    if unknown * 4 > len(tags):
        return False
    uid = _header.raw_bytes(ds, 0x00080016) or _header.raw_bytes(ds, 0x0020000D)
    if uid is None:
        return False
    text = uid.rstrip(b" \x00")
    return bool(text) and all(c in b"0123456789." for c in text)


def _encoding(ds: Dataset) -> tuple[str, bool, bool]:
    meta = getattr(ds, "file_meta", None)
    ts: str | None = None
    if meta is not None:
        value = meta.get("TransferSyntaxUID")
        ts = str(value).strip(" \x00") or None if value else None
    implicit, little = getattr(ds, "original_encoding", (True, True))
    if implicit is None:
        implicit, little = True, True
    if ts is None:
        ts = IMPLICIT_VR_LE if implicit else (EXPLICIT_VR_LE if little else EXPLICIT_VR_BE)
    return ts, bool(little), not implicit


def open_dataset(
    source: ByteSource, *, stop_before_pixels: bool = True, defer_size: int | None = None
) -> Opened:
    """Read *source*'s dataset with pydicom (quietly); values over *defer_size* stay unread.

    Raises `NotDicomError` for bytes that are not DICOM (a preamble-less parse that fails or
    does not look like a dataset); whatever pydicom raises on a file with the ``DICM`` magic
    passes through (the caller names it).
    """
    preamble, start = dataset_start(source)  # bytes that are not DICOM never import pydicom
    from pydicom import dcmread  # imported on first use: most files never need pydicom

    fp = as_file(source, start)
    with _header.quiet_pydicom():
        try:
            ds = dcmread(
                fp, force=not preamble, stop_before_pixels=stop_before_pixels, defer_size=defer_size
            )
            if not preamble and not _plausible(ds):
                raise NotDicomError("no DICM magic and the data does not parse as a DICOM dataset")
        except NotDicomError:
            raise
        except Exception as error:  # hostile input: pydicom raises many kinds
            if preamble:
                raise
            raise NotDicomError(
                f"no DICM magic and not parsable ({type(error).__name__})"
            ) from None
        ts, little, explicit = _encoding(ds)
        pixel = None
        if stop_before_pixels and ts != _header.DEFLATED_LE:
            pixel = _header.read_pixel_element(fp, little, explicit)
            if pixel is not None and start:
                pixel = PixelElement(pixel.tag, pixel.value_offset + start, pixel.length, pixel.vr)
    return Opened(ds, source, start, preamble, ts, little, explicit, pixel)
