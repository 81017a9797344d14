"""read_frame on files generated here with known pixel values.

Covers what the bundled files do not: HTJ2K, JPEG Lossless (.57), offset-table variants,
frame-by-frame access, Float/Double Float Pixel Data, bit masking and sign extension,
segmented palettes, enhanced multi-frame functional groups and multi-frame overlays.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEG2000,
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from dcmview_core import decoders, frames
from dcmview_core.discovery import read_entry
from dcmview_core.errors import DecodeError, UnsupportedTransferSyntax
from dcmview_core.frames import read_frame
from dcmview_core.model import FileEntry, SupportState
from dcmview_core.source import ByteSource

JPEG_LOSSLESS_P14 = "1.2.840.10008.1.2.4.57"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K_LOSSY = "1.2.840.10008.1.2.4.203"


def entry(path: Path) -> FileEntry:
    """A FileEntry for a generated file (read_frame only relies on the path)."""
    return FileEntry(
        index=0, path=str(path), label=path.name, patient_id=None, patient_name=None,
        study_instance_uid=None, study_date=None, study_description=None,
        series_instance_uid=None, series_number=None, series_description=None, modality=None,
        instance_number=None, sop_class_uid=None, sop_instance_uid=None,
        transfer_syntax_uid="", photometric_interpretation=None, rows=0, columns=0,
        frame_count=1, bits_allocated=None, bits_stored=None, pixel_representation=None,
        samples_per_pixel=None, has_pixels=True, default_window=None,
        support_state=SupportState.RENDERABLE, support_reason=None,
    )  # fmt: skip


def write(
    path: Path,
    *,
    rows: int,
    columns: int,
    n_frames: int = 1,
    ts: str = ExplicitVRLittleEndian,
    pixel_data: bytes | None = None,
    bits_allocated: int = 16,
    bits_stored: int | None = None,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    samples_per_pixel: int = 1,
    **attributes: Any,
) -> Path:
    """Write a Secondary Capture image with the given pixel bytes and attributes."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = UID(ts)
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = samples_per_pixel
    ds.PhotometricInterpretation = photometric
    if samples_per_pixel > 1:
        ds.PlanarConfiguration = 0
    if n_frames > 1:
        ds.NumberOfFrames = n_frames
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored or bits_allocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    if pixel_data is not None:
        ds.PixelData = pixel_data
        if ts not in decoders.NATIVE_SYNTAXES:
            ds["PixelData"].is_undefined_length = True
            ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path


def ramp(n_frames: int, rows: int, columns: int, dtype: str, scale: int = 37) -> np.ndarray:
    values = np.arange(n_frames * rows * columns, dtype=np.int64) * scale
    info = np.iinfo(np.dtype(dtype))
    span = int(info.max) - int(info.min) + 1
    return ((values % span) + int(info.min)).astype(dtype).reshape(n_frames, rows, columns)


# --- native ------------------------------------------------------------------------------


def test_native_multiframe_reads_the_requested_frame(tmp_path: Path) -> None:
    data = ramp(5, 6, 7, "uint16")
    path = write(tmp_path / "a.dcm", rows=6, columns=7, n_frames=5, pixel_data=data.tobytes())
    for index in (0, 3, 4):
        np.testing.assert_array_equal(read_frame(entry(path), index).samples, data[index])


def test_unused_high_bits_are_masked(tmp_path: Path) -> None:
    stored = np.array([[0x0ABC, 0xF123], [0x1FFF, 0x8000]], dtype=np.uint16)
    path = write(tmp_path / "m.dcm", rows=2, columns=2, bits_stored=12, pixel_data=stored.tobytes())
    frame = read_frame(entry(path), 0)
    assert frame.samples.dtype == np.uint16
    assert frame.samples.tolist() == [[0x0ABC, 0x0123], [0x0FFF, 0x0000]]
    assert (frame.meta.bits_allocated, frame.meta.bits_stored) == (16, 12)


