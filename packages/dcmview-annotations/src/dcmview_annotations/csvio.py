"""EMBED ROI CSV: read once, check every row, match rows to loaded files, export.

Reading is split from matching so that a server whose file list fills progressively can parse
the CSV at startup (`read_csv`) and match each file as it is discovered (`AnnotationCsv.match`);
`load_csv` does both for a known set of files.

Text is UTF-8 (a BOM is ignored, LF or CRLF). Bytes that are not valid UTF-8 are kept as lone
surrogates (Python's ``surrogateescape``, the same convention as ``os.fsdecode`` on POSIX), so a
file name that is not UTF-8 matches the file on disk and is written back byte for byte by
`export_csv`.

Line numbers are physical lines of the CSV (the header is line 1). Relative paths resolve
against the CSV's directory first and then the working directory; `RowMatch.rule` says which.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

from dcmview_annotations.errors import CsvReadError, RoiProblem
from dcmview_annotations.model import (
    CSV_FIELDS,
    MISSING,
    Geometry,
    RoiSet,
    geometry_problems,
    placement_problems,
    roi_set_from_values,
)

PATH_COLUMN: Final = "anon_dicom_path"
NUM_COLUMN: Final = "num_ROI"
COORDS_COLUMN: Final = "ROI_coords"
FRAMES_COLUMN: Final = "ROI_frames"
UID_COLUMN: Final = "sop_instance_uid"
REQUIRED_COLUMNS: Final = (PATH_COLUMN, COORDS_COLUMN)
EXPORT_COLUMNS: Final = (PATH_COLUMN, NUM_COLUMN, COORDS_COLUMN, FRAMES_COLUMN)
#: The columns read (any other column is ignored); the export keeps the original four.
KNOWN_COLUMNS: Final = (*EXPORT_COLUMNS, UID_COLUMN)

#: How a row's path was matched to a loaded file.
RULE_ABSOLUTE: Final = "absolute"
RULE_CSV_DIR: Final = "csv_dir"
RULE_CWD: Final = "cwd"
RULE_UID: Final = "sop_instance_uid"  # no loaded file has the row's path; its UID matched

_BOM: Final = b"\xef\xbb\xbf"

Source = str | bytes | os.PathLike[str] | os.PathLike[bytes] | IO[bytes]


def display_path(path: str) -> str:
    """A printable form of a path: bytes that are not UTF-8 shown as ``\\xNN``.

    The one display rule of dcmview (``docs/api.md``, "Paths"): the server shows every path
    this way, and `path_from_display` undoes it when a CSV row names a file by that form."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_ESCAPED_BYTE: Final = re.compile(r"\\x([89a-f][0-9a-f])")


def path_from_display(text: str) -> str:
    """The path `display_path` showed as ``text``: each ``\\xNN`` (NN >= 80) is that byte again
    (as a lone surrogate, like ``os.fsdecode``). Text without such escapes is returned as is."""
    if "\\x" not in text:
        return text
    parts = _ESCAPED_BYTE.split(text)  # odd items are the hex digits of one escaped byte
    raw = b"".join(
        bytes((int(part, 16),)) if i % 2 else part.encode("utf-8", "surrogateescape")
        for i, part in enumerate(parts)
    )
    return raw.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class CsvProblem:
    """One problem in the CSV: where (line, column), which rule, and a sentence.

    ``line`` is None for problems about the whole file (unreadable, not UTF-8, empty).
    ``str()`` gives ``line 7, ROI_frames: frame 12 of box 1 is out of range (file has 10 frames)``.
    """

    line: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (None if self.line is None else f"line {self.line}", self.column)
            if part
        )
        return f"{where}: {self.message}" if where else self.message

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (``line``, ``column``, ``rule``, ``message``)."""
        return {
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class CsvRow:
    """One data row: its path as written, and its canonical boxes or its own problems.

    ``sop_instance_uid`` is the optional column of that name ("" when absent or empty)."""

    line: int
    path: str
    roi_set: RoiSet | None
    problems: tuple[CsvProblem, ...] = ()
    values: tuple[object, object, object] | None = field(default=None, compare=False, repr=False)
    """The decoded ``(ROI_coords, ROI_frames, num_ROI)`` of a row whose boxes broke a rule (kept so
    the boxes that could be read are still checked against the file)."""
    sop_instance_uid: str = ""

    def placement_problems(self, geometry: Geometry) -> tuple[CsvProblem, ...]:
        """The row's boxes and frames checked against a file (every one that could be read)."""
        if self.roi_set is not None:
            found = geometry_problems(self.roi_set, geometry, CSV_FIELDS)
        elif self.values is not None:
            found = placement_problems(*self.values, geometry, CSV_FIELDS)
        else:
            return ()
        return tuple(_row_problem(self.line, p) for p in found)


