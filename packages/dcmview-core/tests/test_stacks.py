"""Stacks: grouping and geometric order of slices, and the volume information of a stack."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from dcmview_core.discovery import read_entry
from dcmview_core.model import OVERLAY_SOP_CLASSES, FileEntry, Geometry, SupportState
from dcmview_core.stacks import Stack, StackIndex, build_stack, plane_label

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
SERIES = "1.2.826.0.1.3680043.10.1512.9.1"


def _geometry(
    orientation: tuple[float, ...] | None = AXIAL,
    positions: tuple[tuple[float, float, float], ...] | None = ((0.0, 0.0, 0.0),),
    spacing: tuple[float, float] | None = (0.7, 0.6),
    **fields: Any,
) -> Geometry:
    values: dict[str, Any] = {
        "frame_of_reference_uid": "1.2.3",
        "orientation": orientation,
        "positions": positions,
        "pixel_spacing": spacing,
        "imager_pixel_spacing": None,
        "magnification": None,
        "slice_thickness": None,
        "spacing_between_slices": None,
    }
    values.update(fields)
    return Geometry(**values)


def _entry(index: int, **fields: Any) -> FileEntry:
    """A renderable single-frame CT entry of SERIES; ``fields`` override anything."""
    values: dict[str, Any] = {
        "index": index,
        "path": f"/data/{index}.dcm",
        "label": f"{index}.dcm",
        "patient_id": "P1",
        "patient_name": None,
        "study_instance_uid": "1.2.9",
        "study_date": "20240101",
        "study_description": None,
        "series_instance_uid": SERIES,
        "series_number": 2,
        "series_description": "Axial 5 mm",
        "modality": "CT",
        "instance_number": index + 1,
        "sop_class_uid": None,
        "sop_instance_uid": None,
        "transfer_syntax_uid": ExplicitVRLittleEndian,
        "photometric_interpretation": "MONOCHROME2",
        "rows": 4,
        "columns": 5,
        "frame_count": 1,
        "bits_allocated": 16,
        "bits_stored": 16,
        "pixel_representation": 1,
        "samples_per_pixel": 1,
        "has_pixels": True,
        "default_window": None,
        "support_state": SupportState.RENDERABLE,
        "support_reason": None,
        "geometry": _geometry(),
    }
    values.update(fields)
    return FileEntry(**values)


def _at(index: int, z: float | None, **fields: Any) -> FileEntry:
    """An axial slice at height ``z`` (None: no ImagePositionPatient)."""
    positions = None if z is None else ((-10.0, -20.0, z),)
    return _entry(index, geometry=_geometry(positions=positions), **fields)


def _height(entry: FileEntry) -> float:
    assert entry.geometry is not None
    assert entry.geometry.positions is not None
    return entry.geometry.positions[0][2]


def _only(entries: list[FileEntry]) -> Stack:
    index = StackIndex()
    index.extend(entries)
    stacks = index.stacks()
    assert len(stacks) == 1
    return stacks[0]


def test_slices_are_ordered_along_the_normal_whatever_names_and_instance_numbers() -> None:
    heights = [2.5 * k for k in range(10)]
    order = list(range(10))
    random.Random(5).shuffle(order)
    numbers = list(range(1, 11))
    random.Random(9).shuffle(numbers)
    # discovery index i holds the slice at heights[order[i]], with a shuffled InstanceNumber
    entries = [_at(i, heights[order[i]], instance_number=numbers[i]) for i in range(10)]
    stack = _only(entries)
    assert [_height(entries[f]) for f, _ in stack.slices] == heights
    assert stack.id == "s0"
    assert stack.label == "P1 · CT · 2 Axial 5 mm"
    assert stack.volume is not None
    assert stack.volume.shape == (10, 4, 5)
    assert stack.volume.spacing == (2.5, 0.7, 0.6)
    assert stack.volume.uniform
    assert stack.volume.origin == (-10.0, -20.0, 0.0)
    assert stack.volume.orientation == AXIAL
    assert stack.volume.axis_labels == ("axial", "coronal", "sagittal")
    body = stack.to_json()
    assert body["slice_count"] == 10
    assert body["slices"][0] == [order.index(0), 0]
    assert body["volume"]["spacing"] == [2.5, 0.7, 0.6]
    assert body["volume"]["slice_positions"] == heights


def test_a_descending_acquisition_is_still_ascending_along_the_normal() -> None:
    entries = [_at(i, -5.0 * i) for i in range(4)]  # InstanceNumber 1..4 goes down in z
    stack = _only(entries)
    assert [f for f, _ in stack.slices] == [3, 2, 1, 0]
    assert stack.volume is not None
    assert stack.volume.origin[2] == -15.0


def test_ties_go_by_instance_number_then_discovery_order() -> None:
    entries = [
        _at(0, 5.0, instance_number=3),
        _at(1, 5.0, instance_number=1),
        _at(2, 0.0, instance_number=9),
        _at(3, 5.0, instance_number=1),
        _at(4, 5.0 + 1e-7, instance_number=2),  # the same position to 1 µm
    ]
    stack = _only(entries)
    assert [f for f, _ in stack.slices] == [2, 1, 3, 4, 0]
    assert stack.volume is not None
    assert not stack.volume.uniform  # a position repeats


def test_without_every_position_order_is_instance_number_then_discovery() -> None:
    entries = [_at(0, 0.0, instance_number=4), _at(1, None, instance_number=2)]
    entries += [_at(2, 10.0, instance_number=None), _at(3, 5.0, instance_number=2)]
    stack = _only(entries)
    assert [f for f, _ in stack.slices] == [1, 3, 0, 2]
    assert stack.volume is None
    assert stack.to_json()["volume"] is None


def test_non_uniform_gaps_take_the_median_and_say_so() -> None:
    stack = _only([_at(i, z) for i, z in enumerate([0.0, 1.0, 2.0, 4.0, 5.0, 6.0])])
    assert stack.volume is not None
    assert stack.volume.spacing[0] == 1.0
    assert not stack.volume.uniform
    assert stack.volume.slice_positions == (0.0, 1.0, 2.0, 4.0, 5.0, 6.0)
    # within 1 %: still uniform
    nearly = _only([_at(i, z) for i, z in enumerate([0.0, 1.0, 2.005, 3.0])])
    assert nearly.volume is not None
    assert nearly.volume.uniform


def test_a_series_splits_by_shape_and_orientation() -> None:
    axial = [_at(i, float(i)) for i in range(3)]
    localizer = _entry(3, geometry=_geometry(orientation=CORONAL), rows=8, columns=10)
    other_size = _entry(4, rows=8, columns=10)  # axial orientation, another shape
    coronal = _entry(5, geometry=_geometry(orientation=CORONAL), rows=8, columns=10)
    index = StackIndex()
    index.extend([axial[0], localizer, axial[1], other_size, coronal, axial[2]])
    stacks = index.stacks()
    assert [s.id for s in stacks] == ["s0", "s1", "s2"]
    assert [[f for f, _ in s.slices] for s in stacks] == [[0, 1, 2], [3, 5], [4]]
    assert [s.label for s in stacks] == [
        "P1 · CT · 2 Axial 5 mm",
        "P1 · CT · 2 Axial 5 mm (2)",
        "P1 · CT · 2 Axial 5 mm (3)",
    ]
    assert index.stack_of(5) == "s1"


def test_orientation_is_compared_to_1e_4() -> None:
    close = (1.0, 0.00005, 0.0, 0.0, 1.0, 0.0)
    far = (1.0, 0.001, 0.0, 0.0, 1.0, 0.0)
    index = StackIndex()
    index.add(_entry(0))
    index.add(_entry(1, geometry=_geometry(orientation=close)))
    index.add(_entry(2, geometry=_geometry(orientation=far)))
    assert [len(s.slices) for s in index.stacks()] == [2, 1]


def test_other_series_and_files_without_series_are_separate_stacks() -> None:
    index = StackIndex()
    index.add(_entry(0))
    index.add(_entry(1, series_instance_uid="1.2.3.4"))
    index.add(_entry(2, series_instance_uid=None))
    index.add(_entry(3, series_instance_uid=None))
    assert [[f for f, _ in s.slices] for s in index.stacks()] == [[0], [1], [2], [3]]


def test_files_without_pixels_or_support_have_no_stack() -> None:
    index = StackIndex()
    assert index.add(_entry(0, has_pixels=False)) is None
    assert index.add(_entry(1, support_state=SupportState.UNSUPPORTED)) is None
    assert index.add(_entry(2)) == "s0"
    assert len(index) == 1


@pytest.mark.parametrize("sop_class", sorted(OVERLAY_SOP_CLASSES))
def test_segmentations_and_structure_sets_are_overlays_not_stacks(sop_class: str) -> None:
    index = StackIndex()
    assert index.add(_at(0, 0.0)) == "s0"
    assert index.add(_at(1, 1.0, sop_class_uid=sop_class)) is None
    assert len(index) == 1


def test_stacks_grow_in_place_with_stable_ids() -> None:
    index = StackIndex()
    index.add(_at(0, 10.0))
    first = index.stacks()
    index.add(_at(1, 0.0, series_instance_uid="1.2.3.4"))
    index.add(_at(2, 0.0))
    version = index.version
    later = index.stacks()
    assert [s.id for s in first] == ["s0"]
    assert [s.id for s in later] == ["s0", "s1"]
    assert later[0].slices == ((2, 0), (0, 0))
    assert index.get("s0") == later[0]
    assert index.get("s9") is None
    assert index.stacks()[0] is later[0]  # unchanged groups are not rebuilt
    assert index.add(_at(2, 0.0)) == "s0"  # the same file again: nothing changes
    assert index.version == version


def test_multi_frame_file_is_its_own_stack_ordered_by_frame_position() -> None:
    frames = (
        (0.0, 0.0, 3.0),
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 2.0),
        (0.0, 0.0, 0.0),
    )
    enhanced = _entry(1, frame_count=4, geometry=_geometry(positions=frames))
    index = StackIndex()
    index.extend([_entry(0), enhanced, _entry(2)])
    stacks = index.stacks()
    assert [s.slices for s in stacks] == [((0, 0), (2, 0)), ((1, 3), (1, 1), (1, 2), (1, 0))]
    assert stacks[1].volume is not None
    assert stacks[1].volume.spacing[0] == 1.0
    assert stacks[1].volume.origin == (0.0, 0.0, 0.0)


def test_cine_without_positions_keeps_frame_order() -> None:
    cine = _entry(0, frame_count=5, geometry=None, modality="US")
    stack = _only([cine])
    assert stack.slices == tuple((0, f) for f in range(5))
    assert stack.volume is None


def _rotation_x(degrees: float) -> tuple[float, ...]:
    a = math.radians(degrees)
    return (1.0, 0.0, 0.0, 0.0, math.cos(a), math.sin(a))


def test_oblique_stacks_order_along_their_own_normal() -> None:
    orientation = _rotation_x(40.0)
    normal = np.cross(orientation[:3], orientation[3:])
    heights = [3.0, 0.0, 6.0, 1.5, 4.5]
    entries = [
        _entry(i, geometry=_geometry(orientation=orientation, positions=(tuple(h * normal),)))
        for i, h in enumerate(heights)
    ]
    stack = _only(entries)
    assert [f for f, _ in stack.slices] == [1, 3, 0, 4, 2]
    assert stack.volume is not None
    assert stack.volume.spacing[0] == pytest.approx(1.5)
    assert stack.volume.uniform
    assert stack.volume.axis_labels == ("oblique", "oblique", "sagittal")


@pytest.mark.parametrize(
    ("orientation", "labels"),
    [
        (AXIAL, ("axial", "coronal", "sagittal")),
        (CORONAL, ("coronal", "axial", "sagittal")),
        (SAGITTAL, ("sagittal", "axial", "coronal")),
        (_rotation_x(20.0), ("axial", "coronal", "sagittal")),  # within ~26°: still axial
    ],
)
def test_axis_labels(orientation: tuple[float, ...], labels: tuple[str, ...]) -> None:
    stack = _only([_entry(0, geometry=_geometry(orientation=orientation))])
    assert stack.volume is not None
    assert stack.volume.axis_labels == labels


def test_plane_label_of_degenerate_normals() -> None:
    assert plane_label((0.0, 0.0, 0.0)) == "oblique"
    assert plane_label((0.0, 0.0, -2.0)) == "axial"


def test_a_single_slice_takes_its_spacing_from_the_header() -> None:
    g = _geometry(spacing_between_slices=3.0, slice_thickness=5.0)
    stack = build_stack("s0", [_entry(0, geometry=g)])
    assert stack.volume is not None
    assert stack.volume.spacing[0] == 3.0
    g = _geometry(slice_thickness=5.0)
    assert build_stack("s0", [_entry(0, geometry=g)]).volume.spacing[0] == 5.0  # type: ignore[union-attr]
    assert build_stack("s0", [_entry(0)]).volume.spacing[0] == 1.0  # type: ignore[union-attr]


def test_volume_needs_grayscale_and_a_pixel_spacing() -> None:
    assert build_stack("s0", [_entry(0, samples_per_pixel=3)]).volume is None
    assert build_stack("s0", [_entry(0, geometry=_geometry(spacing=None))]).volume is None
    imager = _geometry(spacing=None, imager_pixel_spacing=(0.2, 0.2), magnification=2.0)
    volume = build_stack("s0", [_entry(0, geometry=imager)]).volume
    assert volume is not None
    assert volume.spacing[1:] == (0.1, 0.1)
    assert volume.spacing_source == "ImagerPixelSpacing"


# --- end to end: files written with pydicom, read by discovery --------------------------------


def _write_slice(path: Path, z: float, number: int, series: str = SERIES) -> None:
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
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 2
    ds.SeriesDescription = "Axial 5 mm"
    ds.InstanceNumber = number
    ds.FrameOfReferenceUID = "1.2.3"
    ds.ImageOrientationPatient = list(AXIAL)
    ds.ImagePositionPatient = [-10.0, -20.0, z]
    ds.PixelSpacing = [0.7, 0.6]
    ds.SliceThickness = 5.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 4, 5
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = np.full((4, 5), number, dtype="<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_discovered_files_form_the_stack(tmp_path: Path) -> None:
    heights = [10.0, 0.0, 5.0, 15.0]
    for k, z in enumerate(heights):  # file names sort in another order than the heights
        _write_slice(tmp_path / f"im{k}.dcm", z, number=len(heights) - k)
    entries = []
    for k in range(len(heights)):
        entry = read_entry(str(tmp_path / f"im{k}.dcm"), index=k)
        assert isinstance(entry, FileEntry)
        entries.append(entry)
    assert entries[0].geometry is not None
    assert entries[0].geometry.positions == ((-10.0, -20.0, 10.0),)
    stack = _only(entries)
    assert [f for f, _ in stack.slices] == [1, 2, 0, 3]
    assert stack.volume is not None
    assert stack.volume.spacing == (5.0, 0.7, 0.6)
    assert replace(stack, id="s1").id == "s1"