def test_signed_samples_are_sign_extended(tmp_path: Path) -> None:
    # 12-bit two's complement with garbage in the top 4 bits
    stored = np.array([[0xF800, 0x07FF], [0x0FFF, 0xA001]], dtype=np.uint16)
    path = write(
        tmp_path / "s.dcm", rows=2, columns=2, bits_stored=12, signed=True,
        pixel_data=stored.tobytes(),
    )  # fmt: skip
    frame = read_frame(entry(path), 0)
    assert frame.samples.dtype == np.int16
    assert frame.samples.tolist() == [[-2048, 2047], [-1, 1]]
    assert frame.meta.pixel_representation == 1


@pytest.mark.parametrize(("bits", "dtype"), [(8, "int8"), (32, "int32"), (32, "uint32")])
def test_other_widths(tmp_path: Path, bits: int, dtype: str) -> None:
    data = ramp(2, 3, 4, dtype, scale=104729)
    path = write(
        tmp_path / "w.dcm", rows=3, columns=4, n_frames=2, bits_allocated=bits,
        signed=dtype.startswith("int"), pixel_data=data.tobytes(),
    )  # fmt: skip
    frame = read_frame(entry(path), 1)
    assert frame.samples.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(frame.samples, data[1])


@pytest.mark.parametrize(
    ("keyword", "bits", "dtype"),
    [("FloatPixelData", 32, "<f4"), ("DoubleFloatPixelData", 64, "<f8")],
)
def test_float_pixel_data(tmp_path: Path, keyword: str, bits: int, dtype: str) -> None:
    data = (np.arange(2 * 3 * 4, dtype=np.float64) * -1.25).astype(dtype).reshape(2, 3, 4)
    path = write(tmp_path / "f.dcm", rows=3, columns=4, n_frames=2, bits_allocated=bits)
    from pydicom import dcmread

    ds = dcmread(path)
    del ds.BitsStored, ds.HighBit, ds.PixelRepresentation
    setattr(ds, keyword, data.tobytes())
    ds.save_as(path)
    frame = read_frame(entry(path), 1)
    assert frame.meta.sample_format == "float"
    assert frame.meta.bits_allocated == bits
    np.testing.assert_array_equal(frame.samples, data[1])


def test_a_cut_file_still_serves_its_whole_frames(tmp_path: Path) -> None:
    data = ramp(4, 8, 8, "uint16")
    path = write(tmp_path / "t.dcm", rows=8, columns=8, n_frames=4, pixel_data=data.tobytes())
    path.write_bytes(path.read_bytes()[:-10])  # cut the end of frame 3
    np.testing.assert_array_equal(read_frame(entry(path), 2).samples, data[2])
    with pytest.raises(DecodeError, match=r"truncated: 502 of 512 bytes present \(frame 3 "):
        read_frame(entry(path), 3)


def test_monochrome1_is_sent_as_stored(tmp_path: Path) -> None:
    data = ramp(1, 2, 2, "uint16")
    path = write(
        tmp_path / "m1.dcm", rows=2, columns=2, photometric="MONOCHROME1",
        pixel_data=data.tobytes(),
    )  # fmt: skip
    frame = read_frame(entry(path), 0)
    assert frame.meta.photometric_interpretation == "MONOCHROME1"
    np.testing.assert_array_equal(frame.samples, data[0])


def test_layout_is_parsed_once_and_again_after_a_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = frames._parse_layout

    def counting(source: ByteSource, stamp: object) -> Any:
        calls.append(source.name)
        return original(source, stamp)

    monkeypatch.setattr(frames, "_parse_layout", counting)
    data = ramp(3, 4, 4, "uint16")
    path = write(tmp_path / "c.dcm", rows=4, columns=4, n_frames=3, pixel_data=data.tobytes())
    for index in (0, 1, 2, 1):
        read_frame(entry(path), index)
    assert len(calls) == 1
    write(tmp_path / "c.dcm", rows=4, columns=4, n_frames=2, pixel_data=data[:2].tobytes())
    assert read_frame(entry(path), 1).meta.number_of_frames == 2
    assert len(calls) == 2


