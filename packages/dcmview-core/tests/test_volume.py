"""Volumes from generated series with known voxels: every reformat plane exact against numpy."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless, generate_uid

from dcmview_core.discovery import read_entry
from dcmview_core.errors import DecodeError, FrameOutOfRange, UsageError
from dcmview_core.frames import Frame, clear_layout_cache, read_frame
from dcmview_core.model import FileEntry, Geometry
from dcmview_core.present import render_display
from dcmview_core.stacks import Stack, build_stack
from dcmview_core.volume import Volume, build_volume, voxel_bytes

SLICES, ROWS, COLS = 7, 5, 6
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def known_voxels(slices: int = SLICES, rows: int = ROWS, columns: int = COLS) -> np.ndarray:
    """Stored value of slice k (in position order), row r, column c: k*100 + r*10 + c - 50."""
    k, r, c = np.meshgrid(np.arange(slices), np.arange(rows), np.arange(columns), indexing="ij")
    return (k * 100 + r * 10 + c - 50).astype(np.int16)


def _dataset(pixels: np.ndarray, **attributes: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2")
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID = "P1"
    ds.Modality = "CT"
    ds.StudyInstanceUID = "1.2.9"
    ds.SeriesInstanceUID = "1.2.9.1"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.PixelData = pixels.astype("<i2").tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def write_series(
    folder: Path,
    voxels: np.ndarray,
    *,
    rescales: list[tuple[float, float]] | None = None,
    syntax: str = ExplicitVRLittleEndian,
    spacing: float = 2.0,
) -> list[FileEntry]:
    """One file per slice, shuffled file names and instance numbers; the entries in
    discovery (file name) order with the geometry the files carry."""
    n = voxels.shape[0]
    names = list(range(n))
    random.Random(n).shuffle(names)
    for k in range(n):
        slope, intercept = rescales[k] if rescales else (1.0, -1024.0)
        ds = _dataset(
            voxels[k],
            InstanceNumber=names[k] * 7 + 1,
            ImagePositionPatient=[0.0, 0.0, spacing * k],
            ImageOrientationPatient=list(AXIAL),
            PixelSpacing=[0.5, 0.8],
            RescaleSlope=slope,
            RescaleIntercept=intercept,
        )
        if syntax != ExplicitVRLittleEndian:
            ds.compress(syntax, encoding_plugin="pydicom" if syntax == RLELossless else "")
        ds.save_as(folder / f"f{names[k]:03d}.dcm", enforce_file_format=True)
    entries = []
    for i, path in enumerate(sorted(folder.glob("f*.dcm"))):
        entry = read_entry(str(path), index=i)
        assert isinstance(entry, FileEntry)
        z = float(names.index(int(path.stem[1:])) * spacing)
        entries.append(replace(entry, geometry=_geometry(((0.0, 0.0, z),))))
    return entries


def _geometry(positions: tuple[tuple[float, float, float], ...]) -> Geometry:
    return Geometry(
        frame_of_reference_uid="1.2.3",
        orientation=AXIAL,
        positions=positions,
        pixel_spacing=(0.5, 0.8),
        imager_pixel_spacing=None,
        magnification=None,
        slice_thickness=None,
        spacing_between_slices=None,
    )


def volume_of(stack: Stack, entries: list[FileEntry], **kwargs: Any) -> Volume:
    by_index = {e.index: e for e in entries}
    assert stack.volume is not None

    def read(k: int) -> Frame:
        file, frame = stack.slices[k]
        return read_frame(by_index[file], frame)

    return build_volume(read, stack.slice_count, stack.volume.spacing, **kwargs)


def _modality(volume: Volume) -> np.ndarray:
    return volume.voxels.astype(np.float64) * volume.rescale_slope + volume.rescale_intercept


def _check_every_plane(volume: Volume, expected: np.ndarray) -> None:
    """Every plane of every axis, against numpy indexing of the expected modality values."""
    for k in range(expected.shape[0]):
        np.testing.assert_array_equal(_plane_modality(volume, 0, k), expected[k])
    for k in range(expected.shape[1]):
        np.testing.assert_array_equal(_plane_modality(volume, 1, k), expected[:, k, :])
    for k in range(expected.shape[2]):
        np.testing.assert_array_equal(_plane_modality(volume, 2, k), expected[:, :, k])


def _plane_modality(volume: Volume, axis: int, k: int) -> np.ndarray:
    frame = volume.frame(axis, k)
    assert frame.samples.flags.c_contiguous
    m = frame.meta
    return frame.samples.astype(np.float64) * m.rescale_slope + m.rescale_intercept


def test_native_series_reformats_exactly(tmp_path: Path) -> None:
    voxels = known_voxels()
    entries = write_series(tmp_path, voxels)
    stack = build_stack("s0", entries)
    volume = volume_of(stack, entries)
    assert volume.voxels.dtype == np.int16
    assert volume.nbytes == voxel_bytes(SLICES, ROWS, COLS, 16) == voxels.nbytes
    np.testing.assert_array_equal(volume.voxels, voxels)
    _check_every_plane(volume, voxels.astype(np.float64) - 1024)
    assert volume.plane(1, 2).shape == (SLICES, COLS)
    assert volume.plane(2, 4).shape == (SLICES, ROWS)
    assert volume.plane_spacing(0) == (0.5, 0.8)
    assert volume.plane_spacing(1) == (2.0, 0.8)
    assert volume.plane_spacing(2) == (2.0, 0.5)


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, RLELossless])
def test_compressed_series_reformat_exactly(tmp_path: Path, syntax: str) -> None:
    voxels = known_voxels(4, 32, 33)  # JPEG 2000's default 6 resolutions need 32 pixels
    entries = write_series(tmp_path, voxels, syntax=syntax)
    assert entries[0].transfer_syntax_uid == syntax
    volume = volume_of(build_stack("s0", entries), entries, workers=2)
    np.testing.assert_array_equal(volume.voxels, voxels)


def test_intercepts_that_differ_by_whole_slopes_stay_integers(tmp_path: Path) -> None:
    voxels = known_voxels()
    rescales = [(1.0, -1024.0 + 3 * k) for k in range(SLICES)]
    entries = write_series(tmp_path, voxels, rescales=rescales)
    volume = volume_of(build_stack("s0", entries), entries)
    assert volume.voxels.dtype.kind == "i"
    assert (volume.rescale_slope, volume.rescale_intercept) == (1.0, -1024.0)
    expected = voxels.astype(np.float64) + np.array([b for _, b in rescales])[:, None, None]
    np.testing.assert_array_equal(_modality(volume), expected)
    _check_every_plane(volume, expected)


def test_integer_offsets_widen_instead_of_clipping(tmp_path: Path) -> None:
    voxels = known_voxels()
    voxels[0, 0, 0] = 32000
    rescales = [(1.0, -40000.0 if k == 0 else 0.0) for k in range(SLICES)]
    entries = write_series(tmp_path, voxels, rescales=rescales)
    volume = volume_of(build_stack("s0", entries), entries)
    assert volume.voxels.dtype == np.int32  # 32000 + 40000 does not fit int16
    expected = voxels.astype(np.float64) + np.array([b for _, b in rescales])[:, None, None]
    np.testing.assert_array_equal(_modality(volume), expected)


def test_differing_slopes_become_float32_modality_values(tmp_path: Path) -> None:
    voxels = known_voxels()
    rescales = [(0.5 + 0.25 * k, -1000.5 + k) for k in range(SLICES)]
    entries = write_series(tmp_path, voxels, rescales=rescales)
    volume = volume_of(build_stack("s0", entries), entries)
    assert volume.voxels.dtype == np.float32
    assert (volume.rescale_slope, volume.rescale_intercept) == (1.0, 0.0)
    slopes = np.array([s for s, _ in rescales])[:, None, None]
    intercepts = np.array([b for _, b in rescales])[:, None, None]
    expected = (voxels * slopes + intercepts).astype(np.float32).astype(np.float64)
    _check_every_plane(volume, expected)
    frame = volume.frame(1, 3)
    assert frame.meta.sample_format == "float"
    assert frame.meta.bits_allocated == 32
    assert render_display(frame).image.shape == (SLICES, COLS)


def _enhanced(path: Path, voxels: np.ndarray, order: list[int], slopes: list[float]) -> None:
    """Enhanced CT: frame f holds slice order[f], per-frame position and rescale."""
    groups = []
    for f, k in enumerate(order):
        position = Dataset()
        position.ImagePositionPatient = [0.0, 0.0, 3.0 * k]
        rescale = Dataset()
        rescale.RescaleSlope, rescale.RescaleIntercept, rescale.RescaleType = slopes[f], 0, "HU"
        group = Dataset()
        group.PlanePositionSequence = Sequence([position])
        group.PixelValueTransformationSequence = Sequence([rescale])
        groups.append(group)
    orientation = Dataset()
    orientation.ImageOrientationPatient = list(AXIAL)
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.8]
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds = _dataset(
        voxels[order],
        PerFrameFunctionalGroupsSequence=Sequence(groups),
        SharedFunctionalGroupsSequence=Sequence([shared]),
    )
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.2.1")
    ds.save_as(path, enforce_file_format=True)


def test_enhanced_multi_frame_volume(tmp_path: Path) -> None:
    voxels = known_voxels(5)
    order = [3, 0, 4, 2, 1]
    slopes = [1.0, 1.0, 2.0, 1.0, 1.0]  # frame 2 (slice 4) has another slope
    _enhanced(tmp_path / "enhanced.dcm", voxels, order, slopes)
    entry = read_entry(str(tmp_path / "enhanced.dcm"), index=0)
    assert isinstance(entry, FileEntry)
    assert entry.frame_count == 5
    positions = tuple((0.0, 0.0, 3.0 * k) for k in order)
    entry = replace(entry, geometry=_geometry(positions))
    stack = build_stack("s0", [entry])
    assert stack.slices == tuple((0, order.index(k)) for k in range(5))
    volume = volume_of(stack, [entry])
    expected = voxels.astype(np.float64)
    expected[4] *= 2.0
    _check_every_plane(volume, expected)


def test_a_strip_answers_the_planes_inside_it(tmp_path: Path) -> None:
    voxels = known_voxels()
    entries = write_series(tmp_path, voxels)
    stack = build_stack("s0", entries)
    strip = volume_of(stack, entries, rows=(1, 4))
    assert strip.voxels.shape == (SLICES, 3, COLS)
    assert strip.covers(1, 1)
    assert strip.covers(1, 3)
    assert not strip.covers(1, 4)
    assert strip.covers(2, 5)
    np.testing.assert_array_equal(strip.plane(1, 2), voxels[:, 2, :])
    with pytest.raises(UsageError, match="outside this strip"):
        strip.plane(1, 0)
    columns = volume_of(stack, entries, columns=(2, 3))
    np.testing.assert_array_equal(columns.plane(2, 2), voxels[:, :, 2])
    assert columns.frame(2, 2).meta.number_of_frames == COLS
    with pytest.raises(UsageError):
        volume_of(stack, entries, rows=(3, 99))


def test_out_of_range_planes_and_bad_axes(tmp_path: Path) -> None:
    entries = write_series(tmp_path, known_voxels())
    volume = volume_of(build_stack("s0", entries), entries)
    with pytest.raises(FrameOutOfRange):
        volume.plane(0, SLICES)
    with pytest.raises(FrameOutOfRange):
        volume.plane(2, -1)
    with pytest.raises(UsageError, match="axis"):
        volume.plane(3, 0)


def test_slices_of_another_shape_are_a_clear_error(tmp_path: Path) -> None:
    entries = write_series(tmp_path, known_voxels(3))
    odd = _dataset(np.zeros((4, 4), dtype=np.int16))
    odd.save_as(tmp_path / "odd.dcm", enforce_file_format=True)
    odd_entry = read_entry(str(tmp_path / "odd.dcm"), index=9)
    assert isinstance(odd_entry, FileEntry)
    frames = [read_frame(entries[0], 0), read_frame(odd_entry, 0)]
    with pytest.raises(DecodeError, match="cannot form a volume"):
        build_volume(frames.__getitem__, 2, (1.0, 1.0, 1.0))
    with pytest.raises(UsageError):
        build_volume(frames.__getitem__, 0, (1.0, 1.0, 1.0))


def test_a_modality_lut_slice_makes_float_modality_values(tmp_path: Path) -> None:
    voxels = known_voxels(3)
    voxels -= voxels.min()  # the LUT maps stored values 0 .. 4095
    entries = write_series(tmp_path, voxels)
    table = (np.arange(4096) * 3 + 7).astype(np.uint16)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.LUTData = table.astype("<u2").tobytes()
    item["LUTData"].VR = "OW"
    target = entries[0]
    ds = dcmread(target.path)
    del ds.RescaleSlope
    del ds.RescaleIntercept
    ds.ModalityLUTSequence = Sequence([item])
    ds.save_as(target.path, enforce_file_format=True)
    clear_layout_cache()
    stack = build_stack("s0", entries)
    volume = volume_of(stack, entries)
    assert volume.voxels.dtype == np.float32
    lut_slice = [f for f, _ in stack.slices].index(target.index)
    expected = voxels.astype(np.float64) - 1024
    expected[lut_slice] = table[voxels[lut_slice]]
    _check_every_plane(volume, expected)


def test_signed_and_unsigned_slices_widen_without_losing_values(tmp_path: Path) -> None:
    voxels = known_voxels(4)
    entries = write_series(tmp_path, voxels)
    stack = build_stack("s0", entries)
    first = entries[stack.slices[1][0]]  # slice 1 becomes unsigned with a value over 32767
    ds = dcmread(first.path)
    unsigned = voxels[1].astype(np.int32) + 40000
    ds.PixelRepresentation = 0
    ds.PixelData = unsigned.astype("<u2").tobytes()
    ds.save_as(first.path, enforce_file_format=True)
    clear_layout_cache()
    volume = volume_of(stack, entries)
    assert volume.voxels.dtype == np.int32
    expected = voxels.astype(np.float64)
    expected[1] = unsigned
    _check_every_plane(volume, expected - 1024)
