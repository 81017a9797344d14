"""Write a DICOM SEG (BINARY, PS3.3 A.51) from masks over source image headers, with pydicom.

For the demo study, benchmarks and tests that must not depend on highdicom: one frame per
(source slice, segment) that has any pixel set (empty ones are left out, as highdicom does),
bit-packed across frame boundaries, each frame referencing its source by SOP Instance UID
(DerivationImageSequence / SourceImageSequence) and carrying its plane position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from dcmview_core.overlays.colour import palette_colour, srgb_to_cielab
from dcmview_core.overlays.placement import SEG_STORAGE

__all__ = ["seg_dataset"]

_COPIED = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "FrameOfReferenceUID",
)


def _item(**values: Any) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def seg_dataset(
    sources: Sequence[Dataset],
    masks: NDArray[Any],
    labels: Sequence[str],
    *,
    colors: Sequence[tuple[int, int, int]] | None = None,
    series_description: str = "Segmentation",
) -> Dataset:
    """A BINARY SEG of ``masks`` (``slices × rows × cols × segments``, bool) over the source
    headers (one per slice: UIDs, ImagePositionPatient, orientation, PixelSpacing)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 4 or masks.shape[0] != len(sources) or masks.shape[3] != len(labels):
        raise ValueError(
            f"masks are slices×rows×cols×segments ({len(sources)} slices, {len(labels)} "
            f"segments), not {'×'.join(map(str, masks.shape))}"
        )
    first = sources[0]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SEG_STORAGE)
    ds.SOPClassUID = SEG_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword in _COPIED:
        if keyword in first:
            setattr(ds, keyword, first.data_element(keyword).value)  # type: ignore[union-attr]
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber, ds.InstanceNumber, ds.Modality = 99, 1, "SEG"
    ds.ContentLabel = "SEGMENTATION"
    ds.SeriesDescription = series_description
    ds.ContentDescription = series_description
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SegmentationType = "BINARY"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = int(masks.shape[1]), int(masks.shape[2])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.LossyImageCompression = "00"
    segments = []
    for n, label in enumerate(labels, start=1):
        rgb = colors[n - 1] if colors is not None else palette_colour(n)
        segments.append(
            _item(
                SegmentNumber=n,
                SegmentLabel=label,
                SegmentAlgorithmType="MANUAL",
                RecommendedDisplayCIELabValue=list(srgb_to_cielab(rgb)),
                SegmentedPropertyCategoryCodeSequence=[
                    _code("91723000", "SCT", "Anatomical Structure")
                ],
                SegmentedPropertyTypeCodeSequence=[_code("85756007", "SCT", "Tissue")],
            )
        )
    ds.SegmentSequence = segments
    shared = _item(
        PlaneOrientationSequence=[
            _item(ImageOrientationPatient=list(first.ImageOrientationPatient))
        ],
        PixelMeasuresSequence=[
            _item(
                PixelSpacing=list(first.PixelSpacing),
                SliceThickness=first.get("SliceThickness", 1.0),
            )
        ],
    )
    ds.SharedFunctionalGroupsSequence = [shared]
    organization = generate_uid()
    ds.DimensionOrganizationSequence = [_item(DimensionOrganizationUID=organization)]
    ds.DimensionIndexSequence = [
        _item(
            DimensionOrganizationUID=organization,
            DimensionIndexPointer=0x0062000B,  # ReferencedSegmentNumber
            FunctionalGroupPointer=0x0062000A,  # SegmentIdentificationSequence
            DimensionDescriptionLabel="Segment Number",
        ),
        _item(
            DimensionOrganizationUID=organization,
            DimensionIndexPointer=0x00200032,  # ImagePositionPatient
            FunctionalGroupPointer=0x00209113,  # PlanePositionSequence
            DimensionDescriptionLabel="Image Position (Patient)",
        ),
    ]
    series: dict[str, list[Dataset]] = {}
    for source in sources:
        series.setdefault(str(source.SeriesInstanceUID), []).append(
            _item(
                ReferencedSOPClassUID=source.SOPClassUID,
                ReferencedSOPInstanceUID=source.SOPInstanceUID,
            )
        )
    ds.ReferencedSeriesSequence = [
        _item(SeriesInstanceUID=uid, ReferencedInstanceSequence=items)
        for uid, items in series.items()
    ]
    frames: list[Dataset] = []
    kept: list[NDArray[np.bool_]] = []
    for n in range(len(labels)):
        for k, source in enumerate(sources):
            plane = masks[k, :, :, n]
            if not plane.any():
                continue
            reference = _item(
                ReferencedSOPClassUID=source.SOPClassUID,
                ReferencedSOPInstanceUID=source.SOPInstanceUID,
                SpatialLocationsPreserved="YES",
                PurposeOfReferenceCodeSequence=[
                    _code("121322", "DCM", "Source image for image processing operation")
                ],
            )
            frames.append(
                _item(
                    DerivationImageSequence=[
                        _item(
                            SourceImageSequence=[reference],
                            DerivationCodeSequence=[_code("113076", "DCM", "Segmentation")],
                        )
                    ],
                    FrameContentSequence=[_item(DimensionIndexValues=[n + 1, k + 1])],
                    PlanePositionSequence=[
                        _item(ImagePositionPatient=list(source.ImagePositionPatient))
                    ],
                    SegmentIdentificationSequence=[_item(ReferencedSegmentNumber=n + 1)],
                )
            )
            kept.append(plane)
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.NumberOfFrames = len(frames)
    bits = np.concatenate([p.ravel() for p in kept]) if kept else np.zeros(8, bool)
    packed = np.packbits(bits, bitorder="little")
    ds.PixelData = packed.tobytes() + (b"\x00" if len(packed) % 2 else b"")
    ds["PixelData"].VR = "OB"
    return ds
