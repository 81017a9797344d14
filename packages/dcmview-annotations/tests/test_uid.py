"""The optional ``sop_instance_uid`` column: read on both row paths, matched after the path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dcmview_annotations import Geometry, RoiSet, export_csv, load_csv, read_csv
from dcmview_annotations.cli import validate

WritePath = Callable[..., Path]
G = Geometry(frame_count=3, rows=100, columns=100)
UID_HEADER = b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames,sop_instance_uid\n"


def test_column_present_on_the_fast_and_the_general_row(write_csv: WritePath) -> None:
    csv = (
        UID_HEADER
        + b'/fast.dcm,1,"[[1,2,3,4]]","[[0]]", 1.2.3.4 \n'  # plainly valid: fast path
        + b'/general.dcm,1.0,"[[3,4,1,2]]","[[0]]",1.2.3.5\n'  # num_ROI 1.0: general path
        + b'/bad.dcm,2,"[[1,2,3,4]]",,1.2.3.6\n'  # a row problem keeps its UID too
    )
    parsed = read_csv(write_csv(csv))
    assert not parsed.structural_errors
    assert [r.sop_instance_uid for r in parsed.rows] == ["1.2.3.4", "1.2.3.5", "1.2.3.6"]
    assert parsed.rows[0].roi_set == parsed.rows[1].roi_set == RoiSet(((1, 2, 3, 4),), ((0,),))
    assert [p.rule for p in parsed.row_errors] == ["num_roi_mismatch"]


def test_column_absent_or_empty_means_no_uid(write_csv: WritePath) -> None:
    absent = read_csv(write_csv(b'anon_dicom_path,ROI_coords\n/a.dcm,"[[1,2,3,4]]"\n'))
    empty = read_csv(
        write_csv(
            b'sop_instance_uid,anon_dicom_path,ROI_coords\n,/a.dcm,"[[1,2,3,4]]"\n'
            b' ,/b.dcm,"[[1,2,3,4]]"\n'
        )
    )
    assert [r.sop_instance_uid for r in absent.rows] == [""]
    assert [r.sop_instance_uid for r in empty.rows] == ["", ""]
    assert not empty.structural_errors  # two empty UIDs are not duplicates
    assert empty.match("/elsewhere.dcm", G, "") is None


def test_duplicate_uid_is_structural_and_names_both_lines(write_csv: WritePath) -> None:
    csv = UID_HEADER + b'/a.dcm,1,"[[1,2,3,4]]",,9.9\n' + b'/b.dcm,1,"[[1,2,3,4]]",,9.9\n'
    parsed = read_csv(write_csv(csv))
    assert [str(p) for p in parsed.structural_errors] == [
        "line 3, sop_instance_uid: '9.9' is repeated (lines 2 and 3); keep one row per file"
    ]
    assert parsed.structural_errors[0].rule == "duplicate_uid"


def test_duplicate_uid_column_is_structural(write_csv: WritePath) -> None:
    csv = b"anon_dicom_path,ROI_coords,sop_instance_uid,sop_instance_uid\n"
    assert [p.rule for p in read_csv(write_csv(csv)).structural_errors] == ["duplicate_column"]


def test_a_row_matches_by_uid_when_no_file_has_its_path(write_csv: WritePath) -> None:
    csv = UID_HEADER + b'/gone/a.dcm,1,"[[1,2,3,4]]","[[2]]",1.2.840.1\n'
    parsed = read_csv(write_csv(csv))
    assert parsed.match("dicomweb://h/studies/1/series/2/instances/3", G, "1.2.840.9") is None
    m = parsed.match("/remote/x.dcm", G, "1.2.840.1")
    assert m is not None
    assert m.rule == "sop_instance_uid"
    assert m.path == "/remote/x.dcm"
    assert m.roi_set == RoiSet(((1, 2, 3, 4),), ((2,),))
    assert parsed.match("/remote/y.dcm", G, "1.2.840.1") is None  # claimed once
    assert parsed.match("/gone/a.dcm", G) is None  # nor again by its path
    # the file's geometry is checked as for a path match
    bad = read_csv(write_csv(UID_HEADER + b'/gone.dcm,1,"[[1,2,3,4]]","[[5]]",7\n'))
    m = bad.match("/r.dcm", G, "7")
    assert m is not None
    assert m.roi_set is None
    assert [p.rule for p in m.problems] == ["frame_out_of_range"]


def test_the_path_wins_over_the_uid(write_csv: WritePath) -> None:
    csv = (
        UID_HEADER
        + b'/a.dcm,1,"[[1,2,3,4]]",,1.1\n'  # names file a by path
        + b'/nowhere.dcm,1,"[[5,6,7,8]]",,1.1.1\n'  # names file a by its UID only
    )
    parsed = read_csv(write_csv(csv))
    m = parsed.match("/a.dcm", G, "1.1.1")
    assert m is not None
    assert m.rule == "absolute"
    assert m.row.line == 2
    other = parsed.match("/b.dcm", G, "1.1")  # row 2 is claimed: b gets nothing
    assert other is None
    # load_csv: the same rules over a known set of files
    result = load_csv(
        write_csv(csv),
        {"/a.dcm": G, "/b.dcm": G, "/c.dcm": G},
        uids={"/a.dcm": "1.1.1", "/b.dcm": "1.1", "/c.dcm": "1.1.1"},
    )
    assert result.ok
    assert result.unmatched == []
    assert {p: m.rule for p, m in result.matches.items()} == {
        "/a.dcm": "absolute",
        "/c.dcm": "sop_instance_uid",
    }
    assert result.roi_sets["/c.dcm"] == RoiSet(((5, 6, 7, 8),), ((),))


def test_export_keeps_the_original_columns(write_csv: WritePath) -> None:
    parsed = read_csv(write_csv(UID_HEADER + b'/a.dcm,1,"[[1,2,3,4]]",,1.1\n'))
    roi_set = parsed.rows[0].roi_set
    assert roi_set is not None
    out = export_csv([("/a.dcm", roi_set)])
    assert out.splitlines()[0] == b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames"


def test_validate_accepts_the_column(write_csv: WritePath) -> None:
    ok = validate(str(write_csv(UID_HEADER + b'/a.dcm,1,"[[1,2,3,4]]",,1.1\n')), check_files=False)
    assert ok.problems == []
    assert ok.rows == 1
    dup = UID_HEADER + b'/a.dcm,1,"[[1,2,3,4]]",,1.1\n/b.dcm,1,"[[1,2,3,4]]",,1.1\n'
    report = validate(str(write_csv(dup)), check_files=False)
    assert [p.rule for p in report.problems] == ["duplicate_uid"]


def test_a_remote_name_matches_as_written(write_csv: WritePath) -> None:
    url = "dicomweb://127.0.0.1:8042/studies/1.2/series/3.4/instances/5.6"
    csv = f'anon_dicom_path,ROI_coords\n{url},"[[1,2,3,4]]"\n{url}/,"[[1,2,3,4]]"\n'.encode()
    parsed = read_csv(write_csv(csv))
    assert not parsed.structural_errors  # not normalized: a trailing slash is another name
    assert parsed.candidates(parsed.rows[0]) == [(url, "absolute")]
    m = parsed.match(url, G)
    assert m is not None
    assert (m.path, m.rule, m.row.line) == (url, "absolute", 2)
