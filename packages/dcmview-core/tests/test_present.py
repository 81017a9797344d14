"""The presentation rules, each with expected 8-bit values worked out by hand from PS3.3."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom import dcmread
from pydicom.pixels.processing import apply_modality_lut, apply_windowing

from dcmview_core import discovery
from dcmview_core.errors import UsageError
from dcmview_core.frames import Frame, FrameMeta, Lut, Overlay, read_frame
from dcmview_core.model import FileEntry, Window
from dcmview_core.present import (
    apply_window,
    burn_overlays,
    invert_monochrome1,
    percentile_window,
    render_display,
)
from dcmview_core.presets import PRESETS, preset

TESTDATA = Path(pydicom.__file__).parent / "data" / "test_files"


def gray(values: Any, dtype: str = "int16", **meta: Any) -> Frame:
    samples = np.asarray(values, dtype=dtype)
    if samples.ndim == 1:
        samples = samples.reshape(1, -1)
    base = FrameMeta(
        rows=samples.shape[0], columns=samples.shape[1],
        bits_allocated=samples.dtype.itemsize * 8, bits_stored=samples.dtype.itemsize * 8,
        pixel_representation=1 if samples.dtype.kind == "i" else 0, samples_per_pixel=1,
        photometric_interpretation="MONOCHROME2", stored_photometric_interpretation="MONOCHROME2",
        sample_format={"i": "int", "u": "uint", "f": "float"}[samples.dtype.kind],
        rescale_slope=1.0, rescale_intercept=0.0, modality_lut=None, windows=(),
        voi_lut_function="LINEAR", voi_luts=(), pixel_padding_value=None,
        pixel_padding_range_limit=None, overlays=(), frame_index=0, number_of_frames=1,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )  # fmt: skip
    return Frame(samples, dataclasses.replace(base, **meta))


X = [-5, 0, 50, 100, 150, 200, 201]


def test_linear_window_c_7_6_2_1_2() -> None:
    # C.11.2.1.2.1: c=100.5, w=201 → x <= 0 is 0, x > 200 is 255, linear in between
    display = render_display(gray(X), center=100.5, width=201)
    assert display.image.tolist() == [[0, 0, 64, 128, 191, 255, 255]]
    assert display.window == Window(100.5, 201)
    assert display.source == "explicit"
    assert display.is_linear


def test_linear_exact_window() -> None:
    # C.11.2.1.3.2: y = ((x - c) / w + 0.5) * 255 within (c - w/2, c + w/2]
    frame = gray([*X, 1], voi_lut_function="LINEAR_EXACT")
    display = render_display(frame, center=100, width=200)
    assert display.image.tolist() == [[0, 0, 64, 128, 191, 255, 255, 1]]
    assert display.function == "LINEAR_EXACT"


def test_sigmoid_window() -> None:
    # C.11.2.1.3.1: y = 255 / (1 + exp(-4 (x - c) / w))
    frame = gray([0, 50, 100, 200], voi_lut_function="SIGMOID")
    display = render_display(frame, center=100, width=200)
    assert display.image.tolist() == [[30, 69, 128, 225]]
    assert not display.is_linear


def test_one_value_linear_window_is_a_threshold() -> None:
    # C.11.2.1.2.1 with w = 1: x <= c - 0.5 is 0, above it 255
    values = np.array([9.0, 10.0, 10.4, 11.0])
    assert apply_window(values, 10.5, 1, "LINEAR").tolist() == [0, 0, 255, 255]


def test_rescale_then_window() -> None:
    # C.11.1: modality = 2 * stored - 10 → [-10, 10, 30, 50]
    frame = gray([0, 10, 20, 30], "uint16", rescale_slope=2.0, rescale_intercept=-10.0)
    frame = dataclasses.replace(
        frame, meta=dataclasses.replace(frame.meta, voi_lut_function="LINEAR_EXACT")
    )
    assert render_display(frame, center=20, width=40).image.tolist() == [[0, 64, 191, 255]]


def test_modality_lut_sequence() -> None:
    lut = Lut(first_mapped=0, bits=16, data=np.array([0, 1000, 2000, 3000]))
    frame = gray(
        [0, 1, 2, 3, 5], "uint16", modality_lut=lut, voi_lut_function="LINEAR_EXACT",
        rescale_slope=7.0,  # ignored: the Modality LUT Sequence takes precedence
    )  # fmt: skip
    assert render_display(frame, center=1500, width=3000).image.tolist() == [[0, 85, 170, 255, 255]]


def test_voi_lut_sequence_when_no_window() -> None:
    lut = Lut(first_mapped=10, bits=8, data=np.array([0, 51, 102, 255]))
    display = render_display(gray([5, 10, 11, 12, 13, 20], voi_luts=(lut,)))
    assert display.image.tolist() == [[0, 0, 51, 102, 255, 255]]
    assert (display.source, display.function, display.window) == ("voi_lut", "LUT", None)


def test_voi_lut_output_bits_scale_to_8_bit() -> None:
    lut = Lut(first_mapped=0, bits=12, data=np.array([0, 4095, 2048]))
    assert render_display(gray([0, 1, 2], voi_luts=(lut,))).image.tolist() == [[0, 255, 128]]


def test_dicom_window_wins_over_voi_lut_and_explicit_wins_over_dicom() -> None:
    lut = Lut(first_mapped=0, bits=8, data=np.array([255, 255]))
    frame = gray(X, windows=(Window(100.5, 201),), voi_luts=(lut,))
    display = render_display(frame)
    assert display.source == "dicom"
    assert display.image.tolist() == [[0, 0, 64, 128, 191, 255, 255]]
    explicit = render_display(frame, center=0.5, width=1)
    assert explicit.image.tolist() == [[0, 0, 255, 255, 255, 255, 255]]


def test_percentile_window_excludes_pixel_padding() -> None:
    values = np.concatenate([np.full(5000, -2000), np.arange(5000)]).reshape(100, 100)
    padded = gray(values, pixel_padding_value=-2000)
    window = percentile_window(padded)
    assert window == Window(center=2500.0, width=4900.0)  # 1st = 50, 99th = 4949
    display = render_display(padded)
    assert display.source == "percentile"
    assert display.window == window
    unpadded = percentile_window(gray(values))
    assert unpadded.center - unpadded.width / 2 < -1000  # padding drags the window down


def test_percentile_window_excludes_a_padding_range() -> None:
    values = np.concatenate([np.full(3000, -2000), np.full(2000, -1500), np.arange(5000)])
    frame = gray(values, pixel_padding_value=-2000, pixel_padding_range_limit=-1000)
    assert percentile_window(frame) == Window(center=2500.0, width=4900.0)


def test_percentile_for_32_bit_and_float_data_agrees() -> None:
    values = np.concatenate([np.full(5000, -2000), np.arange(5000)])
    for dtype in ("int32", "float32"):
        assert percentile_window(gray(values, dtype, pixel_padding_value=-2000)) == Window(
            2500.0, 4900.0
        )


def test_percentile_is_in_modality_units() -> None:
    frame = gray(np.arange(1000), "uint16", rescale_slope=2.0, rescale_intercept=-1000.0)
    # stored 1st/99th = 10 and 989 → modality -980 and 978
    assert percentile_window(frame) == Window(center=(-980 + 978 + 1) / 2, width=978 + 980 + 1)


def test_full_dynamic_maps_min_to_0_and_max_to_255() -> None:
    frame = gray(np.arange(10, 21), windows=(Window(0, 1),))
    display = render_display(frame, center=3, width=4, mode="full_dynamic")
    assert display.source == "full_dynamic"
    assert display.window == Window(15.5, 11.0)
    assert display.image[0, 0] == 0
    assert display.image[0, -1] == 255
    assert np.all(np.diff(display.image[0].astype(int)) > 0)


def test_monochrome1_is_inverted_after_windowing() -> None:
    frame = gray(X, photometric_interpretation="MONOCHROME1")
    image = render_display(frame, center=100.5, width=201).image
    assert image.tolist() == [[255, 255, 191, 127, 64, 0, 0]]
    assert invert_monochrome1(np.array([0, 255], np.uint8)).tolist() == [255, 0]


@pytest.mark.parametrize("through_table", [True, False])
def test_table_lookup_equals_direct_evaluation(
    through_table: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 16-bit frame gives the same image through the 65536-entry table (large frames) as
    evaluated per sample (frames smaller than the table), both equal to int32 evaluation."""
    from dcmview_core import present

    monkeypatch.setattr(present, "_TABLE_MIN_SAMPLES", 0 if through_table else 1 << 30)
    values = np.arange(-3000, 3000, 7)
    for function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        for photometric in ("MONOCHROME2", "MONOCHROME1"):
            meta = {"voi_lut_function": function, "rescale_slope": 0.5}
            meta["photometric_interpretation"] = photometric
            lut16 = gray(values, "int16", **meta)
            direct = gray(values, "int32", **meta)
            a = render_display(lut16, center=40, width=400).image
            b = render_display(direct, center=40, width=400).image
            np.testing.assert_array_equal(a, b)


