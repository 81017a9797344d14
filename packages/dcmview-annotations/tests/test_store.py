"""AnnotationStore: validation before replace, seeding never overwrites an edit, threads."""

from __future__ import annotations

import threading

import pytest

from dcmview_annotations import AnnotationStore, Geometry, RoiSet, RoiValidationError

G = Geometry(frame_count=5, rows=100, columns=100)
A = RoiSet(((1, 2, 3, 4),), ((0,),))
B = RoiSet(((10, 20, 30, 40),), ((),))


def test_get_defaults_to_empty_and_seed_stores() -> None:
    store = AnnotationStore()
    assert store.get(3) == RoiSet.empty()
    assert store.seed(3, A) is True
    assert store.get(3) == A
    assert store.edited(3) is False
    assert store.snapshot() == {3: A}


def test_replace_canonicalizes_and_marks_edited() -> None:
    store = AnnotationStore()
    stored = store.replace(0, {"roi_coords": [[30, 40, 10, 20]], "roi_frames": [[4, 4]]}, G)
    assert stored == RoiSet(((10, 20, 30, 40),), ((4,),))
    assert store.get(0) == stored
    assert store.edited(0)
    assert store.replace(1, B, G) == B  # a RoiSet is accepted (and validated) too


def test_rejected_replace_keeps_the_old_value() -> None:
    store = AnnotationStore()
    store.seed(0, A)
    with pytest.raises(
        RoiValidationError, match=r"frame 5 of box 1 is out of range \(file has 5 frames\)"
    ):
        store.replace(0, {"roi_coords": [[1, 2, 3, 4]], "roi_frames": [[5]]}, G)
    assert store.get(0) == A
    assert not store.edited(0)
    with pytest.raises(RoiValidationError, match="ymax 200 is beyond the 100 rows"):
        store.replace(0, RoiSet(((1, 2, 200, 4),), ((),)), G)
    assert store.get(0) == A


def test_seed_never_overwrites_a_user_edit() -> None:
    store = AnnotationStore()
    store.replace(0, B, G)
    assert store.seed(0, A) is False
    assert store.get(0) == B
    store.replace(1, RoiSet.empty(), G)  # deleting every box is an edit too
    assert store.seed(1, A) is False
    assert store.get(1) == RoiSet.empty()
    assert store.snapshot() == {0: B}  # sets without boxes are not exported


def test_snapshot_is_a_copy_in_index_order() -> None:
    store = AnnotationStore()
    for i in (5, 1, 3):
        store.seed(i, A)
    snap = store.snapshot()
    assert list(snap) == [1, 3, 5]
    store.replace(1, B, G)
    assert snap[1] == A


def test_concurrent_seeds_and_edits() -> None:
    store = AnnotationStore()
    n = 300
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def seeder() -> None:
        start.wait()
        for _ in range(3):
            for i in range(n):
                store.seed(i, A)

    def editor() -> None:
        start.wait()
        for i in range(0, n, 2):
            store.replace(i, B, G)

    def invalid_editor() -> None:
        start.wait()
        for i in range(1, n, 2):
            try:
                store.replace(i, {"roi_coords": [[1, 2, 3, 4]], "roi_frames": [[99]]}, G)
            except RoiValidationError:
                continue
            errors.append(AssertionError(f"invalid replace accepted for {i}"))

    def reader() -> None:
        start.wait()
        for _ in range(3):
            for i in range(n):
                if store.get(i) not in (RoiSet.empty(), A, B):
                    errors.append(AssertionError(f"torn value at {i}"))
            store.snapshot()

    threads = [threading.Thread(target=f) for f in (seeder, editor, invalid_editor, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(n):
        if i % 2 == 0:
            assert store.get(i) == B, i  # the edit won whatever the interleaving
            assert store.edited(i)
        else:
            assert store.get(i) == A, i
            assert not store.edited(i)
