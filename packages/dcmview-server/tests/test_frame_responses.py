"""Frame responses on both send paths: a small body in one block with its headers (encoded once
per cached frame), a large one streamed behind them. Pixels exact, headers complete and each
sent once, on a real server; the header encoding and the stamp as units."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dcmview_core import FileEntry, read_frame, render_display, scan
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from sanic.response import HTTPResponse

from dcmview_server.frames import raw_headers
from dcmview_server.middleware import stamper
from dcmview_server.responses import encode_headers, prepared
from dcmview_server.routes.frames import ONE_BLOCK_BYTES

LARGE = 768  # 768×768 16-bit: 1.1 MiB raw, a noisy PNG of ≈ 550 KiB


def _write(path: Path, pixels: np.ndarray) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.WindowCenter = 2000
    ds.WindowWidth = 3000
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.save_as(path, enforce_file_format=True)


def _pixels(size: int) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 4096, (size, size), dtype=np.uint16)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frame-responses")
    _write(root / "a_small.dcm", _pixels(16))
    _write(root / "b_large.dcm", _pixels(LARGE))
    return root


EXPECTED_RAW = {
    "x-cache",
    "x-frame-rows",
    "x-frame-columns",
    "x-frame-bits-allocated",
    "x-frame-bits-stored",
    "x-frame-pixel-representation",
    "x-frame-samples-per-pixel",
    "x-frame-photometric-interpretation",
    "x-frame-sample-format",
    "x-frame-rescale-slope",
    "x-frame-rescale-intercept",
    "x-frame-voi-lut-function",
    "x-frame-has-overlay",
    "x-frame-default-wc",
    "x-frame-default-ww",
}
EXPECTED_PNG = {
    "x-cache",
    "x-frame-window-center",
    "x-frame-window-width",
    "x-frame-voi-lut-function",
    "x-frame-window-source",
}
EVERY = {
    "content-type",
    "content-length",
    "connection",
    "x-content-type-options",
    "x-server-instance",
    "referrer-policy",
    "cache-control",
    "server-timing",
}


def _check_headers(response: Any, expected: set[str], instance: str) -> None:
    names = {name.lower() for name in response.headers}
    assert names == expected | EVERY
    for name in names:  # each exactly once
        assert len(response.headers.get_list(name)) == 1, name
    h = response.headers
    assert h["content-length"] == str(len(response.content))
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-server-instance"] == instance
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    assert h["server-timing"].startswith("app;dur=")
    assert h["connection"] == "keep-alive"


@pytest.mark.parametrize(("index", "size"), [(0, 16), (1, LARGE)])
def test_raw_frames_on_both_paths(study: Path, make_server: Any, index: int, size: int) -> None:
    server = make_server((str(study),))
    instance = str(server.get("/api/health").json()["server_start_ms"])
    assert (size * size * 2 > ONE_BLOCK_BYTES) == (size == LARGE)
    for cache in ("MISS", "HIT"):
        response = server.get(f"/api/file/{index}/frame/0/raw")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["x-cache"] == cache
        samples = np.frombuffer(response.content, dtype="<u2").reshape(size, size)
        assert np.array_equal(samples, _pixels(size))
        _check_headers(response, EXPECTED_RAW, instance)
        h = response.headers
        assert (h["x-frame-rows"], h["x-frame-columns"]) == (str(size), str(size))
        assert (h["x-frame-default-wc"], h["x-frame-default-ww"]) == ("2000", "3000")
        assert (h["x-frame-rescale-slope"], h["x-frame-rescale-intercept"]) == ("1", "-1024")
        assert h["x-frame-photometric-interpretation"] == "MONOCHROME2"


@pytest.mark.parametrize(("index", "size"), [(0, 16), (1, LARGE)])
def test_display_pngs_on_both_paths(study: Path, make_server: Any, index: int, size: int) -> None:
    server = make_server((str(study),))
    instance = str(server.get("/api/health").json()["server_start_ms"])
    entry = [e for e in scan(str(study)) if isinstance(e, FileEntry)][index]
    expected = render_display(read_frame(entry, 0), center=None, width=None).image
    for cache in ("MISS", "HIT"):
        response = server.get(f"/api/file/{index}/frame/0")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.headers["x-cache"] == cache
        assert (len(response.content) > ONE_BLOCK_BYTES) == (size == LARGE)
        image = np.asarray(Image.open(io.BytesIO(response.content)))
        assert np.array_equal(image, expected)
        _check_headers(response, EXPECTED_PNG, instance)
        h = response.headers
        assert (h["x-frame-window-center"], h["x-frame-window-width"]) == ("2000", "3000")
        assert h["x-frame-window-source"] == "dicom"


def test_prepared_headers_are_the_frame_headers(study: Path, make_server: Any) -> None:
    """The encoded block sends exactly `raw_headers` and the PNG's window headers."""
    server = make_server((str(study),))
    entry = next(e for e in scan(str(study)) if isinstance(e, FileEntry))
    frame = read_frame(entry, 0)
    raw = server.get("/api/file/0/frame/0/raw").headers
    assert {k: raw[k] for k in raw_headers(frame)} == raw_headers(frame)
    png = server.get("/api/file/0/frame/0", params={"wc": "10.5", "ww": "7"}).headers
    assert (png["x-frame-window-center"], png["x-frame-window-width"]) == ("10.5", "7")
    again = server.get("/api/file/0/frame/0", params={"wc": "10.5", "ww": "7"}).headers
    assert again["x-cache"] == "HIT"
    assert {k: v for k, v in again.items() if k != "server-timing"} == {
        **{k: v for k, v in png.items() if k != "server-timing"},
        "x-cache": "HIT",
    }


