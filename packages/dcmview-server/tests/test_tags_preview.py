"""``GET /api/file/{i}/tags``: the body is the preview's JSON byte for byte (masked under
``--mask``), encoded once per file and served from the cache afterwards."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dcmview_core import FileEntry, scan, tag_tree

from dcmview_server.frames import FrameService
from dcmview_server.masking import Masker
from dcmview_server.responses import json_bytes


def _entries(root: Path) -> list[FileEntry]:
    return [e for e in scan([str(root)]) if isinstance(e, FileEntry)]


def _expected(entry: FileEntry, masker: Masker | None) -> bytes:
    nodes = tag_tree(entry.path)
    return json_bytes(masker.tags(nodes, entry.patient_id) if masker is not None else nodes)


def test_the_body_is_the_preview_json_and_stays_so(make_server: Any, study: Path) -> None:
    entries = _entries(study)
    srv = make_server((str(study),))
    for entry in entries:
        first = srv.get(f"/api/file/{entry.index}/tags")
        assert first.status_code == 200, entry.path
        assert first.headers["content-type"] == "application/json"
        assert first.content == _expected(entry, None), entry.path
        again = srv.get(f"/api/file/{entry.index}/tags")  # from the cache
        assert again.content == first.content


def test_the_masked_body_is_the_masked_preview(
    make_server: Any, study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = b"k" * 32
    monkeypatch.setattr(secrets, "token_bytes", lambda n: secret[:n])  # the server's Masker
    entries = _entries(study)
    srv = make_server((str(study),), mask=True)
    masker = Masker((str(study),), secret=secret)
    for entry in entries:
        expected = _expected(entry, masker)
        assert expected != _expected(entry, None)  # masking changes every file here
        for _ in range(2):  # computed, then cached
            body = srv.get(f"/api/file/{entry.index}/tags").content
            assert body == expected, entry.path
    # the plain and masked previews of one process never share a cache entry
    plain = make_server((str(study),))
    assert plain.get("/api/file/0/tags").content == _expected(entries[0], None)


def test_an_unreadable_header_is_an_error_each_time(make_server: Any, tmp_path: Path) -> None:
    """A failure is not cached as a body: each request answers the error."""
    good = tmp_path / "a.dcm"
    good.write_bytes(Path(_ct_small()).read_bytes())
    srv = make_server((str(tmp_path),))
    good.unlink()  # gone since the scan
    for _ in range(2):
        answer = srv.get("/api/file/0/tags")
        assert answer.status_code == 422
        assert answer.json()["code"] == "tag_read_failed"


def _ct_small() -> str:
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm")
    assert isinstance(path, str)
    return path


def test_the_body_is_encoded_once_per_file_and_variant(study: Path) -> None:
    entry = _entries(study)[5]
    pool = ThreadPoolExecutor(1)
    calls: list[str] = []

    def encode(nodes: list[dict[str, Any]]) -> bytes:
        calls.append("plain")
        return json_bytes(nodes)

    def other(nodes: list[dict[str, Any]]) -> bytes:
        calls.append("other")
        return b"[]"

    async def main() -> None:
        service = FrameService(pool, 8 * 2**20, 1)
        first = await service.tags_body(entry, encode, "plain")
        assert await service.tags_body(entry, encode, "plain") is first
        assert ("tags_body", entry.index, "plain") in service.encoded
        assert await service.tags_body(entry, other, "other") == b"[]"
        assert first == _expected(entry, None)

    asyncio.run(main())
    pool.shutdown()
    assert calls == ["plain", "other"]
