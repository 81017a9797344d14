"""RoiSet rules as a PUT body sees them: every rule, every message, canonicalization."""

from __future__ import annotations

import math

import pytest

from dcmview_annotations import Geometry, RoiSet, RoiValidationError, parse_roi_set

GEOM = Geometry(frame_count=10, rows=800, columns=600)


def problems(payload: object, geometry: Geometry | None = GEOM) -> list[tuple[str, str, str]]:
    with pytest.raises(RoiValidationError) as info:
        parse_roi_set(payload, geometry)
    return [(p.field, p.rule, p.message) for p in info.value.problems]


def test_valid_payload_is_canonicalized() -> None:
    roi = parse_roi_set(
        {
            "num_roi": 2,
            "roi_coords": [[220, 430, 120, 340], [400.5, 510, 480, 590]],
            "roi_frames": [[2, 0, 1, 1], [6, 5]],
        },
        GEOM,
    )
    assert roi.roi_coords == ((120.0, 340.0, 220.0, 430.0), (400.5, 510.0, 480.0, 590.0))
    assert roi.roi_frames == ((0, 1, 2), (5, 6))
    assert roi.num_roi == 2
    assert roi.to_json() == {
        "num_roi": 2,
        "roi_coords": [[120, 340, 220, 430], [400.5, 510, 480, 590]],
        "roi_frames": [[0, 1, 2], [5, 6]],
    }
    # integral values are written as ints (JSON 120, not 120.0)
    first = roi.to_json()["roi_coords"]
    assert isinstance(first, list)
    assert all(type(v) is int for v in first[0])


def test_optional_fields_default_to_all_frames_and_derived_count() -> None:
    roi = parse_roi_set({"roi_coords": [[1, 2, 3, 4], [5, 6, 7, 8]]}, GEOM)
    assert roi.roi_frames == ((), ())
    assert roi.num_roi == 2
    same = parse_roi_set({"roi_coords": [[1, 2, 3, 4], [5, 6, 7, 8]], "roi_frames": []}, GEOM)
    assert same == roi
    nulls = parse_roi_set({"roi_coords": [[1, 2, 3, 4]], "roi_frames": None, "num_roi": None}, GEOM)
    assert nulls.roi_frames == ((),)


def test_frames_given_as_empty_or_left_out_are_written_back_as_empty() -> None:
    """Issue 12 §5: ``roi_frames: []`` (or absent) answers ``[]`` as the original did."""
    boxes = [[1, 2, 3, 4], [5, 6, 7, 8]]
    for payload in ({"roi_coords": boxes}, {"roi_coords": boxes, "roi_frames": []}):
        assert parse_roi_set(payload, GEOM).to_json()["roi_frames"] == []
    explicit = parse_roi_set({"roi_coords": boxes, "roi_frames": [[], []]}, GEOM)
    assert explicit.to_json()["roi_frames"] == [[], []]
    assert explicit == parse_roi_set({"roi_coords": boxes, "roi_frames": []}, GEOM)  # same meaning


def test_empty_set_and_whole_image_box_are_valid() -> None:
    assert parse_roi_set({"num_roi": 0, "roi_coords": [], "roi_frames": []}, GEOM) == RoiSet.empty()
    assert RoiSet.empty().to_json() == {"num_roi": 0, "roi_coords": [], "roi_frames": []}
    whole = parse_roi_set({"roi_coords": [[0, 0, 800, 600]], "roi_frames": [[9]]}, GEOM)
    assert whole.roi_coords == ((0, 0, 800, 600),)


def test_integral_floats_are_accepted_for_counts_and_frames() -> None:
    roi = parse_roi_set({"num_roi": 1.0, "roi_coords": [[1, 2, 3, 4]], "roi_frames": [[2.0]]}, GEOM)
    assert roi.roi_frames == ((2,),)


def test_body_must_be_an_object() -> None:
    assert problems([1, 2]) == [
        (
            "body",
            "not_an_object",
            'must be a JSON object {"num_roi", "roi_coords", "roi_frames"}, got [1,2]',
        )
    ]


def test_roi_coords_is_required_and_unknown_keys_are_named() -> None:
    assert problems({"roi_coord": []}) == [
        (
            "roi_coord",
            "unknown_key",
            "is not a RoiSet field (expected num_roi, roi_coords, roi_frames)",
        ),
        ("roi_coords", "missing_field", "is required"),
    ]


def test_roi_coords_must_be_an_array() -> None:
    assert problems({"roi_coords": {"a": 1}}) == [
        (
            "roi_coords",
            "not_an_array",
            'must be a JSON array of [ymin, xmin, ymax, xmax] boxes, got {"a":1}',
        )
    ]


