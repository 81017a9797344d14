"""DICOMweb sources against a real Orthanc with its DICOMweb plugin on 127.0.0.1."""

from __future__ import annotations

import gc
import io
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

import dcmview_core as dc
from dcmview_core import frames as frames_module
from dcmview_core.cache import ByteBudgetCache, process_cache
from dcmview_core.remote import _http, dicomweb
from dcmview_core.remote._json import dataset_from_json

sys.path.insert(0, str(Path(__file__).parent))  # the real-server fixtures beside this file
from remote_servers import OrthancServer, fixture_files, free_port, orthanc_binary

_BINARY, _WHY = orthanc_binary()
pytestmark = pytest.mark.skipif(_BINARY is None, reason=_WHY)


# frames.read_source_frame lets a source decode its own frames (requested from core-structure)
class _Probe:
    """A source that decodes its own frames: does `read_source_frame` let it?"""

    name, size, version = "probe://frames-hook", 0, None

    def read_at(self, offset: int, length: int) -> bytes:
        raise OSError("not readable by byte")

    def read_frame(self, index: int) -> str:
        return "own"


def test_a_source_that_reads_its_own_frames_is_asked_for_them() -> None:
    # DICOMweb instances decode each frame in the syntax the server answered with.
    assert frames_module.read_source_frame(_Probe(), 0) == "own"  # type: ignore[comparison-overlap]


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    _http.reset_clients()
    yield
    _http.settings.token = None
    _http.reset_clients()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fixture_files(tmp_path_factory.mktemp("fixtures"))


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, files: list[Path]) -> Iterator[OrthancServer]:
    with OrthancServer(tmp_path_factory.mktemp("orthanc")) as server:
        server.upload(files)
        yield server


def _study(path: Path) -> str:
    entry = dc.read_entry(str(path))
    assert isinstance(entry, dc.FileEntry)
    assert entry.study_instance_uid is not None
    return entry.study_instance_uid


def _instances(orthanc: OrthancServer, path: Path) -> list[dicomweb.Instance]:
    urls = dc.prepare_inputs([orthanc.dicomweb], studies=[_study(path)])
    return [dicomweb.open_instance(n) for url in urls for n in dicomweb.list_instances(url)]


def _local(path: Path) -> dc.FileEntry:
    entry = dc.read_entry(str(path))
    assert isinstance(entry, dc.FileEntry)
    return entry


