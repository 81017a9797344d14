"""``dcmview-annotations validate CSV [--check-files] [--format text|json]``.

Exit status: 0 the CSV is valid, 1 problems were found (each printed with its line and column),
2 usage errors (bad arguments, a CSV that cannot be opened, --check-files without pydicom).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, NoReturn

from dcmview_annotations import __version__
from dcmview_annotations.csvio import (
    PATH_COLUMN,
    AnnotationCsv,
    CsvProblem,
    CsvRow,
    display_path,
    read_csv,
)
from dcmview_annotations.dicom import INSTALL_HINT, DicomUnavailableError, HeaderReadError

PROG = "dcmview-annotations"

DESCRIPTION = """\
Check an EMBED ROI annotation CSV (anon_dicom_path, num_ROI, ROI_coords, ROI_frames) before a
training run or before opening it with `dcmview --annotations`. The CSV is read once and never
modified.
"""

EPILOG = """\
examples:
  dcmview-annotations validate embed_rois.csv
  dcmview-annotations validate embed_rois.csv --check-files      # also open every DICOM header
  dcmview-annotations validate embed_rois.csv --format json | jq .problems
  some-export-command | dcmview-annotations validate -          # read the CSV from stdin

exit status: 0 valid, 1 problems found, 2 usage error
"""

VALIDATE_EPILOG = """\
Without --check-files, every rule that needs no file is checked: required columns, one row per
path (and per sop_instance_uid, an optional column), JSON cells, four finite non-negative
numbers per box, non-empty boxes, whole frame indices, one frame list per box, num_ROI equal
to the number of boxes.

With --check-files (needs the `dicom` extra: pip install 'dcmview-annotations[dicom]'), each
referenced file must exist and be DICOM, boxes must lie within Rows x Columns and frame
indices below NumberOfFrames. Relative paths are looked up beside the CSV, then in the
current directory. Only paths are checked: a row is never looked up by its sop_instance_uid
(dcmview matches that column against the files it loads, when no file has the row's path).

examples:
  dcmview-annotations validate embed_rois.csv
  dcmview-annotations validate embed_rois.csv --check-files --format json
"""


class _UsageError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and do not exit the interpreter."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    validate = sub.add_parser(
        "validate",
        help="check an EMBED ROI CSV and list every problem with its line and column",
        description="Check an EMBED ROI CSV and list every problem with its line and column.",
        epilog=VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("csv", metavar="CSV", help="the CSV file, or - for standard input")
    validate.add_argument(
        "--check-files",
        action="store_true",
        help="open each referenced DICOM header (pydicom) to check existence, frames and bounds",
    )
    validate.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one problem per line and a summary (default); json: one report object",
    )
    return parser


@dataclass
class Report:
    """The outcome of one validation."""

    csv: str
    rows: int = 0
    boxes: int = 0
    files_checked: bool = False
    files_found: int = 0
    files_missing: int = 0
    resolved_by: Counter[str] = field(default_factory=Counter)
    problems: list[CsvProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        """The ``--format json`` document."""
        return {
            "csv": display_path(self.csv),
            "valid": self.valid,
            "rows": self.rows,
            "boxes": self.boxes,
            "files_checked": self.files_checked,
            "files_found": self.files_found if self.files_checked else None,
            "files_missing": self.files_missing if self.files_checked else None,
            "resolved_by": dict(self.resolved_by) if self.files_checked else None,
            "problems": [p.to_json() for p in self.problems],
        }

    def summary(self) -> str:
        """The last line of the text report."""
        parts = [counted(self.rows, "row"), counted(self.boxes, "box", "boxes")]
        if self.files_checked:
            parts.append(f"{counted(self.files_found, 'file')} found")
            parts.append(f"{counted(self.files_missing, 'file')} missing")
        else:
            parts.append("files not checked (add --check-files)")
        n = len(self.problems)
        verdict = "valid" if not n else counted(n, "problem")
        text = f"{display_path(self.csv)}: {', '.join(parts)}: {verdict}"
        if self.resolved_by.get("cwd"):
            text += (
                f" ({counted(self.resolved_by['cwd'], 'relative path')} found in the working"
                " directory, not beside the CSV)"
            )
        return text


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files`` (``plural`` for irregular words)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _check_row_file(parsed: AnnotationCsv, row: CsvRow, report: Report) -> None:
    from dcmview_annotations.dicom import read_geometry

    candidates = parsed.candidates(row)
    found = next(((p, rule) for p, rule in candidates if os.path.isfile(p)), None)
    if found is None:
        report.files_missing += 1
        looked = " or ".join(f"'{display_path(p)}'" for p, _ in candidates)
        hint = ""
        if row.path != row.path.strip():
            hint = "; the path has leading or trailing spaces, which are part of a file name"
        report.problems.append(
            CsvProblem(
                row.line, PATH_COLUMN, "file_missing", f"file not found (looked for {looked}){hint}"
            )
        )
        return
    path, rule = found
    report.files_found += 1
    report.resolved_by[rule] += 1
    try:
        geometry = read_geometry(path)
    except HeaderReadError as exc:
        report.problems.append(
            CsvProblem(row.line, PATH_COLUMN, "not_dicom", f"'{display_path(path)}': {exc}")
        )
        return
    report.problems.extend(row.placement_problems(geometry))


def validate(source: str | IO[bytes], *, check_files: bool) -> Report:
    """Validate a CSV (path or binary stream); with ``check_files`` open each DICOM header."""
    if check_files:
        from dcmview_annotations.dicom import load_pydicom

        load_pydicom()
    parsed = read_csv(source)
    report = Report(csv=parsed.name, files_checked=check_files)
    unreadable = [p for p in parsed.structural_errors if p.rule == "unreadable"]
    if unreadable:
        raise _UsageError(unreadable[0].message)
    report.problems.extend(parsed.structural_errors)
    report.problems.extend(parsed.row_errors)
    report.rows = len(parsed.rows)
    report.boxes = sum(r.roi_set.num_roi for r in parsed.rows if r.roi_set is not None)
    if check_files:  # rows are empty when the header itself is unusable
        for row in parsed.rows:
            if row.path.strip():
                _check_row_file(parsed, row, report)
    report.problems.sort(key=lambda p: p.line or 0)
    return report


def _emit(text: str, out: IO[str]) -> None:
    """Write a line; characters the stream cannot encode are written as escapes."""
    try:
        out.write(text + "\n")
    except UnicodeEncodeError:
        encoding = getattr(out, "encoding", None) or "ascii"
        out.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))


def _print_report(report: Report, fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        _emit(json.dumps(report.to_json(), indent=2, ensure_ascii=False), out)
        return
    for p in report.problems:
        _emit(str(p) if p.line is not None else f"{display_path(report.csv)}: {p}", out)
    _emit(report.summary(), out)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 valid, 1 problems, 2 usage error)."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return exc.code if isinstance(exc.code, int) else 0
        if args.command is None:
            raise _UsageError(f"missing command: try '{PROG} validate CSV' (see {PROG} --help)")
        source: str | IO[bytes] = sys.stdin.buffer if args.csv == "-" else args.csv
        report = validate(source, check_files=args.check_files)
    except _UsageError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return 2
    except DicomUnavailableError:
        print(f"{PROG}: error: --check-files needs pydicom: {INSTALL_HINT}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    code = 0 if report.valid else 1
    try:
        _print_report(report, args.format, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `validate big.csv | head`: the reader left, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        os.close(devnull)
    return code
