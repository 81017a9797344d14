"""Discovery filters: ``FIELD=VALUE`` (case-insensitive substring) and ``FIELD==VALUE`` (exact).

Fields are the named ones in `FIELDS` or any DICOM keyword (``Manufacturer``,
``BodyPartExamined`` …). Filters are AND-combined by the caller (`dcmview_core.discovery.scan`
takes a sequence). Named fields are matched on the `FileEntry`; other keywords on the header
dataset, which is read only when such a filter exists.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from dcmview_core.errors import UsageError
from dcmview_core.model import FileEntry

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

FIELDS: dict[str, str] = {
    "patient_id": "patient_id",
    "patient_name": "patient_name",
    "study_date": "study_date",
    "study_description": "study_description",
    "study_uid": "study_instance_uid",
    "series_description": "series_description",
    "series_number": "series_number",
    "series_uid": "series_instance_uid",
    "modality": "modality",
}
"""Named filter fields → the `FileEntry` attribute they match."""

_KEYWORD_FIELDS: dict[str, str] = {
    "PatientID": "patient_id",
    "PatientName": "patient_name",
    "StudyDate": "study_date",
    "StudyDescription": "study_description",
    "StudyInstanceUID": "study_instance_uid",
    "SeriesDescription": "series_description",
    "SeriesNumber": "series_number",
    "SeriesInstanceUID": "series_instance_uid",
    "Modality": "modality",
}

DatasetSource = Union["Dataset", Callable[[], "Dataset"], None]


@functools.cache
def _keywords_by_casefold() -> dict[str, str]:
    from pydicom.datadict import keyword_dict

    return {k.casefold(): k for k in keyword_dict}


def _valid_fields_text() -> str:
    return ", ".join(FIELDS) + ", or any DICOM keyword (for example Manufacturer)"


@dataclass(frozen=True, slots=True)
class Filter:
    """One parsed filter. ``attribute`` is set for fields the `FileEntry` holds, else
    ``keyword`` names the DICOM attribute to read from the header."""

    field: str
    value: str
    exact: bool
    attribute: str | None
    keyword: str | None

    def __str__(self) -> str:
        return f"{self.field}{'==' if self.exact else '='}{self.value}"

    @property
    def needs_dataset(self) -> bool:
        """Whether matching needs the header dataset (the field is not in `FileEntry`)."""
        return self.attribute is None

    def _test(self, candidates: Iterable[str]) -> bool:
        wanted = self.value.casefold()
        for text in candidates:
            folded = text.casefold()
            if (folded == wanted) if self.exact else (wanted in folded):
                return True
        return False

    def matches(self, entry: FileEntry, dataset: DatasetSource = None) -> bool:
        """Whether *entry* passes; *dataset* (or a function returning it) serves keywords."""
        if self.attribute is not None:
            value = getattr(entry, self.attribute)
            return self._test(["" if value is None else str(value)])
        ds = dataset() if callable(dataset) else dataset
        if ds is None:
            raise UsageError(f"filter {self} needs the DICOM header of {entry.path}")
        return self.matches_dataset(ds)

    def matches_dataset(self, ds: Dataset) -> bool:
        """Whether a pydicom dataset passes (named fields map to their DICOM keywords)."""
        keyword = self.keyword or _NAMED_KEYWORDS[self.field]
        return self._test(_texts(ds, keyword))


_NAMED_KEYWORDS = {
    field: kw for kw, attr in _KEYWORD_FIELDS.items() for field in FIELDS if FIELDS[field] == attr
}


def _texts(ds: Dataset, keyword: str) -> list[str]:
    """Text forms of an attribute: the whole value, and each value of a multi-value."""
    try:
        value: Any = ds.get(keyword)
    except Exception:  # a malformed value cannot match anything
        return []
    if value is None:
        return [""]
    from pydicom.multival import MultiValue
    from pydicom.sequence import Sequence as DicomSequence

    if isinstance(value, DicomSequence | bytes | bytearray):
        return []
    if isinstance(value, MultiValue | list | tuple):
        parts = [str(v) for v in value]
        return ["\\".join(parts), *parts]
    return [str(value)]


def parse_filter(text: str) -> Filter:
    """Parse ``FIELD=VALUE`` or ``FIELD==VALUE``; `UsageError` for an unknown field (naming
    the nearest one) or an empty ``FIELD=`` (it would match everything; ``FIELD==`` matches
    files where the value is missing or empty)."""
    field, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f"invalid filter {text!r}: expected FIELD=VALUE or FIELD==VALUE")
    exact = value.startswith("=")
    if exact:
        value = value[1:]
    field = field.strip()
    if not field:
        raise UsageError(f"invalid filter {text!r}: the field name is empty")
    if not value and not exact:
        raise UsageError(
            f"invalid filter {text!r}: the value is empty (use {field}=TEXT, or {field}== "
            "for files where it is missing or empty)"
        )
    attribute = FIELDS.get(field.lower())
    if attribute is not None:
        return Filter(field.lower(), value, exact, attribute, None)
    from pydicom.datadict import keyword_dict

    keyword = field if field in keyword_dict else _keywords_by_casefold().get(field.casefold())
    if keyword is None:
        hint = _nearest(field)
        hint = f"did you mean {hint}? " if hint else ""
        raise UsageError(
            f"unknown filter field {field!r}: {hint}valid fields are {_valid_fields_text()}"
        )
    attribute = _KEYWORD_FIELDS.get(keyword)
    return Filter(keyword, value, exact, attribute, None if attribute else keyword)


def _nearest(field: str) -> str | None:
    """The named field, else the DICOM keyword, closest to a mistyped *field*."""
    named = difflib.get_close_matches(field.lower(), list(FIELDS), n=1, cutoff=0.7)
    if named:
        return named[0]
    keywords = _keywords_by_casefold()
    close = difflib.get_close_matches(field.casefold(), list(keywords), n=1, cutoff=0.8)
    return keywords[close[0]] if close else None


def parse_filters(texts: Iterable[str]) -> list[Filter]:
    """Parse several filters (they combine with AND)."""
    return [parse_filter(t) for t in texts]