@dataclass(frozen=True)
class RowMatch:
    """A row matched to a loaded file, checked against that file's geometry."""

    row: CsvRow
    path: str
    rule: str
    roi_set: RoiSet | None
    problems: tuple[CsvProblem, ...] = ()


def _row_problem(line: int, p: RoiProblem) -> CsvProblem:
    return CsvProblem(line, p.field, p.rule, p.message)


_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _is_url(path: str) -> bool:
    """A remote name (``dicomweb://…``, ``s3://…``): absolute, compared as written."""
    return _URL.match(path) is not None


def _normalize(path: str, base: str | None = None) -> str:
    if path.startswith("/"):
        if "//" in path or "/." in path or path.endswith("/"):
            return os.path.normpath(path)
        return path  # already normal (the common case, checked cheaply)
    if _is_url(path):
        return path
    if base is not None:
        path = os.path.join(base, path)
    return os.path.normpath(path)


class AnnotationCsv:
    """A parsed, checked CSV that is not yet matched to files (see `read_csv`).

    `match` is thread-safe and claims each row at most once, so a progressive scan can call it
    for every file as it appears.
    """

    def __init__(
        self,
        *,
        name: str,
        csv_dir: str | None,
        cwd: str,
        rows: Sequence[CsvRow],
        structural_errors: Sequence[CsvProblem],
    ) -> None:
        self.name = name
        self.csv_dir = csv_dir
        self.cwd = cwd
        self.rows = tuple(rows)
        self.structural_errors = list(structural_errors)
        self._lock = threading.Lock()
        self._claimed: set[int] = set()  # lines of rows already matched
        # normalized candidate path -> [(row, rule)], preferred first
        self._index: dict[str, list[tuple[CsvRow, str]]] = {}
        self._candidates: dict[int, tuple[CsvRow, list[tuple[str, str]]]] = {}
        self._by_uid: dict[str, CsvRow] = {}  # sop_instance_uid -> row
        self._build_index()
        self._build_uid_index()

    @property
    def row_errors(self) -> list[CsvProblem]:
        """The problems found in rows without any file (types, JSON, counts, ...)."""
        return [p for row in self.rows for p in row.problems]

    def candidates(self, row: CsvRow) -> list[tuple[str, str]]:
        """Where the row's path may point, in order of preference, with the rule's name."""
        cached = self._candidates.get(row.line)
        if cached is not None and cached[0] is row:
            return cached[1]
        return self._candidates_of(row.path)

    def _candidates_of(self, path: str) -> list[tuple[str, str]]:
        """The row's own candidates, then those of the file its display form names, if any."""
        out = self._plain_candidates_of(path)
        original = path_from_display(path)
        if original != path:
            out += [c for c in self._plain_candidates_of(original) if c not in out]
        return out

    def _plain_candidates_of(self, path: str) -> list[tuple[str, str]]:
        if path.startswith("/") or _is_url(path):
            return [(_normalize(path), RULE_ABSOLUTE)]
        out: list[tuple[str, str]] = []
        if self.csv_dir is not None:
            out.append((_normalize(path, self.csv_dir), RULE_CSV_DIR))
        cwd_candidate = _normalize(path, self.cwd)
        if not out or out[0][0] != cwd_candidate:
            out.append((cwd_candidate, RULE_CWD))
        return out

    def _build_index(self) -> None:
        seen_raw: dict[str, int] = {}
        primary: dict[str, CsvRow] = {}
        index = self._index
        for row in self.rows:
            path = row.path
            if path.startswith("/") or _is_url(path):
                raw_key = _normalize(path)
                cands = self._candidates_of(path)
            elif path.strip():
                raw_key = os.path.normpath(path)
                cands = self._candidates_of(path)
            else:
                continue
            if raw_key in seen_raw:
                self.structural_errors.append(
                    CsvProblem(
                        row.line,
                        PATH_COLUMN,
                        "duplicate_path",
                        f"'{display_path(path)}' is repeated (lines {seen_raw[raw_key]} and "
                        f"{row.line}); keep one row per file",
                    )
                )
                continue
            seen_raw[raw_key] = row.line
            self._candidates[row.line] = (row, cands)
            first_key = cands[0][0]
            other = primary.get(first_key)
            if other is not None:
                self.structural_errors.append(
                    CsvProblem(
                        row.line,
                        PATH_COLUMN,
                        "duplicate_path",
                        f"lines {other.line} and {row.line} name the same file "
                        f"'{display_path(first_key)}'; keep one row per file",
                    )
                )
                continue
            primary[first_key] = row
            for key, rule in cands:
                entries = index.get(key)
                if entries is None:
                    index[key] = [(row, rule)]
                else:
                    entries.append((row, rule))
        # rows matched by their preferred rule win over fallbacks of other rows
        order = {RULE_ABSOLUTE: 0, RULE_CSV_DIR: 0, RULE_CWD: 1}
        for entries in index.values():
            if len(entries) > 1:
                entries.sort(key=lambda e: (order[e[1]], e[0].line))

    def _build_uid_index(self) -> None:
        for row in self.rows:
            uid = row.sop_instance_uid
            if not uid:
                continue
            other = self._by_uid.get(uid)
            if other is not None:
                self.structural_errors.append(
                    CsvProblem(
                        row.line,
                        UID_COLUMN,
                        "duplicate_uid",
                        f"'{display_path(uid)}' is repeated (lines {other.line} and {row.line}); "
                        "keep one row per file",
                    )
                )
                continue
            self._by_uid[uid] = row

    def _check(self, row: CsvRow, path: str, rule: str, geometry: Geometry) -> RowMatch:
        placed = row.placement_problems(geometry)
        if row.roi_set is None:
            return RowMatch(row, path, rule, None, row.problems + placed)
        return RowMatch(row, path, rule, None if placed else row.roi_set, placed)

    def match(
        self, path: str, geometry: Geometry, sop_instance_uid: str | None = None
    ) -> RowMatch | None:
        """Match one loaded file (absolute path) to its row, if any, and check it.

        The row naming the file's path wins; only when there is none does the row whose
        ``sop_instance_uid`` equals the file's match (rule `RULE_UID`). Each row is claimed
        once: a second file resolving to an already matched row gets None (so in a progressive
        scan, a row taken by UID is no longer there for a file with its path found later).
        The returned `RowMatch` has ``roi_set=None`` and ``problems`` when the row is invalid.
        """
        key = _normalize(path, self.cwd)
        with self._lock:
            entry = next(
                (e for e in self._index.get(key, ()) if e[0].line not in self._claimed), None
            )
            if entry is None and sop_instance_uid:
                row = self._by_uid.get(sop_instance_uid)
                if row is not None and row.line not in self._claimed:
                    entry = (row, RULE_UID)
            if entry is None:
                return None
            self._claimed.add(entry[0].line)
        return self._check(entry[0], key, entry[1], geometry)

    def match_all(
        self, geometries: Mapping[str, Geometry], uids: Mapping[str, str] | None = None
    ) -> list[RowMatch]:
        """Match every row against a known set of files (``uids``: path -> SOP Instance UID).

        Each row takes its preferred candidate (absolute path, or beside the CSV) when that file
        is loaded; only then do the remaining rows fall back to the working directory, so a
        fallback never takes a file that another row names directly. Last, rows still unmatched
        take the file whose SOP Instance UID is their ``sop_instance_uid``, if no row took it.
        """
        normalized = {_normalize(p, self.cwd): g for p, g in geometries.items()}
        taken: set[str] = set()
        results: list[tuple[int, RowMatch]] = []
        with self._lock:
            for preferred in (True, False):
                for line, (row, cands) in self._candidates.items():
                    if line in self._claimed:
                        continue
                    for key, rule in cands[:1] if preferred else cands[1:]:
                        if key in normalized and key not in taken:
                            taken.add(key)
                            self._claimed.add(line)
                            results.append((line, self._check(row, key, rule, normalized[key])))
                            break
            by_uid = {u: _normalize(p, self.cwd) for p, u in (uids or {}).items() if u}
            for uid, row in self._by_uid.items():
                key = by_uid.get(uid, "")
                if key and key not in taken and row.line not in self._claimed:
                    taken.add(key)
                    self._claimed.add(row.line)
                    results.append((row.line, self._check(row, key, RULE_UID, normalized[key])))
        results.sort(key=lambda r: r[0])
        return [m for _, m in results]

    def unclaimed(self) -> list[CsvRow]:
        """Rows that have not been matched to any file (so far)."""
        with self._lock:
            return [r for r in self.rows if r.line not in self._claimed]


