"""The one-place rules of dcmview-core (issue 11) and the broken-input polish (issue 12).

Byte sources, the dataset opener, the window rule, header facts on `FileEntry`, display
paths, skipped records and the tag serializer, each checked against pydicom or numpy on real
files (pydicom's bundled ones, or files generated here with known values).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from dcmview_core import (
    FileEntry,
    LocalFile,
    PixelError,
    Skipped,
    Window,
    _header,
    display_path,
    frame_nbytes,
    named_windows,
    overlay_mask,
    parse_windows,
    read_entry,
    read_frame,
    register_scheme,
    scan,
    select_tag,
    skipped_summary,
    tag_tree,
)
from dcmview_core.frames import clear_layout_cache
from dcmview_core.model import NamedWindow
from dcmview_core.source import register_lister

ImageWriter = Callable[..., Path]
TESTDATA = Path(pydicom.__file__).parent / "data" / "test_files"


def bundled(name: str) -> str:
    return str(TESTDATA / name)


def only(result: FileEntry | Skipped) -> FileEntry:
    assert isinstance(result, FileEntry), result
    return result


# --- the window rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("centers", "widths", "expected"),
    [
        ("40\\400", "400\\2000", [(40, 400), (400, 2000)]),
        # a bad centre drops its own pair only: 100 stays with 2000, never with 500
        ("40\\abc\\100", "400\\500\\2000", [(40, 400), (100, 2000)]),
        (b"x\\50", b"100\\200", [(50, 200)]),
        ("40\\60", "400", [(40, 400)]),  # more centres than widths
        ("40\\60\\80", "0\\-5\\inf", []),  # width ≤ 0 or not finite
        ("nan", "100", []),
        ("", "", []),
        (None, "100", []),
        (pydicom.multival.MultiValue(float, [10, 20]), [30.0, 40.0], [(10, 30), (20, 40)]),
        (pydicom.valuerep.DSfloat("7"), 9, [(7, 9)]),
    ],
)
def test_windows_pair_by_position_and_drop_only_bad_pairs(
    centers: Any, widths: Any, expected: list[tuple[float, float]]
) -> None:
    assert parse_windows(centers, widths) == tuple(Window(c, w) for c, w in expected)


def test_named_windows_keep_their_explanation_by_position() -> None:
    assert named_windows("1\\bad\\3", "10\\20\\30", "WIDE\\MID\\NARROW") == (
        NamedWindow("WIDE", 1, 10),
        NamedWindow("NARROW", 3, 30),
    )
    assert named_windows("1\\2", "10\\20", "ONLY") == (
        NamedWindow("ONLY", 1, 10),
        NamedWindow("File window 2", 2, 20),
    )


@pytest.mark.parametrize("lean", [True, False])
def test_the_default_window_is_the_first_valid_pair_everywhere(
    tmp_path: Path, dicom_image: ImageWriter, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    path = dicom_image(
        tmp_path / "w.dcm",
        WindowCenter="9\\50",
        WindowWidth="100\\200",
        WindowCenterWidthExplanation="BAD\\GOOD",
    )
    data = path.read_bytes()
    path.write_bytes(data.replace(b"9\\50", b"x\\50"))  # a centre that is not a number
    if not lean:
        monkeypatch.setattr(_header, "read_lean", lambda source: None)
    entry = only(read_entry(str(path)))
    assert entry.default_window == Window(50, 200)
    assert entry.window_presets == (NamedWindow("GOOD", 50, 200),)
    clear_layout_cache()
    assert read_frame(entry, 0).meta.windows == (Window(50, 200),)


# --- header facts ----------------------------------------------------------------------------


def test_geometry_of_a_single_slice_matches_pydicom() -> None:
    path = bundled("CT_small.dcm")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    entry = only(read_entry(path))
    g = entry.geometry
    assert g is not None
    assert g.frame_of_reference_uid == ds.FrameOfReferenceUID
    assert g.orientation == tuple(float(v) for v in ds.ImageOrientationPatient)
    assert g.positions == (tuple(float(v) for v in ds.ImagePositionPatient),)
    assert g.pixel_spacing == tuple(float(v) for v in ds.PixelSpacing)
    assert g.slice_thickness == float(ds.SliceThickness)
    assert entry.shown_pixel_spacing == g.pixel_spacing
    assert entry.has_overlay is False


def _enhanced(tmp_path: Path, image_dataset: Any, frames: int = 4) -> tuple[Path, Any]:
    ds = image_dataset(rows=6, columns=5, frames=frames)
    ds.FrameOfReferenceUID = "1.2.3.4"
    shared = Dataset()
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 0.8, -0.6]
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.25]
    measures.SliceThickness = 2.5
    voi = Dataset()
    voi.WindowCenter = 100
    voi.WindowWidth = 50
    shared.PlaneOrientationSequence = DicomSequence([orientation])
    shared.PixelMeasuresSequence = DicomSequence([measures])
    shared.FrameVOILUTSequence = DicomSequence([voi])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame = []
    for k in range(frames):
        item = Dataset()
        plane = Dataset()
        plane.ImagePositionPatient = [-10.0, 20.0, 1.5 * k]
        item.PlanePositionSequence = DicomSequence([plane])
        anatomy = Dataset()
        anatomy.FrameLaterality = "L"
        item.FrameAnatomySequence = DicomSequence([anatomy])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    path = tmp_path / "enhanced.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, ds


def test_enhanced_multi_frame_geometry_comes_from_the_functional_groups(
    tmp_path: Path, image_dataset: Any
) -> None:
    path, ds = _enhanced(tmp_path, image_dataset)
    entry = only(read_entry(str(path)))
    g = entry.geometry
    assert g is not None
    expected = np.array(
        [
            item.PlanePositionSequence[0].ImagePositionPatient
            for item in ds.PerFrameFunctionalGroupsSequence
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(np.array(g.positions), expected)
    assert g.orientation == (1.0, 0.0, 0.0, 0.0, 0.8, -0.6)
    assert (g.pixel_spacing, g.slice_thickness) == ((0.5, 0.25), 2.5)
    assert g.frame_of_reference_uid == "1.2.3.4"
    assert entry.laterality == "L"
    assert entry.default_window == Window(100, 50)
    assert entry.shown_pixel_spacing == (0.5, 0.25)


def test_cine_frame_time_overlay_and_mammography_facts(
    tmp_path: Path, dicom_image: ImageWriter
) -> None:
    path = dicom_image(
        tmp_path / "cine.dcm",
        frames=3,
        FrameTimeVector=[0, 30, 40],
        ViewPosition="MLO",
        ImageLaterality="R",
        RescaleType="US",
        ImagerPixelSpacing=[0.1, 0.1],
    )
    entry = only(read_entry(str(path)))
    assert entry.frame_time_ms == 35.0  # the mean step
    assert (entry.view_position, entry.laterality, entry.rescale_type) == ("MLO", "R", "US")
    assert entry.shown_pixel_spacing == (0.1, 0.1)
    assert entry.geometry is not None
    assert entry.geometry.positions is None
    rate = only(read_entry(str(dicom_image(tmp_path / "rate.dcm", frames=2, CineRate=25))))
    assert rate.frame_time_ms == 40.0

    ds = pydicom.dcmread(bundled("examples_overlay.dcm"))
    overlaid = only(read_entry(bundled("examples_overlay.dcm")))
    assert overlaid.has_overlay
    mask = overlay_mask(read_frame(overlaid, 0))
    expected = ds.overlay_array(0x6000)
    assert mask.shape == (ds.Rows, ds.Columns)
    np.testing.assert_array_equal(mask, expected.astype(np.uint8))


def test_frame_nbytes_is_what_read_frame_returns() -> None:
    for name in ("CT_small.dcm", "SC_rgb_small_odd.dcm", "liver_1frame.dcm", "SC_rgb_rle.dcm"):
        entry = only(read_entry(bundled(name)))
        assert frame_nbytes(entry) == read_frame(entry, 0).nbytes, name


# --- paths that are not UTF-8 ------------------------------------------------------------------


def test_a_latin1_file_name_reads_and_displays_safely(
    tmp_path: Path, dicom_image: ImageWriter
) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.dcm"
    dicom_image(os.fsdecode(raw), rows=4, columns=4)
    (entry,) = [e for e in scan([str(tmp_path)]) if isinstance(e, FileEntry)]
    assert os.fsencode(entry.path) == raw  # the real path: it opens again
    shown = entry.display_path
    assert shown == display_path(entry.path) == os.fsdecode(tmp_path) + "/caf\\xe9.dcm"
    json.dumps(shown).encode("utf-8")  # JSON- and UTF-8-safe
    assert display_path(str(tmp_path / "café.dcm")) == str(tmp_path / "café.dcm")
    assert read_frame(entry, 0).samples.shape == (4, 4)
    assert tag_tree(entry.path)


# --- a source that is not a local file ------------------------------------------------------


class MemorySource:
    """An in-memory object store: what a remote source looks like to the readers."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self._data = name, len(data), data
        self.reads: list[tuple[int, int]] = []

    def read_at(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self._data[offset : offset + length]


def test_every_reader_works_through_a_registered_byte_source(
    tmp_path: Path, dicom_image: ImageWriter
) -> None:
    path = dicom_image(
        tmp_path / "m.dcm", rows=8, columns=6, frames=3, WindowCenter="5", WindowWidth="9"
    )
    data = path.read_bytes()
    opened: dict[str, MemorySource] = {}

    def opener(name: str) -> MemorySource:
        opened[name] = MemorySource(name, data)
        return opened[name]

    register_scheme("memtest", opener)
    name = "memtest://bucket/m.dcm"
    remote = only(read_entry(name))
    local = only(read_entry(str(path)))
    assert remote.path == name
    assert {**vars_of(remote), "path": "", "label": ""} == {
        **vars_of(local),
        "path": "",
        "label": "",
    }
    clear_layout_cache()
    for index in range(3):
        np.testing.assert_array_equal(
            read_frame(remote, index).samples, read_frame(local, index).samples
        )
    source = opened[name]
    frame_bytes = 8 * 6 * 2
    assert source.reads[-1][1] == frame_bytes  # a native frame: one read of its byte range
    assert tag_tree(name) == tag_tree(str(path))


def vars_of(entry: FileEntry) -> dict[str, Any]:
    return {field: getattr(entry, field) for field in entry.__dataclass_fields__}


def test_local_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="a FIFO"):
        LocalFile(str(fifo))


