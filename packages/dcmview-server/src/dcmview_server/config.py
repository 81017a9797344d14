"""Server configuration: the one place where defaults are declared.

The CLI (dcmview-py) and ``view()`` read these defaults; the server validates the whole config
before it binds a socket and raises `ConfigError` for usage-class failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


class ConfigError(Exception):
    """A usage-class failure found before serving: bad filter, bad CSV, port in use, bad socket.

    The CLI prints ``dcmview: error: <message>`` and exits 2.
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


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs to start; defaults are declared here and nowhere else."""

    paths: tuple[str, ...]
    host: str = DEFAULT_HOST
    port: int = 0
    """0 lets the OS pick; the real port is read back from the bound socket."""
    unix_socket: str | None = None
    timeout: float | None = None
    """Idle seconds before the server stops by itself; None = never."""
    recursive: bool = True
    filters: tuple[str, ...] = ()
    """Raw ``FIELD=VALUE`` / ``FIELD==VALUE`` strings, AND-combined."""
    annotations: str | None = None
    """EMBED CSV path; read exactly once (``/dev/fd/N`` works)."""
    mask: bool = False
    cache_budget: int = DEFAULT_CACHE_BUDGET
    """Bytes shared by the decoded-frame and encoded-image caches."""
    token: str | None = None
    """None → ``$DCMVIEW_TOKEN`` or ``secrets.token_urlsafe(32)``."""
    no_token: bool = False
    allow_hosts: tuple[str, ...] = ()
    tunnel_host: str | None = None
    """Set by the remote side of ``--tunnel``; makes ``/api/files`` say ``tunnelled: true``."""


@dataclass(frozen=True)
class Ready:
    """Passed to ``on_ready`` once the socket accepts requests."""

    url: str
    """Launch URL ``http://127.0.0.1:PORT/#token=TOKEN`` ("" for Unix sockets)."""
    base_url: str
    """``http://127.0.0.1:PORT`` ("" for Unix sockets)."""
    host: str
    port: int | None
    unix_socket: str | None
    token: str | None


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
