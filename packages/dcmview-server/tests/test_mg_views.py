"""/api/files carries each mammogram's view (ViewPosition, laterality): the viewer's hanging
protocol places the four views from them (issue 15 §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

MG_STORAGE = UID("1.2.840.10008.5.1.4.1.1.1.2")


def write_mg(path: Path, view: str | None, side: str | None, key: str = "ImageLaterality") -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MG_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = MG_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = "MG1"
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "MG"
    if view is not None:
        ds.ViewPosition = view
    if side is not None:
        setattr(ds, key, side)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 8, 8
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.zeros((8, 8), "<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_files_carry_view_position_and_laterality(make_server: Any, tmp_path: Path) -> None:
    write_mg(tmp_path / "a.dcm", "CC", "R")
    write_mg(tmp_path / "b.dcm", "MLO", "L", key="Laterality")
    write_mg(tmp_path / "c.dcm", None, None)
    files = make_server((str(tmp_path),)).get("/api/files").json()["files"]
    views = [(f["view_position"], f["laterality"]) for f in files]
    assert views == [("CC", "R"), ("MLO", "L"), (None, None)]
