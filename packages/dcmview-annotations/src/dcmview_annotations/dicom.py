"""The optional DICOM edge: read a file's `Geometry` from its header with pydicom (lazily imported).

Only ``dcmview-annotations validate --check-files`` uses it; installing the package without the
``dicom`` extra leaves it unavailable and says how to get it.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from dcmview_annotations.errors import AnnotationError
from dcmview_annotations.model import Geometry

INSTALL_HINT = "pip install 'dcmview-annotations[dicom]'"


class DicomUnavailableError(AnnotationError, ImportError):
    """pydicom is not installed (the ``dicom`` extra)."""


class HeaderReadError(AnnotationError):
    """A file could not be read as DICOM; the message says why."""


def load_pydicom() -> ModuleType:
    """Import pydicom or raise `DicomUnavailableError` naming the extra to install."""
    try:
        return importlib.import_module("pydicom")
    except ImportError as exc:
        raise DicomUnavailableError(f"reading DICOM headers needs pydicom: {INSTALL_HINT}") from exc


def read_geometry(path: str) -> Geometry:
    """Frame count, Rows and Columns from the header of the DICOM file at ``path``.

    Reads the header only (``stop_before_pixels``). A file without Rows/Columns gets 0 for both.
    """
    pydicom = load_pydicom()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd but readable headers are still headers
            ds = pydicom.dcmread(
                path,
                stop_before_pixels=True,
                specific_tags=["NumberOfFrames", "Rows", "Columns"],
            )
            frames = ds.get("NumberOfFrames", None)
            rows = ds.get("Rows", None)
            columns = ds.get("Columns", None)
            frame_count = int(frames) if frames not in (None, "") else 1
            return Geometry(
                frame_count=max(frame_count, 1),
                rows=int(rows) if rows not in (None, "") else 0,
                columns=int(columns) if columns not in (None, "") else 0,
            )
    except OSError as exc:
        raise HeaderReadError(exc.strerror or str(exc)) from exc
    except Exception as exc:  # pydicom raises many types on malformed data
        raise HeaderReadError(f"not a readable DICOM file ({type(exc).__name__}: {exc})") from exc