def test_unsupported_syntax_names_it(tmp_path: Path) -> None:
    mpeg2 = "1.2.840.10008.1.2.4.100"
    path = write(
        tmp_path / "v.dcm", rows=2, columns=2, ts=mpeg2, pixel_data=encapsulate([b"\0" * 8])
    )
    with pytest.raises(UnsupportedTransferSyntax, match="MPEG2"):
        read_frame(entry(path), 0)


# --- encapsulated ------------------------------------------------------------------------


def j2k_frames(data: np.ndarray) -> list[bytes]:
    return [bytes(imagecodecs.jpeg2k_encode(f, level=0, reversible=True)) for f in data]


def test_no_offset_table_one_fragment_per_frame_reads_only_that_frame(tmp_path: Path) -> None:
    data = ramp(4, 16, 12, "uint16", scale=11)
    codestreams = j2k_frames(data)
    codestreams[0] = b"\xff\x4f\xff\x51" + b"\x00" * (len(codestreams[0]) - 4)  # corrupt frame 0
    path = write(
        tmp_path / "j.dcm", rows=16, columns=12, n_frames=4, ts=JPEG2000Lossless,
        pixel_data=encapsulate(codestreams, has_bot=False),
    )  # fmt: skip
    np.testing.assert_array_equal(read_frame(entry(path), 2).samples, data[2])
    np.testing.assert_array_equal(read_frame(entry(path), 3).samples, data[3])
    with pytest.raises(DecodeError, match="frame 0"):
        read_frame(entry(path), 0)


def test_corrupt_codestream_is_a_decode_error_naming_the_syntax(tmp_path: Path) -> None:
    data = ramp(1, 16, 12, "uint16", scale=5)
    codestream = bytearray(imagecodecs.jpeg2k_encode(data[0], codecformat="J2K"))
    codestream[60:] = b"\xa5" * (len(codestream) - 60)  # the tile data is garbage
    path = write(
        tmp_path / "c.dcm", rows=16, columns=12, ts=JPEG2000,
        pixel_data=encapsulate([bytes(codestream)]),
    )  # fmt: skip
    with pytest.raises(DecodeError, match=r"frame 0 \(JPEG 2000\)"):
        read_frame(entry(path), 0)


@pytest.mark.parametrize("ts", [JPEG2000Lossless, HTJ2K_LOSSLESS])
def test_j2k_size_contradicting_the_dataset_comes_from_the_dataset(tmp_path: Path, ts: str) -> None:
    # PS3.5 8.2.4: Rows/Columns match the codestream's size; a damaged SIZ is repaired
    data = ramp(1, 16, 12, "uint16", scale=23)
    if ts == HTJ2K_LOSSLESS:
        codestream = bytearray(imagecodecs.htj2k_encode(data[0], reversible=True))
    else:
        codestream = bytearray(
            imagecodecs.jpeg2k_encode(data[0], codecformat="J2K", reversible=True)
        )
    assert codestream[8:12] == (12).to_bytes(4, "big")  # Xsiz
    codestream[6:10] = b"\xfe\xff\xdd\xe0"  # what pydicom's embedded-delimiter file has
    with pytest.raises(Exception):  # noqa: B017, PT011 - the codec's own error type
        (imagecodecs.htj2k_decode if ts == HTJ2K_LOSSLESS else imagecodecs.jpeg2k_decode)(
            bytes(codestream)
        )
    path = write(
        tmp_path / "s.dcm", rows=16, columns=12, ts=ts, pixel_data=encapsulate([bytes(codestream)])
    )
    np.testing.assert_array_equal(read_frame(entry(path), 0).samples, data[0])