def test_encode_headers_as_sanic_does() -> None:
    """CR, LF and NUL are removed (no header injection from a file's values), values are
    UTF-8 with surrogate escapes, and an ``Access-Control-*`` header is never sent."""
    block = encode_headers(
        {
            "X-Frame-Photometric-Interpretation": "MONO\r\nSet-Cookie: a=b\x00",
            "X-Path": "caf\u00e9 \udcff",
            "Access-Control-Allow-Origin": "*",
            "access-control-max-age": 5,
            "X-Frame-Rows": 64,
        }
    )
    assert block == (
        (b"X-Frame-Photometric-Interpretation", b"MONOSet-Cookie: a=b"),
        (b"X-Path", "caf\u00e9 ".encode() + b"\xff"),
        (b"X-Frame-Rows", b"64"),
    )
    expected = HTTPResponse(headers={"X-Path": "caf\u00e9 \udcff"}).processed_headers
    assert (b"X-Path", "caf\u00e9 ".encode() + b"\xff") in list(expected)


def test_stamp_of_prepared_and_plain_responses() -> None:
    """A prepared response carries the same stamp headers as a plain one, and the stamp
    leaves it alone (no header twice); plain responses keep their own cache policy."""
    decorate = stamper("123")
    plain = HTTPResponse(b"x", headers={"Cache-Control": "no-cache", "Access-Control-X": "1"})
    decorate(plain)
    assert dict(plain.headers) == {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "X-Server-Instance": "123",
        "Referrer-Policy": "no-referrer",
    }
    response = prepared(123, b"body", "image/png", ((b"X-Cache", b"HIT"),))
    decorate(response)
    assert not response.headers
    names = [name for name, _ in response.processed_headers]
    assert len(names) == len(set(names))
    assert dict(response.processed_headers) == {
        b"X-Cache": b"HIT",
        b"X-Content-Type-Options": b"nosniff",
        b"X-Server-Instance": b"123",
        b"Referrer-Policy": b"no-referrer",
        b"Cache-Control": b"no-store",
        b"content-type": b"image/png",
    }


@pytest.mark.parametrize(
    "value", ["ok", "a\rb", "a\nb", "a\x00b", "\r\n\r\nX: y", "\u00e9t\u00e9", "\udcff", 8192, 0.5]
)
def test_encode_headers_matches_sanic(value: object) -> None:
    """Byte for byte what Sanic itself would send for the same header."""
    headers: Any = {"X-T\r\n": value}  # Sanic formats any value with str()
    sanic_sent = dict(HTTPResponse(headers=headers).processed_headers)
    assert encode_headers({"X-T\r\n": value}) == ((b"X-T", sanic_sent[b"X-T"]),)
