"""Every wheel of the workspace carries the MIT licence (issue 12 §7)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())


def test_every_package_has_the_mit_licence() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    for name in PACKAGES:
        assert (ROOT / "packages" / name / "LICENSE").read_text() == text, name
        assert 'license = "MIT"' in (ROOT / "packages" / name / "pyproject.toml").read_text()


@pytest.mark.slow
def test_every_wheel_includes_the_licence(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv to build the wheels")
    subprocess.run(
        [uv, "build", "--all-packages", "--wheel", "--out-dir", str(tmp_path)],
        cwd=ROOT, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    wheels = sorted(tmp_path.glob("*.whl"))
    assert len(wheels) == len(PACKAGES)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            licences = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            assert licences, wheel.name
            assert archive.read(licences[0]).startswith(b"MIT License")