@pytest.mark.parametrize(
    ("box", "rule", "message"),
    [
        ([1, 2, 3], "box_shape", "box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got [1,2,3]"),
        (5, "box_shape", "box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got 5"),
        ([1, "2", 3, 4], "not_a_number", "box 1 has a non-numeric xmin: '2'"),
        ([1, 2, True, 4], "not_a_number", "box 1 has a non-numeric ymax: true"),
        ([1, 2, 3, None], "not_a_number", "box 1 has a non-numeric xmax: null"),
        ([math.nan, 2, 3, 4], "not_finite", "box 1 has a non-finite ymin: NaN"),
        ([1, 2, math.inf, 4], "not_finite", "box 1 has a non-finite ymax: Infinity"),
        (
            [1, 2, 10**400, 4],
            "not_finite",
            "box 1 has a non-finite ymax: " + str(10**400)[:59] + "…",
        ),
        ([-1, 2, 3, 4], "out_of_bounds", "box 1 lies outside the image: ymin -1 is negative"),
        ([5, 2, 5, 4], "empty_box", "box 1 is empty (zero height): [5,2,5,4]"),
        ([1, 4, 3, 4], "empty_box", "box 1 is empty (zero width): [1,4,3,4]"),
        ([3, 4, 3, 4], "empty_box", "box 1 is empty (zero height and width): [3,4,3,4]"),
    ],
)
def test_box_rules(box: object, rule: str, message: str) -> None:
    assert problems({"roi_coords": [box]}) == [("roi_coords", rule, message)]


def test_every_problem_of_one_box_is_listed() -> None:
    """Issue 12 §7: a negative corner does not hide that the box is also empty."""
    assert problems({"roi_coords": [[-1, 5, -1, 5]]}) == [
        ("roi_coords", "out_of_bounds", "box 1 lies outside the image: ymin -1 is negative"),
        ("roi_coords", "out_of_bounds", "box 1 lies outside the image: ymax -1 is negative"),
        ("roi_coords", "empty_box", "box 1 is empty (zero height and width): [-1,5,-1,5]"),
    ]


def test_a_box_with_a_negative_corner_is_placed_too() -> None:
    """Every problem of the box: the negative corner and the corner beyond the image."""
    with pytest.raises(RoiValidationError) as caught:
        parse_roi_set({"roi_coords": [[-1, 2, 3, 601]], "roi_frames": [[0, 10]]}, GEOM)
    assert [(p.field, p.rule) for p in caught.value.problems] == [
        ("roi_coords", "out_of_bounds"),
        ("roi_coords", "out_of_bounds"),
        ("roi_frames", "frame_out_of_range"),
    ]
    assert "ymin -1 is negative" in str(caught.value)
    assert "xmax 601 is beyond the 600 columns" in str(caught.value)


def test_bounds_need_the_geometry() -> None:
    assert problems({"roi_coords": [[10, 20, 801, 30], [10, 20, 30, 600.5]]}) == [
        (
            "roi_coords",
            "out_of_bounds",
            "box 1 lies outside the image: ymax 801 is beyond the 800 rows",
        ),
        (
            "roi_coords",
            "out_of_bounds",
            "box 2 lies outside the image: xmax 600.5 is beyond the 600 columns",
        ),
    ]
    # without a geometry the same set is fine (structural checks only)
    assert parse_roi_set({"roi_coords": [[10, 20, 801, 30]]}, None).num_roi == 1


def test_file_without_image_cannot_hold_boxes() -> None:
    assert problems({"roi_coords": [[1, 2, 3, 4]]}, Geometry(1, 0, 0)) == [
        (
            "roi_coords",
            "no_image",
            "box 1 cannot be placed: the file has no image (no Rows/Columns)",
        )
    ]