@dataclass
class CsvLoadResult:
    """What `load_csv` found: the valid sets by file, every problem, and the unmatched rows."""

    csv: AnnotationCsv
    roi_sets: dict[str, RoiSet] = field(default_factory=dict)
    matches: dict[str, RowMatch] = field(default_factory=dict)
    errors: list[CsvProblem] = field(default_factory=list)
    unmatched: list[CsvRow] = field(default_factory=list)

    @property
    def structural_errors(self) -> list[CsvProblem]:
        """Problems that make the whole CSV unusable (``dcmview --annotations`` exits 2)."""
        return self.csv.structural_errors

    @property
    def ok(self) -> bool:
        """True when there is no problem at all."""
        return not self.structural_errors and not self.errors


# --------------------------------------------------------------------------- reading


def _read_source(source: Source) -> tuple[bytes | None, str, str | None, CsvProblem | None]:
    """Read the whole source once: (data, display name, directory for relative paths, problem)."""
    if isinstance(source, str | bytes | os.PathLike):
        path = os.fsdecode(source)
        try:
            with open(path, "rb") as fh:
                is_regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
                data = fh.read()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return (
                None,
                path,
                None,
                CsvProblem(None, None, "unreadable", f"cannot read {display_path(path)}: {reason}"),
            )
        csv_dir = os.path.dirname(os.path.abspath(path)) if is_regular else None
        return data, path, csv_dir, None
    stream: object = getattr(source, "buffer", source)
    read = getattr(stream, "read", None)
    if read is None:
        raise CsvReadError(f"expected a path or a binary file object, got {type(source).__name__}")
    name_obj = getattr(stream, "name", None)
    name = os.fsdecode(name_obj) if isinstance(name_obj, str | bytes) else "<stream>"
    csv_dir = None
    try:
        fileno = stream.fileno()  # type: ignore[attr-defined]
        if (
            name != "<stream>"
            and not name.startswith("<")
            and stat.S_ISREG(os.fstat(fileno).st_mode)
        ):
            csv_dir = os.path.dirname(os.path.abspath(name))
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    try:
        data = read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return (
            None,
            name,
            None,
            CsvProblem(None, None, "unreadable", f"cannot read {name}: {reason}"),
        )
    if not isinstance(data, bytes | bytearray):
        raise CsvReadError("open the CSV in binary mode ('rb'): got text, not bytes")
    return bytes(data), name, csv_dir, None


