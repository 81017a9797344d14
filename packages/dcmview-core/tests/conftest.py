"""Shared fixtures for dcmview-core tests: pydicom's bundled files and generated datasets.

- ``testdata_path(name)``: absolute path of a file bundled with pydicom (never downloads).
- ``dicom_image(path, **attributes)``: write a small generated image with known pixel values.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

TESTDATA_DIR = Path(pydicom.__file__).parent / "data" / "test_files"
CHARSET_DIR = Path(pydicom.__file__).parent / "data" / "charset_files"

UID_ROOT = "1.2.826.0.1.3680043.10.1512.7"


def bundled(name: str) -> str:
    """A file bundled with pydicom (test_files or charset_files), as an absolute path."""
    for folder in (TESTDATA_DIR, CHARSET_DIR):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"{name} is not bundled with this pydicom")


@pytest.fixture
def testdata_path() -> Callable[[str], str]:
    """``testdata_path("CT_small.dcm")`` → the bundled file's absolute path."""
    return bundled


def make_image_dataset(
    *,
    rows: int = 8,
    columns: int = 6,
    frames: int = 1,
    bits: int = 16,
    signed: bool = False,
    seed: int = 0,
    transfer_syntax: str = ExplicitVRLittleEndian,
    **attributes: Any,
) -> Any:
    """A small MONOCHROME2 image dataset with known (seeded) pixel values."""
    ds: Any = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = f"{UID_ROOT}.1.{seed}"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = f"{UID_ROOT}.1.{seed}"
    ds.StudyInstanceUID = f"{UID_ROOT}.2"
    ds.SeriesInstanceUID = f"{UID_ROOT}.3"
    ds.PatientID = "TESTPAT"
    ds.PatientName = "Test^Patient"
    ds.StudyDate = "20240102"
    ds.Modality = "OT"
    ds.SeriesNumber = 3
    ds.InstanceNumber = seed + 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    dtypes: dict[tuple[int, bool], type[np.integer[Any]]] = {
        (8, False): np.uint8,
        (16, False): np.uint16,
        (16, True): np.int16,
    }
    dtype = dtypes[(bits, signed)]
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(info.min, info.max, (frames, rows, columns), dtype=dtype, endpoint=True)
    ds.PixelData = pixels.tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


@pytest.fixture
def dicom_image() -> Callable[..., Path]:
    """``dicom_image(path, rows=…, frames=…, **attributes)`` writes a generated image file."""

    def write(path: str | os.PathLike[str], **kwargs: Any) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        make_image_dataset(**kwargs).save_as(target, enforce_file_format=True)
        return target

    return write


@pytest.fixture
def image_dataset() -> Callable[..., Any]:
    """``image_dataset(rows=…, frames=…, **attributes)`` → a generated, unsaved Dataset."""
    return make_image_dataset
