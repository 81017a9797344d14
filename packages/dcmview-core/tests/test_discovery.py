from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import JPEG2000Lossless, RLELossless

from dcmview_core import _header
from dcmview_core.discovery import Skipped, read_entry, scan, walk
from dcmview_core.errors import DecodeError
from dcmview_core.filters import parse_filter
from dcmview_core.frames import clear_layout_cache, read_frame
from dcmview_core.model import FileEntry, SupportState, Window
from dcmview_core.source import LocalFile

ImageWriter = Callable[..., Path]
Bundled = Callable[[str], str]


def entries(items: list[FileEntry | Skipped]) -> list[FileEntry]:
    return [i for i in items if isinstance(i, FileEntry)]


def skipped(items: list[FileEntry | Skipped]) -> list[Skipped]:
    return [i for i in items if isinstance(i, Skipped)]


def only(result: FileEntry | Skipped) -> FileEntry:
    assert isinstance(result, FileEntry), result
    return result


def run_with_deadline(fn: Callable[[], Any], seconds: float = 20) -> Any:
    """Run *fn* in a thread; fail (instead of hanging the suite) if it does not finish."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # reported below
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "discovery hung"
    if "error" in box:
        raise box["error"]
    return box["value"]


# --- order and indices ------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, dicom_image: ImageWriter) -> Path:
    dicom_image(tmp_path / "b.dcm", seed=1)
    dicom_image(tmp_path / "a" / "z.dcm", seed=2)
    dicom_image(tmp_path / "a" / "b" / "x.dcm", seed=3)
    dicom_image(tmp_path / "a" / "c.dcm", seed=4)
    dicom_image(tmp_path / "C.dcm", seed=5)
    (tmp_path / "a" / "notes.txt").write_text("hello\n")
    return tmp_path


def test_order_is_input_order_then_sorted_names_depth_first(tree: Path) -> None:
    items = list(scan([tree]))
    names = [os.path.relpath(i.path, tree) for i in items]
    assert names == ["C.dcm", "a/b/x.dcm", "a/c.dcm", "a/notes.txt", "a/z.dcm", "b.dcm"]
    assert [e.index for e in entries(items)] == [0, 1, 2, 3, 4]
    assert [s.reason for s in skipped(items)] == ["not_dicom"]


def test_same_arguments_same_indices_every_run_and_with_threads(tree: Path) -> None:
    first = [asdict(e) for e in entries(list(scan([tree])))]
    assert first == [asdict(e) for e in entries(list(scan([tree])))]
    assert first == [asdict(e) for e in entries(list(scan([tree], workers=3)))]


def test_inputs_keep_their_order_and_duplicates_are_listed_once(tree: Path) -> None:
    items = list(scan([tree / "b.dcm", tree / "a", tree / "a" / "c.dcm"]))
    names = [os.path.relpath(e.path, tree) for e in entries(items)]
    assert names == ["b.dcm", "a/b/x.dcm", "a/c.dcm", "a/z.dcm"]


def test_no_recursive_reads_only_the_top_level(tree: Path) -> None:
    items = list(scan([tree], recursive=False))
    assert [os.path.basename(i.path) for i in items] == ["C.dcm", "b.dcm"]


def test_paths_are_absolute_and_normalized(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "a")
    entry = entries(list(scan(["./b/../c.dcm"])))[0]
    assert entry.path == str(tree / "a" / "c.dcm")


def test_a_single_path_is_not_split_into_characters(tree: Path) -> None:
    assert len(entries(list(scan(str(tree))))) == 5
    assert len(entries(list(scan(tree)))) == 5


def test_walk_yields_candidates_without_reading_them(tree: Path) -> None:
    paths = list(walk([tree]))
    assert all(isinstance(p, str) for p in paths)
    assert len(paths) == 6


# --- accepted files and their fields ------------------------------------------------------------


def test_ct_small_fields_match_pydicom(testdata_path: Bundled) -> None:
    path = testdata_path("CT_small.dcm")
    entry = only(read_entry(path, index=7))
    ds = pydicom.dcmread(path)
    assert entry.index == 7
    assert entry.path == path
    assert entry.label == f"{ds.PatientID} · CT · {ds.StudyDate}"
    assert entry.patient_id == ds.PatientID
    assert entry.patient_name == str(ds.PatientName)
    assert entry.study_instance_uid == ds.StudyInstanceUID
    assert entry.study_date == ds.StudyDate
    assert entry.series_instance_uid == ds.SeriesInstanceUID
    assert entry.series_number == ds.SeriesNumber
    assert entry.modality == "CT"
    assert entry.instance_number == ds.InstanceNumber
    assert entry.sop_class_uid == ds.SOPClassUID
    assert entry.sop_instance_uid == ds.SOPInstanceUID
    assert entry.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
    assert entry.photometric_interpretation == "MONOCHROME2"
    assert (entry.rows, entry.columns, entry.frame_count) == (128, 128, 1)
    assert (entry.bits_allocated, entry.bits_stored) == (16, 16)
    assert entry.pixel_representation == 1
    assert entry.samples_per_pixel == 1
    assert entry.has_pixels
    assert entry.default_window is None
    assert entry.support_state is SupportState.RENDERABLE
    assert entry.support_reason is None


def test_lean_reader_and_pydicom_agree_on_every_bundled_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = Path(pydicom.__file__).parent / "data"
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    lean = [read_entry(p) for p in paths]
    monkeypatch.setattr(_header, "read_lean", lambda source: None)
    fallback = [read_entry(p) for p in paths]
    assert lean == fallback
    assert len(entries(lean)) > 150


@pytest.mark.parametrize(
    "name",
    ["no_meta.dcm", "rtstruct.dcm", "ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"],
)
def test_files_without_preamble_are_accepted(testdata_path: Bundled, name: str) -> None:
    entry = only(read_entry(testdata_path(name)))
    assert entry.sop_class_uid
    assert entry.study_instance_uid


def test_no_meta_ct_is_read_like_the_original(testdata_path: Bundled) -> None:
    original = only(read_entry(testdata_path("CT_small.dcm")))
    headless = only(read_entry(testdata_path("no_meta.dcm")))
    assert headless.frame_count == 1
    # its dataset starts one byte in; the frame reader starts there too (test_frames.py)
    assert headless.support_state is SupportState.RENDERABLE
    assert headless.support_reason is None
    assert headless.sop_instance_uid == original.sop_instance_uid
    assert headless.transfer_syntax_uid == "1.2.840.10008.1.2.1"


def test_big_endian_and_deflated_files(testdata_path: Bundled) -> None:
    big = only(read_entry(testdata_path("MR_small_bigendian.dcm")))
    assert big.transfer_syntax_uid == "1.2.840.10008.1.2.2"
    assert (big.rows, big.columns, big.frame_count) == (64, 64, 1)
    assert big.default_window == Window(600.0, 1600.0)
    deflated = only(read_entry(testdata_path("image_dfl.dcm")))
    assert deflated.transfer_syntax_uid == "1.2.840.10008.1.2.1.99"
    assert deflated.has_pixels
    assert deflated.frame_count == 1


def test_multiframe_native_and_rle_counts(testdata_path: Bundled) -> None:
    for name in ("rtdose.dcm", "rtdose_expb.dcm", "rtdose_rle.dcm"):
        assert only(read_entry(testdata_path(name))).frame_count == 15
    assert only(read_entry(testdata_path("SC_rgb_rle_2frame.dcm"))).frame_count == 2


def test_specific_character_set_decodes_names(testdata_path: Bundled) -> None:
    assert only(read_entry(testdata_path("chrRuss.dcm"))).patient_name == "Люкceмбypг"
    japanese = only(read_entry(testdata_path("chrH31.dcm"))).patient_name
    assert japanese == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert only(read_entry(testdata_path("chrGerm.dcm"))).patient_name == "Äneas^Rüdiger"


def test_label_falls_back_to_the_file_name(testdata_path: Bundled) -> None:
    entry = only(read_entry(testdata_path("JPEGLSNearLossless_08.dcm")))
    assert entry.label == "JPEGLSNearLossless_08.dcm"


def test_support_states(testdata_path: Bundled, tmp_path: Path, image_dataset: Any) -> None:
    sr = only(read_entry(testdata_path("test-SR.dcm")))
    assert (sr.has_pixels, sr.frame_count) == (False, 0)
    assert sr.support_state is SupportState.METADATA_ONLY
    assert sr.support_reason == "pixel_data.absent"

    ds = image_dataset(rows=4, columns=4)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no decoder
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
    path = tmp_path / "mpeg.dcm"
    ds.save_as(path, enforce_file_format=True)
    mpeg = only(read_entry(str(path)))
    assert mpeg.support_state is SupportState.UNSUPPORTED
    assert mpeg.support_reason == "transfer_syntax.not_supported"
    assert mpeg.frame_count == 1


# --- default window ------------------------------------------------------------------------------


def test_default_window_takes_the_first_value(tmp_path: Path, dicom_image: ImageWriter) -> None:
    path = dicom_image(tmp_path / "w.dcm", WindowCenter=[40, 300], WindowWidth=[400, 1500])
    assert only(read_entry(str(path))).default_window == Window(40.0, 400.0)
    path = dicom_image(tmp_path / "bad.dcm", WindowCenter="40", WindowWidth="0")
    assert only(read_entry(str(path))).default_window is None


def test_enhanced_multiframe_window_per_frame_then_shared(
    tmp_path: Path, image_dataset: Any
) -> None:
    def voi(center: float, width: float) -> Any:
        item = pydicom.Dataset()
        voi_item = pydicom.Dataset()
        voi_item.WindowCenter = center
        voi_item.WindowWidth = width
        item.FrameVOILUTSequence = [voi_item]
        return item

    ds = image_dataset(frames=2)
    ds.SharedFunctionalGroupsSequence = [voi(100, 200)]
    path = tmp_path / "shared.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert only(read_entry(str(path))).default_window == Window(100.0, 200.0)

    ds.PerFrameFunctionalGroupsSequence = [voi(10, 20), voi(30, 40)]
    ds.save_as(path, enforce_file_format=True)
    assert only(read_entry(str(path))).default_window == Window(10.0, 20.0)


# --- frames present ------------------------------------------------------------------------------


def test_truncated_native_file_lists_only_whole_frames(
    tmp_path: Path, dicom_image: ImageWriter
) -> None:
    path = dicom_image(tmp_path / "mf.dcm", rows=10, columns=10, frames=10)
    assert only(read_entry(str(path))).frame_count == 10
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1300])  # 6.5 of the 200-byte frames missing
    entry = only(read_entry(str(path)))
    assert entry.frame_count == 10  # the declared count: the missing frames answer an error
    assert entry.support_state is SupportState.RENDERABLE
    assert present_frames(entry) == 3


def present_frames(entry: FileEntry) -> int:
    """Frames `read_frame` serves; every later frame must fail as truncated data."""
    clear_layout_cache()
    served = 0
    messages = []
    for index in range(entry.frame_count):
        try:
            read_frame(entry, index)
        except DecodeError as error:
            messages.append(str(error))
            continue
        assert served == index, f"frame {index} served after a missing one"
        served += 1
    assert all("truncated" in m or "missing" in m for m in messages), messages
    return served


def test_truncated_before_the_first_frame(testdata_path: Bundled) -> None:
    entry = only(read_entry(testdata_path("MR_truncated.dcm")))
    assert entry.has_pixels
    assert (entry.rows, entry.columns, entry.bits_allocated, entry.frame_count) == (64, 64, 16, 1)
    assert entry.support_state is SupportState.UNSUPPORTED
    assert entry.support_reason == "pixel_data.truncated"
    assert entry.support_detail == "the pixel data is truncated: 7.9 of 8 KiB present"
    with pytest.raises(DecodeError, match=r"^the pixel data is truncated: 7\.9 of 8 KiB present"):
        read_frame(entry, 0)


def _encapsulated_file(
    tmp_path: Path, image_dataset: Any, *, has_bot: bool, fragments_per_frame: int
) -> Path:
    ds = image_dataset(rows=32, columns=32, frames=6, bits=8, seed=3)
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    frames = list(generate_frames(ds.PixelData, number_of_frames=6))
    ds.PixelData = encapsulate(frames, fragments_per_frame=fragments_per_frame, has_bot=has_bot)
    path = tmp_path / f"j2k-{has_bot}-{fragments_per_frame}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize(("has_bot", "per_frame"), [(True, 1), (False, 1), (True, 2), (False, 2)])
def test_encapsulated_counts_complete_frames_present(
    tmp_path: Path, image_dataset: Any, has_bot: bool, per_frame: int
) -> None:
    path = _encapsulated_file(
        tmp_path, image_dataset, has_bot=has_bot, fragments_per_frame=per_frame
    )
    assert only(read_entry(str(path))).frame_count == 6
    data = path.read_bytes()
    items = list(pydicom.encaps.generate_fragments(pydicom.dcmread(path).PixelData))
    fragments = items[1:]  # the first item is the Basic Offset Table
    value_start = data.rindex(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff") + 12
    bot_length = int.from_bytes(data[value_start + 4 : value_start + 8], "little")
    assert bot_length == (24 if has_bot else 0)
    # keep the offset table, 3 whole frames and 10 bytes of the 4th frame's first fragment
    whole = sum(8 + len(f) for f in fragments[: 3 * per_frame])
    path.write_bytes(data[: value_start + 8 + bot_length + whole + 8 + 10])
    entry = only(read_entry(str(path)))
    assert (entry.frame_count, present_frames(entry)) == (6, 3)
    assert entry.support_state is SupportState.RENDERABLE
    if per_frame == 2:  # cut inside the 3rd frame's second fragment: 2 whole frames
        path.write_bytes(data[: value_start + 8 + bot_length + whole - 10])
        entry = only(read_entry(str(path)))
        assert (entry.frame_count, present_frames(entry)) == (6, 2)


def test_rle_multiframe_without_offset_table(tmp_path: Path, image_dataset: Any) -> None:
    ds = image_dataset(rows=8, columns=8, frames=4, seed=9)
    ds.compress(RLELossless)
    path = tmp_path / "rle.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert only(read_entry(str(path))).frame_count == 4
    assert only(read_entry(str(path))).transfer_syntax_uid == RLELossless


def test_one_gigabyte_file_costs_a_header_read(tmp_path: Path, image_dataset: Any) -> None:
    rows, columns, frames = 1024, 1024, 512  # 1 GiB of 16-bit samples, sparse on disk
    ds = image_dataset(rows=1, columns=1, frames=1)
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.PixelData = b""
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    length = rows * columns * 2 * frames
    assert data.endswith(b"\xe0\x7f\x10\x00OW\x00\x00\x00\x00\x00\x00")
    with path.open("r+b") as fp:
        fp.seek(len(data) - 4)
        fp.write(length.to_bytes(4, "little"))
        fp.truncate(len(data) + length)
    entry = only(read_entry(str(path)))
    assert entry.frame_count == frames
    assert entry.support_state is SupportState.RENDERABLE


# --- files that are not loaded ------------------------------------------------------------------


def test_non_dicom_files_are_rejected(tmp_path: Path, testdata_path: Bundled) -> None:
    rng = np.random.default_rng(5)
    samples = {
        "text.txt": b"just some text\n" * 20,
        "random.bin": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "png.png": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "fake_tag.dcm": b"\x08\x00\x05\x00CS\x04\x00ABCD" + b"\xff" * 300,
        "short.dcm": b"DICM",
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "empty.dcm").write_bytes(b"")
    items = list(scan([tmp_path, testdata_path("rtplan.dump"), testdata_path("zipMR.gz")]))
    assert entries(items) == []
    reasons = {os.path.basename(s.path): (s.reason, s.detail) for s in skipped(items)}
    assert set(reasons) == {*samples, "empty.dcm", "rtplan.dump", "zipMR.gz"}
    assert all(reason == "not_dicom" for reason, _ in reasons.values())
    assert reasons["empty.dcm"][1] == "empty file"


def test_missing_input_is_skipped_as_unreadable(tmp_path: Path) -> None:
    items = list(scan([tmp_path / "nope.dcm"]))
    assert items == [Skipped(str(tmp_path / "nope.dcm"), "unreadable", "No such file or directory")]


def test_fifo_and_socket_never_block(tmp_path: Path, dicom_image: ImageWriter) -> None:
    dicom_image(tmp_path / "ok.dcm")
    os.mkfifo(tmp_path / "pipe.dcm")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock.dcm"))
    try:
        items = run_with_deadline(lambda: list(scan([tmp_path, tmp_path / "pipe.dcm"])))
    finally:
        server.close()
    assert len(entries(items)) == 1
    details = [(os.path.basename(s.path), s.reason, s.detail) for s in skipped(items)]
    assert details == [
        ("pipe.dcm", "unreadable", "a FIFO"),
        ("sock.dcm", "unreadable", "a socket"),
        ("pipe.dcm", "unreadable", "a FIFO"),
    ]
    # read_entry on its own (a file replaced by a FIFO after the walk) does not block either
    result = run_with_deadline(lambda: read_entry(str(tmp_path / "pipe.dcm")))
    assert result == Skipped(str(tmp_path / "pipe.dcm"), "unreadable", "a FIFO")


def test_symlink_loops_and_broken_links(tmp_path: Path, dicom_image: ImageWriter) -> None:
    dicom_image(tmp_path / "d" / "one.dcm")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "up").symlink_to(tmp_path)
    (tmp_path / "d" / "self").symlink_to(tmp_path / "d" / "self")
    (tmp_path / "d" / "broken").symlink_to(tmp_path / "missing")
    (tmp_path / "d" / "link.dcm").symlink_to(tmp_path / "d" / "one.dcm")
    items = run_with_deadline(lambda: list(scan([tmp_path])))
    accepted = [os.path.relpath(e.path, tmp_path) for e in entries(items)]
    assert accepted == ["d/link.dcm", "d/one.dcm"]  # the file link keeps its own name
    reasons = sorted((os.path.basename(s.path), s.reason) for s in skipped(items))
    assert reasons == [("broken", "unreadable"), ("self", "unreadable")]


def test_non_utf8_file_names(tmp_path: Path, image_dataset: Any) -> None:
    raw_dir = os.fsencode(tmp_path) + b"/caf\xe9-\xff"
    os.mkdir(raw_dir)
    raw_file = raw_dir + b"/\xfe\xfd.dcm"
    image_dataset().save_as(os.fsdecode(raw_file), enforce_file_format=True)
    items = list(scan([os.fsencode(tmp_path)]))
    entry = entries(items)[0]
    assert os.fsencode(entry.path) == raw_file
    assert entry.label == "TESTPAT · OT · 20240102"


def test_truncated_headers_never_crash(tmp_path: Path, testdata_path: Bundled) -> None:
    data = Path(testdata_path("CT_small.dcm")).read_bytes()
    pixel_start = len(data) - 128 * 128 * 2
    for cut in [*range(1, 400, 7), *range(400, pixel_start, 211), pixel_start + 100]:
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(data[:cut])
        result = read_entry(str(path))
        if cut < 132:
            assert isinstance(result, Skipped), cut
            assert result.reason == "not_dicom", cut
        elif isinstance(result, FileEntry):
            assert result.support_reason in ("pixel_data.truncated", "pixel_data.absent"), cut
            assert result.support_detail, cut
        else:
            assert result.reason == "unparsable", cut


def test_hostile_deep_nesting_is_read_without_recursion(tmp_path: Path) -> None:
    path = tmp_path / "deep.dcm"
    path.write_bytes(_nested_file(5000))
    entry = only(run_with_deadline(lambda: read_entry(str(path))))
    assert entry.sop_class_uid == "1.2.840.10008.5.1.4.1.1.7"
    assert entry.support_state is SupportState.METADATA_ONLY


def _nested_file(depth: int) -> bytes:
    """Implicit VR LE file with ContentSequence nested *depth* levels (undefined lengths)."""
    meta_ts = b"1.2.840.10008.1.2\x00"
    meta = b"\x02\x00\x10\x00UI" + len(meta_ts).to_bytes(2, "little") + meta_ts
    body = b"\x08\x00\x16\x00\x1a\x00\x00\x001.2.840.10008.5.1.4.1.1.7\x00"
    open_level = b"\x40\x00\x30\xa7\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    close_level = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    return bytes(128) + b"DICM" + meta + body + open_level * depth + close_level * depth


def test_unreadable_file_and_directory(dicom_image: ImageWriter) -> None:
    """Permissions bind a non-root user: when run as root, the scan drops to nobody first."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "perm"
        dicom_image(root / "ok.dcm")
        dicom_image(root / "secret.dcm")
        dicom_image(root / "locked" / "inner.dcm")
        Path(scratch).chmod(0o755)
        root.chmod(0o755)
        (root / "ok.dcm").chmod(0o644)
        (root / "secret.dcm").chmod(0)
        (root / "locked").chmod(0)
        script = textwrap.dedent(
            f"""
            import json, os
            from dcmview_core.discovery import scan, Skipped
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            out = [[i.path, i.reason, i.detail] if isinstance(i, Skipped) else [i.path, "ok", ""]
                   for i in scan([{str(root)!r}])]
            print(json.dumps(out))
            """
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        finally:
            (root / "locked").chmod(0o755)
        rows = [(os.path.relpath(p, root), r, d) for p, r, d in json.loads(done.stdout)]
    assert rows == [
        ("locked", "unreadable", "Permission denied"),
        ("ok.dcm", "ok", ""),
        ("secret.dcm", "unreadable", "Permission denied"),
    ]


# --- filters -------------------------------------------------------------------------------------


def test_filters_skip_with_reason_filtered(tmp_path: Path, dicom_image: ImageWriter) -> None:
    dicom_image(tmp_path / "1.dcm", seed=1, Modality="CT", Manufacturer="Acme Imaging")
    dicom_image(tmp_path / "2.dcm", seed=2, Modality="MR", Manufacturer="Acme Imaging")
    dicom_image(tmp_path / "3.dcm", seed=3, Modality="CT", Manufacturer="Other")
    filters = [parse_filter("modality==ct"), parse_filter("Manufacturer=acme")]
    items = list(scan([tmp_path], filters=filters))
    assert [(os.path.basename(e.path), e.index) for e in entries(items)] == [("1.dcm", 0)]
    assert [(os.path.basename(s.path), s.reason) for s in skipped(items)] == [
        ("2.dcm", "filtered"),
        ("3.dcm", "filtered"),
    ]
    assert "modality==ct" in skipped(items)[0].detail


def _explicit(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"SQ", b"UN", b"UT"):
        return (
            struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<L", len(value)) + value
        )
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


@pytest.mark.parametrize(
    "data",
    [
        # undefined length in the File Meta Information
        bytes(128) + b"DICM" + b"\x02\x00\x01\x00OB\0\0\xff\xff\xff\xff" + bytes(40),
        # an undefined-length sequence holding garbage and no delimiter
        bytes(128)
        + b"DICM"
        + _explicit(2, 0x10, b"UI", b"1.2.840.10008.1.2.1\0")
        + b"\x08\x00\x40\x11SQ\0\0\xff\xff\xff\xff"
        + b"\x01\x02\x03\x04" * 10,
        # deflated syntax over bytes that are not deflate data
        bytes(128)
        + b"DICM"
        + _explicit(2, 0x10, b"UI", b"1.2.840.10008.1.2.1.99\0")
        + b"\x00garbage, not zlib" * 5,
    ],
    ids=["meta-undefined-length", "sequence-garbage", "bad-deflate"],
)
def test_dicm_files_that_do_not_parse_are_unparsable(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.dcm"
    path.write_bytes(data)
    result = read_entry(str(path))
    assert isinstance(result, Skipped)
    assert result.reason == "unparsable"
    assert result.detail


def test_float_pixel_data_and_one_bit_frames(
    tmp_path: Path, image_dataset: Any, testdata_path: Bundled
) -> None:
    ds = image_dataset(rows=4, columns=5, frames=3)
    del ds.PixelData
    del ds.PixelRepresentation
    ds.BitsAllocated = 32
    del ds.BitsStored
    del ds.HighBit
    ds.FloatPixelData = np.arange(60, dtype="<f4").tobytes()
    path = tmp_path / "float.dcm"
    ds.save_as(path, enforce_file_format=True)
    entry = only(read_entry(str(path)))
    assert (entry.has_pixels, entry.frame_count, entry.bits_allocated) == (True, 3, 32)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 81])  # 1 frame of 80 bytes and 1 byte more missing
    entry = only(read_entry(str(path)))
    assert (entry.frame_count, present_frames(entry)) == (3, 1)

    liver = only(read_entry(testdata_path("liver_1frame.dcm")))
    assert (liver.bits_allocated, liver.frame_count) == (1, 1)
    ds = image_dataset(rows=8, columns=8, frames=5, bits=8)
    ds.BitsAllocated = ds.BitsStored = 1
    ds.HighBit = 0
    ds.PixelData = bytes(range(40))  # 5 frames × 64 bits, packed
    path = tmp_path / "bits.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert only(read_entry(str(path))).frame_count == 5
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 9])  # 31 bytes = 3 whole frames of 8 bytes
    entry = only(read_entry(str(path)))
    assert (entry.frame_count, present_frames(entry)) == (5, 3)


