"""Write a DICOM SEG (BINARY, PS3.3 A.51) from masks over source image headers, with pydicom.

For the demo study, benchmarks and tests that must not depend on highdicom: one frame per
(source slice, segment) that has any pixel set (empty ones are left out, as highdicom does),
bit-packed across frame boundaries, each frame referencing its source by SOP Instance UID
(DerivationImageSequence / SourceImageSequence) and carrying its plane position.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dcmview_core.overlays.colour import palette_colour, srgb_to_cielab
from dcmview_core.overlays.placement import SEG_STORAGE

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

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
    from pydicom.dataset import Dataset

    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def seg_dataset(
    sources: Sequence[Dataset],
    masks: NDArray[Any] | Iterable[tuple[int, int, NDArray[Any]]],
    labels: Sequence[str],
    *,
    colors: Sequence[tuple[int, int, int]] | None = None,
    series_description: str = "Segmentation",
) -> Dataset:
    """A BINARY SEG over the source headers (one per slice: UIDs, ImagePositionPatient,
    orientation, PixelSpacing) of ``masks``: a ``slices × rows × cols × segments`` bool array,
    or ``(slice index, segment number, rows × cols plane)`` triples (frames in that order, for
    SEGs too large to hold unpacked)."""
    if isinstance(masks, np.ndarray):
        if masks.ndim != 4 or masks.shape[0] != len(sources) or masks.shape[3] != len(labels):
            raise ValueError(
                f"masks are slices×rows×cols×segments ({len(sources)} slices, {len(labels)} "
                f"segments), not {'×'.join(map(str, masks.shape))}"
            )
        array = masks.astype(bool, copy=False)
        planes: Iterable[tuple[int, int, NDArray[Any]]] = (
            (k, n + 1, array[k, :, :, n])
            for n in range(array.shape[3])
            for k in range(array.shape[0])
        )
        shape = (int(array.shape[1]), int(array.shape[2]))
    else:
        planes = masks
        shape = (int(sources[0].Rows), int(sources[0].Columns))
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

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
    ds.Rows, ds.Columns = shape
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
    packed: list[bytes] = []
    carry = np.zeros(0, dtype=bool)  # bits of the last frame not yet filling a byte
    for k, n, plane in planes:
        bits = np.asarray(plane, dtype=bool)
        if bits.shape != shape:
            raise ValueError(f"plane of slice {k} is {bits.shape}, the images are {shape}")
        if not bits.any():
            continue  # empty frames are left out
        source = sources[k]
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
                FrameContentSequence=[_item(DimensionIndexValues=[n, k + 1])],
                PlanePositionSequence=[
                    _item(ImagePositionPatient=list(source.ImagePositionPatient))
                ],
                SegmentIdentificationSequence=[_item(ReferencedSegmentNumber=n)],
            )
        )
        stream = np.concatenate([carry, bits.ravel()])
        whole = len(stream) // 8 * 8
        packed.append(np.packbits(stream[:whole], bitorder="little").tobytes())
        carry = stream[whole:]
    if carry.size:
        packed.append(np.packbits(carry, bitorder="little").tobytes())
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.NumberOfFrames = len(frames)
    data = b"".join(packed)
    ds.PixelData = data + (b"\x00" if len(data) % 2 else b"")
    ds["PixelData"].VR = "OB"
    return ds
