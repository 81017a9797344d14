"""Writing in-memory pydicom Datasets and numpy arrays as DICOM files for ``view()``.

Grey arrays become single-sample (MONOCHROME2) images: 2-D is one frame, 3-D is frames ×
rows × columns. Integer arrays keep their exact values and dtype (8/16/32-bit, signed or not;
Bits Allocated = Bits Stored = the item size). float32 arrays are stored as Float Pixel Data,
float64 as Double Float Pixel Data (Parametric Map SOP class, the IOD that carries them).

Colour: a ``uint8`` array whose last axis is 3 (RGB) or 4 (RGBA) is a colour image —
``(rows, columns, 3|4)`` one image, ``(frames, rows, columns, 3|4)`` a colour cine — stored as
8-bit RGB (the alpha channel is dropped; DICOM has no RGBA). ``rgb=True`` insists on that
reading (an error otherwise), ``rgb=False`` refuses it (a 3-D array is then always frames).
The automatic reading warns when the shape also fits the other one: ``(3|4, rows, 3|4)``, or a
``(3|4, rows, columns)`` array that could be a channels-first colour image (kept as frames; use
``np.moveaxis(a, 0, -1)``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
MF_BYTE_SC = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte SC
MF_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
MF_TRUE_COLOR_SC = "1.2.840.10008.5.1.4.1.1.7.4"  # Multi-frame True Color SC
PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"  # Parametric Map Storage (float pixel data)
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"

_INT_KINDS = {"i", "u"}


@dataclass(frozen=True)
class ArraySpec:
    """How one array will be stored: its frames, rows, columns and dtype (checked up front)."""

    frames: int
    rows: int
    columns: int
    dtype: str
    samples: int = 1
    """3 for a colour image (its last axis), else 1."""


def is_colour(array: Any, index: int, rgb: bool | None) -> bool:
    """Whether ``array`` is read as a colour image (rule in the module docstring)."""
    import warnings

    import numpy as np

    shape = tuple(array.shape)
    fits = np.dtype(array.dtype) == np.uint8 and array.ndim in (3, 4) and shape[-1] in (3, 4)
    if rgb is True and not fits:
        raise ValueError(
            f"item {index}: rgb=True needs a uint8 array of shape (rows, columns, 3|4) or "
            f"(frames, rows, columns, 3|4), got {array.dtype} {shape}"
        )
    if rgb is not None:
        return rgb
    if fits and array.ndim == 3 and shape[0] in (3, 4):
        warnings.warn(
            f"item {index}: shape {shape} read as one colour image of {shape[0]}x{shape[1]} "
            "pixels; pass rgb=False for frames",
            UserWarning,
            stacklevel=4,
        )
    elif not fits and np.dtype(array.dtype) == np.uint8 and array.ndim == 3 and shape[0] in (3, 4):
        warnings.warn(
            f"item {index}: shape {shape} read as {shape[0]} grey frames; for a channels-first "
            "colour image pass np.moveaxis(array, 0, -1) (and rgb=True)",
            UserWarning,
            stacklevel=4,
        )
    return fits


def check_array(array: Any, index: int, *, rgb: bool | None = None) -> ArraySpec:
    """Validate a numpy array for writing; raise ``ValueError``/``TypeError`` when unusable."""
    import numpy as np

    colour = is_colour(array, index, rgb)
    grey_shape = array.shape[:-1] if colour else array.shape
    if len(grey_shape) not in (2, 3):
        raise ValueError(
            f"item {index}: arrays must be 2-D (rows, columns) or 3-D (frames, rows, columns), "
            f"or uint8 colour (rows, columns, 3|4), got shape {array.shape}"
        )
    if 0 in array.shape:
        raise ValueError(f"item {index}: array has an empty dimension {array.shape}")
    frames, rows, cols = (1, *grey_shape) if len(grey_shape) == 2 else grey_shape
    if rows > 65535 or cols > 65535:
        raise ValueError(f"item {index}: rows and columns must be at most 65535")
    dtype = np.dtype(array.dtype)
    if dtype.kind in _INT_KINDS:
        if dtype.itemsize > 4:
            raise TypeError(
                f"item {index}: {dtype} arrays cannot be stored as DICOM Pixel Data (at most "
                "32 bits); cast to a narrower type, e.g. array.astype(np.int32)"
            )
    elif dtype.kind == "f":
        if dtype.itemsize not in (2, 4, 8):
            raise TypeError(f"item {index}: unsupported float type {dtype}")
    else:
        raise TypeError(
            f"item {index}: arrays must hold integers or floats, not {dtype} ({dtype.kind!r})"
        )
    return ArraySpec(int(frames), int(rows), int(cols), dtype.name, 3 if colour else 1)


def array_dataset(array: Any, *, study_uid: str, index: int, rgb: bool | None = None) -> Any:
    """A complete pydicom ``FileDataset`` holding ``array`` (see the module docstring)."""
    import numpy as np
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import UID, generate_uid

    spec = check_array(array, index, rgb=rgb)
    if spec.samples == 3:
        array = array[..., :3]
    dtype = np.dtype(array.dtype)
    if dtype.kind == "f" and dtype.itemsize == 2:
        dtype = np.dtype(np.float32)
    data = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<"))

    is_float = dtype.kind == "f"
    multi_frame = array.ndim == (4 if spec.samples == 3 else 3)
    if is_float:
        sop_class = PARAMETRIC_MAP
    elif not multi_frame:
        sop_class = SC_IMAGE
    elif spec.samples == 3:
        sop_class = MF_TRUE_COLOR_SC
    else:
        sop_class = MF_BYTE_SC if dtype.itemsize == 1 else MF_WORD_SC
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = UID(EXPLICIT_VR_LE)
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "dcmview^view"
    ds.PatientID = "DCMVIEW-VIEW"
    ds.StudyDescription = "view() in-memory objects"
    colour = " RGB" if spec.samples == 3 else ""
    ds.SeriesDescription = (
        f"array {index}: {spec.frames}x{spec.rows}x{spec.columns}{colour} {spec.dtype}"
    )
    ds.SeriesNumber = index + 1
    ds.InstanceNumber = 1
    ds.Modality = "OT"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SamplesPerPixel = spec.samples
    ds.PhotometricInterpretation = "RGB" if spec.samples == 3 else "MONOCHROME2"
    if spec.samples == 3:
        ds.PlanarConfiguration = 0
    ds.Rows = spec.rows
    ds.Columns = spec.columns
    if multi_frame:
        ds.NumberOfFrames = spec.frames
    ds.BitsAllocated = dtype.itemsize * 8
    if is_float:
        if dtype.itemsize == 4:
            ds.FloatPixelData = data.tobytes()
        else:
            ds.DoubleFloatPixelData = data.tobytes()
    else:
        ds.BitsStored = dtype.itemsize * 8
        ds.HighBit = dtype.itemsize * 8 - 1
        ds.PixelRepresentation = 1 if dtype.kind == "i" else 0
        ds.PixelData = data.tobytes()
    return ds


def dataset_for_writing(dataset: Any, index: int) -> Any:
    """A shallow copy of a user's Dataset with the file meta it needs (theirs is untouched)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, generate_uid

    copy = Dataset(dataset)
    meta = FileMetaDataset(getattr(dataset, "file_meta", None) or FileMetaDataset())
    if "SOPInstanceUID" not in copy:
        copy.SOPInstanceUID = generate_uid()
    if "SOPClassUID" not in copy:
        copy.SOPClassUID = UID(SC_IMAGE)
    meta.MediaStorageSOPClassUID = copy.SOPClassUID
    meta.MediaStorageSOPInstanceUID = copy.SOPInstanceUID
    if "TransferSyntaxUID" not in meta:
        if "PixelData" in copy and not getattr(dataset, "is_little_endian", True):
            raise ValueError(f"item {index}: big-endian datasets without a transfer syntax")
        meta.TransferSyntaxUID = UID(EXPLICIT_VR_LE)
    copy.file_meta = meta
    return copy


