"""Server configuration: every server option declared once, as data.

Each `ServerConfig` field carries an `Option` (its command-line flags, help, how CLI text
becomes a value, how a value is checked). The ``dcmview`` parser, ``view()``'s keyword checks
and the validation of a `ServerConfig` built in code are all derived from these declarations
(dcmview-py reads them with `options_of`). Constructing a `ServerConfig` checks every value and
the rules between values (`ConfigError`); `check_environment` checks what depends on the file
system (paths exist, the socket directory exists) just before serving.

Imports nothing heavy: ``dcmview --help`` reads this module.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_CACHE_BUDGET = 512 * 2**20

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 2**10,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 2**20,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 2**30,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 2**40,
}


class ConfigError(ValueError):
    """The one usage error of dcmview: a bad option, path, filter, CSV, port in use …

    The CLI prints ``dcmview: error: <message>`` and exits 2; ``view()`` raises it (it is a
    `ValueError`) before anything starts.
    """


def parse_size(text: str) -> int:
    """Parse a byte size such as ``512MiB``, ``2GiB``, ``256MB`` or ``1000000``.

    Units are case-insensitive; ``KiB/MiB/GiB/TiB`` are powers of 1024, ``KB/MB/GB/TB`` (and
    ``K/M/G/T``) powers of 1000. Raises `ValueError` for anything else, including negatives.
    """
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"invalid size {text!r}: expected a number with an optional unit (512MiB)")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(
            f"invalid size unit {unit!r} in {text!r}: use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB"
        )
    value = float(number) * factor
    if value > 2**62:
        raise ValueError(f"size {text!r} is too large")
    return int(value)


def format_size(size: int) -> str:
    """``536870912`` → ``512MiB`` (whole binary units when exact, else bytes)."""
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# ---- value checks: each takes a Python value, returns it normalised, or raises ------------------
# TypeError (wrong kind of value, only possible from code) or ValueError (bad value).


def integer(text: str) -> int:
    """Command-line text → int."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def number(text: str) -> float:
    """Command-line text → float."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None


def _type_name(value: object) -> str:
    return type(value).__name__


def port_number(value: object) -> int:
    """A TCP port 0..65535 (0: the OS picks)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a port number (int), not {_type_name(value)}")
    if not 0 <= value <= 65535:
        raise ValueError(f"invalid port {value}: expected 0..65535")
    return value


def seconds(value: object) -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number of seconds, not {_type_name(value)}")
    if not 0 < value < math.inf:
        raise ValueError(f"must be a positive number of seconds, got {value}")
    return float(value)


def positive_int(value: object) -> int:
    """An int ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, not {_type_name(value)}")
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


def text(value: object) -> str:
    """A non-blank string."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {_type_name(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def path_text(value: object) -> str:
    """A non-empty path (``str`` or ``os.PathLike``) as a string."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"expected a path, not {_type_name(value)}")
    path = os.fsdecode(value)
    if not path:
        raise ValueError("must not be an empty path")
    return path


def switch(value: object) -> bool:
    """``True`` or ``False`` (nothing else)."""
    if not isinstance(value, bool):
        raise TypeError(f"expected True or False, not {_type_name(value)}")
    return value


def cache_size(value: object) -> int:
    """Bytes: an int, or a size string such as ``256MiB``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected bytes (int) or a size like '256MiB', not {_type_name(value)}")
    size = parse_size(value) if isinstance(value, str) else value
    if size <= 0:
        raise ValueError("must be positive")
    return size


