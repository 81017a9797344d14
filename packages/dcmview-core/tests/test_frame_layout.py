"""The lean frame layout (`frameheader.read_lean_frame_header`) against pydicom's, the reference.

Every file bundled with pydicom and a set of generated files go through both layout paths of
`dcmview_core.frames`; wherever the lean path answers, its layout, frame metadata and decoded
pixels must equal pydicom's exactly, and so must any error. Files the lean path must leave to
pydicom (lookup tables, palette, overlays, functional groups, big endian, deflate, a data
encoding that contradicts the syntax) are checked to be declined. `read_frame_inline` (the
cheap read a server may do on its event loop) is checked against `read_frame`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
)

from dcmview_core import frames
from dcmview_core.discovery import read_entry
from dcmview_core.errors import FrameOutOfRange, PixelError
from dcmview_core.frameheader import read_lean_frame_header
from dcmview_core.frames import read_frame, read_frame_inline
from dcmview_core.model import FileEntry
from dcmview_core.source import ByteSource, close_source, open_source, source_version

PYDICOM_DATA = Path(pydicom.__file__).parent / "data"
BUNDLED = sorted(
    str(p.relative_to(PYDICOM_DATA))
    for folder in ("test_files", "charset_files")
    for p in (PYDICOM_DATA / folder).rglob("*")
    if p.is_file() and not p.name.endswith((".py", ".txt", ".json", ".gz", ".bz2", ".zip"))
)
MUST_DECLINE = {
    "examples_overlay.dcm": "overlay planes",
    "examples_palette.dcm": "PALETTE COLOR",
    "liver_1frame.dcm": "functional groups",
    "MR_small_bigendian.dcm": "big endian",
    "image_dfl.dcm": "deflate",
    "SC_rgb_jpeg.dcm": "implicit data in an explicit syntax",
    "MR_small_implicit.dcm": None,  # accepted: listed to check the other direction
}
MUST_ACCEPT = {
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "JPEG2000.dcm",
    "SC_rgb.dcm",
    "emri_small_RLE.dcm",
    "J2K_pixelrep_mismatch.dcm",
}


def _outcome(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    try:
        return fn(), None
    except PixelError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _frames_to_check(count: int) -> list[int]:
    return sorted({0, 1, count // 2, count - 1} & set(range(count)))


def _frame(layout: Any, source: ByteSource, index: int) -> tuple[Any, str | None]:
    return _outcome(lambda: frames._layout_frame(layout, source, index))


def assert_same_as_pydicom(source: ByteSource) -> bool:
    """Both layout paths on *source*; True when the lean path answered (and agreed)."""
    stamp = source_version(source)
    lean, lean_error = _outcome(lambda: frames._lean_layout(source, stamp))
    if lean is None and lean_error is None:
        return False  # declined: pydicom alone reads it
    reference, reference_error = _outcome(lambda: frames._pydicom_layout(source, stamp))
    assert lean_error == reference_error
    if reference is None:
        return True
    assert lean == reference
    for index in _frames_to_check(reference.number_of_frames):
        got, got_error = _frame(lean, source, index)
        want, want_error = _frame(reference, source, index)
        assert got_error == want_error
        if want is None:
            continue
        assert got.meta == want.meta
        assert got.samples.dtype == want.samples.dtype
        np.testing.assert_array_equal(got.samples, want.samples)
    return True


def _check(path: str | Path) -> bool:
    source = open_source(str(path))
    try:
        return assert_same_as_pydicom(source)
    finally:
        close_source(source)


@pytest.mark.parametrize("relative", BUNDLED)
def test_bundled_file_lean_layout_equals_pydicom(relative: str) -> None:
    path = PYDICOM_DATA / relative
    accepted = _check(path)
    if path.name in MUST_ACCEPT:
        assert accepted, f"the lean path declined {path.name}"
    if MUST_DECLINE.get(path.name):
        assert not accepted, f"the lean path must leave {path.name} to pydicom"


def test_the_lean_path_answers_for_most_bundled_images() -> None:
    answered = 0
    for relative in BUNDLED:
        source = open_source(str(PYDICOM_DATA / relative))
        try:
            answered += read_lean_frame_header(source) is not None
        finally:
            close_source(source)
    assert answered >= 80, answered


# --- generated files -------------------------------------------------------------------------


def _ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(np.dtype(dtype))
    values = np.arange(int(np.prod(shape)), dtype=np.int64) * 37
    span = int(info.max) - int(info.min) + 1
    return ((values % span) + int(info.min)).astype(dtype).reshape(shape)


def _ct(ds: Any) -> None:
    """12 bits stored, signed, rescaled, two windows, padding (a CT slice)."""
    ds.BitsStored, ds.HighBit = 12, 11
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1.5"
    ds.WindowCenter, ds.WindowWidth = ["40", "-600"], ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["SOFT", "LUNG"]
    ds.PixelPaddingValue = -2000
    ds.PixelPaddingRangeLimit = -1500


def _unsigned_padding(ds: Any) -> None:
    ds.PixelPaddingValue = 65000
    ds.VOILUTFunction = "SIGMOID"
    ds.WindowCenter, ds.WindowWidth = "2000", "3000"


def _odd_values(ds: Any) -> None:
    """Values pydicom reads with some care: empty, spaced, exponent."""
    ds.add_new(0x00281053, "DS", "")  # Rescale Slope present but empty
    ds.add_new(0x00281052, "DS", "1e2")
    ds.add_new(0x00281050, "DS", " 12.5")
    ds.add_new(0x00281051, "DS", "0")  # a zero width: dropped by both
    ds.add_new(0x00281056, "CS", "LINEAR_EXACT")


def _sequences(ds: Any) -> None:
    """Defined- and undefined-length sequences before the pixel data (skipped whole)."""
    inner = Dataset()
    inner.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    inner.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = Sequence([inner])
    ds["ReferencedImageSequence"].is_undefined_length = True
    nested = Dataset()
    nested.CodeValue, nested.CodingSchemeDesignator, nested.CodeMeaning = "1", "DCM", "x"
    ds.AnatomicRegionSequence = Sequence([nested])


def _modality_lut(ds: Any) -> None:
    item = Dataset()
    item.LUTDescriptor = [4, 0, 16]
    item.add_new(0x00283006, "US", [0, 100, 200, 300])  # LUT Data
    item.ModalityLUTType = "HU"
    ds.ModalityLUTSequence = Sequence([item])


def _overlay(ds: Any) -> None:
    ds.add_new(0x60000010, "US", ds.Rows)
    ds.add_new(0x60000011, "US", ds.Columns)
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60003000, "OW", b"\x55" * (-(-ds.Rows * ds.Columns // 16) * 2))


def _rgb(ds: Any, planar: int) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", planar
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = _ramp((ds.Rows, ds.Columns, 3), "uint8").tobytes()


def _float(ds: Any) -> None:
    del ds.PixelData
    for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
        delattr(ds, keyword)
    ds.BitsAllocated = 32
    ds.FloatPixelData = np.linspace(-1, 1, ds.Rows * ds.Columns, dtype="<f4").tobytes()


def _one_bit(ds: Any) -> None:
    ds.BitsAllocated = ds.BitsStored = 1
    ds.HighBit, ds.PixelRepresentation = 0, 0
    bits = _ramp((ds.Rows * ds.Columns,), "uint8") % 2
    ds.PixelData = np.packbits(bits, bitorder="little").tobytes()


def _multiframe(ds: Any, ts: str = ExplicitVRLittleEndian) -> None:
    data = _ramp((4, ds.Rows, ds.Columns), "uint16")
    ds.NumberOfFrames = 4
    ds.PixelData = data.tobytes()
    ds.file_meta.TransferSyntaxUID = ts


def _j2k(ds: Any, extended: bool) -> None:
    import imagecodecs

    data = _ramp((3, ds.Rows, ds.Columns), "uint16")
    ds.NumberOfFrames = 3
    codestreams = [bytes(imagecodecs.jpeg2k_encode(f, level=0, codecformat="j2k")) for f in data]
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    if extended:
        pixel_data, offsets, lengths = encapsulate_extended(codestreams)
        ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = (
            pixel_data,
            offsets,
            lengths,
        )
    else:
        ds.PixelData = encapsulate(codestreams)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def _rle(ds: Any) -> None:
    from pydicom.pixels.utils import compress

    ds.PixelRepresentation = 0
    compress(ds, RLELossless, _ramp((ds.Rows, ds.Columns), "uint16"), encoding_plugin="pydicom")


def _implicit(ds: Any) -> None:
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian


Step = Callable[[Any], None]
GENERATED: dict[str, tuple[tuple[Step, ...], bool]] = {
    "ct_explicit": ((_ct,), True),
    "ct_implicit": ((_ct, _implicit), True),
    "unsigned_padding_implicit": ((_unsigned_padding, _implicit), True),
    "odd_values": ((_odd_values,), True),
    "sequences": ((_sequences,), True),
    "sequences_implicit": ((_sequences, _implicit), True),
    "rgb_interleaved": ((lambda ds: _rgb(ds, 0),), True),
    "rgb_planar": ((lambda ds: _rgb(ds, 1),), True),
    "float_pixel_data": ((_float,), True),
    "one_bit": ((_one_bit,), True),
    "multiframe": ((_multiframe,), True),
    "multiframe_implicit": ((lambda ds: _multiframe(ds, ImplicitVRLittleEndian),), True),
    "j2k_basic_offsets": ((lambda ds: _j2k(ds, False),), True),
    "j2k_extended_offsets": ((lambda ds: _j2k(ds, True),), True),
    "rle": ((_rle,), True),
    "modality_lut": ((_modality_lut,), False),
    "overlay": ((_overlay,), False),
}
"""Each generated file: the steps that build it from a 10×7 image, and whether the lean
path must answer for it."""


@pytest.fixture
def generated(tmp_path: Path, image_dataset: Callable[..., Any]) -> Callable[[str], Path]:
    def build(name: str) -> Path:
        ds = image_dataset(rows=10, columns=7, bits=16, signed=name.startswith("ct"), seed=3)
        for step in GENERATED[name][0]:
            step(ds)
        path = tmp_path / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        return path

    return build


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_file_lean_layout_equals_pydicom(
    name: str, generated: Callable[[str], Path]
) -> None:
    path = generated(name)
    assert _check(path) is GENERATED[name][1]


def test_a_cut_file_gives_the_same_frames_and_errors(generated: Callable[[str], Path]) -> None:
    path = generated("multiframe")
    data = path.read_bytes()
    for cut in (len(data) - 70, len(data) - 140 - 70, len(data) - 4 * 140 + 3):
        path.write_bytes(data[:cut])
        assert _check(path)


def test_a_file_cut_inside_its_header_is_left_to_pydicom(generated: Callable[[str], Path]) -> None:
    path = generated("ct_explicit")
    data = path.read_bytes()
    path.write_bytes(data[:400])
    assert not _check(path)


# --- read_frame_inline -------------------------------------------------------------------------


def _entry(path: Path | str) -> FileEntry:
    found = read_entry(str(path))
    assert isinstance(found, FileEntry), found
    return found


def test_inline_read_equals_read_frame(generated: Callable[[str], Path]) -> None:
    entry = _entry(generated("multiframe"))
    frames.clear_layout_cache()
    for index in (2, 0, 3):
        inline = read_frame_inline(entry, index)
        assert inline is not None
        want = read_frame(entry, index)
        assert inline.meta == want.meta
        np.testing.assert_array_equal(inline.samples, want.samples)
    with pytest.raises(FrameOutOfRange):
        read_frame_inline(entry, 4)


def test_inline_read_declines_what_needs_pydicom_until_its_layout_is_cached(
    generated: Callable[[str], Path],
) -> None:
    entry = _entry(generated("overlay"))
    frames.clear_layout_cache()
    assert read_frame_inline(entry, 0) is None
    want = read_frame(entry, 0)
    inline = read_frame_inline(entry, 0)  # the layout pydicom built is cached now
    assert inline is not None
    np.testing.assert_array_equal(inline.samples, want.samples)
    [got_overlay], [want_overlay] = inline.meta.overlays, want.meta.overlays
    np.testing.assert_array_equal(got_overlay.mask, want_overlay.mask)


@pytest.mark.parametrize("name", ["j2k_basic_offsets", "rle"])
def test_inline_read_declines_compressed_frames(
    name: str, generated: Callable[[str], Path]
) -> None:
    entry = _entry(generated(name))
    assert read_frame_inline(entry, 0) is None
    assert read_frame(entry, 0).samples.shape == (10, 7)


def test_inline_read_declines_remote_names(generated: Callable[[str], Path]) -> None:
    entry = replace(_entry(generated("ct_explicit")), path="s3://bucket/never-opened.dcm")
    assert read_frame_inline(entry, 0) is None


def test_inline_read_declines_a_file_whose_pixel_data_starts_late(
    tmp_path: Path, image_dataset: Callable[..., Any]
) -> None:
    ds = image_dataset(rows=10, columns=7)
    ds.add_new(0x00091010, "LO", "private")  # a private creator, then a large private value
    ds.add_new(0x00091011, "OB", b"\0" * 300_000)
    path = tmp_path / "late.dcm"
    ds.save_as(path, enforce_file_format=True)
    entry = _entry(path)
    frames.clear_layout_cache()
    assert read_frame_inline(entry, 0) is None  # the walk stops at 256 KiB
    want = read_frame(entry, 0)  # the lean path, unbounded
    inline = read_frame_inline(entry, 0)
    assert inline is not None
    np.testing.assert_array_equal(inline.samples, want.samples)
    assert _check(path)
