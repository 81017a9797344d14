"""read_frame on pydicom's bundled files, checked against GDCM (an independent decoder).

Lossless syntaxes must equal GDCM exactly. Lossy files are decoded by the same codec family
in GDCM, so they are compared exactly too unless a colour conversion is involved (stated
tolerance below). Files where GDCM does not follow the DICOM rule the issue names (a
signed dataset with an unsigned codestream) are compared with the rule applied to GDCM's output.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gdcm
import numpy as np
import pydicom
import pytest
from pydicom import dcmread
from pydicom.pixels.processing import apply_color_lut, convert_color_space
from pydicom.pixels.utils import pixel_array

from dcmview_core import discovery
from dcmview_core.discovery import scan
from dcmview_core.encode import encode_png
from dcmview_core.errors import DecodeError, FrameOutOfRange, NoPixelData, PixelError
from dcmview_core.frames import Frame, read_frame
from dcmview_core.model import FileEntry, SupportState
from dcmview_core.present import render_display

TESTDATA = Path(pydicom.__file__).parent / "data" / "test_files"

_GDCM_TYPES = {
    gdcm.PixelFormat.UINT8: "u1",
    gdcm.PixelFormat.INT8: "i1",
    gdcm.PixelFormat.UINT16: "<u2",
    gdcm.PixelFormat.INT16: "<i2",
    gdcm.PixelFormat.UINT32: "<u4",
    gdcm.PixelFormat.INT32: "<i4",
    gdcm.PixelFormat.SINGLEBIT: "u1",
}


def bundled(name: str) -> str:
    path = TESTDATA / name
    assert path.is_file(), f"{name} is not bundled with this pydicom"
    return str(path)


def entry(name: str) -> FileEntry:
    result = discovery.read_entry(bundled(name), index=0)
    assert isinstance(result, FileEntry), result
    return result


def gdcm_buffer(path: str) -> np.ndarray:
    """All frames as GDCM decodes them (as stored: planar, YBR and bit-packed are kept)."""
    reader = gdcm.ImageReader()
    reader.SetFileName(path)
    assert reader.Read(), f"GDCM cannot read {path}"
    image = reader.GetImage()
    buffer = image.GetBuffer()
    if isinstance(buffer, str):
        buffer = buffer.encode("utf-8", "surrogateescape")
    return np.frombuffer(buffer, _GDCM_TYPES[image.GetPixelFormat().GetScalarType()])


def gdcm_frame(path: str, frame: Frame) -> np.ndarray:
    meta = frame.meta
    per_frame = frame.samples.size
    whole = gdcm_buffer(path)
    part = whole[meta.frame_index * per_frame : (meta.frame_index + 1) * per_frame]
    return part.reshape(frame.samples.shape)


GRAYSCALE_EXACT = [
    "CT_small.dcm",  # Explicit VR LE, signed 16
    "MR_small.dcm",
    "MR_small_implicit.dcm",  # Implicit VR LE
    "MR_small_bigendian.dcm",  # Explicit VR BE
    "MR_small_expb.dcm",
    "MR_small_padded.dcm",
    "MR_small_RLE.dcm",  # RLE Lossless
    "MR_small_jp2klossless.dcm",  # JPEG 2000 Lossless
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS Lossless
    "JPEGLSNearLossless_08.dcm",  # JPEG-LS Near-Lossless (same CharLS output)
    "JPEGLSNearLossless_16.dcm",
    "JPEG2000.dcm",  # JPEG 2000 (lossy), same OpenJPEG output
    "693_J2KI.dcm",
    "JPGExtended.dcm",  # JPEG Extended 12-bit
    "JPEG-lossy.dcm",
    "image_dfl.dcm",  # Deflated Explicit VR LE
    "examples_overlay.dcm",
    "badVR.dcm",  # 32-bit unsigned
]


@pytest.mark.parametrize("name", GRAYSCALE_EXACT)
def test_grayscale_equals_gdcm(name: str) -> None:
    frame = read_frame(entry(name), 0)
    assert frame.meta.samples_per_pixel == 1
    np.testing.assert_array_equal(frame.samples, gdcm_frame(bundled(name), frame))


def test_every_frame_of_a_multiframe_file_equals_gdcm() -> None:
    e = entry("rtdose.dcm")  # 15 frames, 32-bit, Implicit VR LE
    frames = [read_frame(e, i) for i in range(15)]
    ours = np.stack([f.samples for f in frames])
    np.testing.assert_array_equal(ours.ravel(), gdcm_buffer(e.path))
    assert frames[14].meta.frame_index == 14
    assert frames[0].meta.bits_allocated == 32


RGB_EXACT = [
    "SC_rgb_rle.dcm",  # RLE, 8-bit RGB
    "SC_rgb_small_odd.dcm",
    "SC_rgb_small_odd_big_endian.dcm",  # trap: 8-bit samples in big-endian OW
    "examples_rgb_color.dcm",
    "SC_rgb_jpeg_gdcm.dcm",  # JPEG Lossless SV1, RGB
    "GDCMJ2K_TextGBR.dcm",  # JPEG 2000 Lossless, YBR_RCT → RGB by the codec
    "examples_jpeg2k.dcm",
    "SC_jpeg_no_color_transform.dcm",  # trap: RGB JPEG without APP14, no colour transform
    "SC_jpeg_no_color_transform_2.dcm",
    "SC_rgb_jpeg_dcmd.dcm",
    "SC_rgb_jpeg_app14_dcmd.dcm",
    "SC_rgb_dcmtk_+eb+cr.dcm",
    "SC_rgb_jls_lossy_line.dcm",
    "SC_rgb_jls_lossy_sample.dcm",
    "SC_rgb_gdcm_KY.dcm",
]


@pytest.mark.parametrize("name", RGB_EXACT)
def test_rgb_equals_gdcm(name: str) -> None:
    frame = read_frame(entry(name), 0)
    assert frame.samples.dtype == np.uint8
    assert frame.meta.photometric_interpretation == "RGB"
    assert frame.samples.shape == (frame.meta.rows, frame.meta.columns, 3)
    np.testing.assert_array_equal(frame.samples, gdcm_frame(bundled(name), frame))


def test_rle_multiframe_second_frame_equals_gdcm() -> None:
    frame = read_frame(entry("SC_rgb_rle_2frame.dcm"), 1)
    np.testing.assert_array_equal(
        frame.samples, gdcm_frame(bundled("SC_rgb_rle_2frame.dcm"), frame)
    )


def test_planar_configuration_1_is_interleaved() -> None:
    name = "ExplVR_BigEnd.dcm"  # trap: big endian, planar configuration 1
    frame = read_frame(entry(name), 0)
    rows, cols = frame.meta.rows, frame.meta.columns
    planar = gdcm_buffer(bundled(name)).reshape(3, rows, cols)
    np.testing.assert_array_equal(frame.samples, np.moveaxis(planar, 0, -1))


@pytest.mark.parametrize(
    ("name", "shift", "index"),
    [
        ("SC_rgb_rle_16bit.dcm", 8, 0),
        ("SC_rgb_rle_16bit_2frame.dcm", 8, 1),
        ("SC_rgb_rle_32bit.dcm", 24, 0),  # trap: 32-bit RGB RLE
        ("SC_rgb_rle_32bit_2frame.dcm", 24, 1),
    ],
)
def test_wide_rgb_is_sent_as_8_bit(name: str, shift: int, index: int) -> None:
    # GDCM interleaves 16/32-bit RLE RGB wrongly; pydicom's own RLE decoder is the reference.
    frame = read_frame(entry(name), index)
    assert frame.meta.bits_allocated == 8
    reference = pixel_array(bundled(name), index=index)
    np.testing.assert_array_equal(frame.samples, (reference >> shift).astype(np.uint8))
    # the first frame starts with a red band, the second is its inverse
    assert frame.samples[0, 0].tolist() == ([255, 0, 0] if index == 0 else [0, 255, 255])


# YBR: GDCM returns the samples as YBR; pydicom's convert_color_space is the reference
# conversion. Tolerance: 1 (rounding of the conversion equations).
YBR = [
    ("SC_rgb_dcmtk_+eb+cy+n1.dcm", 0),  # JPEG Baseline YBR_FULL
    ("SC_rgb_dcmtk_+eb+cy+n2.dcm", 0),
    ("SC_rgb_dcmtk_+eb+cy+s4.dcm", 0),
    ("SC_rgb_jpeg_dcmtk.dcm", 0),
    ("SC_rgb_jpeg_lossy_gdcm.dcm", 0),
    ("SC_rgb_small_odd_jpeg.dcm", 0),
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", 0),  # YBR_FULL_422 JPEG (the codec upsamples)
    ("SC_rgb_dcmtk_+eb+cy+s2.dcm", 0),
    ("examples_ybr_color.dcm", 29),  # 30-frame YBR_FULL_422 JPEG: the last frame
]


@pytest.mark.parametrize(("name", "index"), YBR)
def test_ybr_jpeg_is_converted_to_rgb(name: str, index: int) -> None:
    frame = read_frame(entry(name), index)
    ybr = gdcm_frame(bundled(name), frame)
    expected = convert_color_space(ybr, "YBR_FULL", "RGB")
    assert frame.meta.photometric_interpretation == "RGB"
    assert frame.meta.stored_photometric_interpretation.startswith("YBR_FULL")
    diff = np.abs(frame.samples.astype(int) - expected.astype(int))
    assert diff.max() <= 1


def test_ybr_full_422_native_is_upsampled_and_converted() -> None:
    name = "SC_ybr_full_422_uncompressed.dcm"
    frame = read_frame(entry(name), 0)
    ybr = gdcm_frame(bundled(name), frame)  # GDCM upsamples 4:2:2 itself
    expected = convert_color_space(ybr, "YBR_FULL", "RGB")
    assert np.abs(frame.samples.astype(int) - expected.astype(int)).max() <= 1
    assert frame.samples[0, 0].tolist() == [254, 0, 0]  # the file's red band


def test_palette_colour_is_applied() -> None:
    name = "examples_palette.dcm"
    frame = read_frame(entry(name), 0)
    ds = dcmread(bundled(name))
    indices = gdcm_buffer(bundled(name)).reshape(frame.meta.rows, frame.meta.columns)
    expected = (apply_color_lut(indices, ds) >> 8).astype(np.uint8)
    assert frame.meta.photometric_interpretation == "RGB"
    assert frame.meta.stored_photometric_interpretation == "PALETTE COLOR"
    np.testing.assert_array_equal(frame.samples, expected)


@pytest.mark.parametrize("name", ["liver_1frame.dcm", "liver_expb_1frame.dcm"])
def test_one_bit_samples_are_unpacked(name: str) -> None:
    frame = read_frame(entry(name), 0)
    packed = gdcm_buffer(bundled(name))
    expected = np.unpackbits(packed, bitorder="little").reshape(frame.samples.shape)
    assert frame.samples.dtype == np.uint8
    assert frame.meta.bits_allocated == 8
    assert set(np.unique(frame.samples).tolist()) == {0, 1}
    np.testing.assert_array_equal(frame.samples, expected)


def test_j2k_pixel_representation_follows_the_dataset() -> None:
    # Signed dataset (Bits Stored 13), unsigned codestream: sign-extend the 13-bit values.
    name = "J2K_pixelrep_mismatch.dcm"
    frame = read_frame(entry(name), 0)
    codestream = gdcm_frame(bundled(name), frame).astype(np.int32) & 0x1FFF
    expected = (codestream ^ 0x1000) - 0x1000
    assert frame.samples.dtype == np.int16
    assert frame.meta.pixel_representation == 1
    assert int(frame.samples.min()) == -2000
    np.testing.assert_array_equal(frame.samples, expected)


def test_dataset_after_a_stray_byte_is_read_from_its_real_start(tmp_path: Path) -> None:
    # no_meta.dcm: CT_small.dcm without preamble or meta, one stray byte before the dataset
    name = "no_meta.dcm"
    e = entry(name)
    assert e.support_state == "renderable"
    frame = read_frame(e, 0)
    raw = Path(bundled(name)).read_bytes()
    assert raw[1:5] == b"\x08\x00\x05\x00"  # (0008,0005) starts at byte 1
    stripped = tmp_path / "no_meta_stripped.dcm"
    stripped.write_bytes(raw[1:])
    np.testing.assert_array_equal(frame.samples, gdcm_frame(str(stripped), frame))
    np.testing.assert_array_equal(frame.samples, pixel_array(bundled("CT_small.dcm")))
    assert (frame.meta.rescale_slope, frame.meta.rescale_intercept) == (1.0, -1024.0)
    render_display(frame)


def test_truncated_native_frame_is_a_clear_error() -> None:
    path = bundled("MR_truncated.dcm")
    e = discovery.read_entry(path, index=0)
    assert isinstance(e, FileEntry)
    assert e.frame_count == 1  # the declared frame, not 0: reading it names the cause
    with pytest.raises(
        DecodeError, match=r"^the pixel data is truncated: 7\.9 of 8 KiB present \(frame 0 "
    ):
        read_frame(e, 0)


def test_sequence_delimiter_inside_a_j2k_codestream(tmp_path: Path) -> None:
    # The file's codestream carries a sequence delimiter (FFFE,E0DD) over SIZ's Rsiz and the
    # high half of Xsiz (Xsiz = 0xE0DD0100): OpenJPEG (and so GDCM) refuses it. The image
    # size is taken from Rows/Columns (PS3.5 8.2.4). Reference: GDCM on a copy whose four
    # damaged bytes are set back to zero by hand (Rsiz 0, Xsiz 256).
    name = "JPEG2000-embedded-sequence-delimiter.dcm"
    e = entry(name)
    assert e.support_state == "renderable"
    frame = read_frame(e, 0)
    raw = bytearray(Path(bundled(name)).read_bytes())
    siz = raw.index(b"\xff\x4f\xff\x51")
    assert raw[siz + 6 : siz + 12] == b"\xfe\xff\xdd\xe0\x01\x00"
    raw[siz + 6 : siz + 10] = bytes(4)
    repaired = tmp_path / "repaired.dcm"
    repaired.write_bytes(bytes(raw))
    assert frame.samples.shape == (1024, 256)
    assert frame.samples.dtype == np.int16
    np.testing.assert_array_equal(frame.samples, gdcm_frame(str(repaired), frame))
    assert int(frame.samples.max()) > 200  # a bone scan, not an empty frame
    render_display(frame)


@pytest.mark.parametrize("index", [-1, 1, 100])
def test_frame_out_of_range(index: int) -> None:
    with pytest.raises(FrameOutOfRange, match="1 frame"):
        read_frame(entry("CT_small.dcm"), index)


def test_no_pixel_data() -> None:
    e = entry("rtplan.dcm")
    with pytest.raises(NoPixelData):
        read_frame(e, 0)


def test_metadata_for_the_raw_headers() -> None:
    meta = read_frame(entry("CT_small.dcm"), 0).meta
    assert (meta.rows, meta.columns) == (128, 128)
    assert (meta.bits_allocated, meta.pixel_representation, meta.samples_per_pixel) == (16, 1, 1)
    assert meta.photometric_interpretation == "MONOCHROME2"
    assert (meta.rescale_slope, meta.rescale_intercept) == (1.0, -1024.0)
    assert meta.default_window is None
    mr = read_frame(entry("MR_small.dcm"), 0).meta
    assert mr.default_window is not None
    assert (mr.default_window.center, mr.default_window.width) == (600.0, 1600.0)
    assert mr.voi_lut_function == "LINEAR"


def test_overlay_plane_is_read_for_the_frame() -> None:
    frame = read_frame(entry("examples_overlay.dcm"), 0)
    assert len(frame.meta.overlays) == 1
    overlay = frame.meta.overlays[0]
    ds = dcmread(bundled("examples_overlay.dcm"))
    np.testing.assert_array_equal(overlay.mask, ds.overlay_array(0x6000).astype(bool))
    assert overlay.origin == (0, 0)


# --- every bundled file with pixel data ------------------------------------------------------
#
# For each file pydicom finds pixel data in: `scan` lists it; when renderable, `read_frame`
# decodes up to three of its frames (first, middle, last) and `render_display` and
# `encode_png` make a display image of each; when not, the reason is the one named here and
# `read_frame` refuses it too. Lossless files that no test above compares are compared with
# GDCM (with pydicom's own decoders where GDCM aborts or is wrong).

DATA = TESTDATA.parent


def _pydicom_finds_pixels(path: Path) -> bool:
    with warnings.catch_warnings():  # collection time, one thread
        warnings.simplefilter("ignore")
        try:
            ds = dcmread(path, force=True, defer_size=256)
        except Exception:  # not DICOM (README, json, .py …) or unreadable on purpose
            return False
    return any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009))


PYDICOM_MISREADS = {
    "no_meta.dcm": "a stray byte before the dataset: pydicom parses from byte 0",
}
PIXEL_FILES = sorted(
    str(p.relative_to(DATA))
    for p in DATA.rglob("*")
    if p.is_file() and (_pydicom_finds_pixels(p) or p.name in PYDICOM_MISREADS)
)
NOT_RENDERABLE = {
    "MR_truncated.dcm": "pixel_data.truncated",  # 8130 of 8192 bytes
    "meta_missing_tsyntax.dcm": "pixel_data.missing_attributes",  # 2 bytes, no Rows/Columns
    "nested_priv_SQ.dcm": "pixel_data.missing_attributes",
}
COMPARED_ABOVE = {
    *GRAYSCALE_EXACT,
    *RGB_EXACT,
    *(name for name, _ in YBR),
    "rtdose.dcm",
    "SC_rgb_rle_2frame.dcm",
    "ExplVR_BigEnd.dcm",
    "SC_rgb_rle_16bit.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "SC_rgb_rle_32bit.dcm",
    "SC_rgb_rle_32bit_2frame.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "examples_palette.dcm",
    "liver_1frame.dcm",
    "liver_expb_1frame.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "no_meta.dcm",
    "JPEG2000-embedded-sequence-delimiter.dcm",
}
LOSSLESS = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.5",
}
PYDICOM_IS_THE_REFERENCE = {
    # GDCM 3.2 aborts the whole process (a C++ assertion) on these RT doses
    "rtdose_1frame.dcm",
    "rtdose_expb_1frame.dcm",
    "rtdose_rle_1frame.dcm",
    # GDCM swaps the 16-bit halves of 32-bit big-endian samples (pydicom's values equal
    # rtdose.dcm's, the same dose in little endian)
    "rtdose_expb.dcm",
}


def _frames_to_check(count: int) -> list[int]:
    return sorted({0, count // 2, count - 1})


def _reference(e: FileEntry, frame: Frame) -> np.ndarray:
    """The frame as an independent decoder gives it, with the DICOM rules applied."""
    meta, index = frame.meta, frame.meta.frame_index
    if Path(e.path).name in PYDICOM_IS_THE_REFERENCE:
        return np.asarray(pixel_array(e.path, index=index))
    if meta.stored_photometric_interpretation in ("MONOCHROME1", "MONOCHROME2"):
        whole = gdcm_buffer(e.path)
        if e.bits_allocated == 1:
            n = meta.rows * meta.columns
            bits = np.unpackbits(whole, bitorder="little")[index * n : (index + 1) * n]
            return bits.reshape(meta.rows, meta.columns)
        values = gdcm_frame(e.path, frame).astype(np.int64)
        stored = meta.bits_stored
        values &= (1 << stored) - 1  # unused high bits are not part of the value
        if meta.pixel_representation == 1:
            values = (values ^ (1 << (stored - 1))) - (1 << (stored - 1))
        return values
    if meta.stored_photometric_interpretation == "RGB" and e.bits_allocated == 8:
        reader = gdcm.ImageReader()
        reader.SetFileName(e.path)
        assert reader.Read()
        per_frame = frame.samples.size
        part = gdcm_buffer(e.path)[index * per_frame : (index + 1) * per_frame]
        if reader.GetImage().GetPlanarConfiguration() == 1:
            return np.moveaxis(part.reshape(3, meta.rows, meta.columns), 0, -1)
        return part.reshape(frame.samples.shape)
    raise AssertionError(
        f"no reference rule for lossless {meta.stored_photometric_interpretation} "
        f"{e.bits_allocated}-bit data: add one, or compare {Path(e.path).name} above"
    )


@pytest.mark.parametrize("relative", PIXEL_FILES)
def test_every_bundled_file_with_pixel_data(relative: str) -> None:
    path = DATA / relative
    [e] = list(scan(str(path)))
    assert isinstance(e, FileEntry), e
    assert e.has_pixels
    expected_reason = NOT_RENDERABLE.get(path.name)
    if expected_reason is not None:
        assert (e.support_state, e.support_reason) == (
            SupportState.UNSUPPORTED,
            expected_reason,
        )
        with pytest.raises(PixelError):
            read_frame(e, 0)
        return
    assert e.support_state is SupportState.RENDERABLE, e.support_reason
    assert e.frame_count >= 1
    compare = e.transfer_syntax_uid in LOSSLESS and path.name not in COMPARED_ABOVE
    for index in _frames_to_check(e.frame_count):
        frame = read_frame(e, index)
        colour = frame.meta.samples_per_pixel == 3
        shape = (e.rows, e.columns, 3) if colour else (e.rows, e.columns)
        assert frame.samples.shape == shape
        assert frame.meta.frame_index == index
        display = render_display(frame)
        assert display.image.dtype == np.uint8
        assert display.image.shape == shape
        assert encode_png(display.image).startswith(b"\x89PNG\r\n\x1a\n")
        if compare:
            np.testing.assert_array_equal(frame.samples, _reference(e, frame))


def test_the_sweep_is_every_file_discovery_finds_pixels_in() -> None:
    found = {
        str(Path(e.path).relative_to(DATA))
        for e in scan(str(DATA))
        if isinstance(e, FileEntry) and e.has_pixels
    }
    assert found == set(PIXEL_FILES)
    assert len(found) > 100
    for name in PYDICOM_MISREADS:
        assert not _pydicom_finds_pixels(TESTDATA / name)
    compared = [p for p in PIXEL_FILES if Path(p).name not in COMPARED_ABOVE | set(NOT_RENDERABLE)]
    assert len(compared) > 40  # the lossless and lossy files only this sweep looks at
