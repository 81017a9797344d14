"""Security rules of ``docs/api.md``: token, Host allow-list, origin check, static bundle.

Pure functions of header values, so each rule is unit-tested on its own and applied in one
request middleware (``app.py``).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from dcmview_server.config import ServerConfig

STATE_CHANGING = frozenset({"PUT", "POST", "DELETE", "PATCH"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_SEEN_LIMIT = 64


def resolve_token(config: ServerConfig) -> str | None:
    """The access token: None with ``no_token``, else config, ``$DCMVIEW_TOKEN`` or random."""
    if config.no_token:
        return None
    if config.token:
        return config.token
    env = os.environ.get("DCMVIEW_TOKEN")
    if env:
        return env
    return secrets.token_urlsafe(32)


def check_bearer(header: str | None, token: str) -> bool:
    """True when ``Authorization`` holds ``Bearer <token>`` (scheme case-insensitive).

    The comparison is constant-time (`secrets.compare_digest`).
    """
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(value.strip().encode("utf-8", "replace"), token.encode())


def split_host(host_header: str) -> str | None:
    """The host name of a ``Host`` header without port, lower-cased; None if malformed."""
    value = host_header.strip().lower()
    if not value or any(c in value for c in " /\\@?#\t"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        rest = value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return value[1:end]
    name, sep, port = value.rpartition(":")
    if sep:
        if not port.isdigit() or ":" in name:
            return None
        value = name
    return value.rstrip(".") or None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class HostPolicy:
    """Which ``Host`` header names are accepted (DNS-rebinding defence); any port is fine."""

    def __init__(self, bound_host: str, allow_hosts: tuple[str, ...] = ()) -> None:
        self.bound_host = bound_host.strip("[]").lower()
        self.wildcard = self.bound_host in _WILDCARDS
        self.names = {"localhost"} | {h.strip("[]").lower().rstrip(".") for h in allow_hosts}
        if not self.wildcard:
            self.names.add(self.bound_host)
        self._seen: dict[str, bool] = {}

    def allows(self, host_header: str | None) -> bool:
        """True when the Host names a loopback address, localhost, the bound host or an extra."""
        if host_header is None:
            return False
        seen = self._seen.get(host_header)
        if seen is not None:
            return seen  # the answers for the first few distinct headers are remembered
        allowed = self._allows(host_header)
        if len(self._seen) < _SEEN_LIMIT:
            self._seen[host_header] = allowed
        return allowed

    def _allows(self, host_header: str) -> bool:
        name = split_host(host_header)
        if name is None:
            return False
        if name in self.names:
            return True
        ip = _ip(name)
        if ip is None:
            return name.endswith(".localhost")
        if ip.is_loopback:
            return True
        # A wildcard bind answers on every interface address; IP literals cannot be rebound.
        return self.wildcard


def origin_allowed(method: str, origin: str | None, host_header: str | None) -> bool:
    """False for a state-changing request whose ``Origin`` is not the server's own origin."""
    if method.upper() not in STATE_CHANGING or origin is None:
        return True
    if host_header is None:
        return False
    own = {f"http://{host_header.strip().lower()}", f"https://{host_header.strip().lower()}"}
    return origin.strip().lower().rstrip("/") in own


class StaticBundle:
    """The viewer build, served only by exact name from a table made when the app starts.

    No request path is ever joined to a filesystem path: a name that is not a key of the table
    (``..``, encoded dots, backslashes, absolute paths) simply is not found.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Path] = {}
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    rel = path.relative_to(root).as_posix()
                    if rel in {"README.md", ".gitkeep"}:
                        continue
                    self.files[rel] = path

    @property
    def has_index(self) -> bool:
        """True when the build's ``index.html`` is present."""
        return "index.html" in self.files

    def lookup(self, name: str) -> Path | None:
        """The file for exactly this bundle-relative name, or None."""
        return self.files.get(name)


MISSING_VIEWER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dcmview</title></head>
<body style="font-family: sans-serif; background: #111; color: #ddd; padding: 2em">
<h1>dcmview</h1>
<p>The viewer build is missing from this installation (no <code>index.html</code> in
dcmview-server's package data). The HTTP API under <code>/api/</code> works; build the viewer
with <code>just frontend</code>.</p>
</body></html>
"""
