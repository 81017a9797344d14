"""PNG display frames and JPEG thumbnails: decoded back with Pillow."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from dcmview_core import encode
from dcmview_core.encode import encode_png, encode_thumbnail_jpeg, thumbnail_size
from dcmview_core.errors import UsageError


def decode(data: bytes) -> tuple[np.ndarray, Image.Image]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return np.asarray(image), image


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 3), (5, 9, 3), (1, 1, 3)])
def test_png_round_trips_exactly(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
    pixels, image = decode(encode_png(arr))
    assert image.format == "PNG"
    assert image.mode == ("L" if len(shape) == 2 else "RGB")
    np.testing.assert_array_equal(pixels, arr)


def test_png_of_a_non_contiguous_view() -> None:
    arr = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30).astype(np.uint8)[::2, ::3]
    np.testing.assert_array_equal(decode(encode_png(arr))[0], arr)


@pytest.mark.parametrize(
    "arr",
    [np.zeros((2, 2), np.uint16), np.zeros((2, 2, 4), np.uint8), np.zeros((0, 3), np.uint8)],
)
def test_png_rejects_what_is_not_a_display_image(arr: np.ndarray) -> None:
    with pytest.raises(UsageError):
        encode_png(arr)


@pytest.mark.parametrize(
    ("rows", "columns", "edge", "expected"),
    [
        (1000, 500, 256, (256, 128)),
        (500, 1000, 256, (128, 256)),
        (100, 50, 256, (100, 50)),  # never upscaled
        (3000, 2, 128, (128, 1)),  # at least one pixel
        (1024, 1024, 1024, (1024, 1024)),
    ],
)
def test_thumbnail_size(rows: int, columns: int, edge: int, expected: tuple[int, int]) -> None:
    assert thumbnail_size(rows, columns, edge) == expected


def test_thumbnail_size_rejects_zero() -> None:
    with pytest.raises(UsageError):
        thumbnail_size(10, 10, 0)


def test_jpeg_thumbnail_keeps_aspect_and_content() -> None:
    arr = np.zeros((400, 200), np.uint8)
    arr[:200] = 255  # top half white
    pixels, image = decode(encode_thumbnail_jpeg(arr, 128))
    assert image.format == "JPEG"
    assert image.size == (64, 128)  # width, height
    assert pixels[:50].mean() > 245
    assert pixels[-50:].mean() < 10


def test_jpeg_thumbnail_of_colour() -> None:
    arr = np.zeros((30, 40, 3), np.uint8)
    arr[..., 0] = 255
    pixels, image = decode(encode_thumbnail_jpeg(arr, 256))
    assert image.mode == "RGB"
    assert image.size == (40, 30)
    assert abs(int(pixels[..., 0].mean()) - 255) <= 3
    assert pixels[..., 1].mean() < 5


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every PNG chunk, each CRC checked independently of the encoder."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        crc = int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")
        assert zlib.crc32(kind + payload) == crc, kind
        out.append((kind, payload))
        pos += 12 + length
    return out


@pytest.mark.parametrize("backend", ["isal", "libdeflate"])
@pytest.mark.parametrize("level", [1, 6])
def test_png_of_a_large_frame_decodes_to_the_same_pixels(
    backend: str, level: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "libdeflate":
        monkeypatch.setattr(encode, "_isal", None)
    else:
        assert encode._isal is not None  # isal is a dependency: the fast path must be the one used
    rng = np.random.default_rng(3)
    ramp = np.add.outer(np.arange(700), np.arange(530)) // 5
    arr = ((ramp + rng.integers(0, 9, size=ramp.shape)) % 256).astype(np.uint8)
    data = encode_png(arr, level=level)
    chunks = _chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), np.uint8).reshape(700, 531)
    assert (raw[:, 0] == 2).all()  # the Up filter on every row
    np.testing.assert_array_equal(decode(data)[0], arr)


def test_png_scratch_buffer_is_per_thread_and_never_leaks_between_images() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    images = [rng.integers(0, 256, size=(40 + k, 30 + 3 * k), dtype=np.uint8) for k in range(12)]
    images += [rng.integers(0, 256, size=(20, 10, 3), dtype=np.uint8)]  # smaller after larger
    with ThreadPoolExecutor(4) as pool:
        encoded = list(pool.map(encode_png, images * 3))
    for arr, data in zip(images * 3, encoded, strict=True):
        np.testing.assert_array_equal(decode(data)[0], arr)


@pytest.mark.parametrize("executor_state", ["free", "busy", "shut_down"])
def test_png_deflated_in_two_halves_decodes_to_the_same_pixels(executor_state: str) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    ramp = np.add.outer(np.arange(1100), np.arange(1001)) // 7
    arr = ((ramp + rng.integers(0, 5, size=ramp.shape)) % 256).astype(np.uint8)
    pool = ThreadPoolExecutor(1)
    gate = threading.Event()
    if executor_state == "busy":  # the only worker is taken: the first half is done here
        pool.submit(gate.wait, 5)
    elif executor_state == "shut_down":
        pool.shutdown()
    try:
        data = encode_png(arr, executor=pool)
    finally:
        gate.set()
        pool.shutdown()
    chunks = _chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    zlib.decompress(chunks[1][1])  # one valid zlib stream (checksum included)
    np.testing.assert_array_equal(decode(data)[0], arr)
    assert len(data) < len(encode_png(arr)) * 1.01  # splitting costs (almost) no size


@pytest.mark.parametrize("split", [False, True])
def test_grayscale_png_uses_the_small_deflate_window_and_colour_the_full_one(split: bool) -> None:
    """A zlib inflater limited to a 512-byte window (``wbits`` 9) decodes the grayscale IDAT:
    no match reaches farther back. Colour keeps the 32 KiB window (far matches are used)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(11)
    ramp = np.add.outer(np.arange(1100), np.arange(1001)) // 7
    gray = ((ramp + rng.integers(0, 5, size=ramp.shape)) % 256).astype(np.uint8)
    tile = rng.integers(0, 256, size=(8, 400, 3), dtype=np.uint8)
    colour = np.tile(tile, (40, 1, 1))  # rows repeat 8 rows (9.6 KB) apart
    with ThreadPoolExecutor(1) as pool:
        executor = pool if split else None
        gray_idat = _chunks(encode_png(gray, executor=executor))[1][1]
        colour_idat = _chunks(encode_png(colour, executor=executor))[1][1]
    inflated = zlib.decompressobj(-9).decompress(gray_idat[2:])
    assert inflated[: 1001 + 1] == b"\x02" + gray[0].tobytes()
    assert len(inflated) == 1100 * 1002
    with pytest.raises(zlib.error):  # 'invalid distance too far back'
        zlib.decompressobj(-9).decompress(colour_idat[2:])
    np.testing.assert_array_equal(decode(encode_png(colour))[0], colour)