def test_dataset_size_contradicting_a_sound_codestream_is_an_error(tmp_path: Path) -> None:
    data = ramp(1, 16, 12, "uint16", scale=23)
    path = write(
        tmp_path / "d.dcm", rows=16, columns=10, ts=JPEG2000Lossless,
        pixel_data=encapsulate(j2k_frames(data)),
    )  # fmt: skip
    with pytest.raises(DecodeError, match=r"decoded to shape \(16, 12\).*\(16, 10\)"):
        read_frame(entry(path), 0)


@pytest.mark.parametrize("has_bot", [True, False])
def test_frames_split_over_fragments(tmp_path: Path, has_bot: bool) -> None:
    data = ramp(3, 16, 12, "uint16", scale=13)
    path = write(
        tmp_path / "f.dcm", rows=16, columns=12, n_frames=3, ts=JPEG2000Lossless,
        pixel_data=encapsulate(j2k_frames(data), fragments_per_frame=3, has_bot=has_bot),
    )  # fmt: skip
    for index in (2, 0, 1):
        np.testing.assert_array_equal(read_frame(entry(path), index).samples, data[index])


def test_extended_offset_table(tmp_path: Path) -> None:
    data = ramp(3, 16, 12, "uint16", scale=17)
    pixel, offsets, lengths = encapsulate_extended(j2k_frames(data))
    path = write(
        tmp_path / "e.dcm", rows=16, columns=12, n_frames=3, ts=JPEG2000Lossless,
        pixel_data=pixel, ExtendedOffsetTable=offsets, ExtendedOffsetTableLengths=lengths,
    )  # fmt: skip
    np.testing.assert_array_equal(read_frame(entry(path), 1).samples, data[1])


@pytest.mark.parametrize("ts", [HTJ2K_LOSSLESS, HTJ2K_RPCL])
def test_htj2k_lossless_is_exact(tmp_path: Path, ts: str) -> None:
    data = ramp(2, 20, 24, "int16", scale=997)
    codestreams = [bytes(imagecodecs.htj2k_encode(f, reversible=True)) for f in data]
    path = write(
        tmp_path / "h.dcm", rows=20, columns=24, n_frames=2, ts=ts, signed=True,
        pixel_data=encapsulate(codestreams),
    )  # fmt: skip
    frame = read_frame(entry(path), 1)
    assert frame.samples.dtype == np.int16
    np.testing.assert_array_equal(frame.samples, data[1])


def test_htj2k_lossy_within_tolerance(tmp_path: Path) -> None:
    y, x = np.mgrid[0:32, 0:32]
    data = (2000 + 800 * np.sin(x / 5.0) * np.cos(y / 7.0)).astype(np.uint16)
    codestream = bytes(imagecodecs.htj2k_encode(data, level=0.001, reversible=False))
    path = write(
        tmp_path / "hl.dcm",
        rows=32,
        columns=32,
        ts=HTJ2K_LOSSY,
        pixel_data=encapsulate([codestream]),
    )
    frame = read_frame(entry(path), 0)
    # OpenJPEG, an independent HTJ2K decoder, must agree within 1; the source within 5%
    reference = imagecodecs.jpeg2k_decode(codestream)
    assert np.abs(frame.samples.astype(int) - reference.astype(int)).max() <= 1
    assert np.abs(frame.samples.astype(int) - data.astype(int)).max() <= 80


@pytest.mark.parametrize(("ts", "predictor"), [(JPEG_LOSSLESS_P14, 6), (JPEGLosslessSV1, 1)])
def test_jpeg_lossless_is_exact(tmp_path: Path, ts: str, predictor: int) -> None:
    data = ramp(2, 10, 14, "uint16", scale=29) & 0x0FFF
    codestreams = [
        bytes(imagecodecs.jpeg8_encode(f, lossless=True, predictor=predictor, bitspersample=12))
        for f in data
    ]
    path = write(
        tmp_path / "l.dcm", rows=10, columns=14, n_frames=2, ts=ts, bits_stored=12,
        pixel_data=encapsulate(codestreams),
    )  # fmt: skip
    np.testing.assert_array_equal(read_frame(entry(path), 1).samples, data[1])


