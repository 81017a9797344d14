"""End to end: the ``dcmview`` command on a real Orthanc (DICOMweb) and a real S3 (moto).

The same fixture files are viewed three ways, local, ``ROOT --study UID`` and ``s3://bucket/…``,
each through the real CLI process and HTTP API: the file list, tags and every frame's raw
samples must be the same. Orthanc stopped mid-session answers ``502 upstream_failed`` for
frames not yet fetched while the rest (frames already fetched included) keeps working, and a
restart recovers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dcmview_py.testing import scanned_files, start_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages/dcmview-core/tests"))
from remote_servers import (  # type: ignore[import-not-found]
    MotoS3,
    OrthancServer,
    fixture_files,
    orthanc_binary,
)

_BINARY, _WHY = orthanc_binary()


READY = re.compile(r"^dcmview: server running at http://127\.0\.0\.1:(\d+)/#token=(\S+)$")
NAMES = ("CT_small.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_rle_2frame.dcm", "rtdose.dcm")
BUCKET = "dcmview-e2e"


class Viewer:
    """A running ``dcmview`` process and an HTTP client on its API."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        # cwd: a viewer stopped with unexported ROI edits writes its recovery CSV there
        self.proc = start_cli("--no-browser", *args, env=env, cwd=cwd)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().rstrip("\n")
        match = READY.match(first)
        if match is None:
            self.stop()
            raise AssertionError(f"no ready line: {first!r} {self.stderr()}")
        self.base, self.token = f"http://127.0.0.1:{match[1]}", match[2]
        self.http = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""

    def files(self) -> list[dict[str, Any]]:
        body = scanned_files(self.base, self.token)
        assert body["scan_complete"]
        return list(body["files"])

    def stop(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    made: list[Path] = fixture_files(tmp_path_factory.mktemp("fixtures"), NAMES)
    return made


def _by_uid(viewer: Viewer) -> dict[str, dict[str, Any]]:
    return {f["sop_instance_uid"]: f for f in viewer.files()}


def _raw(viewer: Viewer, index: int, frame: int) -> httpx.Response:
    return viewer.http.get(f"/api/file/{index}/frame/{frame}/raw")


def _same_as_local(remote: Viewer, local: Viewer) -> None:
    mine, theirs = _by_uid(remote), _by_uid(local)
    assert set(mine) == set(theirs)
    for uid, entry in mine.items():
        other = theirs[uid]
        for key in ("label", "patient_id", "modality", "rows", "columns", "frame_count"):
            assert entry[key] == other[key], (key, entry["path"])
        for k in range(entry["frame_count"]):
            got, want = _raw(remote, entry["index"], k), _raw(local, other["index"], k)
            assert got.status_code == 200, got.text
            assert got.content == want.content, (entry["path"], k)
        tags = remote.http.get(f"/api/file/{entry['index']}/tags")
        assert tags.status_code == 200
        want = local.http.get(f"/api/file/{other['index']}/tags").json()
        shown = {n["tag"]: n["value"] for n in tags.json()}
        for node in want:
            if node["tag"] in ("(0010,0020)", "(0020,000D)", "(0028,0010)", "(0028,0011)"):
                assert shown[node["tag"]] == node["value"], node["tag"]


@pytest.mark.skipif(_BINARY is None, reason=_WHY)
def test_dicomweb_study_opens_like_the_local_files(tmp_path: Path, files: list[Path]) -> None:
    with OrthancServer(tmp_path / "orthanc") as orthanc:
        orthanc.upload(files)
        local = Viewer(*map(str, files), cwd=tmp_path)
        studies = [arg for f in files for arg in ("--study", _study(f))]
        remote = Viewer(orthanc.dicomweb, *studies, cwd=tmp_path)
        try:
            for entry in remote.files():
                assert entry["path"].startswith(f"dicomweb://127.0.0.1:{orthanc.port}/studies/")
            _same_as_local(remote, local)
        finally:
            remote.stop()
            local.stop()
        # stopped mid-session: uncached frames fail with 502, everything else works
        remote = Viewer(orthanc.dicomweb, *studies, cwd=tmp_path)
        try:
            shown = remote.files()
            rtdose = next(f for f in shown if f["frame_count"] == 15)
            single = next(f for f in shown if f["frame_count"] == 1)
            assert _raw(remote, rtdose["index"], 0).status_code == 200
            orthanc.stop()
            # the other 14 frames came with frame 0 (one frames-list request): still answered
            assert _raw(remote, rtdose["index"], 14).status_code == 200
            failed = _raw(remote, single["index"], 0)  # never fetched
            assert failed.status_code == 502, failed.text
            assert failed.json()["code"] == "upstream_failed"
            assert remote.http.get("/api/files").status_code == 200
            assert remote.http.get(f"/api/file/{rtdose['index']}/tags").status_code == 200
            orthanc.start()
            assert _raw(remote, single["index"], 0).status_code == 200
        finally:
            remote.stop()


def _study(path: Path) -> str:
    import dcmview_core as dc

    entry = dc.read_entry(str(path))
    assert isinstance(entry, dc.FileEntry)
    assert entry.study_instance_uid
    return entry.study_instance_uid


@pytest.fixture
def s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_s3_prefix_opens_like_the_local_files(
    s3: MotoS3, files: list[Path], tmp_path: Path
) -> None:
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    for path in files:
        client.upload_file(str(path), BUCKET, f"study/{path.name}")
    env = dict(os.environ, AWS_ENDPOINT_URL=s3.endpoint)
    local = Viewer(*map(str, files), cwd=tmp_path)
    remote = Viewer(f"s3://{BUCKET}/study/", env=env, cwd=tmp_path)
    try:
        paths = sorted(f["path"] for f in remote.files())
        assert paths == sorted(f"s3://{BUCKET}/study/{p.name}" for p in files)
        _same_as_local(remote, local)
    finally:
        remote.stop()
        local.stop()


def test_unreachable_dicomweb_server_is_a_one_line_error(tmp_path: Path) -> None:
    from remote_servers import free_port

    proc = start_cli(
        "--no-browser",
        f"http://127.0.0.1:{free_port()}/dicom-web",
        "--study",
        "1.2.3",
        cwd=tmp_path,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dcmview: error: cannot reach 127.0.0.1:")