def write_objects(
    items: Sequence[Any], directory: str | os.PathLike[str], *, rgb: bool | None = None
) -> list[str]:
    """Write Datasets/arrays to ``directory`` (0600 files); return the written paths."""
    import warnings

    from pydicom import dcmwrite
    from pydicom.uid import generate_uid

    study_uid = generate_uid()
    written: list[str] = []
    for index, item in enumerate(items):
        if is_dataset(item):
            ds = dataset_for_writing(item, index)
        else:
            with warnings.catch_warnings():  # view() has warned while checking the items
                warnings.simplefilter("ignore", UserWarning)
                ds = array_dataset(item, study_uid=study_uid, index=index, rgb=rgb)
        path = Path(directory) / f"object-{index:04d}.dcm"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            try:
                dcmwrite(handle, ds, enforce_file_format=True)
            except Exception as exc:
                raise ValueError(f"item {index}: cannot be written as DICOM: {exc}") from exc
        written.append(str(path))
    return written


def is_dataset(item: Any) -> bool:
    """True for a pydicom ``Dataset`` (checked without importing pydicom when not loaded)."""
    import sys

    pydicom_dataset = sys.modules.get("pydicom.dataset")
    return pydicom_dataset is not None and isinstance(item, pydicom_dataset.Dataset)


def is_array(item: Any) -> bool:
    """True for a numpy ``ndarray`` (checked without importing numpy when not loaded)."""
    import sys

    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(item, numpy.ndarray)