def test_jpegls_lossless_signed_is_exact(tmp_path: Path) -> None:
    data = ramp(1, 9, 11, "int16", scale=331)
    codestream = bytes(imagecodecs.jpegls_encode(data[0].view(np.uint16)))
    path = write(
        tmp_path / "ls.dcm", rows=9, columns=11, ts=JPEGLSLossless, signed=True,
        pixel_data=encapsulate([codestream]),
    )  # fmt: skip
    np.testing.assert_array_equal(read_frame(entry(path), 0).samples, data[0])


def test_rle_multiframe_signed(tmp_path: Path) -> None:
    data = ramp(3, 5, 6, "int16", scale=4099)
    path = write(
        tmp_path / "r.dcm", rows=5, columns=6, n_frames=3, signed=True, pixel_data=data.tobytes()
    )
    from pydicom import dcmread

    ds = dcmread(path)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    ds.save_as(path)
    np.testing.assert_array_equal(read_frame(entry(path), 2).samples, data[2])


def test_truncated_encapsulated_frame_is_a_clear_error(tmp_path: Path) -> None:
    data = ramp(3, 16, 12, "uint16", scale=19)
    path = write(
        tmp_path / "te.dcm", rows=16, columns=12, n_frames=3, ts=JPEG2000Lossless,
        pixel_data=encapsulate(j2k_frames(data), has_bot=False),
    )  # fmt: skip
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 60])
    np.testing.assert_array_equal(read_frame(entry(path), 1).samples, data[1])
    with pytest.raises(DecodeError, match="truncated: the file ends inside frame 2's data"):
        read_frame(entry(path), 2)


# --- colour, palettes, functional groups, overlays ----------------------------------------


# PS3.3 C.7.6.3.1.2, the equations that define YBR_PARTIAL_422 (and _420) for 8-bit data
PARTIAL_FROM_RGB = np.array(
    [[0.2568, 0.5041, 0.0979], [-0.1482, -0.2910, 0.4392], [0.4392, -0.3678, -0.0714]]
)


def partial_from_rgb(rgb: np.ndarray) -> np.ndarray:
    ybr = rgb.astype(np.float64) @ PARTIAL_FROM_RGB.T + [16.0, 128.0, 128.0]
    return np.asarray(np.rint(ybr), dtype=np.uint8)


def test_ybr_partial_422_native_is_upsampled_and_converted(tmp_path: Path) -> None:
    # two frames of 2 × 8 pixels; each horizontal pair shares its colour, so 4:2:2 loses
    # nothing and the RGB comes back within the rounding of the stored 8-bit values
    colours = np.array(
        [
            [[0, 0, 0], [255, 255, 255], [128, 128, 128], [255, 0, 0]],
            [[0, 255, 0], [0, 0, 255], [200, 120, 40], [17, 99, 230]],
        ],
        dtype=np.uint8,
    )
    rgb = np.stack([colours, colours[:, ::-1]])  # frame 1: the pairs mirrored
    rgb = np.repeat(rgb, 2, axis=2)  # (2 frames, 2 rows, 8 columns, 3)
    ybr = partial_from_rgb(rgb)
    stored = np.empty((2, 2, 4, 4), dtype=np.uint8)  # per pair: Y1 Y2 Cb Cr
    stored[..., 0] = ybr[:, :, 0::2, 0]
    stored[..., 1] = ybr[:, :, 1::2, 0]
    stored[..., 2] = ybr[:, :, 0::2, 1]
    stored[..., 3] = ybr[:, :, 0::2, 2]
    path = write(
        tmp_path / "p422.dcm", rows=2, columns=8, n_frames=2, bits_allocated=8,
        samples_per_pixel=3, photometric="YBR_PARTIAL_422", pixel_data=stored.tobytes(),
    )  # fmt: skip
    found = read_entry(str(path))
    assert isinstance(found, FileEntry)
    assert (found.frame_count, found.support_state) == (2, SupportState.RENDERABLE)
    for index in (1, 0):
        frame = read_frame(found, index)
        assert frame.meta.photometric_interpretation == "RGB"
        assert frame.meta.stored_photometric_interpretation == "YBR_PARTIAL_422"
        diff = np.abs(frame.samples.astype(int) - rgb[index].astype(int))
        assert diff.max() <= 2, diff.max()
    first = read_frame(found, 0).samples
    # black is Y 16, white Y 235, grey has CB = CR = 128: exact
    assert first[0, 0].tolist() == [0, 0, 0]
    assert first[0, 2].tolist() == [255, 255, 255]
    assert first[0, 4].tolist() == [128, 128, 128]


