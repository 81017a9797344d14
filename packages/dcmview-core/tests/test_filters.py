from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest

from dcmview_core.discovery import read_entry
from dcmview_core.errors import UsageError
from dcmview_core.filters import FIELDS, Filter, parse_filter, parse_filters
from dcmview_core.model import FileEntry

Bundled = Callable[[str], str]


@pytest.fixture
def ct(testdata_path: Bundled) -> FileEntry:
    entry = read_entry(testdata_path("CT_small.dcm"))
    assert isinstance(entry, FileEntry)
    return entry


def test_parse_substring_and_exact() -> None:
    loose = parse_filter("modality=ct")
    assert (loose.field, loose.value, loose.exact) == ("modality", "ct", False)
    exact = parse_filter("Modality==CT")
    assert (exact.field, exact.value, exact.exact) == ("modality", "CT", True)
    assert str(loose) == "modality=ct"
    assert str(exact) == "modality==CT"
    keyword = parse_filter("StudyInstanceUID==1.2")
    assert keyword.attribute == "study_instance_uid"  # a keyword the entry holds: no dataset
    assert not keyword.needs_dataset


def test_value_may_contain_equals_signs() -> None:
    flt = parse_filter("study_description==a=b")
    assert (flt.value, flt.exact) == ("a=b", True)


def test_named_fields_match_the_entry(ct: FileEntry) -> None:
    assert ct.patient_id is not None
    assert parse_filter("patient_id=" + ct.patient_id[1:3].lower()).matches(ct)
    assert parse_filter("patient_id==" + ct.patient_id.lower()).matches(ct)
    assert not parse_filter("patient_id==" + ct.patient_id[1:]).matches(ct)
    assert parse_filter("study_uid=" + (ct.study_instance_uid or "")[-6:]).matches(ct)
    assert parse_filter("series_uid==" + (ct.series_instance_uid or "")).matches(ct)
    assert parse_filter(f"series_number=={ct.series_number}").matches(ct)
    assert parse_filter("study_date=2004").matches(ct)
    assert parse_filter("patient_name=cT1").matches(ct)  # "CompressedSamples^CT1"
    assert not parse_filter("modality==MR").matches(ct)


def test_missing_values_match_only_empty(tmp_path: Path, dicom_image: Callable[..., Path]) -> None:
    entry = read_entry(str(dicom_image(tmp_path / "x.dcm")))
    assert isinstance(entry, FileEntry)
    assert entry.study_description is None
    assert parse_filter("study_description==").matches(entry)
    assert not parse_filter("study_description=x").matches(entry)


def test_any_dicom_keyword_matches_the_dataset(ct: FileEntry, testdata_path: Bundled) -> None:
    ds = pydicom.dcmread(testdata_path("CT_small.dcm"), stop_before_pixels=True)
    manufacturer = parse_filter("manufacturer=GE MED")
    assert manufacturer.keyword == "Manufacturer"
    assert manufacturer.needs_dataset
    assert manufacturer.matches(ct, ds)
    assert manufacturer.matches(ct, lambda: ds)
    assert manufacturer.matches_dataset(ds)
    assert not parse_filter("Manufacturer==GE").matches_dataset(ds)
    # multi-valued: exact matches one value or the whole backslash-joined value
    assert parse_filter("ImageType==AXIAL").matches_dataset(ds)
    assert parse_filter("ImageType==ORIGINAL\\PRIMARY\\AXIAL").matches_dataset(ds)
    # named fields work on a dataset too
    assert parse_filter("modality==ct").matches_dataset(ds)
    with pytest.raises(UsageError, match="needs the DICOM header"):
        manufacturer.matches(ct)


def test_binary_and_sequence_values_never_match(testdata_path: Bundled) -> None:
    ds = pydicom.dcmread(testdata_path("rtplan.dcm"))
    assert not parse_filter("BeamSequence=Beam").matches_dataset(ds)
    assert parse_filter("BeamSequence==").matches_dataset(pydicom.Dataset())


def test_unknown_field_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as caught:
        parse_filter("colour=red")
    message = str(caught.value)
    assert "unknown filter field 'colour'" in message
    for field in FIELDS:
        assert field in message
    assert "any DICOM keyword" in message


def test_an_empty_substring_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="the value is empty"):
        parse_filter("modality=")
    assert parse_filter("modality==").value == ""  # exact empty: files without a modality


@pytest.mark.parametrize(
    ("text", "nearest"),
    [
        ("modalty=CT", "modality"),
        ("patient_idd=1", "patient_id"),
        ("Manufactuer=GE", "Manufacturer"),
    ],
)
def test_a_mistyped_field_suggests_the_nearest(text: str, nearest: str) -> None:
    with pytest.raises(UsageError, match=f"did you mean {nearest}\\?"):
        parse_filter(text)


def test_an_unrelated_field_suggests_nothing() -> None:
    with pytest.raises(UsageError) as caught:
        parse_filter("xyzzy=1")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize("text", ["modality", "", "=CT", "  ==CT"])
def test_malformed_filters(text: str) -> None:
    with pytest.raises(UsageError):
        parse_filter(text)


def test_parse_filters_combines(tmp_path: Path, dicom_image: Callable[..., Path]) -> None:
    filters: list[Filter] = parse_filters(["modality=o", "patient_id==testpat"])
    path = dicom_image(tmp_path / "x.dcm")
    entry: Any = read_entry(str(path))
    assert all(f.matches(entry) for f in filters)