def test_kept_tables_are_per_window_and_never_change() -> None:
    """Frames of a sweep share a kept table; another window, rescale or photometric gets its
    own, and a kept table cannot be written to through a display image."""
    rng = np.random.default_rng(4)
    big = rng.integers(0, 4096, size=(300, 300), dtype=np.uint16)  # above the table threshold
    first = render_display(gray(big, "uint16"), center=2000, width=1000).image
    again = render_display(gray(big, "uint16"), center=2000, width=1000).image
    other = render_display(gray(big, "uint16"), center=1000, width=1000).image
    inverted = render_display(
        gray(big, "uint16", photometric_interpretation="MONOCHROME1"), center=2000, width=1000
    ).image
    rescaled = render_display(gray(big, "uint16", rescale_slope=2.0), center=2000, width=1000)
    expected = apply_window(big.astype(np.float64), 2000, 1000, "LINEAR")
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)
    np.testing.assert_array_equal(other, apply_window(big.astype(np.float64), 1000, 1000, "LINEAR"))
    np.testing.assert_array_equal(inverted, 255 - expected)
    np.testing.assert_array_equal(
        rescaled.image, apply_window(big.astype(np.float64) * 2, 2000, 1000, "LINEAR")
    )
    first[:] = 0  # the image is the caller's own array, not the kept table
    np.testing.assert_array_equal(
        render_display(gray(big, "uint16"), center=2000, width=1000).image, expected
    )


