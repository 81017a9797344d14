"""PNG display frames and JPEG thumbnails: decoded back with Pillow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

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
