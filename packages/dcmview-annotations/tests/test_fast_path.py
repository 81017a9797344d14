"""The fast path for plainly valid rows must agree with the full rules on every input."""

from __future__ import annotations

import random

from dcmview_annotations.csvio import _COORDS_RE, _FRAMES_RE, _decode_plain, _fast_row, _parse_row

NUMBERS = [
    "0",
    "1",
    "7",
    "12.5",
    "3000",
    "1e2",
    "2.5E-1",
    "01",
    "-3",
    "NaN",
    "1.",
    "99999999999999999",
    " 4 ",
]
FRAMES = ["0", "1", "5", "5", "59", "1.0", "-1", "01", "1e1", "123456789"]


def random_coords(rng: random.Random) -> str:
    boxes = []
    for _ in range(rng.randint(0, 3)):
        values = [rng.choice(NUMBERS) for _ in range(rng.choice([4, 4, 4, 4, 3, 5]))]
        boxes.append("[" + rng.choice([",", ", ", " ,"]).join(values) + "]")
    text = "[" + ",".join(boxes) + "]"
    return rng.choice([text, text, text, f" {text} ", text[:-1], "[]", "(1,2,3,4)"])


def random_frames(rng: random.Random, n: int) -> str:
    if rng.random() < 0.2:
        return rng.choice(["", "[]", "[[]]", "[[0]", "all"])
    lists = []
    for _ in range(n if rng.random() < 0.8 else n + 1):
        lists.append("[" + ",".join(rng.choice(FRAMES) for _ in range(rng.randint(0, 3))) + "]")
    return "[" + ",".join(lists) + "]"


def test_fast_path_agrees_with_the_full_rules() -> None:
    rng = random.Random(7)
    fast_hits = 0
    for i in range(10_000):
        coords = random_coords(rng).strip()
        frames = random_frames(rng, coords.count("[") - 1).strip()
        num = rng.choice(["", "", str(max(coords.count("[") - 1, 0)), "2", "x", "1.0"])
        path = rng.choice(["/a.dcm", "rel/b.dcm", " "])
        uid = rng.choice(["", "1.2.840.10008.1"])
        full = _parse_row(i, path, num, coords, frames, used=4, header_width=4, uid=uid)
        assert full.sop_instance_uid == uid
        fast = None
        plain_coords = _decode_plain([coords], _COORDS_RE)
        plain_frames = _decode_plain([frames], _FRAMES_RE)
        if plain_coords and (plain_frames or not frames):
            fast = _fast_row(i, path, num, plain_coords[0], plain_frames.get(0), uid)
        if fast is not None:
            fast_hits += 1
            assert full.problems == (), (coords, frames, num)
            assert fast == full, (coords, frames, num)
        elif not full.problems:
            # the fast path may decline a valid row, never accept an invalid one
            assert full.roi_set is not None
    assert fast_hits > 500  # the generator exercises the fast path a lot