def test_colour_is_not_windowed() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    frame = gray([[0]])
    meta = dataclasses.replace(
        frame.meta, rows=2, columns=3, samples_per_pixel=3, photometric_interpretation="RGB",
        bits_allocated=8, bits_stored=8, pixel_representation=0, sample_format="uint",
    )  # fmt: skip
    display = render_display(Frame(rgb, meta), center=1, width=1)
    np.testing.assert_array_equal(display.image, rgb)
    assert (display.window, display.source) == (None, "colour")


def test_overlays_are_burned_in_and_clipped() -> None:
    image = np.zeros((4, 4), np.uint8)
    inside = Overlay(np.ones((2, 2), bool), (1, 1))
    corner = Overlay(np.array([[True, False], [True, True]]), (3, 3))
    above = Overlay(np.array([[True], [True]]), (-1, 0))
    out = burn_overlays(image, (inside, corner, above))
    assert out.tolist() == [
        [255, 0, 0, 0],
        [0, 255, 255, 0],
        [0, 255, 255, 0],
        [0, 0, 0, 255],
    ]
    assert image.max() == 0  # the input is untouched
    rgb = burn_overlays(np.zeros((2, 2, 3), np.uint8), (Overlay(np.eye(2, dtype=bool), (0, 0)),))
    assert rgb[0, 0].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"center": 1.0}, "both"),
        ({"width": 1.0}, "both"),
        ({"center": 1.0, "width": 0.0}, "width > 0"),
        ({"center": float("nan"), "width": 1.0}, "finite"),
        ({"mode": "bogus"}, "unknown display mode"),
    ],
)
def test_invalid_requests(kwargs: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        render_display(gray([1, 2]), **kwargs)


# --- real files ---------------------------------------------------------------------------


def real(name: str) -> FileEntry:
    result = discovery.read_entry(str(TESTDATA / name), index=0)
    assert isinstance(result, FileEntry)
    return result


def test_ct_window_matches_pydicom_windowing() -> None:
    # CT_small: rescale intercept -1024; a 40/400 window, compared with pydicom's LINEAR
    # windowing (output scaled from its 16-bit range to 8 bits: tolerance 1).
    e = real("CT_small.dcm")
    ours = render_display(read_frame(e, 0), center=40, width=400).image
    ds = dcmread(e.path)
    ds.WindowCenter, ds.WindowWidth = 40, 400
    hu = apply_modality_lut(ds.pixel_array, ds)
    windowed = apply_windowing(hu, ds)
    # pydicom's output range is the signed 16-bit range passed through the rescale
    lo, hi = -32768.0 - 1024.0, 32767.0 - 1024.0
    expected = np.rint((windowed - lo) / (hi - lo) * 255)
    assert np.abs(ours.astype(int) - expected.astype(int)).max() <= 1


def test_mr_default_window_from_the_file() -> None:
    display = render_display(read_frame(real("MR_small.dcm"), 0))
    assert display.source == "dicom"
    assert display.window == Window(600.0, 1600.0)


def test_overlay_of_a_real_file_is_burned_in() -> None:
    e = real("examples_overlay.dcm")
    frame = read_frame(e, 0)
    display = render_display(frame)
    mask = frame.meta.overlays[0].mask
    assert mask.any()
    assert np.all(display.image[mask] == 255)
    plain = render_display(
        dataclasses.replace(frame, meta=dataclasses.replace(frame.meta, overlays=()))
    )
    assert np.any(plain.image[mask] != 255)


def test_presets_are_data_with_the_issue_ct_windows() -> None:
    ct = {p.name: (p.window.center, p.window.width) for p in PRESETS if p.window is not None}
    assert ct == {
        "Brain": (40, 80),
        "Subdural": (75, 215),
        "Stroke": (40, 40),
        "Bone": (480, 2500),
        "Lung": (-600, 1500),
        "Abdomen": (60, 400),
        "Liver": (90, 150),
        "Mediastinum": (50, 350),
        "Soft tissue": (40, 400),
    }
    assert [p.mode for p in PRESETS[:2]] == ["default", "full_dynamic"]
    assert preset("ct_lung").window == Window(-600, 1500)
    with pytest.raises(KeyError, match="ct_brain"):
        preset("nope")
    # a preset window renders like an explicit one
    lung = preset("ct_lung").window
    assert lung is not None
    image = render_display(gray([-1350, -600, 150]), center=lung.center, width=lung.width).image
    assert image.tolist() == [[0, 128, 255]]


# --- the same rules end to end on generated files ----------------------------------------


def write_image(path: Path, values: Any, dtype: str = "int16", **attributes: Any) -> FileEntry:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    samples = np.asarray(values, dtype=dtype).reshape(1, -1)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = samples.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = samples.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if samples.dtype.kind == "i" else 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = samples.tobytes()
    ds.save_as(path, enforce_file_format=True)
    result = discovery.read_entry(str(path), index=0)
    assert isinstance(result, FileEntry)
    return result


def test_file_sigmoid_window(tmp_path: Path) -> None:
    e = write_image(
        tmp_path / "s.dcm", [0, 50, 100, 200], WindowCenter=100, WindowWidth=200,
        VOILUTFunction="SIGMOID",
    )  # fmt: skip
    display = render_display(read_frame(e, 0))
    assert (display.source, display.function) == ("dicom", "SIGMOID")
    assert display.image.tolist() == [[30, 69, 128, 225]]


def test_file_monochrome1_with_rescale(tmp_path: Path) -> None:
    # modality = stored * 2 - 10 = [-10, 10, 30, 50]; window 20/40 LINEAR_EXACT; inverted
    e = write_image(
        tmp_path / "m1.dcm", [0, 10, 20, 30], "uint16", PhotometricInterpretation="MONOCHROME1",
        RescaleSlope=2, RescaleIntercept=-10, WindowCenter=20, WindowWidth=40,
        VOILUTFunction="LINEAR_EXACT",
    )  # fmt: skip
    assert render_display(read_frame(e, 0)).image.tolist() == [[255, 191, 64, 0]]


def test_file_voi_lut_sequence(tmp_path: Path) -> None:
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    item = Dataset()
    item.add(DataElement(0x00283002, "US", [4, 10, 8]))
    item.add(DataElement(0x00283006, "US", [0, 51, 102, 255]))
    e = write_image(tmp_path / "v.dcm", [5, 10, 11, 12, 13, 20], VOILUTSequence=Sequence([item]))
    display = render_display(read_frame(e, 0))
    assert display.source == "voi_lut"
    assert display.image.tolist() == [[0, 0, 51, 102, 255, 255]]


def test_file_percentile_excludes_padding(tmp_path: Path) -> None:
    values = np.concatenate([np.full(5000, -2000), np.arange(5000)])
    e = write_image(tmp_path / "p.dcm", values, PixelPaddingValue=-2000)
    display = render_display(read_frame(e, 0))
    assert display.window == Window(2500.0, 4900.0)
    assert display.image[0, :5000].max() == 0  # padding is below the window
    assert display.image[0, -1] == 255


@pytest.mark.parametrize(
    ("shape", "dtype"), [((2048, 17), np.uint16), ((3, 5), np.uint16), ((100, 700), np.uint8)]
)
def test_chunked_lookup_equals_plain_indexing(shape: tuple[int, int], dtype: type) -> None:
    from dcmview_core.present import _lookup

    rng = np.random.default_rng(11)
    top = np.iinfo(dtype).max
    table = rng.integers(0, 256, top + 1, dtype=np.uint8)
    indices = rng.integers(0, top + 1, size=shape, dtype=dtype)
    indices[0, 0], indices[-1, -1] = 0, top  # both ends of the table
    out = _lookup(table, indices)
    assert out.shape == shape
    np.testing.assert_array_equal(out, table[indices])
    strided = indices[:, ::2]  # a non-contiguous view
    np.testing.assert_array_equal(_lookup(table, strided), table[strided])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16])
def test_histogram_in_chunks_counts_every_sample(dtype: type) -> None:
    from dcmview_core.present import _histogram

    rng = np.random.default_rng(12)
    info = np.iinfo(dtype)
    samples = rng.integers(info.min, info.max + 1, size=(300, 257), dtype=dtype)  # > 2 chunks
    counts, base = _histogram(samples)
    assert base == info.min
    assert int(counts.sum()) == samples.size
    values = samples.astype(np.int64).ravel() - info.min
    np.testing.assert_array_equal(counts, np.bincount(values, minlength=info.max - info.min + 1))