# --- broken files ----------------------------------------------------------------------------


def test_a_directory_of_dicm_files_that_do_not_parse_loads_nothing(tmp_path: Path) -> None:
    junk = bytes(128) + b"DICM" + b"\x02\x00\x01\x00OB\0\0\xff\xff\xff\xff" + bytes(40)
    for i in range(3):
        (tmp_path / f"bad{i}.dcm").write_bytes(junk)
    (tmp_path / "notes.txt").write_text("hello")
    items = list(scan([str(tmp_path)]))
    assert all(isinstance(i, Skipped) for i in items)
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert sorted(s.kind for s in skipped) == [
        "not_dicom",
        "unparsable",
        "unparsable",
        "unparsable",
    ]
    assert all(s.detail and "\n" not in s.detail for s in skipped)
    assert skipped_summary(skipped) == "4 skipped: 3 unparsable DICOM, 1 not DICOM"
    assert skipped[0].message.startswith("unparsable DICOM (")
    assert skipped_summary([]) == "0 skipped"


# --- the tag tree ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "MR_truncated.dcm"])
def test_select_returns_the_preview_node_for_every_top_level_element(name: str) -> None:
    path = bundled(name)
    for node in tag_tree(path):
        assert select_tag(path, node["tag"]) == node, node["tag"]