def test_every_transfer_syntax_decodes_like_the_local_file(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    syntaxes = set()
    for path in files:
        (instance,) = _instances(orthanc, path)
        local = _local(path)
        assert instance.frame_count == local.frame_count
        for k in range(local.frame_count):
            frame = instance.read_frame(k)
            expected = dc.read_frame(local, k)
            np.testing.assert_array_equal(frame.samples, expected.samples, err_msg=path.name)
            assert frame.meta == expected.meta, path.name
        assert instance.transfer_syntax_uid == local.transfer_syntax_uid  # learnt from frames
        syntaxes.add(local.transfer_syntax_uid)
    assert len(syntaxes) == 11  # every syntax of the fixtures, native and compressed


def test_frames_come_per_frame_in_the_stored_syntax(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "SC_rgb_rle_2frame.dcm")
    (instance,) = _instances(orthanc, path)
    before = len(orthanc.requests())
    data, syntax = instance.fetch_frame(1)
    assert syntax == "1.2.840.10008.1.2.5"  # RLE as stored: our decoder decodes it
    assert data[:4] == (3).to_bytes(4, "little")  # an RLE header: three segments (RGB)
    sent = orthanc.requests()[before:]
    assert len(sent) == 1
    assert sent[0].endswith(f"/instances/{instance.sop}/frames/2")


def test_the_scan_reads_metadata_only(orthanc: OrthancServer, files: list[Path]) -> None:
    before = len(orthanc.requests())
    roots = dc.prepare_inputs([orthanc.dicomweb], studies=[_study(p) for p in files])
    names = [n for url in roots for n in dc.remote.list_remote(url)]
    entries = [dc.read_entry(n) for n in names]
    assert all(isinstance(e, dc.FileEntry) for e in entries)
    sent = orthanc.requests()[before:]
    assert sent, "Orthanc logged no request"
    for line in sent:
        method, path = line.split(" ", 1)
        assert method == "GET"
        assert path.endswith(("/series", "/metadata")), line  # QIDO series + WADO-RS metadata
    assert not any("/frames/" in line or "/bulk/" in line for line in sent)


def test_entries_carry_what_a_local_scan_shows(orthanc: OrthancServer, files: list[Path]) -> None:
    for path in files:
        (instance,) = _instances(orthanc, path)
        entry = dc.read_entry(instance.name)
        local = _local(path)
        assert isinstance(entry, dc.FileEntry)
        assert entry.path == instance.name
        assert entry.path.startswith(f"dicomweb://127.0.0.1:{orthanc.port}/studies/")
        for field in (
            "label",
            "patient_id",
            "study_instance_uid",
            "series_instance_uid",
            "sop_instance_uid",
            "modality",
            "rows",
            "columns",
            "frame_count",
            "photometric_interpretation",
            "bits_allocated",
            "support_state",
            "geometry",
        ):
            assert getattr(entry, field) == getattr(local, field), (path.name, field)


def test_tag_tree_comes_from_the_metadata(orthanc: OrthancServer, files: list[Path]) -> None:
    path = next(p for p in files if p.name == "CT_small.dcm")
    (instance,) = _instances(orthanc, path)
    tree = dc.tag_tree(instance.name)
    local = {n["tag"]: n for n in dc.tag_tree(str(path))}
    shown = {n["tag"]: n for n in tree}
    for tag in ("(0010,0020)", "(0020,000D)", "(0028,0010)", "(0028,0030)", "(0020,0032)"):
        assert shown[tag]["value"] == local[tag]["value"], tag


def test_scan_and_read_frame_through_the_public_api(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    roots = dc.prepare_inputs([orthanc.dicomweb], studies=[_study(p) for p in files])
    entries = [e for e in dc.scan(roots) if isinstance(e, dc.FileEntry)]
    assert len(entries) == len(files)
    by_uid = {_local(p).sop_instance_uid: p for p in files}
    for entry in entries:
        local = _local(by_uid[entry.sop_instance_uid])
        frame = dc.read_frame(entry, entry.frame_count - 1)
        expected = dc.read_frame(local, local.frame_count - 1)
        np.testing.assert_array_equal(frame.samples, expected.samples)


def test_a_url_naming_a_series_and_a_query(orthanc: OrthancServer, files: list[Path]) -> None:
    path = files[0]
    local = _local(path)
    url = (
        f"{orthanc.dicomweb}/studies/{local.study_instance_uid}/series/{local.series_instance_uid}"
    )
    assert dc.prepare_inputs([url]) == [url]
    (name,) = dc.remote.list_remote(url)
    assert name.endswith(f"/instances/{local.sop_instance_uid}")
    found = dc.prepare_inputs([orthanc.dicomweb], queries=[f"PatientID={local.patient_id}"])
    assert f"{orthanc.dicomweb}/studies/{local.study_instance_uid}" in found


def test_more_matches_than_the_limit_says_so(
    orthanc: OrthancServer, capsys: pytest.CaptureFixture[str]
) -> None:
    found = dc.prepare_inputs([orthanc.dicomweb], queries=["PatientID=*"], limit=3)
    assert len(found) == 3
    assert "more than 3 studies match PatientID=*" in capsys.readouterr().err


def test_failures_at_start_are_one_line_errors(orthanc: OrthancServer) -> None:
    with pytest.raises(dc.UsageError, match=r"study 1\.2\.3\.4 not found on 127\.0\.0\.1"):
        dc.prepare_inputs([orthanc.dicomweb], studies=["1.2.3.4"])
    with pytest.raises(dc.UsageError, match="needs --study UID or --query"):
        dc.prepare_inputs([f"{orthanc.dicomweb}/studies"])
    with pytest.raises(dc.UsageError, match="need a DICOMweb service root"):
        dc.prepare_inputs(["/tmp"], studies=["1.2.3"])
    closed = free_port()
    with pytest.raises(dc.UsageError, match=f"cannot reach 127.0.0.1:{closed}"):
        dc.prepare_inputs([f"http://127.0.0.1:{closed}/dicom-web"], studies=["1.2.3"])


def test_basic_auth_from_netrc_and_url_never_shows_the_password(
    tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    two = next(p for p in files if p.name == "SC_rgb_rle_2frame.dcm")  # read in a window
    with OrthancServer(tmp_path / "orthanc", users={"alice": "s3cret-pw"}) as server:
        server.upload([files[0], two])
        study = _study(files[0])
        with pytest.raises(dc.UsageError, match=r"access denied \(401\)") as denied:
            dc.prepare_inputs([server.dicomweb], studies=[study])
        assert "\n" not in str(denied.value)
        # basic auth from ~/.netrc
        home = tmp_path / "home"
        home.mkdir()
        (home / ".netrc").write_text("machine 127.0.0.1 login alice password s3cret-pw\n")
        (home / ".netrc").chmod(0o600)
        monkeypatch.setenv("HOME", str(home))
        _http.reset_clients()
        (url,) = dc.prepare_inputs([server.dicomweb], studies=[study])
        (name,) = dc.remote.list_remote(url)
        entry = dc.read_entry(name)
        assert isinstance(entry, dc.FileEntry)
        (url,) = dc.prepare_inputs([server.dicomweb], studies=[_study(two)])
        (name,) = dc.remote.list_remote(url)
        frame = dicomweb.open_instance(name).read_frame(1)  # a streamed window, same credentials
        np.testing.assert_array_equal(frame.samples, dc.read_frame(_local(two), 1).samples)
        monkeypatch.setenv("HOME", str(tmp_path))  # no netrc any more
        _http.reset_clients()
        # user:password@ in the URL: used, and stripped from every name and message
        with_userinfo = server.dicomweb.replace("http://", "http://alice:s3cret-pw@")
        (url,) = dc.prepare_inputs([with_userinfo], studies=[study])
        assert "s3cret" not in url
        names = list(dc.remote.list_remote(url))
        assert names
        assert not any("s3cret" in n or "alice" in n for n in names)
        (url,) = dc.prepare_inputs([with_userinfo], studies=[_study(two)])
        (name,) = dc.remote.list_remote(url)
        frame = dicomweb.open_instance(name).read_frame(0)
        np.testing.assert_array_equal(frame.samples, dc.read_frame(_local(two), 0).samples)
        wrong = server.dicomweb.replace("http://", "http://alice:wrong-pw@")
        _http.reset_clients()
        with pytest.raises(dc.UsageError) as info:
            dc.prepare_inputs([wrong], studies=[study])
        assert "wrong-pw" not in str(info.value)


class _TokenEcho(BaseHTTPRequestHandler):
    """A loopback server answering QIDO with 401 unless the bearer token is right."""

    seen: list[str | None] = []  # noqa: RUF012 - shared with the test

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append(auth)
        ok = auth == "Bearer good-token"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/dicom+json")
        body = b"[]"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_bearer_token_is_sent_and_never_echoed() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEcho)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    try:
        with pytest.raises(dc.UsageError, match=r"access denied \(401\)") as info:
            dc.prepare_inputs([root], studies=["1.2.3"], token="bad-token")
        assert "bad-token" not in str(info.value)
        with pytest.raises(dc.UsageError, match="not found"):  # accepted: the study is absent
            dc.prepare_inputs([root], studies=["1.2.3"], token="good-token")
        assert _TokenEcho.seen[-1] == "Bearer good-token"
    finally:
        server.shutdown()
        server.server_close()


def test_server_stopped_mid_session_fails_frames_only_and_recovers(
    tmp_path: Path, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    server = OrthancServer(tmp_path / "orthanc")
    server.start()
    try:
        server.upload([path])
        (instance,) = _instances(server, path)
        expected = dc.read_frame(_local(path), 3)
        np.testing.assert_array_equal(instance.read_frame(3).samples, expected.samples)
        server.stop()
        # frames 4… came in frame 3's window: they are still answered; frame 0 was not fetched
        np.testing.assert_array_equal(
            instance.read_frame(4).samples, dc.read_frame(_local(path), 4).samples
        )
        with pytest.raises(dc.UpstreamError, match=f"cannot reach 127.0.0.1:{server.port}"):
            instance.read_frame(0)
        # the rest keeps working: the entry, its tags
        assert isinstance(dc.read_entry(instance.name), dc.FileEntry)
        assert dc.tag_tree(instance.name)
        server.start()  # same port, same storage
        np.testing.assert_array_equal(
            instance.read_frame(0).samples, dc.read_frame(_local(path), 0).samples
        )
    finally:
        server.stop()


# --- the stored transfer syntax --------------------------------------------------------------

COMPRESSED = ("JPEG2000.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_RLE.dcm")


def test_stored_syntax_is_taken_only_from_what_says_it() -> None:
    j2k, jls = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80"
    assert dicomweb.stored_syntax({"00020010": {"vr": "UI", "Value": [j2k]}}) == j2k
    assert dicomweb.stored_syntax({"00083002": {"vr": "UI", "Value": [jls]}}) == jls
    assert dicomweb.stored_syntax({"00083002": {"vr": "UI", "Value": [jls, j2k]}}) == ""
    assert dicomweb.stored_syntax({}) == ""


def test_the_syntax_is_unknown_until_a_frame_names_it_never_guessed(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    for name in COMPRESSED:
        path = next(p for p in files if p.name == name)
        (instance,) = _instances(orthanc, path)
        truth = _local(path).transfer_syntax_uid
        # Orthanc's metadata names no syntax (no 0002,0010, no 0008,3002): unknown, not a guess
        assert instance.transfer_syntax_uid == "", name
        assert "TransferSyntaxUID" not in instance.header_dataset().file_meta, name
        shown = {n["tag"]: n["value"] for n in dc.tag_tree(instance.name)}
        assert shown.get("(0002,0010)") in (None, ""), name
        instance.read_frame(0)  # the frame's Content-Type says transfer-syntax=…
        assert instance.transfer_syntax_uid == truth, name
        assert instance.header_dataset().file_meta.TransferSyntaxUID == truth, name
        shown = {n["tag"]: n["value"] for n in dc.tag_tree(instance.name)}
        assert truth in str(shown["(0002,0010)"]), name


def test_the_entry_never_shows_a_wrong_syntax(orthanc: OrthancServer, files: list[Path]) -> None:
    for name in COMPRESSED:
        path = next(p for p in files if p.name == name)
        (instance,) = _instances(orthanc, path)
        entry = dc.read_entry(instance.name)
        assert isinstance(entry, dc.FileEntry)
        assert entry.transfer_syntax_uid in ("", _local(path).transfer_syntax_uid), name
        assert entry.support_state == _local(path).support_state, name


# --- multi-frame instances: frames lists ---------------------------------------------------------


def _frame_lists(lines: list[str]) -> list[list[int]]:
    found = [re.search(r"/frames/([0-9,]+)$", line) for line in lines]
    return [[int(n) for n in m[1].split(",")] for m in found if m]


def test_a_multi_frame_instance_comes_in_one_frames_list_request(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    (instance,) = _instances(orthanc, path)
    local = _local(path)
    before = len(orthanc.requests())
    for k in range(local.frame_count):
        frame = instance.read_frame(k)
        np.testing.assert_array_equal(frame.samples, dc.read_frame(local, k).samples)
        assert frame.meta == dc.read_frame(local, k).meta
    # Orthanc parses the whole instance per frames request: one request for all 15 frames
    assert _frame_lists(orthanc.requests()[before:]) == [list(range(1, 16))]


def test_frames_lists_hold_at_most_the_shared_cache_budget(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    local = _local(path)
    budget = ByteBudgetCache(4000)  # the process's one budget, as a server's frame cache is
    try:
        assert process_cache() is budget
        (instance,) = _instances(orthanc, path)
        before = len(orthanc.requests())
        for k in range(local.frame_count):
            frame = instance.read_frame(k)
            np.testing.assert_array_equal(frame.samples, dc.read_frame(local, k).samples)
            assert budget.stats().used_bytes <= 4000
        lists = _frame_lists(orthanc.requests()[before:])
        # 400-byte frames weighed 656 bytes each: 0.8 × 4000 holds four per request
        assert lists[0] == [1, 2, 3, 4]
        assert all(len(frames) <= 4 for frames in lists), lists
        assert sorted(n for frames in lists for n in frames) == list(range(1, 16))  # each once
        assert budget.stats().evictions == 0  # every part was used before it could be evicted
    finally:
        del budget
        gc.collect()
    assert process_cache().budget_bytes == 64 * 2**20  # no frame cache alive: the fallback


def test_a_window_leaves_the_protected_frames_alone(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    budget = ByteBudgetCache(8000)
    try:
        budget.put("viewed twice", b"x" * 4000)
        assert budget.get("viewed twice") is not None  # protected now
        (instance,) = _instances(orthanc, path)
        before = len(orthanc.requests())
        instance.read_frame(0)
        # 0.8 × (8000 - 4000 protected) holds four 656-byte parts (the whole budget: nine)
        assert _frame_lists(orthanc.requests()[before:])[0] == [1, 2, 3, 4]
        assert "viewed twice" in budget
    finally:
        del budget
        gc.collect()


def test_windows_follow_the_direction_and_skip_frames_handed_out(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    local = _local(path)
    (instance,) = _instances(orthanc, path)
    before = len(orthanc.requests())
    for k in [*range(5, 15), 6, 4, 3]:
        frame = instance.read_frame(k)
        np.testing.assert_array_equal(frame.samples, dc.read_frame(local, k).samples)
    lists = _frame_lists(orthanc.requests()[before:])
    assert lists[0] == list(range(6, 16))  # frame 5 and the rest forward, in one request
    # frame 6 again (decoded upstream, then evicted), going back: alone, not the handed 5, 4…
    assert lists[1] == [7]
    assert lists[2][:4] == [5, 4, 3, 2]  # frame 4, then 3: a window backward
    assert len(lists) == 3


def test_the_multipart_stream_parser_equals_first_part_and_spots_truncation(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "SC_rgb_rle_2frame.dcm")
    (instance,) = _instances(orthanc, path)
    response = _http.get(f"{instance.url}/frames/1,2", accept=dicomweb.ACCEPT_FRAMES)
    content_type, body = response.headers["content-type"], response.content
    for size in (1, 7, 100, len(body)):
        parts = dicomweb.PartStream.of(content_type)
        got = [p for k in range(0, len(body), size) for p in parts.feed(body[k : k + size])]
        assert parts.done
        assert [data for _, data in got] == [instance.fetch_frame(0)[0], instance.fetch_frame(1)[0]]
        assert got[1][0]["content-location"].endswith("/frames/2")
    parts = dicomweb.PartStream.of(content_type)
    assert len(parts.feed(body[: len(body) - 10])) == 2 or not parts.done
    assert not parts.done


def _enhanced(tmp_path: Path, syntax: str) -> Path:
    """A 3-frame enhanced MR-like file whose frames differ in rescale and position (per-frame
    functional groups), native or RLE."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID

    rng = np.random.default_rng(3)
    stack = rng.integers(0, 4000, (3, 16, 12), dtype=np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(dicomweb.EXPLICIT_LE)
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.4.1")
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.826.0.1.3680043.10.1512.16.77.1")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName, ds.PatientID, ds.Modality = "Zoë^Test", "ENH", "MR"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 16, 12, 3
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    items = []
    for k in range(3):
        item = Dataset()
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = 1 + k, -100 * k
        transform.RescaleType = "US"
        item.PixelValueTransformationSequence = [transform]
        position = Dataset()
        position.ImagePositionPatient = [0, 0, 2.5 * k]
        item.PlanePositionSequence = [position]
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = items
    ds.PixelData = stack.tobytes()
    if syntax != dicomweb.EXPLICIT_LE:
        ds.compress(syntax, encoding_plugin="pydicom")
    path = tmp_path / f"enhanced-{syntax}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("syntax", [dicomweb.EXPLICIT_LE, "1.2.840.10008.1.2.5"])
def test_per_frame_groups_survive_the_frame_file_template(tmp_path: Path, syntax: str) -> None:
    path = _enhanced(tmp_path, syntax)
    local = _local(path)
    full = pydicom.dcmread(path)
    header = pydicom.dcmread(path, stop_before_pixels=True)
    template = dicomweb.FrameFileTemplate(header, syntax)
    for k in range(3):
        data = (
            pydicom.encaps.get_frame(full.PixelData, k, number_of_frames=3)
            if (syntax != dicomweb.EXPLICIT_LE)
            else full.PixelData[k * 384 : (k + 1) * 384]
        )
        made = template.file(k, data)
        frame = frames_module.read_source_frame(dicomweb.MemorySource(f"t{syntax}#{k}", made), 0)
        expected = dc.read_frame(local, k)
        np.testing.assert_array_equal(frame.samples, expected.samples)
        assert frame.meta.rescale_slope == expected.meta.rescale_slope == 1 + k
        assert frame.meta.rescale_intercept == expected.meta.rescale_intercept
        assert replace(frame.meta, frame_index=k, number_of_frames=3) == expected.meta
        assert dicomweb.one_frame_file(header, k, data, syntax) == made
        assert pydicom.dcmread(io.BytesIO(made)).PatientName == "Zoë^Test"


def test_a_split_memory_source_reads_like_its_joined_bytes() -> None:
    head, tail = bytes(range(7)), bytes(range(100, 113))
    split, joined = dicomweb.MemorySource("split", head, tail), head + tail
    assert split.size == len(joined)
    for offset in range(len(joined) + 2):
        for length in (0, 1, 3, 7, 20, 40):
            assert split.read_at(offset, length) == joined[offset : offset + length]
            target = bytearray(length)
            done = split.read_into(offset, memoryview(target))
            assert bytes(target[:done]) == joined[offset : offset + length]


def _real_frame_response(orthanc: OrthancServer, instance: dicomweb.Instance) -> httpx.Response:
    return _http.get(f"{instance.url}/frames/1", accept=dicomweb.ACCEPT_FRAMES)


def test_a_truncated_multipart_body_is_an_upstream_error(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "JPEG2000.dcm")
    (instance,) = _instances(orthanc, path)
    response = _real_frame_response(orthanc, instance)
    content_type, body = response.headers["content-type"], response.content
    data, syntax = dicomweb.first_part(content_type, body)
    assert syntax == "1.2.840.10008.1.2.4.91"
    assert data.startswith(b"\xff\x4f\xff\x51")
    for cut in (len(body) - 10, len(body) // 2, 40):
        with pytest.raises(dc.UpstreamError, match="truncated multipart body"):
            dicomweb.first_part(content_type, body[:cut])


def _values(ds: Dataset) -> dict[str, object]:
    out: dict[str, object] = {}
    for element in ds:
        if element.VR == "SQ":
            out[str(element.tag)] = [_values(item) for item in element.value]
        else:
            out[str(element.tag)] = element.value
    return out


CHARSETS = Path(pydicom.__file__).parent / "data" / "charset_files"


def test_raw_json_datasets_equal_pydicoms_conversion(files: list[Path]) -> None:
    names = ("chrFren.dcm", "chrX1.dcm", "chrJapMulti.dcm", "chrRuss.dcm", "chrSQEncoding.dcm")
    texts = [CHARSETS / n for n in names]
    for path in [*files, *texts]:
        with dc.quiet_pydicom(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rtdose.dcm holds an invalid UI in a sequence
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            as_json = ds.to_json_dict(bulk_data_threshold=10**9)
            expected = _values(Dataset.from_json(as_json))
            got = _values(dataset_from_json(as_json))
        assert got == expected, path.name


# --- frames windows read straight into their parts ----------------------------------------------


class _Body:
    """A body read as an `_http.Reply`: ``readinto`` fills, ``read1`` gives at most *step*."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self.step = step
        self.into = 0

    def read1(self, size: int) -> bytes:
        return self._data.read1(min(size, self.step))

    def readinto(self, target: memoryview) -> int:
        n = self._data.readinto(target)
        self.into += n
        return n


def _parts_read_into(
    content_type: str, body: _Body | _http.Reply
) -> tuple[dicomweb.PartStream, list[tuple[dict[str, str], bytes | memoryview]]]:
    """The parts of *body* read as `Instance._run_window` reads a window."""
    parts, got = dicomweb.PartStream.of(content_type), []
    while not parts.done:
        sink = parts.sink()
        if sink is not None:
            n = body.readinto(sink)
            out = parts.filled(n) if n else None
        else:
            chunk = body.read1(dicomweb.CHUNK)
            out = parts.feed(chunk) if chunk else None
        if out is None:
            break
        got += out
    return parts, got


def test_parts_with_a_length_are_read_straight_into_their_buffers(
    orthanc: OrthancServer, files: list[Path]
) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    (instance,) = _instances(orthanc, path)
    response = _http.get(f"{instance.url}/frames/1,2,3", accept=dicomweb.ACCEPT_FRAMES)
    content_type, body = response.headers["content-type"], response.content
    fed = dicomweb.PartStream.of(content_type)
    expected = [bytes(data) for _, data in fed.feed(body)]
    assert len(expected) == 3
    assert fed.done
    for step in (1, 7, 100, dicomweb.CHUNK):
        reader = _Body(body, step)
        parts, got = _parts_read_into(content_type, reader)
        assert parts.done
        assert [bytes(data) for _, data in got] == expected
        # Orthanc's parts say their length: most of their bytes went straight into them
        assert reader.into >= sum(len(d) for d in expected) - 3 * step, step
    # a part is out once its declared bytes are in, before the delimiter after it
    end = body.index(expected[0]) + len(expected[0])
    parts = dicomweb.PartStream.of(content_type)
    assert [bytes(d) for _, d in parts.feed(body[:end])] == [expected[0]]
    # ... and a part longer than it says is caught when that delimiter comes
    longer = body[:end] + b"xx" + body[end:]
    with pytest.raises(dc.UpstreamError, match="longer than declared"):
        dicomweb.PartStream.of(content_type).feed(longer)


def test_a_native_frame_is_the_part_it_came_in(orthanc: OrthancServer, files: list[Path]) -> None:
    path = next(p for p in files if p.name == "rtdose.dcm")
    (instance,) = _instances(orthanc, path)
    local = _local(path)
    data, syntax = instance.fetch_frame(2)
    frame = frames_module.read_source_frame(dicomweb.HeldFrame(instance, syntax, 2, data), 2)
    np.testing.assert_array_equal(frame.samples, dc.read_frame(local, 2).samples)
    assert frame.meta == replace(dc.read_frame(local, 2).meta, transfer_syntax_uid=syntax)
    assert np.shares_memory(frame.samples, np.frombuffer(data, np.uint8))  # no copy
    # another syntax's held header leaves the instance's own dataset alone
    other = dicomweb.HeldFrame(instance, "1.2.840.10008.1.2", 2, data).header_dataset()
    assert other.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert instance.frame_dataset().file_meta.TransferSyntaxUID == syntax


class _KeepAlive(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive answers of one multipart part; counts connections; with `drop`,
    closes each connection after its answer without saying so (an idle timeout)."""

    protocol_version = "HTTP/1.1"
    connections = 0
    drop = False
    redirect_to: str | None = None
    seen: list[str | None] = []  # noqa: RUF012 - shared with the test
    BODY = b"--b\r\nContent-Length: 5\r\n\r\nhello\r\n--b--\r\n"

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        if self.redirect_to is not None:
            self.send_response(307)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header(
            "Content-Type", 'multipart/related; type="application/octet-stream"; boundary=b'
        )
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)
        self.close_connection = self.drop

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def keep_alive() -> Iterator[str]:
    _KeepAlive.connections, _KeepAlive.drop, _KeepAlive.redirect_to = 0, False, None
    _KeepAlive.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _window(url: str) -> list[bytes]:
    with _http.stream_into(url, accept=dicomweb.ACCEPT_FRAMES) as reply:
        assert reply.status_code == 200
        parts, got = _parts_read_into(reply.headers["content-type"], reply)
        assert parts.done
        return [bytes(data) for _, data in got]


def test_streamed_windows_keep_their_connection_alive(keep_alive: str) -> None:
    for _ in range(3):
        assert _window(f"{keep_alive}/frames/1") == [b"hello"]
    assert _KeepAlive.connections == 1


def test_a_connection_the_server_dropped_is_replaced_at_once(
    keep_alive: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _KeepAlive.drop = True  # each answer ends its connection, unannounced
    backoffs: list[float] = []
    monkeypatch.setattr("dcmview_core.remote._http.time.sleep", backoffs.append)
    for _ in range(3):
        assert _window(f"{keep_alive}/frames/1") == [b"hello"]
    assert _KeepAlive.connections == 3
    assert backoffs == []  # a new connection at once, not a retry after a pause


def test_streamed_windows_carry_the_token_and_follow_redirects(
    keep_alive: str, orthanc: OrthancServer, files: list[Path]
) -> None:
    _http.settings.token = "good-token"
    _http.reset_clients()
    assert _window(f"{keep_alive}/frames/1") == [b"hello"]
    assert _KeepAlive.seen == ["Bearer good-token"]
    path = next(p for p in files if p.name == "SC_rgb_rle_2frame.dcm")
    (instance,) = _instances(orthanc, path)
    _KeepAlive.redirect_to = f"{instance.url}/frames/1,2"
    # a redirect to another origin: followed by httpx, which drops the token there
    expected = [bytes(instance.fetch_frame(0)[0]), bytes(instance.fetch_frame(1)[0])]
    assert _window(f"{keep_alive}/frames/1,2") == expected
