"""EMBED CSV export: exact format, and export → load gives back the same RoiSets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dcmview_annotations import Geometry, RoiSet, export_csv, load_csv, parse_roi_set

G = Geometry(frame_count=60, rows=3000, columns=2500)


def roi(coords: list[list[float]], frames: list[list[int]] | None = None) -> RoiSet:
    payload: dict[str, object] = {"roi_coords": coords}
    if frames is not None:
        payload["roi_frames"] = frames
    return parse_roi_set(payload, G)


def test_export_format_is_pinned() -> None:
    data = export_csv(
        [
            (
                "/path/to/dbt_case.dcm",
                roi([[220, 430, 120, 340], [400, 510, 480, 590]], [[2, 1, 0], [5, 6]]),
            ),
            ("/path/to/empty.dcm", RoiSet.empty()),  # files without ROIs are left out
            ("/path/to/ffdm_case.dcm", roi([[80.25, 150, 190, 260]])),
        ]
    )
    assert data == (
        b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"
        b'/path/to/dbt_case.dcm,2,"[[120,340,220,430],[400,510,480,590]]","[[0,1,2],[5,6]]"\n'
        b'/path/to/ffdm_case.dcm,1,"[[80.25,150,190,260]]","[]"\n'  # frames left out: []
    )


def test_export_of_nothing_is_a_header() -> None:
    assert export_csv([]) == b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"


def test_empty_path_is_refused() -> None:
    with pytest.raises(ValueError, match="empty path"):
        export_csv([("", roi([[1, 2, 3, 4]]))])


PATHS: list[str | bytes] = [
    "/plain/scan.dcm",
    "/données/患者 1/scan.dcm",  # unicode
    "/a,b/with, commas.dcm",
    '/quote"d/"x".dcm',
    "/trailing space.dcm ",
    "/line\nbreak.dcm",
    b"/latin1/caf\xe9.dcm",  # bytes that are not UTF-8
    b"/raw/\xff\xfe\x80.dcm",
    os.fsdecode(b"/surrogate/\xe9t\xe9.dcm"),  # the same, as os.fsdecode gives it
    "/\ufeffbom-start.dcm",
]


def test_round_trip(tmp_path: Path) -> None:
    sets = [
        roi([[1, 2, 3, 4]]),
        roi([[0.1 + 0.2, 1 / 3, 2999.999, 2500]], [[59, 0]]),
        roi([[10, 10, 20, 20], [30, 30, 40, 40]], [[], [7]]),
    ]
    rows = [(p, sets[i % len(sets)]) for i, p in enumerate(PATHS)]
    data = export_csv(rows)
    csv = tmp_path / "export.csv"
    csv.write_bytes(data)
    keys = [os.fsdecode(p) if isinstance(p, bytes) else p for p, _ in rows]
    result = load_csv(csv, dict.fromkeys(keys, G))
    assert result.ok, result.errors
    assert result.roi_sets == {k: s for k, (_, s) in zip(keys, rows, strict=True)}
    for (path, _), key in zip(rows, keys, strict=True):
        # byte for byte: the loaded name encodes back to exactly the exported bytes
        original = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
        assert key.encode("utf-8", "surrogateescape") == original
        assert key in result.roi_sets
    # exporting what was loaded gives identical bytes (a stable format)
    assert export_csv(result.roi_sets.items()) == data


def test_non_utf8_file_on_disk_survives_export_and_reimport(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/r\xe9sultat \xff.dcm"
    with open(name, "wb") as fh:
        fh.write(b"not read by this test")
    loaded_path = os.fsdecode(name)  # what a directory scan reports
    data = export_csv([(loaded_path, roi([[1, 2, 3, 4]]))])
    assert name in data  # the raw bytes, not an escaped form
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    csv = tmp_path / "export.csv"
    csv.write_bytes(data)
    result = load_csv(csv, {loaded_path: G})
    assert list(result.roi_sets) == [loaded_path]
    assert os.path.exists(os.fsencode(next(iter(result.roi_sets))))
