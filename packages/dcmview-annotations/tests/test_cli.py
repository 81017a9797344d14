"""`dcmview-annotations validate`: exit codes, text and JSON reports, --check-files on real DICOM."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dcmview_annotations.cli import main

HEADER = b"anon_dicom_path,num_ROI,ROI_coords,ROI_frames\n"
GOOD = HEADER + b'/a.dcm,1,"[[1,2,3,4]]","[[0]]"\n/b.dcm,2,"[[1,2,3,4],[5,6,7,8]]",\n'
BAD = HEADER + b'/a.dcm,2,"[[1,2,3,4]]",\n/b.dcm,1,"[[1,2,3]]",\n/a.dcm,0,[],\n'

WriteCsv = Callable[..., Path]
MakeDicom = Callable[..., None]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_csv_exits_0(write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(GOOD)
    assert run(["validate", str(path)], capsys) == (
        0,
        f"{path}: 2 rows, 3 boxes, files not checked (add --check-files): valid\n",
        "",
    )


def test_problems_exit_1_one_per_line(
    write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(BAD)
    code, out, err = run(["validate", str(path)], capsys)
    assert code == 1
    assert err == ""
    assert out.splitlines() == [
        "line 2, num_ROI: is 2 but ROI_coords has 1 box",
        "line 3, ROI_coords: box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got [1,2,3]",
        "line 4, anon_dicom_path: '/a.dcm' is repeated (lines 2 and 4); keep one row per file",
        f"{path}: 3 rows, 0 boxes, files not checked (add --check-files): 3 problems",
    ]


def test_file_level_problem_exits_1_and_names_the_file(
    write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(b"")
    code, out, _ = run(["validate", str(path)], capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{path}: is empty: expected a header row with anon_dicom_path and ROI_coords"
    )


def test_json_report(write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(BAD)
    code, out, _ = run(["validate", str(path), "--format", "json"], capsys)
    assert code == 1
    report = json.loads(out)
    assert report == {
        "csv": str(path),
        "valid": False,
        "rows": 3,
        "boxes": 0,
        "files_checked": False,
        "files_found": None,
        "files_missing": None,
        "resolved_by": None,
        "problems": [
            {
                "line": 2,
                "column": "num_ROI",
                "rule": "num_roi_mismatch",
                "message": "is 2 but ROI_coords has 1 box",
            },
            {
                "line": 3,
                "column": "ROI_coords",
                "rule": "box_shape",
                "message": "box 1 must be 4 numbers [ymin, xmin, ymax, xmax], got [1,2,3]",
            },
            {
                "line": 4,
                "column": "anon_dicom_path",
                "rule": "duplicate_path",
                "message": "'/a.dcm' is repeated (lines 2 and 4); keep one row per file",
            },
        ],
    }
    code, out, _ = run(["validate", "--format=json", str(write_csv(GOOD))], capsys)
    assert code == 0
    assert json.loads(out)["valid"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [],
            "missing command: try 'dcmview-annotations validate CSV' (see dcmview-annotations --help)",
        ),
        (
            ["check", "x.csv"],
            "argument COMMAND: invalid choice: 'check' (choose from *validate*) (see dcmview-annotations --help)",
        ),
        (
            ["validate"],
            "the following arguments are required: CSV (see dcmview-annotations validate --help)",
        ),
        (
            ["validate", "x.csv", "--format", "xml"],
            "argument --format: invalid choice: 'xml' (choose from *text*, *json*) (see dcmview-annotations validate --help)",
        ),
        (
            ["validate", "x.csv", "--frobnicate"],
            "unrecognized arguments: --frobnicate (see dcmview-annotations --help)",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    # argparse quotes choices differently across Python versions: '*' stands for a quote or none
    expected = re.escape(f"dcmview-annotations: error: {message}\n").replace(r"\*", "'?")
    assert re.fullmatch(expected, err), err


def test_unreadable_csv_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["validate", str(tmp_path / "missing.csv")], capsys)
    assert (code, out) == (2, "")
    assert (
        err
        == f"dcmview-annotations: error: cannot read {tmp_path}/missing.csv: No such file or directory\n"
    )
    code, _, err = run(["validate", str(tmp_path)], capsys)  # a directory
    assert code == 2
    assert "Is a directory" in err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "dcmview-annotations validate embed_rois.csv --check-files" in out
    assert "exit status: 0 valid, 1 problems found, 2 usage error" in out
    code, out, _ = run(["validate", "--help"], capsys)
    assert code == 0
    assert "--check-files" in out
    assert "pip install 'dcmview-annotations[dicom]'" in out
    assert run(["--version"], capsys) == (0, "dcmview-annotations 0.1.0\n", "")


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_stdin_dash(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", FakeStdin(GOOD))
    code, out, _ = run(["validate", "-"], capsys)
    assert code == 0
    assert out == "<stream>: 2 rows, 3 boxes, files not checked (add --check-files): valid\n"


def test_check_files(
    tmp_path: Path,
    make_dicom: MakeDicom,
    tree_state: Callable[[Path], dict[str, tuple[int, int, str]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    make_dicom(data / "tomo.dcm", frames=10, rows=8, columns=6)
    make_dicom(data / "ffdm.dcm", rows=8, columns=6)
    make_dicom(os.fsencode(data) + b"/caf\xe9.dcm", rows=8, columns=6)  # not UTF-8
    work = tmp_path / "work"
    work.mkdir()
    make_dicom(work / "incwd.dcm", rows=8, columns=6)
    (data / "notes.dcm").write_bytes(b"this is not DICOM" * 20)
    monkeypatch.chdir(work)
    csv = data / "rois.csv"
    csv.write_bytes(
        HEADER
        + b'tomo.dcm,2,"[[0,0,8,6],[1,1,2,2]]","[[0,9],[12]]"\n'  # line 2: frame 12 of 10
        + f'{data}/ffdm.dcm,1,"[[1,1,9,7]]",\n'.encode()  # line 3: beyond 8 rows, 6 columns
        + b'missing.dcm,1,"[[1,1,2,2]]",\n'  # line 4
        + b'notes.dcm,1,"[[1,1,2,2]]",\n'  # line 5
        + b'caf\xe9.dcm,1,"[[1,1,2,2]]","[[0]]"\n'  # line 6: fine
        + b'incwd.dcm,1,"[[1,1,2,2]]",\n'  # line 7: fine, found in the working directory
        + b'tomo.dcm ,1,"[[1,1,2,2]]",\n'  # line 8: a trailing space is part of the name
    )
    before = tree_state(tmp_path)
    code, out, err = run(["validate", str(csv), "--check-files"], capsys)
    assert tree_state(tmp_path) == before  # the CSV and the DICOM files are never modified
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "line 2, ROI_frames: frame 12 of box 2 is out of range (file has 10 frames)",
        "line 3, ROI_coords: box 1 lies outside the image: ymax 9 is beyond the 8 rows",
        "line 3, ROI_coords: box 1 lies outside the image: xmax 7 is beyond the 6 columns",
        f"line 4, anon_dicom_path: file not found (looked for '{data}/missing.dcm' or '{work}/missing.dcm')",
        f"line 5, anon_dicom_path: '{data}/notes.dcm': not a readable DICOM file (InvalidDicomError: "
        "File is missing DICOM File Meta Information header or the 'DICM' prefix is missing from "
        "the header. Use force=True to force reading.)",
        f"line 8, anon_dicom_path: file not found (looked for '{data}/tomo.dcm ' or '{work}/tomo.dcm '); "
        "the path has leading or trailing spaces, which are part of a file name",
        f"{csv}: 7 rows, 8 boxes, 5 files found, 2 files missing: 6 problems (1 relative path "
        "found in the working directory, not beside the CSV)",
    ]
    code, out, _ = run(["validate", str(csv), "--check-files", "--format", "json"], capsys)
    report = json.loads(out)
    assert (code, report["files_found"], report["files_missing"]) == (1, 5, 2)
    assert report["resolved_by"] == {"csv_dir": 3, "absolute": 1, "cwd": 1}
    assert [p["rule"] for p in report["problems"]] == [
        "frame_out_of_range",
        "out_of_bounds",
        "out_of_bounds",
        "file_missing",
        "not_dicom",
        "file_missing",
    ]


def test_check_files_valid(
    tmp_path: Path, make_dicom: MakeDicom, capsys: pytest.CaptureFixture[str]
) -> None:
    make_dicom(tmp_path / "a.dcm", frames=3, rows=8, columns=6)
    csv = tmp_path / "rois.csv"
    csv.write_bytes(HEADER + b'a.dcm,1,"[[0,0,8,6]]","[[2]]"\n')
    assert run(["validate", str(csv), "--check-files"], capsys) == (
        0,
        f"{csv}: 1 row, 1 box, 1 file found, 0 files missing: valid\n",
        "",
    )


def test_check_files_without_pydicom_is_a_usage_error(
    write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # pydicom is installed here; hiding the module is how a machine without the extra looks
    monkeypatch.setitem(sys.modules, "pydicom", None)
    path = write_csv(GOOD)
    assert run(["validate", str(path), "--check-files"], capsys) == (
        2,
        "",
        "dcmview-annotations: error: --check-files needs pydicom: "
        "pip install 'dcmview-annotations[dicom]'\n",
    )
    # without --check-files the validator needs no DICOM stack
    assert run(["validate", str(path)], capsys)[0] == 0


def test_real_subprocess(tmp_path: Path) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_bytes(BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "dcmview_annotations", "validate", str(csv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == "line 2, num_ROI: is 2 but ROI_coords has 1 box"
    assert proc.stderr == ""
    proc = subprocess.run(
        [sys.executable, "-m", "dcmview_annotations"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1  # one line, no traceback


def test_console_script_reads_process_substitution_once(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "dcmview-annotations"
    assert script.exists()
    csv = tmp_path / "rois.csv"
    csv.write_bytes(GOOD)
    proc = subprocess.run(
        ["bash", "-c", f"{script} validate <(cat {csv}) --format json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["valid"], report["rows"], report["boxes"]) == (True, 2, 3)
    assert report["csv"].startswith("/dev/fd/")


def test_validator_does_not_import_pydicom_or_siblings(tmp_path: Path) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_bytes(GOOD)
    code = (
        "import sys\n"
        "from dcmview_annotations.cli import main\n"
        f"rc = main(['validate', {str(csv)!r}])\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydicom', 'dcmview_core', 'dcmview_server', 'sanic'))\n"
        "assert rc == 0 and not leaked, (rc, leaked)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_text_report_on_an_ascii_terminal(
    write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(HEADER + "/données.dcm,1,x,\n/données.dcm,1,x,\n".encode())
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    assert main(["validate", str(path)]) == 1
    sys.stdout.flush()
    assert "line 3, anon_dicom_path: '/donn\\xe9es.dcm' is repeated" in raw.getvalue().decode(
        "ascii"
    )


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_bytes(HEADER + b"".join(f"/x{i}.dcm,1,[[1,2,3]],\n".encode() for i in range(20_000)))
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"set -o pipefail; {sys.executable} -m dcmview_annotations validate {csv} | head -1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.startswith("line 2: has 5 fields but the header has 4")
    assert proc.stderr == ""  # no BrokenPipeError traceback
    assert proc.returncode == 1


def test_check_files_finds_a_file_named_by_its_display_form(
    tmp_path: Path, make_dicom: MakeDicom, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server exports ``caf\\xe9.dcm`` (the display form of a Latin-1 name): validate finds it."""
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.dcm")
    make_dicom(raw, frames=2, rows=8, columns=6)
    csv = tmp_path / "rois.csv"
    csv.write_bytes(HEADER + b'caf\\xe9.dcm,1,"[[0,0,8,6]]","[[1]]"\n')
    assert run(["validate", str(csv), "--check-files"], capsys) == (
        0,
        f"{csv}: 1 row, 1 box, 1 file found, 0 files missing: valid\n",
        "",
    )


def test_check_files_lists_every_problem_of_a_box(
    tmp_path: Path, make_dicom: MakeDicom, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 §7: a negative corner does not hide the corner beyond the image or the frame."""
    make_dicom(tmp_path / "a.dcm", frames=2, rows=8, columns=6)
    csv = tmp_path / "rois.csv"
    csv.write_bytes(HEADER + b'a.dcm,1,"[[-1,2,3,99]]","[[0,5]]"\n')
    code, out, _ = run(["validate", str(csv), "--check-files"], capsys)
    assert code == 1
    assert out.splitlines()[:3] == [
        "line 2, ROI_coords: box 1 lies outside the image: ymin -1 is negative",
        "line 2, ROI_coords: box 1 lies outside the image: xmax 99 is beyond the 6 columns",
        "line 2, ROI_frames: frame 5 of box 1 is out of range (file has 2 frames)",
    ]
