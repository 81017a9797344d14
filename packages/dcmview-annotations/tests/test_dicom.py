"""Reading a file's Geometry from real DICOM headers (pydicom's bundled test files)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from dcmview_annotations import Geometry
from dcmview_annotations.dicom import (
    DicomUnavailableError,
    HeaderReadError,
    load_pydicom,
    read_geometry,
)


def bundled(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str), name
    return path


@pytest.mark.parametrize(
    ("name", "geometry"),
    [
        ("CT_small.dcm", Geometry(1, 128, 128)),
        ("SC_rgb_rle_2frame.dcm", Geometry(2, 100, 100)),
        ("rtplan.dcm", Geometry(1, 0, 0)),  # no image at all
    ],
)
def test_geometry_of_bundled_files(name: str, geometry: Geometry) -> None:
    assert read_geometry(bundled(name)) == geometry


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(HeaderReadError, match="No such file or directory"):
        read_geometry(str(tmp_path / "missing.dcm"))
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 10)
    with pytest.raises(HeaderReadError, match="not a readable DICOM file"):
        read_geometry(str(junk))


def test_missing_pydicom_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(DicomUnavailableError, match=r"pip install 'dcmview-annotations\[dicom\]'"):
        load_pydicom()
