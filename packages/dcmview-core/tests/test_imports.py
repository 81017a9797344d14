"""Start-up cost: importing dcmview-core and scanning ordinary files never imports pydicom.

pydicom (with its pixel handlers, GDCM's bindings and `requests`) is ≈ 0.2 s of imports; the
lean header reader answers the scan, so pydicom is loaded only when a file needs it (tags, an
unusual header). A fresh interpreter per check:
the test process itself has long imported pydicom.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Bundled = Callable[[str], str]

_HEAVY = ("pydicom", "PIL", "gdcm", "requests")


def _modules_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in json.loads(done.stdout) if m.split(".")[0] in _HEAVY]


def test_importing_the_core_imports_no_pydicom_nor_pillow() -> None:
    assert _modules_after("import dcmview_core") == []


def test_scanning_ordinary_files_imports_no_pydicom(testdata_path: Bundled) -> None:
    paths = [
        testdata_path(n)
        for n in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_gdcm_KY.dcm")
    ]
    code = (
        "import dcmview_core\n"
        f"entries = [dcmview_core.read_entry(p) for p in {paths!r}]\n"
        "assert all(e.rows for e in entries), entries"
    )
    assert _modules_after(code) == []


def test_skipping_files_that_are_not_dicom_imports_no_pydicom(
    tmp_path: Path, testdata_path: Bundled
) -> None:
    (tmp_path / "notes.txt").write_text("not DICOM\n")
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp_path / "ct.dcm").write_bytes(Path(testdata_path("CT_small.dcm")).read_bytes())
    code = (
        "import dcmview_core\n"
        f"items = list(dcmview_core.scan([{str(tmp_path)!r}]))\n"
        "kinds = sorted(type(i).__name__ for i in items)\n"
        "assert kinds == ['FileEntry', 'Skipped', 'Skipped', 'Skipped'], kinds"
    )
    assert _modules_after(code) == []