def _encoding_problem(data: bytes) -> CsvProblem | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return CsvProblem(
            None, None, "not_utf8", "is UTF-16 text, not UTF-8: save the CSV as UTF-8"
        )
    if b"\x00" in data:
        return CsvProblem(None, None, "not_utf8", "contains NUL bytes: it is not a UTF-8 text CSV")
    return None


@dataclass
class _Table:
    """Tokenized CSV in columns: ``columns[j][i]`` is field j of record i (padded with "")."""

    lines: list[int]  # physical line where each record starts
    columns: list[list[str]]
    widths: list[int] | None  # exact field counts; None when no record is wider than the header


def _header_width(data: bytes) -> int | None:
    for raw in data.split(b"\n", 64):
        text = raw.decode("utf-8", "surrogateescape")
        if text.strip():
            try:
                return max(len(next(csv.reader([text]), [])), 1)
            except csv.Error:
                return None  # e.g. lines ending in a bare CR: the exact tokenizer copes
    return 1


def _unclosed_quote_line(data: bytes, table: _Table | None) -> int | None:
    """The line of a record whose opening quote is never closed (it runs to the end), if any."""
    if data.count(b'"') % 2 == 0:
        return None
    table = table if table is not None and table.widths is not None else _tokenize_csv(data)
    if not table.lines:
        return None
    physical = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    physical += 0 if data.endswith((b"\n", b"\r")) else 1
    last = table.lines[-1]
    return last if last < physical else None