def test_group_lengths_have_a_group_length_keyword(tmp_path: Path, image_dataset: Any) -> None:
    path = tmp_path / "gl.dcm"
    image_dataset().save_as(path, enforce_file_format=True)
    data = path.read_bytes()  # pydicom drops group lengths when writing: add them as bytes
    meta_end = 144 + int.from_bytes(data[140:144], "little")

    def group_length(group: int) -> bytes:
        return group.to_bytes(2, "little") + b"\0\0UL\x04\0" + bytes(4)

    patient = data.index(b"\x10\x00\x10\x00PN")
    path.write_bytes(
        data[:meta_end]
        + group_length(8)
        + data[meta_end:patient]
        + group_length(9)
        + data[patient:]
    )
    keywords = {n["tag"]: n["keyword"] for n in tag_tree(str(path))}
    assert keywords["(0002,0000)"] == "FileMetaInformationGroupLength"
    assert keywords["(0008,0000)"] == "GenericGroupLength"
    assert keywords["(0009,0000)"] == "GenericGroupLength"


class HeldSource:
    """A source that holds its header and hands out frames (what DICOMweb looks like)."""

    def __init__(self, name: str, ds: Any, frames: list[bytes]) -> None:
        self.name, self.size, self.version = name, 0, 1
        self._ds, self._frames = ds, frames
        self.has_pixels, self.frame_count = True, len(frames)

    def read_at(self, offset: int, length: int) -> bytes:
        raise AssertionError("a held source is never read by offset")

    def header_dataset(self) -> Any:
        return self._ds

    def frame_bytes(self, index: int) -> bytes:
        return self._frames[index]


