"""Object-storage sources against a real S3 server (moto in server mode on 127.0.0.1)."""

from __future__ import annotations

import functools
import gc
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless

import dcmview_core as dc
from dcmview_core.cache import ByteBudgetCache, process_cache
from dcmview_core.remote import objectstore

sys.path.insert(0, str(Path(__file__).parent))  # the real-server fixtures beside this file
from remote_servers import MotoS3, fixture_files

pytest.importorskip("s3fs", reason="the [s3] extra (s3fs) is not installed")

BUCKET = "dcmview-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    dc.remote.configure(s3_endpoint=server.endpoint)
    server.client().create_bucket(Bucket=BUCKET)
    try:
        yield server
    finally:
        objectstore.settings.s3_endpoint = None
        objectstore.reset_filesystems()
        server.stop()


@pytest.fixture(scope="module")
def study(s3: MotoS3, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every fixture file, uploaded under ``study/``: object name → local copy."""
    files = fixture_files(tmp_path_factory.mktemp("fixtures"))
    client = s3.client()
    out = {}
    for path in files:
        client.upload_file(str(path), BUCKET, f"study/{path.name}")
        out[f"s3://{BUCKET}/study/{path.name}"] = path
    client.put_object(Bucket=BUCKET, Key="study/notes.txt", Body=b"not a DICOM file")
    return out


def _local_frames(path: Path) -> list[dc.Frame]:
    entry = dc.read_entry(str(path))
    assert isinstance(entry, dc.FileEntry)
    return [dc.read_frame(entry, k) for k in range(entry.frame_count)]


def test_listing_is_in_key_order_and_includes_every_object(study: dict[str, Path]) -> None:
    names = list(objectstore.list_objects(f"s3://{BUCKET}/study/"))
    assert names == sorted([*study, f"s3://{BUCKET}/study/notes.txt"])


def test_every_transfer_syntax_decodes_like_the_local_file(study: dict[str, Path]) -> None:
    syntaxes = set()
    for name, path in study.items():
        entry = dc.read_entry(name)
        assert isinstance(entry, dc.FileEntry), entry
        local = dc.read_entry(str(path))
        assert isinstance(local, dc.FileEntry)
        assert entry.path == name
        assert (entry.transfer_syntax_uid, entry.frame_count, entry.label) == (
            local.transfer_syntax_uid,
            local.frame_count,
            local.label,
        )
        syntaxes.add(entry.transfer_syntax_uid)
        for k, expected in enumerate(_local_frames(path)):
            frame = dc.read_frame(entry, k)
            np.testing.assert_array_equal(frame.samples, expected.samples)
            assert frame.meta == expected.meta
    assert len(syntaxes) >= 11  # every syntax of the fixtures, compressed and native


def test_tag_tree_of_an_object_matches_the_local_file(study: dict[str, Path]) -> None:
    name, path = next(iter(study.items()))
    assert dc.tag_tree(name) == dc.tag_tree(str(path))


def test_a_non_dicom_object_is_skipped(study: dict[str, Path]) -> None:
    skipped = dc.read_entry(f"s3://{BUCKET}/study/notes.txt")
    assert isinstance(skipped, dc.Skipped)
    assert skipped.reason == "not_dicom"


def test_missing_object_and_bucket_are_one_line_errors(s3: MotoS3) -> None:
    with pytest.raises(dc.UsageError, match="no objects found"):
        dc.prepare_inputs([f"s3://{BUCKET}/nothing-here/"])
    with pytest.raises(dc.UsageError) as info:
        dc.prepare_inputs(["s3://no-such-bucket-dcmview/x/"])
    assert "\n" not in str(info.value)
    skipped = dc.read_entry(f"s3://{BUCKET}/study/missing.dcm")
    assert isinstance(skipped, dc.Skipped)
    assert skipped.reason == "unreadable"


def test_prepare_inputs_keeps_local_paths_and_checked_prefixes(
    study: dict[str, Path], tmp_path: Path
) -> None:
    prefix = f"s3://{BUCKET}/study/"
    assert dc.prepare_inputs([str(tmp_path), prefix]) == [str(tmp_path), prefix]


def test_scan_of_a_prefix_lists_every_object(study: dict[str, Path]) -> None:
    items = list(dc.scan([f"s3://{BUCKET}/study/"]))
    entries = [i for i in items if isinstance(i, dc.FileEntry)]
    assert sorted(e.path for e in entries) == sorted(study)
    assert [e.index for e in entries] == list(range(len(entries)))


# --- the ranged-read budget -----------------------------------------------------------------------


def _multiframe(frames: int, rows: int, columns: int, *, encapsulated: bool) -> bytes:
    """A multi-frame MONOCHROME2 16-bit object with noise frames (incompressible)."""
    import io

    import imagecodecs

    ds: Any = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless if encapsulated else ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.13.1.3"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1512.16.99.1"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1512.16.99"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1512.16.99.2"
    ds.PatientID, ds.Modality = "BIG", "MG"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    rng = np.random.default_rng(7)
    stack = rng.integers(0, 4096, (frames, rows, columns), dtype=np.uint16)
    if encapsulated:
        ds.PixelData = encapsulate([bytes(imagecodecs.jpegls_encode(f)) for f in stack])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    else:
        ds.PixelData = stack.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize("encapsulated", [False, True], ids=["native", "jpeg-ls"])
def test_first_frame_of_a_large_object_costs_a_few_ranged_reads(
    s3: MotoS3, encapsulated: bool
) -> None:
    data = _multiframe(48, 1024, 1024, encapsulated=encapsulated)
    key = f"big/{'jls' if encapsulated else 'native'}.dcm"
    s3.client().put_object(Bucket=BUCKET, Key=key, Body=data)
    name = f"s3://{BUCKET}/{key}"
    s3.reset_counts()
    entry = dc.read_entry(name)
    assert isinstance(entry, dc.FileEntry)
    assert entry.frame_count == 48
    header = sum(s.nbytes for s in s3.counts(key))
    frame = dc.read_frame(entry, 0)
    served = s3.counts(key)
    total = sum(s.nbytes for s in served)
    assert all(s.range for s in served if s.method == "GET"), "a GET without Range read it all"
    frame_bytes = total - header
    # the header and the fragment walk cost under 1 % of the object; the frame one range
    assert header <= 0.01 * len(data), (header, len(data))
    assert frame_bytes <= 1.05 * len(data) / 48 + 8192
    assert len([s for s in served if s.method == "GET"]) <= 4 + 48 * encapsulated
    assert frame.samples.shape == (1024, 1024)


# --- one cache budget ----------------------------------------------------------------------------


def _gets(s3: MotoS3, key: str, expected: int) -> int:
    """GETs moto served for *key*, once it has recorded *expected* of them (it records a request
    after the body is sent) or after 2 s."""
    import time

    deadline = time.monotonic() + 2.0
    while True:
        found = len([s for s in s3.counts(key) if s.method == "GET"])
        if found >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_header_blocks_count_against_the_frame_cache_budget(
    s3: MotoS3, study: dict[str, Path]
) -> None:
    name = f"s3://{BUCKET}/study/CT_small.dcm"
    objectstore.reset_filesystems()  # no block of an earlier test
    budget = ByteBudgetCache(2 * 2**20)  # the process's one budget, as a server's frame cache is
    try:
        assert process_cache() is budget
        source = objectstore.open_object(name)
        s3.reset_counts()
        head = source.read_at(0, 4096)  # a header window: one block, kept in the frame budget
        assert _gets(s3, "CT_small.dcm", 1) == 1
        assert budget.stats().used_bytes >= min(objectstore.BLOCK, source.size)
        assert source.read_at(128, 4) == head[128:132] == b"DICM"
        assert _gets(s3, "CT_small.dcm", 2) == 1  # from the block
        assert isinstance(dc.read_entry(name), dc.FileEntry)
        # frames viewed twice (protected, as header blocks are) fill the budget and push the
        # blocks out: one budget, never both in full
        frames = budget.view("frame")
        for k in range(8):
            frames.put(("frame", k), np.zeros(2**18, np.uint8))
            frames.get(("frame", k))
        assert budget.stats().used_bytes <= budget.budget_bytes
        s3.reset_counts()
        assert source.read_at(128, 4) == b"DICM"
        assert _gets(s3, "CT_small.dcm", 1) == 1  # evicted: read again
        del frames
    finally:
        del budget
        gc.collect()
    # no frame cache alive: a private fallback of 64 MiB
    assert process_cache().budget_bytes == objectstore.BLOCK_CACHE_BYTES


# --- gs:// ----------------------------------------------------------------------------------------


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_gs_without_gcsfs_is_a_one_line_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as if not installed: import raises
    objectstore.reset_filesystems()
    with pytest.raises(dc.UsageError) as info:
        dc.prepare_inputs(["gs://bucket/study/"])
    assert str(info.value) == "gs:// sources need gcsfs: pip install 'dcmview-core[gcs]'"


@pytest.mark.skipif(
    not (_has("gcsfs") and _has("gcp_storage_emulator")),
    reason="gs:// needs gcsfs and gcp-storage-emulator (dcmview-core's dev group)",
)
def test_gs_prefix_through_gcsfs_on_a_storage_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gcp_storage_emulator.server import create_server  # type: ignore[import-untyped]
    from remote_servers import free_port

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket="dcmview-gcs")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")  # gcsfs's own
    objectstore.reset_filesystems()
    try:
        files = fixture_files(tmp_path, ["CT_small.dcm", "JPEG2000.dcm", "rtdose.dcm"])
        fs = objectstore.filesystem("gcs")
        for path in files:
            fs.pipe(f"dcmview-gcs/study/{path.name}", path.read_bytes())
        assert dc.prepare_inputs(["gs://dcmview-gcs/study/"]) == ["gs://dcmview-gcs/study/"]
        names = list(dc.remote.list_remote("gs://dcmview-gcs/study/"))
        assert names == [f"gs://dcmview-gcs/study/{p.name}" for p in files]
        for name, path in zip(names, files, strict=True):
            entry = dc.read_entry(name)
            assert isinstance(entry, dc.FileEntry), entry
            local = dc.read_entry(str(path))
            assert isinstance(local, dc.FileEntry)
            assert entry.transfer_syntax_uid == local.transfer_syntax_uid
            for k, expected in enumerate(_local_frames(path)):
                np.testing.assert_array_equal(dc.read_frame(entry, k).samples, expected.samples)
        with pytest.raises(dc.UsageError, match="no objects found"):
            dc.prepare_inputs(["gs://dcmview-gcs/absent/"])
    finally:
        objectstore.reset_filesystems()
        server.stop()


# --- plain HTTP(S) objects ---------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_https_glob_of_objects_on_a_plain_web_server(tmp_path: Path) -> None:
    files = fixture_files(tmp_path, ["CT_small.dcm", "JPEG2000.dcm"])
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert dc.prepare_inputs([f"{base}/*.dcm"]) == [f"{base}/*.dcm"]
        names = list(dc.remote.list_remote(f"{base}/*.dcm"))
        assert names == [f"{base}/{p.name}" for p in files]
        for name, path in zip(names, files, strict=True):
            entry = dc.read_entry(name)
            assert isinstance(entry, dc.FileEntry)
            (expected,) = _local_frames(path)
            np.testing.assert_array_equal(dc.read_frame(entry, 0).samples, expected.samples)
    finally:
        server.shutdown()
        server.server_close()