@pytest.mark.parametrize(
    ("num_roi", "rule", "message"),
    [
        (3, "num_roi_mismatch", "is 3 but roi_coords has 2 boxes"),
        (-1, "not_an_integer", "-1 is not a whole number of boxes"),
        (1.5, "not_an_integer", "1.5 is not a whole number of boxes"),
        ("2", "not_an_integer", "'2' is not a whole number of boxes"),
        (True, "not_an_integer", "true is not a whole number of boxes"),
    ],
)
def test_num_roi_rules(num_roi: object, rule: str, message: str) -> None:
    payload = {"num_roi": num_roi, "roi_coords": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    assert problems(payload) == [("num_roi", rule, message)]


def test_num_roi_mismatch_singular() -> None:
    assert problems({"num_roi": 2, "roi_coords": [[1, 2, 3, 4]]}) == [
        ("num_roi", "num_roi_mismatch", "is 2 but roi_coords has 1 box")
    ]


@pytest.mark.parametrize(
    ("frames", "rule", "message"),
    [
        (
            "all",
            "not_an_array",
            "must be a JSON array with one frame list per box ([] = all frames), got 'all'",
        ),
        (
            [[0], [1], [2]],
            "frame_list_count",
            "has 3 frame lists but roi_coords has 2 boxes (one list per box; [] = all frames)",
        ),
        (
            [[0]],
            "frame_list_count",
            "has 1 frame list but roi_coords has 2 boxes (one list per box; [] = all frames)",
        ),
        (
            [[0], 5],
            "frame_list_shape",
            "the frame list of box 2 must be an array of frame indices, got 5",
        ),
        ([[0.5], []], "not_an_integer", "frame 0.5 of box 1 is not a whole number"),
        ([["1"], []], "not_an_integer", "frame '1' of box 1 is not a whole number"),
        ([[False], []], "not_an_integer", "frame false of box 1 is not a whole number"),
        ([[], [-1]], "frame_out_of_range", "frame -1 of box 2 is negative (frames are zero-based)"),
        (
            [[], [12]],
            "frame_out_of_range",
            "frame 12 of box 2 is out of range (file has 10 frames)",
        ),
        (
            [[10], []],
            "frame_out_of_range",
            "frame 10 of box 1 is out of range (file has 10 frames)",
        ),
    ],
)
def test_frame_rules(frames: object, rule: str, message: str) -> None:
    payload = {"roi_coords": [[1, 2, 3, 4], [5, 6, 7, 8]], "roi_frames": frames}
    assert problems(payload) == [("roi_frames", rule, message)]


def test_single_frame_file_message_is_singular() -> None:
    assert problems({"roi_coords": [[1, 2, 3, 4]], "roi_frames": [[1]]}, Geometry(1, 10, 10)) == [
        ("roi_frames", "frame_out_of_range", "frame 1 of box 1 is out of range (file has 1 frame)")
    ]


def test_all_problems_are_reported_at_once_and_named_in_the_message() -> None:
    with pytest.raises(RoiValidationError) as info:
        parse_roi_set(
            {
                "num_roi": 5,
                "roi_coords": [[1, 2, 3], [1, 2, 3, math.nan]],
                "roi_frames": [[-2], "x"],
            },
            GEOM,
        )
    rules = [p.rule for p in info.value.problems]
    assert rules == [
        "box_shape",
        "not_finite",
        "num_roi_mismatch",
        "frame_out_of_range",
        "frame_list_shape",
    ]
    text = str(info.value)
    assert text.startswith("roi_coords: box 1 must be 4 numbers")
    assert "; roi_coords: box 2 has a non-finite xmax: NaN" in text
    assert isinstance(info.value, ValueError)


def test_long_values_are_shortened_in_messages() -> None:
    [(_, _, message)] = problems({"roi_coords": [list(range(100))]})
    assert message.endswith("…")
    assert len(message) < 120


def test_roiset_constructor_checks_shape_and_from_values_validates() -> None:
    with pytest.raises(ValueError, match="1 frame lists for 2 boxes"):
        RoiSet(((1, 2, 3, 4), (5, 6, 7, 8)), ((),))
    with pytest.raises(ValueError, match="4 values"):
        RoiSet(((1, 2, 3),), ((),))  # type: ignore[arg-type]
    assert RoiSet.from_values([[3, 4, 1, 2]]).roi_coords == ((1, 2, 3, 4),)
    with pytest.raises(RoiValidationError, match="roi_coords: box 1 is empty"):
        RoiSet.from_values([[1, 1, 1, 1]])
    # the constructor normalizes containers, so equal content compares equal
    assert RoiSet([[1, 2, 3, 4]], [[0]]) == RoiSet(((1.0, 2.0, 3.0, 4.0),), ((0,),))  # type: ignore[arg-type]


def test_roiset_is_immutable() -> None:
    roi = RoiSet.from_values([[1, 2, 3, 4]])
    with pytest.raises(AttributeError):
        roi.roi_coords = ()  # type: ignore[misc]


def test_deeply_nested_values_do_not_crash_the_messages() -> None:
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    [(_, rule, message)] = problems({"roi_coords": [deep]})
    assert rule == "box_shape"
    assert message == "box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got <list>"
