"""EMBED CSV loading: every rule with its line and column, structure, encodings, matching."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dcmview_annotations import CsvReadError, Geometry, RoiSet, load_csv, read_csv

WritePath = Callable[..., Path]
HashFn = Callable[[Path], str]
TreeFn = Callable[[Path], dict[str, tuple[int, int, str]]]
SEED_CSV = (
    b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"
    b'/path/to/dbt_case.dcm,2,"[[120,340,220,430],[400,510,480,590]]","[[0,1,2],[5,6]]"\n'
    b'/path/to/ffdm_case.dcm,1,"[[80,150,190,260]]","[]"\n'
)
G10 = Geometry(frame_count=10, rows=800, columns=600)
SEED_GEOMS = {"/path/to/dbt_case.dcm": G10, "/path/to/ffdm_case.dcm": Geometry(1, 300, 300)}
HEADER = b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"


def texts(problems: object) -> list[str]:
    assert isinstance(problems, list)
    return [str(p) for p in problems]


def test_seed_example_loads(write_csv: WritePath) -> None:
    result = load_csv(write_csv(SEED_CSV), SEED_GEOMS)
    assert result.ok
    assert result.roi_sets == {
        "/path/to/dbt_case.dcm": RoiSet(
            ((120, 340, 220, 430), (400, 510, 480, 590)), ((0, 1, 2), (5, 6))
        ),
        "/path/to/ffdm_case.dcm": RoiSet(((80, 150, 190, 260),), ((),)),
    }
    assert {m.rule for m in result.matches.values()} == {"absolute"}
    assert result.unmatched == []
    # ROI_frames "[]" comes back as [] (the original's form), not [[]]
    assert result.roi_sets["/path/to/ffdm_case.dcm"].to_json()["roi_frames"] == []


def test_frame_out_of_range_message_matches_the_spec(write_csv: WritePath) -> None:
    csv = (
        HEADER
        + b"".join(f'/f{i}.dcm,1,"[[1,2,3,4]]","[[0]]"\n'.encode() for i in range(5))
        + b'/bad.dcm,1,"[[1,2,3,4]]","[[12]]"\n'
    )
    geoms = {f"/f{i}.dcm": G10 for i in range(5)} | {"/bad.dcm": G10}
    result = load_csv(write_csv(csv), geoms)
    assert texts(result.errors) == [
        "line 7, ROI_frames: frame 12 of box 1 is out of range (file has 10 frames)"
    ]
    assert result.errors[0].rule == "frame_out_of_range"
    assert "/bad.dcm" not in result.roi_sets
    assert len(result.roi_sets) == 5  # a bad row never poisons the other files
    assert result.structural_errors == []


def test_every_row_problem_is_reported_with_line_and_column(write_csv: WritePath) -> None:
    csv = (
        HEADER
        + b'/ok.dcm,1,"[[1,2,3,4]]","[[0]]"\n'  # line 2
        + b"/unquoted.dcm,1,[[1,2,3,4]],[[0]]\n"  # 3
        + b',1,"[[1,2,3,4]]",\n'  # 4
        + b"/nocoords.dcm,1,,\n"  # 5
        + b'/badjson.dcm,1,"[[1,2,3,4]","[[0]]"\n'  # 6
        + b'/tuple.dcm,1,"((1, 2, 3, 4),)",\n'  # 7
        + b'/num.dcm,two,"[[1,2,3,4]]",\n'  # 8
        + b'/mismatch.dcm,2,"[[1,2,3,4]]",\n'  # 9
        + b'/bounds.dcm,1,"[[1,2,900,4]]",\n'  # 10
        + b'/frames.dcm,1,"[[1,2,3,4]]","[[0],[1]]"\n'  # 11
        + b'/framesjson.dcm,1,"[[1,2,3,4]]","[[0]"\n'  # 12
        + b'/empty.dcm,1,"[[1,2,1,4]]",\n'  # 13
        + b'/neg.dcm,1,"[[-1,2,3,4]]","[[-3]]"\n'  # 14
    )
    names = [
        "/ok.dcm",
        "/unquoted.dcm",
        "/nocoords.dcm",
        "/badjson.dcm",
        "/tuple.dcm",
        "/num.dcm",
        "/mismatch.dcm",
        "/bounds.dcm",
        "/frames.dcm",
        "/framesjson.dcm",
        "/empty.dcm",
        "/neg.dcm",
    ]
    result = load_csv(write_csv(csv), dict.fromkeys(names, G10))
    assert texts(result.errors) == [
        'line 3: has 7 fields but the header has 4: quote the JSON cells (for example "[[120,340,220,430]]")',
        "line 4, anon_dicom_path: is empty",
        "line 5, ROI_coords: is empty (write [] for a file with no boxes)",
        "line 6, ROI_coords: is not valid JSON (Expecting ',' delimiter at character 11): '[[1,2,3,4]'",
        "line 7, ROI_coords: is not valid JSON (Expecting value at character 1): '((1, 2, 3, 4),)'"
        " (Python tuples are not JSON: write [[ymin, xmin, ymax, xmax]])",
        "line 8, num_ROI: 'two' is not a whole number of boxes",
        "line 9, num_ROI: is 2 but ROI_coords has 1 box",
        "line 10, ROI_coords: box 1 lies outside the image: ymax 900 is beyond the 800 rows",
        "line 11, ROI_frames: has 2 frame lists but ROI_coords has 1 box (one list per box; [] = all frames)",
        "line 12, ROI_frames: is not valid JSON (Expecting ',' delimiter at character 5): '[[0]'",
        "line 13, ROI_coords: box 1 is empty (zero height): [1,2,1,4]",
        "line 14, ROI_coords: box 1 lies outside the image: ymin -1 is negative",
        "line 14, ROI_frames: frame -3 of box 1 is negative (frames are zero-based)",
    ]
    assert [p.rule for p in result.errors] == [
        "field_count",
        "empty_path",
        "empty_cell",
        "invalid_json",
        "invalid_json",
        "not_an_integer",
        "num_roi_mismatch",
        "out_of_bounds",
        "frame_list_count",
        "invalid_json",
        "empty_box",
        "out_of_bounds",
        "frame_out_of_range",
    ]
    assert list(result.roi_sets) == ["/ok.dcm"]
    assert result.structural_errors == []
    assert not result.ok


def test_space_before_a_quoted_cell_gets_its_own_advice(write_csv: WritePath) -> None:
    result = load_csv(write_csv(HEADER + b'/a.dcm, 1, "[[1,2,3,4]]","[[0]]"\n'), {})
    assert texts(result.errors) == [
        "line 2: has 7 fields but the header has 4: remove the space between a comma and a "
        "quoted cell (a quote only opens a cell at its very start)"
    ]


def test_trailing_empty_fields_are_not_extra_fields(write_csv: WritePath) -> None:
    result = load_csv(write_csv(HEADER + b'/a.dcm,1,"[[1,2,3,4]]","[[0]]",,\n'), {"/a.dcm": G10})
    assert result.ok
    assert list(result.roi_sets) == ["/a.dcm"]


def test_optional_columns_and_extra_columns(write_csv: WritePath) -> None:
    csv = (
        b"study,ROI_coords,anon_dicom_path,comment\n"
        b'x,"[[1,2,3,4],[5,6,7,8]]",/a.dcm,"free, text"\n'
        b"y,[],/b.dcm,\n"
    )
    result = load_csv(write_csv(csv), {"/a.dcm": G10, "/b.dcm": G10})
    assert result.ok
    assert result.roi_sets["/a.dcm"] == RoiSet(((1, 2, 3, 4), (5, 6, 7, 8)), ((), ()))
    assert result.roi_sets["/b.dcm"] == RoiSet.empty()


def test_empty_num_roi_and_frames_cells_mean_not_given(write_csv: WritePath) -> None:
    result = load_csv(write_csv(HEADER + b'/a.dcm,,"[[1,2,3,4]]",\n'), {"/a.dcm": G10})
    assert result.ok
    assert result.roi_sets["/a.dcm"].roi_frames == ((),)


def test_empty_coords_with_num_roi_zero_means_no_boxes(write_csv: WritePath) -> None:
    result = load_csv(
        write_csv(HEADER + b"/a.dcm,0,,\n/b.dcm,0.0,,\n/c.dcm,,,\n"), {"/a.dcm": G10, "/b.dcm": G10}
    )
    assert result.roi_sets == {"/a.dcm": RoiSet.empty(), "/b.dcm": RoiSet.empty()}
    assert texts(result.errors) == [
        "line 4, ROI_coords: is empty (write [] for a file with no boxes)"
    ]


def test_num_roi_written_as_float_is_accepted(write_csv: WritePath) -> None:
    result = load_csv(write_csv(HEADER + b'/a.dcm,1.0,"[[1,2,3,4]]","[[1.0]]"\n'), {"/a.dcm": G10})
    assert result.ok
    assert result.roi_sets["/a.dcm"].roi_frames == ((1,),)


def test_bom_crlf_blank_lines_and_quoted_json(write_csv: WritePath) -> None:
    csv = (
        b"\xef\xbb\xbfanon_dicom_path,num_ROI,ROI_coords,ROI_frames\r\n"
        b'"/a,b.dcm",1,"[[1, 2, 3, 4]]","[[0, 1]]"\r\n'
        b"\r\n"
        b'/c.dcm,1,"[[1,2,3,4]]","[[42]]"\r\n'
    )
    result = load_csv(write_csv(csv), {"/a,b.dcm": G10, "/c.dcm": G10})
    assert result.roi_sets == {"/a,b.dcm": RoiSet(((1, 2, 3, 4),), ((0, 1),))}
    # the blank line 3 is counted: the bad row is line 4
    assert texts(result.errors) == [
        "line 4, ROI_frames: frame 42 of box 1 is out of range (file has 10 frames)"
    ]


def test_quoted_field_spanning_lines_keeps_physical_line_numbers(write_csv: WritePath) -> None:
    csv = (
        HEADER
        + b'"/odd\nname.dcm",1,"[[1,2,3,4]]",\n'  # lines 2-3
        + b'/x.dcm,1,"[[1,2,3,4]]","[[99]]"\n'  # line 4
    )
    result = load_csv(write_csv(csv), {"/odd\nname.dcm": G10, "/x.dcm": G10})
    assert list(result.roi_sets) == ["/odd\nname.dcm"]
    assert texts(result.errors) == [
        "line 4, ROI_frames: frame 99 of box 1 is out of range (file has 10 frames)"
    ]


def test_unclosed_quote_is_structural_and_names_its_line(write_csv: WritePath) -> None:
    csv = HEADER + b'/a.dcm,1,"[[1,2,3,4]]",\n/b.dcm,1,"[[1,2,3,4]],\n/c.dcm,1,"[[1,2,3,4]]",\n'
    result = load_csv(write_csv(csv), {})
    assert texts(result.structural_errors) == [
        "line 3: a double quote opens a cell that is never closed, so every later line would be "
        'read into it: close the quote (a quote inside a cell is written "")'
    ]
    assert result.structural_errors[0].rule == "unclosed_quote"


def test_a_stray_quote_inside_an_unquoted_cell_is_literal(write_csv: WritePath) -> None:
    csv = HEADER + b'/data/O"Brien.dcm,1,"[[1,2,3,4]]",\n/b.dcm,1,"[[1,2,3,4]]",\n'
    result = load_csv(write_csv(csv), {'/data/O"Brien.dcm': G10, "/b.dcm": G10})
    assert result.ok
    assert list(result.roi_sets) == ['/data/O"Brien.dcm', "/b.dcm"]


def test_bare_cr_line_ends(write_csv: WritePath) -> None:
    csv = HEADER.replace(b"\n", b"\r") + b'/a.dcm,1,"[[1,2,3,4]]",\r/b.dcm,1,"[[1,2,3]]",\r'
    result = load_csv(write_csv(csv), {"/a.dcm": G10, "/b.dcm": G10})
    assert list(result.roi_sets) == ["/a.dcm"]
    assert texts(result.errors) == [
        "line 3, ROI_coords: box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got [1,2,3]"
    ]


def test_leading_blank_lines_before_header(write_csv: WritePath) -> None:
    result = load_csv(write_csv(b"\n\n" + HEADER + b'/a.dcm,1,"[1]",\n'), {})
    assert texts(result.errors) == [
        "line 4, ROI_coords: box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got 1"
    ]


def test_missing_required_column_is_structural(write_csv: WritePath) -> None:
    result = load_csv(write_csv(b"anon_dicom_path,roi_coords\n/a.dcm,[]\n"), {"/a.dcm": G10})
    assert texts(result.structural_errors) == [
        "line 1: missing required column ROI_coords ('roi_coords' differs only in case: "
        "names are case-sensitive); the header has: anon_dicom_path, roi_coords"
    ]
    assert result.structural_errors[0].rule == "missing_column"
    assert result.roi_sets == {}
    result = load_csv(write_csv(b"path,ROI_coords\n"), {})
    assert texts(result.structural_errors) == [
        "line 1: missing required column anon_dicom_path; the header has: path, ROI_coords"
    ]


def test_duplicate_column_is_structural(write_csv: WritePath) -> None:
    result = load_csv(write_csv(b"anon_dicom_path,ROI_coords,ROI_coords\n/a,[],[]\n"), {})
    assert texts(result.structural_errors) == [
        "line 1: column ROI_coords appears twice (fields 2 and 3)"
    ]


def test_duplicate_paths_name_both_lines(write_csv: WritePath) -> None:
    csv = (
        HEADER
        + b'/a.dcm,1,"[[1,2,3,4]]",\n'
        + b'/b.dcm,1,"[[1,2,3,4]]",\n'
        + b'/x/../a.dcm,0,"[]",\n'
    )
    result = load_csv(write_csv(csv), {"/a.dcm": G10})
    assert texts(result.structural_errors) == [
        "line 4, anon_dicom_path: '/x/../a.dcm' is repeated (lines 2 and 4); keep one row per file"
    ]
    assert result.structural_errors[0].rule == "duplicate_path"


def test_relative_and_absolute_rows_naming_the_same_file_are_duplicates(
    write_csv: WritePath, tmp_path: Path
) -> None:
    csv = HEADER + b"a.dcm,0,[],\n" + f"{tmp_path}/a.dcm,0,[],\n".encode()
    result = load_csv(write_csv(csv), {})
    assert texts(result.structural_errors) == [
        f"line 3, anon_dicom_path: lines 2 and 3 name the same file '{tmp_path}/a.dcm'; "
        "keep one row per file"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty: expected a header row with anon_dicom_path and ROI_coords"),
        (
            b"\xef\xbb\xbf \r\n\n",
            "is empty: expected a header row with anon_dicom_path and ROI_coords",
        ),
        (b",,\n,,\n", "has no header row (only empty fields)"),
        (
            "anon_dicom_path,ROI_coords\n".encode("utf-16"),
            "is UTF-16 text, not UTF-8: save the CSV as UTF-8",
        ),
        (
            b"anon_dicom_path,ROI_coords\n/a\x00,[]\n",
            "contains NUL bytes: it is not a UTF-8 text CSV",
        ),
    ],
)
def test_unusable_files_are_structural(write_csv: WritePath, data: bytes, message: str) -> None:
    result = load_csv(write_csv(data), {})
    assert texts(result.structural_errors) == [message]
    assert result.structural_errors[0].line is None


def test_unreadable_path_is_structural(tmp_path: Path) -> None:
    result = load_csv(tmp_path / "nope.csv", {})
    assert texts(result.structural_errors) == [
        f"cannot read {tmp_path}/nope.csv: No such file or directory"
    ]
    assert result.structural_errors[0].rule == "unreadable"


def test_header_only_is_valid(write_csv: WritePath) -> None:
    result = load_csv(write_csv(HEADER), {"/a.dcm": G10})
    assert result.ok
    assert result.roi_sets == {}


def test_unmatched_rows_are_listed(write_csv: WritePath) -> None:
    result = load_csv(write_csv(SEED_CSV), {"/path/to/dbt_case.dcm": G10, "/other.dcm": G10})
    assert list(result.roi_sets) == ["/path/to/dbt_case.dcm"]
    assert [(r.line, r.path) for r in result.unmatched] == [(3, "/path/to/ffdm_case.dcm")]


def test_relative_paths_resolve_beside_the_csv_then_in_cwd(tmp_path: Path) -> None:
    csv_dir = tmp_path / "csvdir"
    work = tmp_path / "work"
    csv_dir.mkdir()
    work.mkdir()
    csv = csv_dir / "rois.csv"
    csv.write_bytes(
        HEADER
        + b'near.dcm,1,"[[1,2,3,4]]",\n'
        + b'sub/../far.dcm,1,"[[5,6,7,8]]",\n'
        + b'both.dcm,1,"[[1,1,2,2]]",\n'
    )
    geoms = {
        str(csv_dir / "near.dcm"): G10,
        str(work / "far.dcm"): G10,
        str(csv_dir / "both.dcm"): G10,
        str(work / "both.dcm"): G10,
    }
    result = load_csv(csv, geoms, cwd=str(work))
    assert {p: m.rule for p, m in result.matches.items()} == {
        str(csv_dir / "near.dcm"): "csv_dir",
        str(work / "far.dcm"): "cwd",
        str(csv_dir / "both.dcm"): "csv_dir",  # beside the CSV wins
    }
    assert str(work / "both.dcm") not in result.roi_sets
    # loaded paths given relative to cwd are normalized too
    result = load_csv(csv, {"far.dcm": G10}, cwd=str(work))
    assert list(result.roi_sets) == [str(work / "far.dcm")]


def test_a_row_naming_a_file_directly_wins_over_another_rows_fallback(tmp_path: Path) -> None:
    csv_dir, work = tmp_path / "csvdir", tmp_path / "work"
    csv_dir.mkdir()
    work.mkdir()
    csv = csv_dir / "rois.csv"
    # line 2 would reach work/x.dcm only through the cwd fallback; line 3 names it directly
    csv.write_bytes(
        HEADER + b'x.dcm,1,"[[1,2,3,4]]",\n' + f'{work}/x.dcm,1,"[[5,6,7,8]]",\n'.encode()
    )
    result = load_csv(csv, {str(work / "x.dcm"): G10}, cwd=str(work))
    assert result.roi_sets == {str(work / "x.dcm"): RoiSet(((5, 6, 7, 8),), ((),))}
    assert [r.line for r in result.unmatched] == [2]
    assert result.matches[str(work / "x.dcm")].rule == "absolute"


def test_the_csv_is_never_modified_and_nothing_is_written_beside_it(
    tmp_path: Path, sha256: HashFn, tree_state: TreeFn
) -> None:
    data = (
        b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n") + b'/a.dcm,1,"[[3,4,1,2]]","[[1,1]]"\r\n'
    )
    path = tmp_path / "rois.csv"
    path.write_bytes(data)
    before_hash = sha256(path)
    before = tree_state(tmp_path)
    result = load_csv(path, {"/a.dcm": G10})
    assert result.roi_sets["/a.dcm"] == RoiSet(((1, 2, 3, 4),), ((1,),))  # canonicalized in memory
    read_csv(path)
    assert sha256(path) == before_hash
    assert tree_state(tmp_path) == before


def test_pipe_is_read_exactly_once() -> None:
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as w:
            w.write(SEED_CSV)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "rb") as pipe:
        result = load_csv(pipe, SEED_GEOMS)
    writer.join()
    assert result.ok
    assert len(result.roi_sets) == 2
    assert result.csv.csv_dir is None  # a pipe has no directory: relative paths use the cwd


class OneShotReader:
    """A stream that can be read once and cannot seek (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self.data: bytes | None = data
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        data, self.data = self.data or b"", b""
        return data


def test_stream_is_read_with_one_call() -> None:
    stream = OneShotReader(SEED_CSV)
    result = load_csv(stream, SEED_GEOMS)  # type: ignore[arg-type]
    assert stream.reads == 1
    assert len(result.roi_sets) == 2


def test_open_binary_file_uses_its_directory(tmp_path: Path) -> None:
    (tmp_path / "rois.csv").write_bytes(HEADER + b'a.dcm,1,"[[1,2,3,4]]",\n')
    with open(tmp_path / "rois.csv", "rb") as fh:
        result = load_csv(fh, {str(tmp_path / "a.dcm"): G10}, cwd="/")
    assert [m.rule for m in result.matches.values()] == ["csv_dir"]


def test_text_streams_and_other_objects_are_rejected() -> None:
    with pytest.raises(CsvReadError, match="binary mode"):
        load_csv(io.StringIO("anon_dicom_path,ROI_coords\n"), {})  # type: ignore[arg-type]
    with pytest.raises(CsvReadError, match="expected a path or a binary file object, got int"):
        load_csv(42, {})  # type: ignore[arg-type]


def test_non_utf8_path_matches_the_surrogate_escaped_file_name(write_csv: WritePath) -> None:
    raw = b"/data/caf\xe9.dcm"  # Latin-1 bytes, not UTF-8
    result = load_csv(write_csv(HEADER + raw + b',1,"[[1,2,3,4]]",\n'), {os.fsdecode(raw): G10})
    [key] = result.roi_sets
    assert key.encode("utf-8", "surrogateescape") == raw
    # messages stay printable
    bad = load_csv(write_csv(HEADER + raw + b",1,x,\n" + raw + b",1,x,\n"), {})
    assert "/data/caf\\xe9.dcm" in str(bad.structural_errors[0])


def test_unicode_paths_match(write_csv: WritePath) -> None:
    path = "/données/患者 1/scan.dcm"
    result = load_csv(write_csv(HEADER + path.encode() + b',1,"[[1,2,3,4]]",\n'), {path: G10})
    assert list(result.roi_sets) == [path]


def test_progressive_matching_claims_each_row_once(write_csv: WritePath, tmp_path: Path) -> None:
    csv = HEADER + b'a.dcm,1,"[[1,2,3,4]]",\n' + b'/b.dcm,1,"[[1,2,3,4]]","[[20]]"\n'
    parsed = read_csv(write_csv(csv), cwd="/elsewhere")
    assert parsed.row_errors == []
    assert [r.line for r in parsed.unclaimed()] == [2, 3]
    assert parsed.match("/unrelated.dcm", G10) is None
    late = parsed.match("/b.dcm", G10)  # a file found later in the scan
    assert late is not None
    assert late.roi_set is None
    assert texts(list(late.problems)) == [
        "line 3, ROI_frames: frame 20 of box 1 is out of range (file has 10 frames)"
    ]
    first = parsed.match(str(tmp_path / "a.dcm"), G10)
    assert first is not None
    assert (first.rule, first.roi_set) == ("csv_dir", RoiSet(((1, 2, 3, 4),), ((),)))
    assert parsed.match(str(tmp_path / "a.dcm"), G10) is None  # claimed once
    assert parsed.unclaimed() == []


def test_progressive_matching_from_many_threads(write_csv: WritePath) -> None:
    n = 200
    csv = HEADER + b"".join(f'/f{i}.dcm,1,"[[1,2,3,4]]",\n'.encode() for i in range(n))
    parsed = read_csv(write_csv(csv))
    hits: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for i in range(n):
            m = parsed.match(f"/f{i}.dcm", G10)
            if m is not None:
                with lock:
                    hits.append(m.path)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(hits) == sorted(f"/f{i}.dcm" for i in range(n))


def test_a_row_naming_a_file_by_its_display_form_matches_that_file(write_csv: WritePath) -> None:
    """The server shows (and exports) ``caf\\xe9.dcm`` for the Latin-1 name ``caf\xe9.dcm``."""
    real = os.fsdecode(b"/data/caf\xe9.dcm")
    parsed = read_csv(write_csv(HEADER + b'/data/caf\\xe9.dcm,1,"[[1,1,2,2]]","[[0]]"\n'))
    assert not parsed.structural_errors
    match = parsed.match(real, Geometry(1, 4, 4))
    assert match is not None
    assert match.roi_set is not None
    assert match.roi_set.roi_coords == ((1.0, 1.0, 2.0, 2.0),)