PANDAS_TOKENIZE_BYTES = 256 * 1024
"""CSVs from this size on are tokenized by pandas' C reader; smaller ones by the csv module,
which reads them faster than pandas imports (≈ 0.15 s), so a small CSV never loads pandas."""


def _tokenize_pandas(data: bytes) -> _Table | None:
    """Tokenize with pandas when every record is one line and none is wider than the header."""
    import pandas as pd

    physical = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    width = _header_width(data)
    if width is None:
        return None
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None,
            names=list(range(width)),
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8",
            encoding_errors="surrogateescape",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        return None  # a record wider than the header: the exact tokenizer reports it
    if len(frame) != physical:
        return None  # a quoted field spans lines, or a bare CR ends lines
    columns = [frame[c].tolist() for c in frame.columns]
    return _Table(list(range(1, len(frame) + 1)), columns, None)


def _tokenize_csv(data: bytes) -> _Table:
    """Tokenize with the csv module (exact physical line numbers, multi-line fields)."""
    text = data.decode("utf-8", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    lines: list[int] = []
    records: list[list[str]] = []
    previous = 0
    for fields in reader:
        lines.append(previous + 1)
        records.append(fields)
        previous = reader.line_num
    width = max((len(r) for r in records), default=1)
    columns = [[r[j] if j < len(r) else "" for r in records] for j in range(width)]
    return _Table(lines, columns, [len(r) for r in records])


def _parse_json_cell(text: str, column: str, line: int, problems: list[CsvProblem]) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 60 else text[:59] + "…"
        hint = ""
        if text.lstrip().startswith("("):
            hint = " (Python tuples are not JSON: write [[ymin, xmin, ymax, xmax]])"
        problems.append(
            CsvProblem(
                line,
                column,
                "invalid_json",
                f"is not valid JSON ({exc.msg} at character {exc.pos + 1}): "
                f"'{display_path(shown)}'{hint}",
            )
        )
        return MISSING
    except RecursionError:
        problems.append(CsvProblem(line, column, "invalid_json", "is nested too deeply"))
        return MISSING


def _num_cell(text: str) -> object:
    if not text:
        return MISSING
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# Conservative shapes of plainly valid cells, strict JSON by construction (no sign, no leading
# zero, bounded digits: finite as floats). Matching cells are decoded in one batch and take the
# fast path; anything else takes the general path, which gives the exact messages.
_NUM = r"(?:0|[1-9]\d{0,14})(?:\.\d{1,17})?(?:[eE][+-]?\d{1,2})?"
_BOX = rf"\[\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\]"
_COORDS_RE = re.compile(rf"\[\s*(?:{_BOX}(?:\s*,\s*{_BOX})*)?\s*\]")
_FRAME = r"(?:0|[1-9]\d{0,8})"
_FRAME_LIST = rf"\[\s*(?:{_FRAME}(?:\s*,\s*{_FRAME})*)?\s*\]"
_FRAMES_RE = re.compile(rf"\[\s*(?:{_FRAME_LIST}(?:\s*,\s*{_FRAME_LIST})*)?\s*\]")


def _decode_plain(cells: list[str], pattern: re.Pattern[str]) -> dict[int, Any]:
    """Decode, in one ``json.loads``, the cells that match ``pattern``: {index: value}."""
    picked = [i for i, c in enumerate(cells) if c and pattern.fullmatch(c)]
    if not picked:
        return {}
    try:
        values = json.loads("[" + ",".join([cells[i] for i in picked]) + "]")
    except ValueError:  # not expected for matching cells; the general path stays correct
        return {}
    return dict(zip(picked, values, strict=True))


def _fast_row(
    line: int, path: str, num: str, coords: Any, frame_lists: Any, uid: str = ""
) -> CsvRow | None:
    """The row when it is plainly valid, else None (then `_parse_row` explains why).

    ``coords``/``frame_lists`` come from `_decode_plain` (``frame_lists`` None: empty cell);
    ``uid`` is the stripped ``sop_instance_uid`` cell.
    """
    if not path.strip():
        return None
    boxes: list[tuple[float, float, float, float]] = []
    for y0, x0, y1, x1 in coords:
        if y0 > y1:
            y0, y1 = y1, y0
        if x0 > x1:
            x0, x1 = x1, x0
        if y0 == y1 or x0 == x1:
            return None
        boxes.append((float(y0), float(x0), float(y1), float(x1)))
    n = len(boxes)
    if num and not (num.isascii() and num.isdigit() and int(num) == n):
        return None
    frames: tuple[tuple[int, ...], ...]
    if not frame_lists:
        frames = ((),) * n
    elif len(frame_lists) != n:
        return None
    else:
        frames = tuple([tuple(sorted(set(fl))) for fl in frame_lists])
    roi_set = RoiSet._trusted(tuple(boxes), frames, not frame_lists)
    return CsvRow(line, path, roi_set, sop_instance_uid=uid)


def _parse_row(
    line: int,
    path: str,
    num_text: str,
    coords_text: str,
    frames_text: str,
    used: int,
    header_width: int,
    space_before_quote: bool = False,
    uid: str = "",
) -> CsvRow:
    """Check one row in full; every problem is reported with the row's line and column."""
    problems: list[CsvProblem] = []
    if used > header_width:
        advice = (
            "remove the space between a comma and a quoted cell (a quote only opens a cell "
            "at its very start)"
            if space_before_quote
            else 'quote the JSON cells (for example "[[120,340,220,430]]")'
        )
        problems.append(
            CsvProblem(
                line,
                None,
                "field_count",
                f"has {used} fields but the header has {header_width}: {advice}",
            )
        )
        return CsvRow(line, path, None, tuple(problems), sop_instance_uid=uid)
    if not path.strip():
        problems.append(CsvProblem(line, PATH_COLUMN, "empty_path", "is empty"))
    coords: object = MISSING
    if not coords_text and num_text in ("0", "0.0"):
        coords = []  # an explicit "no boxes": num_ROI 0 with an empty ROI_coords cell
    elif not coords_text:
        problems.append(
            CsvProblem(
                line, COORDS_COLUMN, "empty_cell", "is empty (write [] for a file with no boxes)"
            )
        )
    else:
        coords = _parse_json_cell(coords_text, COORDS_COLUMN, line, problems)
    frames: object = MISSING
    if frames_text:
        frames = _parse_json_cell(frames_text, FRAMES_COLUMN, line, problems)
    num = _num_cell(num_text)
    if problems:
        return CsvRow(line, path, None, tuple(problems), sop_instance_uid=uid)
    roi_set, roi_problems = roi_set_from_values(coords, frames, num, CSV_FIELDS)
    problems.extend(_row_problem(line, p) for p in roi_problems)
    values = (coords, frames, num) if roi_problems else None
    return CsvRow(line, path, roi_set, tuple(problems), values, uid)


def _header_problems(header: list[str]) -> tuple[dict[str, int | None], list[CsvProblem]]:
    names = [h.strip() for h in header]
    problems: list[CsvProblem] = []
    positions: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in positions and name in KNOWN_COLUMNS:
            problems.append(
                CsvProblem(
                    1,
                    None,
                    "duplicate_column",
                    f"column {name} appears twice (fields {positions[name] + 1} and {i + 1})",
                )
            )
        positions.setdefault(name, i)
    for required in REQUIRED_COLUMNS:
        if required not in positions:
            near = [n for n in names if n.lower() == required.lower()]
            hint = f" ({near[0]!r} differs only in case: names are case-sensitive)" if near else ""
            shown = ", ".join(display_path(n) for n in names) or "nothing"
            problems.append(
                CsvProblem(
                    1,
                    None,
                    "missing_column",
                    f"missing required column {required}{hint}; the header has: {shown}",
                )
            )
    cols: dict[str, int | None] = {c: positions.get(c) for c in KNOWN_COLUMNS}
    return cols, problems


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Parsing 100,000 rows creates millions of tuples; without the pause, repeated full
    collections over them cost about as much as the parsing itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_csv(source: Source, *, cwd: str | None = None) -> AnnotationCsv:
    """Read an EMBED ROI CSV once and check every row without any file.

    ``source`` is a path or a binary file object (a pipe works: it is read exactly once).
    Nothing is ever written. Problems are returned, not raised: see `AnnotationCsv`.
    """
    with _gc_paused():
        return _read_csv(source, cwd)


def _read_csv(source: Source, cwd: str | None) -> AnnotationCsv:
    work_dir = os.path.abspath(cwd) if cwd is not None else os.getcwd()
    data, name, csv_dir, problem = _read_source(source)

    def failed(p: CsvProblem) -> AnnotationCsv:
        return AnnotationCsv(
            name=name, csv_dir=csv_dir, cwd=work_dir, rows=(), structural_errors=[p]
        )

    if problem is not None or data is None:
        assert problem is not None
        return failed(problem)
    data = data.removeprefix(_BOM)
    bad = _encoding_problem(data)
    if bad is not None:
        return failed(bad)
    if not data.strip():
        return failed(
            CsvProblem(
                None,
                None,
                "empty_csv",
                f"is empty: expected a header row with {PATH_COLUMN} and {COORDS_COLUMN}",
            )
        )
    table = _tokenize_pandas(data) if len(data) >= PANDAS_TOKENIZE_BYTES else None
    unclosed = _unclosed_quote_line(data, table)
    if unclosed is not None:
        return failed(
            CsvProblem(
                unclosed,
                None,
                "unclosed_quote",
                "a double quote opens a cell that is never closed, so every later line would "
                'be read into it: close the quote (a quote inside a cell is written "")',
            )
        )
    table = table or _tokenize_csv(data)
    columns, widths = table.columns, table.widths
    count = len(table.lines)
    # skip blank lines before the header
    start = next((i for i in range(count) if any(c[i].strip() for c in columns)), None)
    if start is None:
        return failed(CsvProblem(None, None, "empty_csv", "has no header row (only empty fields)"))
    header = [c[start] for c in columns][: widths[start] if widths else None]
    cols, problems = _header_problems(header)
    problems = [CsvProblem(table.lines[start], p.column, p.rule, p.message) for p in problems]
    header_width = len(header)
    while header_width > 1 and not header[header_width - 1].strip():
        header_width -= 1
    rows: list[CsvRow] = []
    if not problems:
        empty = [""] * count

        def column(name: str) -> list[str]:
            j = cols[name]
            return empty if j is None else columns[j]

        paths, nums, uids = column(PATH_COLUMN), column(NUM_COLUMN), column(UID_COLUMN)
        coords_cells = [c.strip() for c in column(COORDS_COLUMN)]
        frames_cells = [c.strip() for c in column(FRAMES_COLUMN)]
        plain_coords = _decode_plain(coords_cells, _COORDS_RE)
        plain_frames = _decode_plain(frames_cells, _FRAMES_RE)
        for i in range(start + 1, count):
            line, path = table.lines[i], paths[i]
            coords_text = coords_cells[i]
            frames_text = frames_cells[i]
            num = nums[i].strip()
            used = header_width
            if widths is not None:
                used = widths[i]
                while used > header_width and not columns[used - 1][i]:
                    used -= 1
            if not (path or coords_text) and not any(c[i] for c in columns):
                continue  # blank line (or only separators)
            row = None
            uid = uids[i].strip()
            if used <= header_width and i in plain_coords:
                frame_lists = plain_frames.get(i) if frames_text else None
                if frame_lists is not None or not frames_text:
                    row = _fast_row(line, path, num, plain_coords[i], frame_lists, uid)
            if row is None:
                spaced = used > header_width and any(
                    columns[j][i].lstrip(" \t").startswith('"') and columns[j][i][0] in " \t"
                    for j in range(used)
                )
                row = _parse_row(
                    line, path, num, coords_text, frames_text, used, header_width, spaced, uid
                )
            rows.append(row)
    return AnnotationCsv(
        name=name, csv_dir=csv_dir, cwd=work_dir, rows=rows, structural_errors=problems
    )


def load_csv(
    source: Source,
    geometries: Mapping[str, Geometry],
    *,
    cwd: str | None = None,
    uids: Mapping[str, str] | None = None,
) -> CsvLoadResult:
    """Read a CSV once and match it to the loaded files ``{path: Geometry}``.

    ``uids`` (``{path: SOP Instance UID}``) lets a row whose path names no loaded file match by
    its ``sop_instance_uid`` column (see `AnnotationCsv.match_all`).

    The result holds the valid sets by normalized path, every row problem (with line, column and
    rule), the rows whose file is not loaded, and the structural errors (missing column, repeated
    path, unreadable or non-UTF-8 file) on which a caller should refuse the CSV.
    """
    parsed = read_csv(source, cwd=cwd)
    with _gc_paused():
        return _load(parsed, geometries, uids)


def _load(
    parsed: AnnotationCsv, geometries: Mapping[str, Geometry], uids: Mapping[str, str] | None
) -> CsvLoadResult:
    result = CsvLoadResult(csv=parsed)
    result.errors.extend(parsed.row_errors)
    for m in parsed.match_all(geometries, uids):
        result.matches[m.path] = m
        if m.roi_set is not None:
            result.roi_sets[m.path] = m.roi_set
        elif m.row.roi_set is not None:  # the row was fine on its own, the file rejects it
            result.errors.extend(m.problems)
    result.errors.sort(key=lambda p: p.line or 0)
    result.unmatched = parsed.unclaimed()
    return result


# --------------------------------------------------------------------------- export


def _quote(cell: bytes) -> bytes:
    return b'"' + cell.replace(b'"', b'""') + b'"'


def _path_cell(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bytes:
    raw = path if isinstance(path, bytes) else os.fspath(path)
    encoded = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if not encoded:
        raise ValueError("cannot export a row with an empty path")
    needs_quotes = (
        any(c in encoded for c in (b",", b'"', b"\n", b"\r"))
        or encoded != encoded.strip()
        or encoded.startswith(_BOM)
    )
    return _quote(encoded) if needs_quotes else encoded


def _json_cell(value: object) -> bytes:
    return _quote(json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii"))


def export_csv(
    rows: Iterable[tuple[str | bytes | os.PathLike[str] | os.PathLike[bytes], RoiSet]],
) -> bytes:
    """EMBED CSV bytes for ``(path, RoiSet)`` pairs; sets without boxes are left out.

    Columns ``anon_dicom_path,num_ROI,ROI_coords,ROI_frames``, JSON cells compact and quoted, LF
    line ends. ``str`` paths are encoded with ``surrogateescape`` and ``bytes`` paths are written
    as they are, so a file name that is not UTF-8 comes back byte for byte through `load_csv`.
    """
    with _gc_paused():
        return _export(rows)


def _export(
    rows: Iterable[tuple[str | bytes | os.PathLike[str] | os.PathLike[bytes], RoiSet]],
) -> bytes:
    out = [",".join(EXPORT_COLUMNS).encode("ascii") + b"\n"]
    for path, roi_set in rows:
        if roi_set.num_roi == 0:
            continue
        doc = roi_set.to_json()
        out.append(
            b",".join(
                (
                    _path_cell(path),
                    str(roi_set.num_roi).encode("ascii"),
                    _json_cell(doc["roi_coords"]),
                    _json_cell(doc["roi_frames"]),
                )
            )
            + b"\n"
        )
    return b"".join(out)
