"""Overlays from DICOM SEG (written by highdicom), RT Structure Sets, numpy and NIfTI masks on
generated CT series with known masks; every mask compared exactly with the known array and,
for SEG, with highdicom's own readback."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import highdicom as hd
import nibabel
import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.utils import pack_bits
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

from dcmview_core import FileEntry, scan
from dcmview_core.errors import UsageError
from dcmview_core.overlays import (
    OverlayCatalog,
    OverlayNotFound,
    OverlaySource,
    cielab_to_srgb,
    label_map,
    place_array,
    place_nifti,
    seg_dataset,
    segment_counts,
    segment_mask,
)
from dcmview_core.overlays.arrays import load_mask_file
from dcmview_core.stacks import StackIndex

ROWS, COLS = 7, 9  # 63 bits per binary frame: frames start mid-byte
ROW_MM, COL_MM, SLICE_MM = 0.5, 0.75, 2.5
ORIGIN = (-10.0, -20.0, 30.0)

Mask = NDArray[np.bool_]


def _series(
    folder: Path,
    n: int = 4,
    *,
    rows: int = ROWS,
    columns: int = COLS,
    names_reversed: bool = False,
    frame_of_reference: str | None = None,
) -> list[Dataset]:
    """A CT series (slice k at z = 30 + 2.5 k) with highdicom's required attributes. With
    ``names_reversed`` the file names run against the slice order (discovery ≠ stack order)."""
    folder.mkdir(parents=True, exist_ok=True)
    study, series, for_uid = generate_uid(), generate_uid(), frame_of_reference or generate_uid()
    out = []
    for k in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, for_uid
        ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = (
            "P1",
            "A^B",
            "19700101",
            "F",
        )
        ds.StudyID, ds.AccessionNumber, ds.StudyDate, ds.StudyTime = "1", "A1", "20240101", "120000"
        ds.ReferringPhysicianName = ""
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, k + 1
        ds.ImagePositionPatient = [ORIGIN[0], ORIGIN[1], ORIGIN[2] + SLICE_MM * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [ROW_MM, COL_MM]
        ds.SliceThickness = SLICE_MM
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = rows, columns
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = (np.arange(rows * columns, dtype=np.int16) + k).tobytes()
        name = f"ct{(n - 1 - k) if names_reversed else k:03d}.dcm"
        ds.save_as(folder / name, enforce_file_format=True)
        out.append(ds)
    return out


def _descriptions(count: int, lab: Sequence[int] | None = None) -> list[Any]:
    return [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=f"seg {i + 1}",
            segmented_property_category=hd.sr.CodedConcept(
                "91723000", "SCT", "Anatomical Structure"
            ),
            segmented_property_type=hd.sr.CodedConcept("39607008", "SCT", "Lung"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            display_color=hd.color.CIELabColor.from_dicom_value(lab) if lab and i == 0 else None,
        )
        for i in range(count)
    ]


def _write_seg(
    path: Path,
    sources: Sequence[Dataset],
    mask: NDArray[Any],
    *,
    fractional: bool = False,
    lab: Sequence[int] | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Path:
    """A highdicom SEG of ``mask`` (slices, rows, cols, segments) over ``sources``."""
    seg = hd.seg.Segmentation(
        source_images=list(sources),
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL
        if fractional
        else hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=_descriptions(mask.shape[-1], lab),
        series_instance_uid=generate_uid(),
        series_number=20,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="dcmview tests",
        manufacturer_model_name="tests",
        software_versions="1",
        device_serial_number="1",
        series_description="Nodules (AI)",
        transfer_syntax_uid=transfer_syntax,
    )
    seg.save_as(path)
    return path


def _entries(*paths: Path) -> list[FileEntry]:
    return [e for e in scan([str(p) for p in paths]) if isinstance(e, FileEntry)]


def _known_mask(n: int, segments: int, seed: int = 1) -> Mask:
    rng = np.random.default_rng(seed)
    mask = rng.random((n, ROWS, COLS, segments)) > 0.6
    mask[1, :, :, 0] = False  # segment 1 missing on slice 1
    mask[2] = False  # slice 2 empty: highdicom stores no frame for it
    return mask


def _by_uid(entries: Sequence[FileEntry]) -> dict[str, FileEntry]:
    return {e.sop_instance_uid: e for e in entries if e.sop_instance_uid}


def _check_binary(
    overlay: Any, entries: Sequence[FileEntry], sources: Sequence[Dataset], mask: Mask
) -> None:
    files = _by_uid(entries)
    targets = {t.file: t.frames for t in overlay.targets}
    for k, src in enumerate(sources):
        file = files[src.SOPInstanceUID].index
        if not mask[k].any():
            assert file not in targets
            with pytest.raises(OverlayNotFound):
                segment_mask(overlay, file, 0, 1)
            continue
        assert targets[file] == (0,)
        labels = label_map(overlay, file, 0)
        expected_labels = np.zeros((ROWS, COLS), np.uint8)
        for s in range(mask.shape[-1]):
            got = segment_mask(overlay, file, 0, s + 1)
            assert got.dtype == np.uint8
            assert got.shape == (ROWS, COLS)
            np.testing.assert_array_equal(got, mask[k, :, :, s].astype(np.uint8) * 255)
            expected_labels[mask[k, :, :, s]] = s + 1
        np.testing.assert_array_equal(labels, expected_labels)


def test_binary_seg_matches_known_masks_and_highdicom(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    mask = _known_mask(4, 3)
    seg_path = _write_seg(tmp_path / "seg.dcm", sources, mask, lab=(30000, 50000, 40000))
    entries = _entries(tmp_path / "ct", seg_path)
    [overlay] = OverlayCatalog().overlays(entries)
    assert overlay.kind == "segmentation"
    assert overlay.label == "Nodules (AI)"
    assert overlay.reason is None
    assert not overlay.fractional
    assert [s.number for s in overlay.segments] == [1, 2, 3]
    assert overlay.segments[0].color == hd.color.CIELabColor.from_dicom_value(
        (30000, 50000, 40000)
    ).to_rgb(clip=True)
    assert overlay.segments[0].color == cielab_to_srgb((30000, 50000, 40000))
    _check_binary(overlay, entries, sources, mask)
    reference = hd.seg.segread(seg_path)
    files = _by_uid(entries)
    uids = [s.SOPInstanceUID for k, s in enumerate(sources) if mask[k].any()]
    back = reference.get_pixels_by_source_instance(uids, combine_segments=False)
    for uid, planes in zip(uids, back, strict=True):
        for s in range(3):
            got = segment_mask(overlay, files[uid].index, 0, s + 1)
            np.testing.assert_array_equal(got > 0, planes[:, :, s] > 0)


def _rewrite(path: Path, change: Any) -> Path:
    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)
    return path


def test_shuffled_frames_keep_their_segments_and_sources(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    mask = _known_mask(4, 2, seed=5)
    seg_path = _write_seg(tmp_path / "seg.dcm", sources, mask)

    def shuffle(ds: Dataset) -> None:
        frames = ds.pixel_array.reshape(-1, ROWS, COLS)
        order = np.random.default_rng(3).permutation(len(frames))
        assert not np.array_equal(order, np.arange(len(frames)))
        ds.PixelData = pack_bits(frames[order].ravel())
        items = list(ds.PerFrameFunctionalGroupsSequence)
        ds.PerFrameFunctionalGroupsSequence = DicomSequence([items[i] for i in order])

    _rewrite(seg_path, shuffle)
    entries = _entries(tmp_path / "ct", seg_path)
    [overlay] = OverlayCatalog().overlays(entries)
    _check_binary(overlay, entries, sources, mask)


def test_seg_placed_by_frame_of_reference_and_position_only(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    mask = _known_mask(4, 2, seed=7)
    seg_path = _write_seg(tmp_path / "seg.dcm", sources, mask)

    def drop_references(ds: Dataset) -> None:
        for item in ds.PerFrameFunctionalGroupsSequence:
            del item.DerivationImageSequence
        del ds.ReferencedSeriesSequence

    _rewrite(seg_path, drop_references)
    entries = _entries(tmp_path / "ct", seg_path)
    [overlay] = OverlayCatalog().overlays(entries)
    assert overlay.reason is None
    _check_binary(overlay, entries, sources, mask)


@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, JPEG2000Lossless], ids=["native", "j2k"]
)
def test_fractional_seg_values_and_coverage(tmp_path: Path, syntax: str) -> None:
    native = syntax == ExplicitVRLittleEndian
    rows, cols = (ROWS, COLS) if native else (33, 35)  # J2K needs 32 pixels or more
    sources = _series(tmp_path / "ct", 3, rows=rows, columns=cols)
    rng = np.random.default_rng(11)
    values = rng.integers(0, 256, (3, rows, cols, 2)).astype(np.float32) / 255.0
    values[0, :, :, 1] = 0.0
    seg_path = _write_seg(
        tmp_path / "seg.dcm", sources, values, fractional=True, transfer_syntax=syntax
    )
    entries = _entries(tmp_path / "ct", seg_path)
    [overlay] = OverlayCatalog().overlays(entries)
    assert overlay.fractional
    some = next(iter(overlay.planes.values()))[0].source
    assert (getattr(some, "native", None) is None) == (syntax == JPEG2000Lossless)
    reference = hd.seg.segread(seg_path)
    files = _by_uid(entries)
    for k, src in enumerate(sources):
        file = files[src.SOPInstanceUID].index
        stored = reference.get_pixels_by_source_instance(
            [src.SOPInstanceUID], combine_segments=False, rescale_fractional=False
        )[0]
        expected = np.zeros((rows, cols), np.uint8)
        for s in range(2):
            got = segment_mask(overlay, file, 0, s + 1)
            np.testing.assert_array_equal(got, np.rint(values[k, :, :, s] * 255).astype(np.uint8))
            np.testing.assert_array_equal(got, stored[:, :, s].astype(np.uint8))
            expected[got >= 128] = s + 1  # a fractional segment covers from 50 %
        np.testing.assert_array_equal(label_map(overlay, file, 0), expected)


def test_seg_without_its_sources_is_listed_with_a_reason(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    seg_path = _write_seg(tmp_path / "seg.dcm", sources, _known_mask(4, 1))
    [overlay] = OverlayCatalog().overlays(_entries(seg_path))
    assert overlay.targets == ()
    assert overlay.kind == "segmentation"
    assert overlay.reason is not None
    assert "matches a loaded image" in overlay.reason
    body = overlay.to_json()
    assert body["targets"] == []
    assert body["segments"][0]["label"] == "seg 1"


def test_catalog_ids_given_sources_first_then_discovered(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    mask = _known_mask(4, 2)
    outside = _write_seg(tmp_path / "given.dcm", sources, mask)
    inside = _write_seg(tmp_path / "ct" / "zz_seg.dcm", sources, mask)
    entries = _entries(tmp_path / "ct")
    catalog = OverlayCatalog([OverlaySource(str(outside), label="given")])
    first, second = catalog.overlays([entries[0], entries[-1]])  # scan still running
    assert (first.id, first.label, second.id) == ("o1", "given", "o2")
    assert second.source == str(inside)
    again = catalog.overlays(entries)  # more files loaded: placed again, same ids
    assert [o.id for o in again] == ["o1", "o2"]
    _check_binary(again[0], entries, sources, mask)
    _check_binary(again[1], entries, sources, mask)
    assert catalog.get("o2", entries) is again[1]
    assert catalog.get("o9", entries) is None


def test_counts_pixels_area_and_volume(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct")
    mask = _known_mask(4, 2)
    seg_path = _write_seg(tmp_path / "seg.dcm", sources, mask)
    entries = _entries(tmp_path / "ct", seg_path)
    [overlay] = OverlayCatalog().overlays(entries)
    counts = {c.number: c for c in segment_counts(overlay)}
    for s in range(2):
        pixels = int(mask[..., s].sum())
        c = counts[s + 1]
        assert c.pixels == pixels
        assert c.area_mm2 == pytest.approx(pixels * ROW_MM * COL_MM)
        assert c.volume_ml == pytest.approx(pixels * ROW_MM * COL_MM * SLICE_MM / 1000)
        assert sum(p for _, _, p in c.frames) == pixels


# --- RT Structure Set ------------------------------------------------------------------------


def _to_patient(
    sources: Sequence[Dataset], k: int, points: Sequence[tuple[float, float]]
) -> list[float]:
    """Pixel ``(column, row)`` points on slice k → flat patient x, y, z."""
    x0, y0, z0 = (float(v) for v in sources[k].ImagePositionPatient)
    out: list[float] = []
    for c, r in points:
        out += [x0 + c * COL_MM, y0 + r * ROW_MM, z0]
    return out


def _write_rtstruct(
    path: Path,
    sources: Sequence[Dataset],
    rois: dict[int, list[tuple[int, list[tuple[float, float]]]]],
    *,
    references: bool = True,
) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = sources[0].StudyInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID, ds.Modality, ds.StructureSetLabel = "P1", "RTSTRUCT", "Plan"
    ref_for = Dataset()
    ref_for.FrameOfReferenceUID = sources[0].FrameOfReferenceUID
    ds.ReferencedFrameOfReferenceSequence = [ref_for]
    ds.StructureSetROISequence = []
    ds.ROIContourSequence = []
    for number, contours in rois.items():
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, f"roi {number}"
        roi.ReferencedFrameOfReferenceUID = sources[0].FrameOfReferenceUID
        ds.StructureSetROISequence.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [10 * number, 100, 200]
        item.ContourSequence = []
        for k, points in contours:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = _to_patient(sources, k, points)
            if references:
                image = Dataset()
                image.ReferencedSOPClassUID = sources[k].SOPClassUID
                image.ReferencedSOPInstanceUID = sources[k].SOPInstanceUID
                contour.ContourImageSequence = [image]
            item.ContourSequence.append(contour)
        point = Dataset()  # a POINT contour is not an area: left out
        point.ContourGeometricType = "POINT"
        point.NumberOfContourPoints = 1
        point.ContourData = _to_patient(sources, 0, [(1.0, 1.0)])
        item.ContourSequence.append(point)
        ds.ROIContourSequence.append(item)
    ds.save_as(path, enforce_file_format=True)
    return path


def _inside(points: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """Independent even-odd test by crossing number (a ray towards +x)."""
    inside = False
    n = len(points)
    for i in range(n):
        (x1, y1), (x2, y2) = points[i], points[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


SQUARE = [(2.0, 1.0), (6.0, 1.0), (6.0, 5.0), (2.0, 5.0)]
CONCAVE = [(0.3, 0.4), (8.6, 0.2), (8.2, 6.3), (5.1, 6.1), (4.6, 2.7), (3.4, 6.4), (0.2, 5.7)]


@pytest.mark.parametrize("references", [True, False], ids=["by-uid", "by-position"])
def test_rtstruct_square_and_concave_contours(tmp_path: Path, references: bool) -> None:
    sources = _series(tmp_path / "ct", 3)
    rt = _write_rtstruct(
        tmp_path / "rt.dcm",
        sources,
        {1: [(0, SQUARE)], 2: [(2, CONCAVE), (0, CONCAVE)]},
        references=references,
    )
    entries = _entries(tmp_path / "ct", rt)
    [overlay] = OverlayCatalog().overlays(entries)
    assert overlay.kind == "contours"
    assert overlay.label == "Plan"
    assert overlay.reason is None
    assert [(s.number, s.label, s.color) for s in overlay.segments] == [
        (1, "roi 1", (10, 100, 200)),
        (2, "roi 2", (20, 100, 200)),
    ]
    files = _by_uid(entries)
    f0, f2 = files[sources[0].SOPInstanceUID].index, files[sources[2].SOPInstanceUID].index
    assert {t.file: t.frames for t in overlay.targets} == {f0: (0,), f2: (0,)}
    square = segment_mask(overlay, f0, 0, 1)
    assert int((square > 0).sum()) == 16  # columns 2–5, rows 1–4
    np.testing.assert_array_equal(np.argwhere(square > 0).min(0), [1, 2])
    np.testing.assert_array_equal(np.argwhere(square > 0).max(0), [4, 5])
    expected = np.array([[_inside(CONCAVE, c, r) for c in range(COLS)] for r in range(ROWS)])
    assert not expected[6, 4]  # the notch
    for file in (f0, f2):
        np.testing.assert_array_equal(segment_mask(overlay, file, 0, 2) > 0, expected)
    np.testing.assert_array_equal(segment_mask(overlay, f2, 0, 1), 0)
    labels = label_map(overlay, f0, 0)
    np.testing.assert_array_equal(labels, np.where(expected, 2, np.where(square > 0, 1, 0)))


def test_rtstruct_inner_contour_is_a_hole(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct", 1, rows=12, columns=12)
    outer = [(1.0, 1.0), (11.0, 1.0), (11.0, 11.0), (1.0, 11.0)]
    inner = [(4.0, 4.0), (8.0, 4.0), (8.0, 8.0), (4.0, 8.0)]
    rt = _write_rtstruct(tmp_path / "rt.dcm", sources, {5: [(0, outer), (0, inner)]})
    entries = _entries(tmp_path / "ct", rt)
    [overlay] = OverlayCatalog().overlays(entries)
    got = segment_mask(overlay, overlay.targets[0].file, 0, 5) > 0
    assert int(got.sum()) == 100 - 16


# --- numpy masks and NIfTI ------------------------------------------------------------------


def _stacked(folder: Path, n: int = 4) -> tuple[list[Dataset], list[FileEntry], Any]:
    sources = _series(folder, n, names_reversed=True)
    entries = _entries(folder)
    index = StackIndex()
    index.extend(entries)
    return sources, entries, index.stacks()


def test_numpy_volume_follows_stack_order_not_discovery_order(tmp_path: Path) -> None:
    sources, entries, stacks = _stacked(tmp_path / "ct")
    assert [e.instance_number for e in entries] == [4, 3, 2, 1]
    labels = np.random.default_rng(2).integers(0, 4, (4, ROWS, COLS), dtype=np.uint8)
    overlay = place_array("o1", "prediction", "<array>", labels, entries, stacks, {1: "tumour"})
    assert overlay.kind == "mask"
    assert [s.label for s in overlay.segments][:1] == ["tumour"]
    files = _by_uid(entries)
    for k, src in enumerate(sources):  # slice k of the array is the k-th slice along z
        file = files[src.SOPInstanceUID].index
        np.testing.assert_array_equal(label_map(overlay, file, 0), labels[k])
        for n in (1, 2, 3):
            np.testing.assert_array_equal(
                segment_mask(overlay, file, 0, n), (labels[k] == n).astype(np.uint8) * 255
            )


def test_numpy_2d_bool_float_and_multiframe(tmp_path: Path, dicom_image: Any) -> None:
    single = dicom_image(tmp_path / "one.dcm", rows=5, columns=6)
    multi = dicom_image(tmp_path / "multi.dcm", rows=5, columns=6, frames=3, seed=1)
    entries = _entries(single, multi)
    flat = np.zeros((5, 6), bool)
    flat[1:3, 2:5] = True
    overlay = place_array("o1", "m", "<array>", flat, entries)
    assert [(t.file, t.frames) for t in overlay.targets] == [(0, (0,))]
    np.testing.assert_array_equal(segment_mask(overlay, 0, 0, 1), flat.astype(np.uint8) * 255)
    probs = np.random.default_rng(4).random((3, 5, 6))
    overlay = place_array("o2", "p", "<array>", probs, entries)
    assert overlay.fractional
    assert [(t.file, t.frames) for t in overlay.targets] == [(1, (0, 1, 2))]
    for f in range(3):
        np.testing.assert_array_equal(
            segment_mask(overlay, 1, f, 1), np.rint(probs[f] * 255).astype(np.uint8)
        )
        np.testing.assert_array_equal(label_map(overlay, 1, f), (probs[f] >= 0.5).astype(np.uint8))


def test_numpy_shape_that_matches_nothing_names_both(tmp_path: Path, dicom_image: Any) -> None:
    entries = _entries(dicom_image(tmp_path / "one.dcm", rows=5, columns=6))
    with pytest.raises(ValueError, match=r"mask shape 4×5 matches no loaded image .*5×6"):
        place_array("o1", "m", "<array>", np.zeros((4, 5), np.uint8), entries)
    with pytest.raises(ValueError, match="fractions in 0–1"):
        place_array("o1", "m", "<array>", np.full((5, 6), 1.5), entries)
    with pytest.raises(ValueError, match="negative"):
        place_array("o1", "m", "<array>", np.full((5, 6), -1, np.int16), entries)


def _nifti_affine(sources: Sequence[Dataset]) -> NDArray[np.float64]:
    """The dcm2niix / nnU-Net layout: i = column, j = row flipped, k = slice, RAS mm."""
    lps = np.eye(4)
    lps[:3, 0] = [COL_MM, 0, 0]  # i → +x (LPS)
    lps[:3, 1] = [0, -ROW_MM, 0]  # j → rows counted from the bottom
    lps[:3, 2] = [0, 0, SLICE_MM]
    lps[:3, 3] = [ORIGIN[0], ORIGIN[1] + (ROWS - 1) * ROW_MM, ORIGIN[2]]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def test_nifti_with_flipped_affine_lands_on_its_series(tmp_path: Path) -> None:
    sources, entries, stacks = _stacked(tmp_path / "ct")
    labels = np.random.default_rng(8).integers(0, 3, (4, ROWS, COLS), dtype=np.uint8)
    data = np.transpose(labels, (2, 1, 0))[:, ::-1, :]  # (i=col, j=flipped row, k=slice)
    path = tmp_path / "pred.nii.gz"
    nibabel.save(
        nibabel.Nifti1Image(  # type: ignore[no-untyped-call]
            np.ascontiguousarray(data), _nifti_affine(sources)
        ),
        path,
    )
    array, affine = load_mask_file(str(path))
    assert affine is not None
    overlay = place_nifti("o1", "pred", str(path), array, affine, entries, stacks)
    files = _by_uid(entries)
    for k, src in enumerate(sources):
        np.testing.assert_array_equal(
            label_map(overlay, files[src.SOPInstanceUID].index, 0), labels[k]
        )
    catalog = OverlayCatalog([OverlaySource(str(path))])
    [listed] = catalog.overlays(entries, stacks)
    assert listed.label == "pred"
    assert listed.reason is None
    assert len(listed.targets) == 4
    shifted = _nifti_affine(sources)
    shifted[2, 3] += 10.0
    with pytest.raises(ValueError, match="no loaded series matches the NIfTI geometry"):
        place_nifti("o1", "pred", str(path), array, shifted, entries, stacks)
    nibabel.save(
        nibabel.Nifti1Image(  # type: ignore[no-untyped-call]
            np.ascontiguousarray(data), shifted
        ),
        tmp_path / "off.nii",
    )
    [refused] = OverlayCatalog([OverlaySource(str(tmp_path / "off.nii"))]).overlays(entries, stacks)
    assert refused.targets == ()
    assert refused.reason is not None
    assert "\n" not in refused.reason
    assert "NIfTI geometry" in refused.reason


def test_npy_file_is_memory_mapped_and_placed(tmp_path: Path) -> None:
    sources, entries, stacks = _stacked(tmp_path / "ct")
    labels = np.zeros((4, ROWS, COLS), np.uint16)
    labels[3, 2, 2] = 300  # past 255: the label map is uint16
    np.save(tmp_path / "big.npy", labels)
    [overlay] = OverlayCatalog([OverlaySource(str(tmp_path / "big.npy"))]).overlays(entries, stacks)
    file = _by_uid(entries)[sources[3].SOPInstanceUID].index
    got = label_map(overlay, file, 0)
    assert got.dtype == np.uint16
    assert got[2, 2] == 300
    assert int(got.sum()) == 300


def test_nifti_without_nibabel_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nibabel", None)
    with pytest.raises(UsageError, match=r"dcmview-core\[nifti\]"):
        load_mask_file(str(tmp_path / "x.nii.gz"))


def test_our_seg_writer_reads_back_in_highdicom_and_here(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct", 5)
    mask = _known_mask(5, 3, seed=9)
    colors = [(250, 40, 40), (40, 200, 90), (60, 90, 250)]
    ds = seg_dataset(sources, mask, ["a", "b", "c"], colors=colors, series_description="Ours")
    path = tmp_path / "ours.dcm"
    ds.save_as(path, enforce_file_format=True)
    reference = hd.seg.segread(path)
    uids = [s.SOPInstanceUID for k, s in enumerate(sources) if mask[k].any()]
    back = reference.get_pixels_by_source_instance(uids, combine_segments=False)
    expected = np.stack([mask[k] for k in range(5) if mask[k].any()])
    np.testing.assert_array_equal(back > 0, expected)
    entries = _entries(tmp_path / "ct", path)
    [overlay] = OverlayCatalog().overlays(entries)
    assert [s.color for s in overlay.segments] == colors  # through CIELab and back
    _check_binary(overlay, entries, sources, mask)


def test_lean_per_frame_reader_agrees_with_pydicom(tmp_path: Path) -> None:
    from dcmview_core.overlays import _groups
    from dcmview_core.overlays.seg import seg_header_from_dataset

    sources = _series(tmp_path / "ct", 5)
    mask = _known_mask(5, 3, seed=2)
    written = [
        _write_seg(tmp_path / "hd.dcm", sources, mask),
        tmp_path / "ours.dcm",
    ]
    seg_dataset(sources, mask, ["a", "b", "c"]).save_as(written[1], enforce_file_format=True)
    implicit = tmp_path / "implicit.dcm"
    ds = pydicom.dcmread(written[0])
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    ds.save_as(implicit, implicit_vr=True, little_endian=True)
    for path in [*written, implicit]:
        frames = int(pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames)
        lean = seg_header_from_dataset(pydicom.dcmread(path, stop_before_pixels=True), "x", frames)
        slow = seg_header_from_dataset(
            pydicom.dcmread(path, stop_before_pixels=True), "x", frames, lean=False
        )
        assert lean == slow
        raw = pydicom.dcmread(path, stop_before_pixels=True).get_item(0x52009230)
        implicit_vr = path == implicit
        assert len(_groups.per_frame_items(raw.value, not implicit_vr)) == frames  # really lean
        assert all(f.refs and f.position and f.segment for f in lean.frames)


def test_labelmap_seg_draws_pixel_values_as_segments(tmp_path: Path) -> None:
    sources = _series(tmp_path / "ct", 3)
    labels = np.random.default_rng(6).integers(0, 4, (3, ROWS, COLS)).astype(np.uint8)
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=labels,
        segmentation_type=hd.seg.SegmentationTypeValues.LABELMAP,
        segment_descriptions=_descriptions(3),
        series_instance_uid=generate_uid(),
        series_number=21,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="dcmview tests",
        manufacturer_model_name="tests",
        software_versions="1",
        device_serial_number="1",
    )
    seg.save_as(tmp_path / "labelmap.dcm")
    entries = _entries(tmp_path / "ct", tmp_path / "labelmap.dcm")
    [overlay] = OverlayCatalog().overlays(entries)
    assert overlay.reason is None
    assert [s.number for s in overlay.segments] == [1, 2, 3]
    files = _by_uid(entries)
    for k, src in enumerate(sources):
        file = files[src.SOPInstanceUID].index
        np.testing.assert_array_equal(label_map(overlay, file, 0), labels[k])
        for n in (1, 2, 3):
            np.testing.assert_array_equal(
                segment_mask(overlay, file, 0, n), (labels[k] == n).astype(np.uint8) * 255
            )
