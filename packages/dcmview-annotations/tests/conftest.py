"""Shared helpers: CSV files on disk, their hashes, tiny generated DICOM files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

SEED_CSV = (
    b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"
    b'/path/to/dbt_case.dcm,2,"[[120,340,220,430],[400,510,480,590]]","[[0,1,2],[5,6]]"\n'
    b'/path/to/ffdm_case.dcm,1,"[[80,150,190,260]]","[]"\n'
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_state(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``directory`` with size, mtime and hash (to prove nothing changed)."""
    out: dict[str, tuple[int, int, str]] = {}
    for root, _dirs, files in os.walk(os.fsencode(directory)):
        for name in files:
            p = Path(os.fsdecode(os.path.join(root, name)))
            st = p.stat()
            out[str(p)] = (st.st_size, st.st_mtime_ns, _sha256(p))
    return out


@pytest.fixture
def seed_csv() -> bytes:
    """The example CSV of the original design."""
    return SEED_CSV


@pytest.fixture
def sha256() -> Callable[[Path], str]:
    """Hash a file's content."""
    return _sha256


@pytest.fixture
def tree_state() -> Callable[[Path], dict[str, tuple[int, int, str]]]:
    """Snapshot every file under a directory (size, mtime, hash)."""
    return _tree_state


@pytest.fixture
def make_dicom() -> Callable[..., None]:
    """Write a tiny DICOM file: ``make_dicom(path, frames=, rows=, columns=)``."""
    return _make_dicom


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write bytes to ``tmp_path/name`` and return the path."""

    def write(data: bytes, name: str = "rois.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def _make_dicom(path: Path | bytes, *, frames: int = 1, rows: int = 4, columns: int = 6) -> None:
    """A tiny valid DICOM file (explicit VR little endian, 8-bit, known pixel values)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientID = "ANNOT-TEST"
    ds.Rows = rows
    ds.Columns = columns
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(i % 256 for i in range(frames * rows * columns))
    target = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    ds.save_as(target, enforce_file_format=True)