def test_ybr_partial_420_jpeg_is_converted_with_the_partial_equations(tmp_path: Path) -> None:
    y, x = np.mgrid[0:32, 0:32]
    rgb = np.stack([8 * x, 8 * y, 255 - 4 * x - 3 * y], axis=-1).clip(0, 255).astype(np.uint8)
    ybr = partial_from_rgb(rgb)
    # a JPEG holding partial-range YCbCr, chroma halved both ways (sampling factors 2×2, 1×1)
    codestream = bytes(
        imagecodecs.jpeg8_encode(ybr, level=100, colorspace=3, outcolorspace=3, subsampling="420")
    )
    path = write(
        tmp_path / "p420.dcm", rows=32, columns=32, ts=JPEGBaseline8Bit, bits_allocated=8,
        samples_per_pixel=3, photometric="YBR_PARTIAL_420",
        pixel_data=encapsulate([codestream]),
    )  # fmt: skip
    found = read_entry(str(path))
    assert isinstance(found, FileEntry)
    assert found.support_state is SupportState.RENDERABLE
    frame = read_frame(found, 0)
    assert frame.meta.photometric_interpretation == "RGB"
    error = np.abs(frame.samples.astype(int) - rgb.astype(int))
    # JPEG at quality 100 plus 4:2:0 chroma: within 6 of the source; read as full-range
    # (JFIF) YCbCr instead, the same data would be off by 20 and more
    assert error.max() <= 6, error.max()
    jfif = imagecodecs.jpeg8_decode(codestream, colorspace=3, outcolorspace=2)
    assert np.abs(jfif.astype(int) - rgb.astype(int)).max() > 12


def test_ybr_partial_420_uncompressed_is_refused_by_discovery_and_read_frame(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "n420.dcm", rows=2, columns=4, bits_allocated=8, samples_per_pixel=3,
        photometric="YBR_PARTIAL_420", pixel_data=bytes(24),
    )  # fmt: skip
    found = read_entry(str(path))
    assert isinstance(found, FileEntry)
    assert found.support_state is SupportState.UNSUPPORTED
    assert found.support_reason == "photometric.not_supported"
    with pytest.raises(DecodeError, match="YBR_PARTIAL_420 is defined for compressed"):
        read_frame(found, 0)


def test_retired_colour_photometric_is_refused_by_discovery_and_read_frame(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "hsv.dcm", rows=2, columns=4, bits_allocated=8, samples_per_pixel=3,
        photometric="HSV", pixel_data=bytes(24),
    )  # fmt: skip
    found = read_entry(str(path))
    assert isinstance(found, FileEntry)
    assert found.support_reason == "photometric.not_supported"
    with pytest.raises(DecodeError, match="unsupported Photometric Interpretation HSV"):
        read_frame(found, 0)


