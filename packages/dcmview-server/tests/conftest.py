"""Fixtures: real DICOM files generated with known pixel values, and real servers on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from dcmview_server import ServerConfig, ServerHandle

TOKEN = "test-token-0123456789abcdefghijklmnopqrstuvwx"
STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
SERIES_UID = "1.2.826.0.1.3680043.8.498.2"

MF_FRAMES, MF_ROWS, MF_COLS = 6, 48, 64


def mf_pixels() -> np.ndarray:
    """Known values of the multi-frame fixture: frame f, row r, column c → f*1000 + r*10 + c%10."""
    f, r, c = np.meshgrid(
        np.arange(MF_FRAMES), np.arange(MF_ROWS), np.arange(MF_COLS), indexing="ij"
    )
    return (f * 1000 + r * 10 + c % 10).astype(np.uint16)


def _base(modality: str = "OT", patient_id: str = "PAT123") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Doe^John"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.InstitutionName = "General Hospital"
    ds.StationName = "STATION7"
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = SERIES_UID
    ds.StudyDate = "20240101"
    ds.StudyDescription = "Test study"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Modality = modality
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00091001, "LO", "secret private value")
    return ds


def _gray(ds: Dataset, pixels: np.ndarray) -> Dataset:
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape[-2], pixels.shape[-1]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    if pixels.ndim == 3:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.astype("<u2").tobytes()
    return ds


def write_multiframe(path: Path) -> None:
    """6 frames 48×64 16-bit MONOCHROME2 with a window, frame time and an overlay plane."""
    ds = _gray(_base("MR"), mf_pixels())
    ds.WindowCenter = 2500
    ds.WindowWidth = 5000
    ds.WindowCenterWidthExplanation = "WIDE"
    ds.FrameTime = 40.0
    ds.PixelSpacing = [0.5, 0.25]
    overlay = np.zeros((MF_ROWS, MF_COLS), dtype=np.uint8)
    overlay[10:20, 5:15] = 1
    ds.add_new(0x60000010, "US", MF_ROWS)
    ds.add_new(0x60000011, "US", MF_COLS)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(overlay.ravel(), bitorder="little").tobytes())
    ds.save_as(path, enforce_file_format=True)


def write_single(path: Path, patient_id: str = "PAT456", value: int = 100) -> None:
    """One 16×16 frame with every pixel ``value``, no window."""
    ds = _gray(_base("CT", patient_id), np.full((16, 16), value, dtype=np.uint16))
    ds.save_as(path, enforce_file_format=True)


def write_rgb(path: Path) -> None:
    """8-bit RGB 8×8, pixel (r, c) = (r*10, c*10, 200)."""
    ds = _base("XC")
    r, c = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    rgb = np.stack([r * 10, c * 10, np.full_like(r, 200)], axis=-1).astype(np.uint8)
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = 8, 8
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = rgb.tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_no_pixels(path: Path) -> None:
    """A DICOM file without Pixel Data (metadata only)."""
    ds = _base("SR")
    ds.save_as(path, enforce_file_format=True)


def write_broken_j2k(path: Path) -> None:
    """JPEG 2000 Lossless whose only fragment is garbage: decoding must fail cleanly."""
    ds = _base("CT")
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 16, 16
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00garbage" * 16])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of generated files (sorted names fix the indices) plus one non-DICOM file."""
    root = tmp_path_factory.mktemp("study") / "Doe_John_12345"
    (root / "series").mkdir(parents=True)
    write_multiframe(root / "series" / "a_multiframe.dcm")
    write_single(root / "series" / "b_single.dcm")
    write_rgb(root / "series" / "c_rgb.dcm")
    write_no_pixels(root / "series" / "d_nopixels.dcm")
    write_broken_j2k(root / "series" / "e_broken.dcm")
    ct_small = get_testdata_file("CT_small.dcm")
    assert isinstance(ct_small, str)
    shutil.copy(ct_small, root / "series" / "f_ct_small.dcm")
    (root / "series" / "notes.txt").write_text("not a DICOM file\n")
    return root


# Indices in discovery order (directory entries sorted by name; notes.txt is skipped).
MF, SINGLE, RGB, NOPIX, BROKEN, CT_SMALL = range(6)


def auth(token: str = TOKEN) -> dict[str, str]:
    """The Authorization header."""
    return {"Authorization": f"Bearer {token}"}


class Server:
    """A running server and an httpx client bound to it."""

    def __init__(self, handle: ServerHandle) -> None:
        self.handle = handle
        assert handle.ready is not None
        self.port = handle.ready.port
        self.base = handle.base_url
        self.client = httpx.Client(base_url=self.base, headers=auth(), timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def close(self) -> None:
        self.client.close()
        self.handle.stop()


def start_server(paths: tuple[str, ...], **overrides: Any) -> Server:
    """Start a real server on 127.0.0.1 and wait for its scan."""
    config = ServerConfig(paths=paths, token=TOKEN, **overrides)
    handle = ServerHandle.start(config)
    handle.wait_scan()
    return Server(handle)


@pytest.fixture(scope="module")
def server(study: Path) -> Iterator[Server]:
    """A real server on the generated study (module scope: read-mostly tests)."""
    srv = start_server((str(study),))
    yield srv
    srv.close()


@pytest.fixture
def make_server() -> Iterator[Any]:
    """A factory ``make_server(paths, **config)`` whose servers stop after the test."""
    started: list[Server] = []

    def factory(paths: tuple[str, ...], **overrides: Any) -> Server:
        srv = start_server(paths, **overrides)
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.close()


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCMVIEW_TOKEN", raising=False)