class UpstreamFailure(PixelError, OSError):
    """Like `dcmview_core.remote.UpstreamError`: must reach the caller unchanged."""


def test_sources_that_hold_the_header_and_frames_read_no_bytes(image_dataset: Any) -> None:
    ds = image_dataset(rows=4, columns=3, frames=2, seed=5)
    pixels = np.frombuffer(ds.PixelData, "<u2").reshape(2, 4, 3)
    header = pydicom.Dataset()
    header.update(ds)
    del header.PixelData
    header.file_meta = ds.file_meta
    frames = [pixels[0].tobytes(), pixels[1].tobytes()]

    def lister(name: str) -> Any:
        if name.endswith("/broken"):
            raise OSError("listing refused")
        return iter([f"{name}/a", f"{name}/b"])

    register_scheme("heldtest", lambda name: HeldSource(name, header, frames))
    register_lister("heldtest", lister)
    items = list(scan(["heldtest://study", "heldtest://study/broken"]))
    entries = [i for i in items if isinstance(i, FileEntry)]
    assert [e.path for e in entries] == ["heldtest://study/a", "heldtest://study/b"]
    assert [e.index for e in entries] == [0, 1]
    assert isinstance(items[-1], Skipped)
    assert items[-1].kind == "unreadable"
    entry = entries[0]
    assert (entry.rows, entry.columns, entry.frame_count, entry.patient_id) == (4, 3, 2, "TESTPAT")
    clear_layout_cache()
    for k in range(2):
        np.testing.assert_array_equal(read_frame(entry, k).samples, pixels[k])
    assert any(n["keyword"] == "PatientID" for n in tag_tree(entry.path))

    def failing(name: str) -> Any:
        raise UpstreamFailure("upstream answered 503")

    register_scheme("failtest", failing)
    failed = dataclasses.replace(entry, path="failtest://x")
    with pytest.raises(UpstreamFailure):
        read_frame(failed, 0)
    with pytest.raises(UpstreamFailure):
        tag_tree("failtest://x")
