"""The ``--demo`` study: generated once into the user cache dir, then linked into a private
temporary directory for each run (so the demo starts in well under a second).

The cache entry is keyed by dcmview-py's version and a hash of what decides the bytes (the
writer's source and the versions of the libraries that encode them); it is built in a
temporary directory and renamed into place, so a half-built entry is never used. Each run
checks every cached file against the entry's manifest (size and modification time, recorded
when it was built, with its SHA-256) and rebuilds the entry when one differs. The DICOM files
are byte-identical between runs; the annotations CSV names the run's own paths, so it is
written per run.

Where to add a part of the study: `dcmview_py.demo.study.PARTS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dcmview_server.config import user_cache_dir

from dcmview_py import __version__

MANIFEST = "manifest.json"
_ENCODERS = ("numpy", "pydicom", "imagecodecs", "pylibjpeg", "pylibjpeg-openjpeg", "pyjpegls")


@dataclass(frozen=True)
class DemoStudy:
    """A demo study ready to serve: its directory and its EMBED annotations CSV."""

    directory: str
    annotations: str


def installed_versions() -> dict[str, str]:
    """``{normalised distribution name: version}`` from the ``*.dist-info`` directories on
    ``sys.path`` (one directory listing each: much cheaper than ``importlib.metadata``)."""
    found: dict[str, str] = {}
    for folder in sys.path:
        with contextlib.suppress(OSError):
            for entry in os.listdir(folder or "."):
                if entry.endswith(".dist-info"):
                    name, _, version = entry.removesuffix(".dist-info").partition("-")
                    found.setdefault(name.lower().replace("_", "-").replace(".", "-"), version)
    return found


def cache_key() -> str:
    """``<version>-<hash>``: changes whenever the demo's bytes could change (the writer's
    source, the versions of the libraries that compute and encode the pixels)."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    versions = installed_versions()
    for name in _ENCODERS:
        digest.update(f"{name}={versions.get(name, '-')}\n".encode())
    return f"{__version__}-{digest.hexdigest()[:16]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def build(entry: Path) -> None:
    """Write the study's DICOM files and their manifest into ``entry`` (atomically)."""
    from dcmview_py.demo.study import write_images

    entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=entry.parent))
    try:
        files = write_images(staging)
        manifest = {}
        for path in files:
            path.chmod(0o444)  # linked into each run: nobody should write through a link
            st = path.stat()
            name = path.relative_to(staging).as_posix()
            manifest[name] = {
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha256": _sha256(path),
            }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        try:
            staging.rename(entry)
        except OSError:  # another process built it first: use theirs
            if not verified(entry):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def verified(entry: Path) -> dict[str, dict[str, object]] | None:
    """The entry's manifest when every listed file is as it was built, else None."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        for name, expected in manifest.items():
            st = (entry / name).stat()
            if (st.st_size, st.st_mtime_ns) != (expected["size"], expected["mtime_ns"]):
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return dict(manifest)


def cached_entry(cache: Path | None = None) -> Path:
    """The verified cache entry of the current demo, built (or rebuilt) when needed."""
    entry = (cache or user_cache_dir()) / "demo" / cache_key()
    if verified(entry) is None:
        if entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        build(entry)
    return entry


def place(entry: Path, target: Path) -> None:
    """Hard-link (or, across file systems, copy) the entry's files into ``target``."""
    manifest = verified(entry)
    if manifest is None:
        raise OSError(f"the demo cache {entry} changed while in use")
    for name in manifest:
        source, destination = entry / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)


@contextlib.contextmanager
def demo_study(cache: Path | None = None) -> Iterator[DemoStudy]:
    """A private (0700) temporary directory holding the demo study, removed on exit.

    The study comes from the user cache dir (built there on first use); when the cache cannot
    be written, the study is generated in the temporary directory instead.
    """
    from dcmview_py.demo.annotations import TOMO_NAME, write_annotations

    with tempfile.TemporaryDirectory(prefix="dcmview-demo-") as tmp:
        study = Path(tmp) / "study"
        study.mkdir(mode=0o700)
        try:
            place(cached_entry(cache), study)
        except OSError:
            from dcmview_py.demo.study import write_images

            shutil.rmtree(study, ignore_errors=True)
            write_images(study)
        csv = Path(tmp) / "annotations.csv"  # beside the study: the scan does not skip it
        write_annotations(csv, study / TOMO_NAME)
        yield DemoStudy(str(study), str(csv))