def test_rgb_planar_configuration_1(tmp_path: Path) -> None:
    rgb = ramp(1, 3, 4, "uint8", scale=7)[0]
    planes = np.stack([rgb, 255 - rgb, rgb // 2])
    path = write(
        tmp_path / "p.dcm", rows=3, columns=4, bits_allocated=8, photometric="RGB",
        samples_per_pixel=3, pixel_data=planes.tobytes(),
    )  # fmt: skip
    from pydicom import dcmread

    ds = dcmread(path)
    ds.PlanarConfiguration = 1
    ds.save_as(path)
    np.testing.assert_array_equal(read_frame(entry(path), 0).samples, np.moveaxis(planes, 0, -1))


def _palette_attributes(bits: int, segmented: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for colour, (start, stop) in {"Red": (0, 65535), "Green": (65535, 0), "Blue": (0, 0)}.items():
        attrs[f"{colour}PaletteColorLookupTableDescriptor"] = [256, 0, bits]
        if segmented:
            # discrete first entry, then a linear ramp over the remaining 255 entries
            words = np.array([0, 1, start, 1, 255, stop], dtype="<u2")
            attrs[f"Segmented{colour}PaletteColorLookupTableData"] = words.tobytes()
        else:
            values = np.linspace(start, stop, 256).round().astype("<u2")
            attrs[f"{colour}PaletteColorLookupTableData"] = values.tobytes()
    return attrs


@pytest.mark.parametrize("segmented", [False, True])
def test_palette_colour_16_bit_lut(tmp_path: Path, segmented: bool) -> None:
    indices = np.array([[0, 255], [128, 64]], dtype=np.uint8)
    path = write(
        tmp_path / "pal.dcm", rows=2, columns=2, bits_allocated=8, photometric="PALETTE COLOR",
        pixel_data=indices.tobytes(), **_palette_attributes(16, segmented),
    )  # fmt: skip
    frame = read_frame(entry(path), 0)
    ramp_up = (np.linspace(0, 65535, 256).round().astype(int) >> 8)[indices]
    assert frame.samples[..., 0].tolist() == ramp_up.tolist()
    assert frame.samples[..., 1].tolist() == (255 - ramp_up).tolist()
    assert frame.samples[..., 2].tolist() == [[0, 0], [0, 0]]


def test_enhanced_functional_groups_per_frame(tmp_path: Path) -> None:
    def group(center: float, width: float, slope: float, intercept: float) -> Dataset:
        voi, transform, item = Dataset(), Dataset(), Dataset()
        voi.WindowCenter, voi.WindowWidth = center, width
        transform.RescaleSlope, transform.RescaleIntercept = slope, intercept
        item.FrameVOILUTSequence = Sequence([voi])
        item.PixelValueTransformationSequence = Sequence([transform])
        return item

    shared = Dataset()
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth, voi.VOILUTFunction = 10, 20, "SIGMOID"
    shared.FrameVOILUTSequence = Sequence([voi])
    data = ramp(3, 2, 2, "uint16")
    path = write(
        tmp_path / "mf.dcm", rows=2, columns=2, n_frames=3, pixel_data=data.tobytes(),
        SharedFunctionalGroupsSequence=Sequence([shared]),
        PerFrameFunctionalGroupsSequence=Sequence(
            [group(100, 50, 2, -5), group(200, 60, 1, 0), Dataset()]
        ),
        WindowCenter=1, WindowWidth=2,
    )  # fmt: skip
    m0 = read_frame(entry(path), 0).meta
    m1 = read_frame(entry(path), 1).meta
    m2 = read_frame(entry(path), 2).meta
    assert m0.default_window is not None
    assert m1.default_window is not None
    assert (m0.default_window.center, m0.default_window.width) == (100, 50)
    assert (m0.rescale_slope, m0.rescale_intercept) == (2, -5)
    assert (m1.default_window.center, m1.rescale_slope) == (200, 1)
    assert m0.voi_lut_function == "SIGMOID"  # from the shared group
    assert m2.default_window is not None
    assert (m2.default_window.center, m2.default_window.width) == (10, 20)  # shared


def test_multiframe_overlay_follows_image_frame_origin(tmp_path: Path) -> None:
    # 2 overlay frames of 4×4 that apply to image frames 2 and 3 (1-based)
    masks = np.zeros((2, 4, 4), dtype=np.uint8)
    masks[0, 0, 0] = 1
    masks[1, 3, 3] = 1
    packed = np.packbits(masks.ravel(), bitorder="little").tobytes()
    data = ramp(3, 4, 4, "uint16")
    path = write(tmp_path / "ov.dcm", rows=4, columns=4, n_frames=3, pixel_data=data.tobytes())
    from pydicom import dcmread

    ds = dcmread(path)
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x60000011, "US", 4)
    ds.add_new(0x60000015, "IS", 2)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000051, "US", 2)
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", packed)
    ds.save_as(path)
    assert read_frame(entry(path), 0).meta.overlays == ()
    second = read_frame(entry(path), 1).meta.overlays
    third = read_frame(entry(path), 2).meta.overlays
    np.testing.assert_array_equal(second[0].mask, masks[0].astype(bool))
    np.testing.assert_array_equal(third[0].mask, masks[1].astype(bool))


def test_encapsulated_uncompressed(tmp_path: Path) -> None:
    data = ramp(3, 4, 5, "int16", scale=3001)
    path = write(
        tmp_path / "eu.dcm", rows=4, columns=5, n_frames=3, signed=True,
        ts=decoders.ENCAPSULATED_UNCOMPRESSED_LE,
        pixel_data=encapsulate([f.tobytes() for f in data]),
    )  # fmt: skip
    np.testing.assert_array_equal(read_frame(entry(path), 1).samples, data[1])


def test_modality_lut_sequence_with_signed_first_mapped_value(tmp_path: Path) -> None:
    from pydicom import dcmread
    from pydicom.dataelem import DataElement

    stored = np.array([[-2, -1], [0, 1]], dtype=np.int16)
    path = write(tmp_path / "ml.dcm", rows=2, columns=2, signed=True, pixel_data=stored.tobytes())
    ds = dcmread(path)
    item = Dataset()
    item.add(DataElement(0x00283002, "US", [4, 65534, 16]))  # first mapped -2 as US
    item.ModalityLUTType = "HU"
    item.add(DataElement(0x00283006, "US", [10, 20, 30, 40]))
    ds.ModalityLUTSequence = Sequence([item])
    ds.save_as(path)
    frame = read_frame(entry(path), 0)
    lut = frame.meta.modality_lut
    assert lut is not None
    assert lut.first_mapped == -2
    assert lut.data.tolist() == [10, 20, 30, 40]
    from dcmview_core.present import render_display

    display = render_display(frame, mode="full_dynamic")
    assert display.window is not None
    assert (display.window.center, display.window.width) == (25.5, 31.0)  # modality 10..40
    assert display.image.tolist() == [[0, 85], [170, 255]]  # ((x - 25) / 30 + 0.5) * 255


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    with pytest.raises(DecodeError, match="a FIFO"):
        read_frame(entry(fifo), 0)


def test_deflated_multiframe(tmp_path: Path) -> None:
    data = ramp(3, 6, 5, "uint16", scale=7919)
    path = write(
        tmp_path / "dfl.dcm", rows=6, columns=5, n_frames=3,
        ts=decoders.DEFLATED_EXPLICIT_VR_LE, pixel_data=data.tobytes(),
    )  # fmt: skip
    assert b"\xe0\x7f\x10\x00" not in path.read_bytes()  # really deflated: no plain tag
    for index in (2, 0, 1):
        np.testing.assert_array_equal(read_frame(entry(path), index).samples, data[index])


def test_concurrent_reads_of_one_file(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = ramp(8, 32, 32, "uint16", scale=3)
    path = write(tmp_path / "cc.dcm", rows=32, columns=32, n_frames=8, pixel_data=data.tobytes())
    frames.clear_layout_cache()
    e = entry(path)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: read_frame(e, i % 8).samples, range(64)))
    for i, samples in enumerate(results):
        np.testing.assert_array_equal(samples, data[i % 8])