def test_oversized_identifying_values_are_not_loaded(tmp_path: Path, image_dataset: Any) -> None:
    ds = image_dataset(transfer_syntax="1.2.840.10008.1.2")  # implicit VR: 4-byte lengths
    with pytest.warns(UserWarning, match="exceeds the maximum length"):
        ds.PatientID = "X" * 200_000
    path = tmp_path / "huge.dcm"
    ds.save_as(path, enforce_file_format=True)
    entry = only(read_entry(str(path)))
    assert entry.patient_id is None  # deferred by the reader, never read into memory
    assert (entry.rows, entry.frame_count) == (8, 1)


def test_mutated_files_never_raise(tmp_path: Path, testdata_path: Bundled) -> None:
    """Byte flips and cuts in real files: a record or a clear error, never an exception."""
    from dcmview_core.errors import TagReadError
    from dcmview_core.tags import tag_tree

    sources = [
        Path(testdata_path(name)).read_bytes()
        for name in ("CT_small.dcm", "rtplan.dcm", "MR_small_RLE.dcm", "rtstruct.dcm")
    ]
    rng = np.random.default_rng(11)
    path = tmp_path / "mutant.dcm"
    for _ in range(150):
        data = bytearray(sources[int(rng.integers(len(sources)))])
        for position in rng.integers(0, len(data), int(rng.integers(1, 8))):
            data[int(position)] = int(rng.integers(256))
        if rng.random() < 0.3:
            data = data[: int(rng.integers(len(data)))]
        path.write_bytes(bytes(data))
        assert isinstance(read_entry(str(path)), FileEntry | Skipped)
        with contextlib.suppress(TagReadError):  # the one error tag_tree may raise
            json.dumps(tag_tree(path), allow_nan=False)


