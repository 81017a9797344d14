"""Pure parts of the overlays: polygon filling, CIELab colours, array classification, labels."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest

from dcmview_core.errors import UsageError
from dcmview_core.overlays import (
    cielab_to_srgb,
    classify,
    fill_polygons,
    mask_label,
    palette_colour,
    parse_segment_labels,
)


def _brute(polygons: list[list[tuple[float, float]]], rows: int, cols: int) -> np.ndarray:
    """Independent even-odd test, pixel by pixel (crossing number of a ray towards +x)."""
    out = np.zeros((rows, cols), bool)
    for r in range(rows):
        for c in range(cols):
            inside = False
            for pts in polygons:
                for i in range(len(pts)):
                    (x1, y1), (x2, y2) = pts[i], pts[(i + 1) % len(pts)]
                    if (y1 > r) != (y2 > r) and c < x1 + (r - y1) * (x2 - x1) / (y2 - y1):
                        inside = not inside
            out[r, c] = inside
    return out


def test_square_on_pixel_centres_covers_the_half_open_box() -> None:
    square = np.array([(10.0, 10.0), (20.0, 10.0), (20.0, 20.0), (10.0, 20.0)])
    got = fill_polygons([square], 32, 32)
    expected = np.zeros((32, 32), bool)
    expected[10:20, 10:20] = True
    np.testing.assert_array_equal(got, expected)
    closed = np.vstack([square, square[:1]])  # a repeated first vertex changes nothing
    np.testing.assert_array_equal(fill_polygons([closed], 32, 32), expected)


def test_random_polygons_match_an_independent_even_odd_test() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        polys = [
            [(float(x), float(y)) for x, y in rng.uniform(-3, 23, (int(rng.integers(3, 9)), 2))]
            for _ in range(int(rng.integers(1, 3)))
        ]
        got = fill_polygons([np.array(p) for p in polys], 17, 21)
        np.testing.assert_array_equal(got, _brute(polys, 17, 21))


def test_polygons_outside_or_degenerate_fill_nothing() -> None:
    assert not fill_polygons([np.array([(-9.0, -9.0), (-5.0, -9.0), (-5.0, -5.0)])], 8, 8).any()
    assert not fill_polygons([np.array([(1.0, 1.0), (5.0, 1.0)])], 8, 8).any()
    assert not fill_polygons([], 8, 8).any()
    big = fill_polygons([np.array([(-5.0, -5.0), (50.0, -5.0), (50.0, 50.0), (-5.0, 50.0)])], 8, 8)
    assert big.all()


@pytest.mark.parametrize(
    "value",
    [
        (65535, 32896, 32896),
        (0, 32896, 32896),
        (34885, 53485, 50171),
        (21169, 53249, 15372),
        (30000, 50000, 40000),
        (60000, 20000, 62000),
    ],
)
def test_cielab_matches_highdicom(value: tuple[int, int, int]) -> None:
    assert cielab_to_srgb(value) == hd.color.CIELabColor.from_dicom_value(value).to_rgb(clip=True)


def test_cielab_white_black_and_palette() -> None:
    assert cielab_to_srgb((65535, 32896, 32896)) == (255, 255, 255)
    assert cielab_to_srgb((0, 32896, 32896)) == (0, 0, 0)
    assert palette_colour(1) == (255, 80, 80)
    assert palette_colour(13) == palette_colour(1)
    with pytest.raises(ValueError, match="3 components"):
        cielab_to_srgb((1, 2))


def test_classify_arrays() -> None:
    assert classify(np.zeros((2, 2), bool)).encoding == "binary"
    labels = np.array([[0, 3], [3, 7]], np.uint8)
    assert (classify(labels).encoding, classify(labels).numbers) == ("labels", (3, 7))
    assert classify(np.array([[0.0, 0.25], [np.nan, 1.0]])).encoding == "fraction"
    as_float = classify(np.array([[0.0, 2.0], [5.0, 5.0]], np.float32))  # float label maps
    assert (as_float.encoding, as_float.numbers) == ("labels", (2, 5))
    with pytest.raises(ValueError, match="below 65536"):
        classify(np.array([70000], np.uint32))
    with pytest.raises(ValueError, match="not complex128"):
        classify(np.zeros(2, complex))


def test_mask_label_and_segment_labels(tmp_path: object) -> None:
    assert mask_label("/x/liver_pred.nii.gz") == "liver_pred"
    assert mask_label("a.npy") == "a"
    assert mask_label("seg.dcm") == "seg.dcm"
    assert parse_segment_labels('{"1": "tumour", "2": "edema"}') == {1: "tumour", 2: "edema"}
    for bad, message in [
        ("[1]", "JSON object"),
        ('{"x": "a"}', "not a segment number"),
        ('{"0": "a"}', "≥ 1"),
        ("{", "not JSON"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_segment_labels(bad)


def test_lean_group_reader_refuses_what_it_does_not_expect() -> None:
    from dcmview_core.overlays import _groups

    def item(content: bytes) -> bytes:
        return b"\xfe\xff\x00\xe0" + len(content).to_bytes(4, "little") + content

    us = b"\x62\x00\x0b\x00US" + (2).to_bytes(2, "little") + (7).to_bytes(2, "little")
    inner = item(us)
    ident = b"\x62\x00\x0a\x00SQ\x00\x00" + len(inner).to_bytes(4, "little") + inner
    good = item(ident)
    assert _groups.per_frame_items(good, True) == [{0x0062000A: [{0x0062000B: 7}]}]
    for bad in (good[:-3], b"\x08\x00\x16\x00" + good[4:], good[:4] + b"\xff\xff\x00\x00"):
        with pytest.raises(ValueError, match=r"runs past|expected an item"):
            _groups.per_frame_items(bad, True)
    deep = b""
    for _ in range(40):  # nesting deeper than any SEG: refused, not a RecursionError
        deep = (
            b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
            + b"\x08\x00\x24\x91SQ\x00\x00\xff\xff\xff\xff"
            + deep
        )
    with pytest.raises(ValueError, match="nested too deep"):
        _groups.per_frame_items(deep, True)


def test_label_map_over_some_segments_and_the_overlap_flag() -> None:
    from dcmview_core.overlays.model import (
        ArraySlice,
        Grid,
        OverlayLayer,
        Plane,
        Segment,
        build_overlay,
        label_map_overlap,
    )

    rng = np.random.default_rng(3)
    a = rng.random((6, 7)) > 0.5
    b = rng.random((6, 7))  # fractional 0–1: covers from 50 %

    def overlay(planes: list[Plane]) -> OverlayLayer:
        segments = [Segment(n, str(n), (1, 2, 3)) for n in (1, 2, 3)]
        return build_overlay(
            id="o1",
            kind="mask",
            label="m",
            source="m.npy",
            segments=segments,
            planes={(0, 0): planes},
            grids={0: Grid(6, 7)},
        )

    both = overlay(
        [Plane(2, "fraction", ArraySlice(b)), Plane(1, "binary", ArraySlice(a.astype(np.uint8)))]
    )
    over = b * 2 >= 1
    full, overlap = label_map_overlap(both, 0, 0)
    np.testing.assert_array_equal(full, np.where(over, 2, np.where(a, 1, 0)))
    assert overlap is True and (a & over).any()  # noqa: PT018
    one, overlap = label_map_overlap(both, 0, 0, [1])
    np.testing.assert_array_equal(one, np.where(a, 1, 0))
    assert overlap is False
    _, overlap = label_map_overlap(
        overlay([Plane(1, "binary", ArraySlice(a & ~over)), Plane(2, "fraction", ArraySlice(b))]),
        0,
        0,
    )
    assert overlap is False
    labels = rng.integers(0, 4, (6, 7))
    flat = overlay([Plane(0, "labels", ArraySlice(labels))])
    got, overlap = label_map_overlap(flat, 0, 0, [3, 1])
    np.testing.assert_array_equal(got, np.where(np.isin(labels, [1, 3]), labels, 0))
    assert overlap is False