def filter_text(value: object) -> str:
    """``FIELD=VALUE`` / ``FIELD==VALUE`` with a known field (dcmview-core's `parse_filter`)."""
    item = text(value)
    from dcmview_server.scanning import parse_filters  # dcmview-core: only when filters are given

    try:
        parse_filters([item])
    except ConfigError as error:
        raise ValueError(str(error).removeprefix(f"bad --filter {item!r}: ")) from None
    return item


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dcmview`` (default ``~/.cache/dcmview``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dcmview"


def is_url(name: str) -> bool:
    """True for a remote source name (dcmview-core's `is_remote`: ``s3://``, ``https://`` …);
    core is imported only for names that contain ``://``."""
    if "://" not in name:
        return False
    from dcmview_core import is_remote

    return bool(is_remote(name))


# ---- the declaration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """How one setting appears on the command line and in ``view()``, and how it is checked.

    ``parse`` turns command-line text into a value (then ``check`` runs on it); ``None`` makes a
    switch (no argument). ``repeat`` makes a repeatable flag whose values form a tuple (``check``
    runs per item). ``invert``: the switch stores ``False`` (``--no-recursive`` sets
    ``recursive=False``). ``keyword`` is the ``view()`` keyword ("" = none; default the field
    name). ``flags=()`` means a positional argument.
    """

    flags: tuple[str, ...]
    help: str
    check: Callable[[Any], Any]
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    group: str = "server"
    repeat: bool = False
    invert: bool = False
    hidden: bool = False
    keyword: str | None = None
    env: str | None = None
    """A secret: read from this environment variable when the flag is absent, and passed to
    child processes that way (never on a command line other users can read with ``ps``)."""


def option(
    default: Any,
    *flags: str,
    help: str,
    check: Callable[[Any], Any],
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    group: str = "server",
    repeat: bool = False,
    invert: bool = False,
    hidden: bool = False,
    keyword: str | None = None,
    env: str | None = None,
) -> Any:
    """A dataclass field with a default, declaring one option."""
    meta = Option(flags, help, check, parse, metavar, group, repeat, invert, hidden, keyword, env)
    return field(default=default, metadata={"option": meta})


def options_of(cls: type[Any]) -> list[tuple[str, Option]]:
    """``(field name, Option)`` of every declared option of a dataclass, in order."""
    return [
        (f.name, f.metadata["option"]) for f in dataclasses.fields(cls) if "option" in f.metadata
    ]


def check_options(instance: Any) -> None:
    """Check (and normalise) every declared option value of a frozen dataclass instance.

    Raises `ConfigError` naming the option (or ``TypeError`` for a value of the wrong kind).
    """
    for name, opt in options_of(type(instance)):
        value = getattr(instance, name)
        label = opt.flags[-1] if opt.flags else name
        try:
            if opt.repeat:
                if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                    raise TypeError(f"expected a list, not {_type_name(value)}")
                value = tuple(opt.check(item) for item in value)
            elif value is not None or opt.parse is None:  # a switch is never None
                value = opt.check(value)
        except TypeError as error:
            raise TypeError(f"{label}: {error}") from None
        except ValueError as error:
            raise ConfigError(f"{label}: {error}") from None
        object.__setattr__(instance, name, value)


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs to start; each option and its default is declared here."""

    paths: tuple[str, ...] = field(
        metadata={
            "option": Option(
                (), "DICOM files or directories", path_text, metavar="PATH", repeat=True,
                keyword="",
            )
        }
    )  # fmt: skip
    host: str = option(
        DEFAULT_HOST,
        "--host",
        metavar="ADDR",
        check=text,
        parse=str,
        help=f"bind address (default: {DEFAULT_HOST}); a non-loopback address exposes the "
        "viewer to the network and prints a warning",
    )
    port: int = option(
        0,
        "-p",
        "--port",
        metavar="N",
        check=port_number,
        parse=integer,
        help="bind port; 0 lets the OS choose (default: 0)",
    )
    """0 lets the OS pick; the real port is read back from the bound socket."""
    unix_socket: str | None = option(
        None,
        "--unix-socket",
        metavar="PATH",
        check=path_text,
        parse=str,
        help="listen on a private (0600) Unix socket instead of TCP",
    )
    timeout: float | None = option(
        None,
        "--timeout",
        metavar="SECONDS",
        check=seconds,
        parse=number,
        help="exit after this many seconds with no API or page request, e.g. --timeout 600",
    )
    """Idle seconds before the server stops by itself; None = never."""
    no_token: bool = option(
        False,
        "--no-token",
        check=switch,
        help="serve without the access token (only behind an authenticating proxy)",
    )
    allow_hosts: tuple[str, ...] = option(
        (),
        "--allow-host",
        metavar="NAME",
        check=text,
        parse=str,
        repeat=True,
        help="extra Host header name to accept (reverse proxies); repeatable",
    )
    cache_budget: int = option(
        DEFAULT_CACHE_BUDGET,
        "--cache-budget",
        metavar="SIZE",
        check=cache_size,
        parse=parse_size,
        help="memory for decoded and encoded frames, volumes and remote reads (S3/HTTP "
        "header blocks, DICOMweb frame windows), e.g. 256MiB, 2GiB or bytes "
        f"(default: {format_size(DEFAULT_CACHE_BUDGET)})",
    )
    """Bytes shared by every cache: decoded frames, encoded images, volumes, remote reads."""
    recursive: bool = option(
        True,
        "--no-recursive",
        check=switch,
        invert=True,
        group="files",
        help="only the top level of directories",
    )
    filters: tuple[str, ...] = option(
        (),
        "--filter",
        metavar="FIELD=VALUE",
        check=filter_text,
        parse=str,
        repeat=True,
        group="files",
        help="repeatable, all must match; case-insensitive substring on patient_id, "
        "patient_name, study_date, study_description, study_uid, series_description, "
        "series_number, series_uid, modality or any DICOM keyword; FIELD==VALUE matches "
        "exactly. e.g. --filter modality=MG",
    )
    """Raw ``FIELD=VALUE`` / ``FIELD==VALUE`` strings, AND-combined."""
    annotations: str | None = option(
        None,
        "--annotations",
        metavar="CSV",
        check=path_text,
        parse=str,
        group="files",
        help="EMBED ROI CSV (anon_dicom_path, ROI_coords, ...) shown as boxes; read once, "
        "never modified",
    )
    """EMBED CSV path; read exactly once (``/dev/fd/N`` works)."""
    save_annotations: str | None = option(
        None,
        "--save-annotations",
        metavar="PATH",
        check=path_text,
        parse=str,
        group="files",
        help="write every ROI edit to this EMBED CSV at once (atomically: temp file + "
        "rename); must not be the --annotations CSV",
    )
    overlays: tuple[str, ...] = option(
        (),
        "--overlay",
        metavar="PATH",
        check=path_text,
        parse=str,
        repeat=True,
        group="files",
        help="repeatable: a mask drawn over the images it fits: .npy (label, bool or 0-1 float "
        "array), .nii/.nii.gz (needs dcmview-core[nifti]) or a DICOM SEG / RT Structure Set",
    )
    segment_labels: str | None = option(
        None,
        "--segment-labels",
        metavar="JSON",
        check=text,
        parse=str,
        group="files",
        help='names of the label values of --overlay masks: \'{"1": "tumour"}\' or a JSON file',
    )
    mask: bool = option(
        False,
        "--mask",
        check=switch,
        group="files",
        help="hide patient identifiers everywhere the viewer shows them",
    )
    tunnel_host: str | None = option(
        None,
        "--tunnelled-from",
        metavar="HOST",
        check=text,
        parse=str,
        hidden=True,
        keyword="",
        help="set by the remote side of --tunnel",
    )
    """Set by the remote side of ``--tunnel``; makes ``/api/files`` say ``tunnelled: true``."""
    token: str | None = field(default=None)
    """None → ``$DCMVIEW_TOKEN`` or ``secrets.token_urlsafe(32)`` (not an option: never on a
    command line)."""

    def __post_init__(self) -> None:
        check_options(self)
        if self.token is not None and not self.token.strip():
            raise ConfigError("the access token must not be empty")
        if self.unix_socket is not None and self.port:
            raise ConfigError("--port cannot be used with --unix-socket")
        if (
            self.save_annotations is not None
            and self.annotations is not None
            and _same_file(self.save_annotations, self.annotations)
        ):
            raise ConfigError(
                "--save-annotations must not be the --annotations CSV (the input is never modified)"
            )


def _same_file(a: str, b: str) -> bool:
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_environment(config: ServerConfig) -> None:
    """What must hold on this machine before serving ``config``; `ConfigError` otherwise."""
    for path in config.paths:
        if not os.path.lexists(path) and not is_url(path):
            raise ConfigError(f"path not found: {path}")
    if config.annotations is not None and not os.path.exists(config.annotations):
        raise ConfigError(f"--annotations CSV not found: {config.annotations}")
    if config.save_annotations is not None:
        parent = os.path.dirname(os.path.abspath(config.save_annotations))
        if not os.path.isdir(parent):
            raise ConfigError(f"--save-annotations directory does not exist: {parent}")
        if os.path.isdir(config.save_annotations):
            raise ConfigError(f"--save-annotations is a directory: {config.save_annotations}")
    if config.overlays or config.segment_labels:
        _check_overlays(config)
    if config.unix_socket is not None:
        parent = os.path.dirname(os.path.abspath(config.unix_socket)) or "."
        if not os.path.isdir(parent):
            raise ConfigError(f"unix socket directory does not exist: {parent}")
        if len(os.fsencode(os.path.abspath(config.unix_socket))) > 100:
            raise ConfigError(f"unix socket path is too long: {config.unix_socket}")


def _check_overlays(config: ServerConfig) -> None:
    """dcmview-core's checks of ``--overlay`` paths and ``--segment-labels`` (imported only
    when they are given)."""
    from dcmview_core import UsageError, check_overlay_path, parse_segment_labels

    try:
        for path in config.overlays:
            check_overlay_path(path)
        if config.segment_labels:
            parse_segment_labels(config.segment_labels)
    except UsageError as error:
        raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class Ready:
    """Passed to ``on_ready`` once the socket accepts requests and the first file is loaded."""

    url: str
    """Launch URL ``http://127.0.0.1:PORT/#token=TOKEN`` ("" for Unix sockets)."""
    base_url: str
    """``http://127.0.0.1:PORT`` ("" for Unix sockets)."""
    host: str
    port: int | None
    unix_socket: str | None
    token: str | None


@dataclass(frozen=True)
class Skip:
    """One skipped path (shown as ``display_path`` shows it): ``kind`` is dcmview-core's skip
    reason (``not_dicom``, ``unreadable``, ``unparsable``), ``reason`` one human line."""

    path: str
    kind: str
    reason: str


@dataclass(frozen=True)
class ScanSummary:
    """What the progressive scan found, reported once it completes."""

    loaded: int
    skipped: int
    filtered: int
    paths: int
    skip_reasons: list[str] = field(default_factory=list)
    """Short human reasons, ``a.txt: not DICOM``."""
    annotation_messages: list[str] = field(default_factory=list)
    """CSV row problems and unmatched-row counts to print at startup."""
    skipped_files: list[Skip] = field(default_factory=list)
    """Each recorded skipped path with its kind and reason (for ``--verbose``)."""

    def skip_kinds(self) -> dict[str, int]:
        """How many recorded skips of each kind, most frequent first."""
        counts: dict[str, int] = {}
        for skip in self.skipped_files:
            counts[skip.kind] = counts.get(skip.kind, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