def test_value_converters_cover_every_kind_and_both_byte_orders() -> None:
    from dcmview_core._header import convert

    assert convert("us", b"\x01\x02", True) == 0x0201
    assert convert("us", b"\x01\x02", False) == 0x0102
    assert convert("us", b"\x01", True) is None
    assert convert("us", b"\x01", False) is None
    assert convert("ui", b"1.2.3\x00", True) == "1.2.3"
    assert convert("ui", b"\x00", True) is None
    assert convert("cs", b"CT\\MR ", True) == "CT"
    assert convert("cs", b"  ", True) is None
    assert convert("cs_multi", b"ORIGINAL\\PRIMARY ", True) == ["ORIGINAL", "PRIMARY"]
    assert convert("cs_multi", b" \\ ", True) is None
    assert convert("is", b"12 \\13", True) == 12
    assert convert("is", b"1.0e1", True) == 10
    assert convert("is", b"x", True) is None
    assert convert("ds", b" 40.5\\400", True) == 40.5
    assert convert("ds", b"nan", True) is None
    assert convert("ds", b"abc", True) is None
    assert convert("ds", b"", True) is None
    assert convert("text", b"Name ", True) == b"Name "
    assert convert("pn", b"A^B", False) == b"A^B"


def test_lean_reader_reads_past_its_first_window(tmp_path: Path, dicom_image: ImageWriter) -> None:
    """A header longer than the first read (a 10 KB comment before the image attributes)."""
    path = dicom_image(
        tmp_path / "long.dcm",
        rows=5,
        columns=7,
        frames=2,
        ImageComments="x" * 10_000,
        WindowCenter="40",
        WindowWidth="400",
    )
    with LocalFile(str(path)) as source:
        header = _header.read_lean(source)
    assert header is not None  # the lean path, not the pydicom fallback
    entry = only(read_entry(str(path), index=0))
    assert (entry.rows, entry.columns, entry.frame_count) == (5, 7, 2)
    assert entry.default_window == Window(40.0, 400.0)
    assert entry.support_state is SupportState.RENDERABLE
