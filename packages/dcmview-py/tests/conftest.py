"""Fixtures for the dcmview-py tests: real DICOM files, a private sshd, subprocess helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dcmview_tunnel.testing import PrivateSSHD, unavailable_reason
from pydicom.data import get_testdata_file

TEST_FILES = ("CT_small.dcm", "MR_small.dcm")


@pytest.fixture
def dicom_dir(tmp_path: Path) -> Path:
    """A directory with two of pydicom's bundled test files (and one non-DICOM file)."""
    directory = tmp_path / "study"
    directory.mkdir()
    for name in TEST_FILES:
        source = get_testdata_file(name)
        assert source is not None
        shutil.copy(str(source), directory / name)
    (directory / "notes.txt").write_text("not DICOM")
    return directory


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSSHD]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a private sshd: {reason}")
    with PrivateSSHD.start(tmp_path_factory.mktemp("sshd")) as server:
        yield server
