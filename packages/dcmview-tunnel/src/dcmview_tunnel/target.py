"""SSH targets: parsing ``[user@]host[:port]`` and resolving them through an ssh_config file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SSH_CONFIG = "~/.ssh/config"


@dataclass(frozen=True)
class Target:
    """What the user typed: an optional user, a host (or ssh_config alias), an optional port."""

    host: str
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        """``user@host`` or ``host``, as typed (the port goes separately to ``ssh -p``)."""
        return f"{self.user}@{self.host}" if self.user else self.host


@dataclass(frozen=True)
class ResolvedTarget:
    """A target after ssh_config lookup: where paramiko actually connects and how."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...] = ()
    known_hosts_files: tuple[str, ...] = ()
    proxy: bool = False  # ProxyJump / ProxyCommand present: paramiko backend does not do it
    options: dict[str, str] = field(default_factory=dict)


def parse_target(text: str) -> Target:
    """Parse ``[user@]host[:port]``; refuse empty values and anything starting with ``-``.

    A host beginning with ``-`` would be read as an option by ``ssh`` (option injection),
    so it is rejected here, before any backend sees it.
    """
    if not isinstance(text, str):
        raise TypeError(f"tunnel host must be a string, not {type(text).__name__}")
    value = text.strip()
    if not value:
        raise ValueError("tunnel host is empty")
    if value.startswith("-"):
        raise ValueError(f"tunnel host must not start with '-': {text!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError(f"tunnel host must not contain spaces or control characters: {text!r}")
    user: str | None = None
    if "@" in value:
        user, _, value = value.rpartition("@")
        if not user or user.startswith("-"):
            raise ValueError(f"invalid user in tunnel host: {text!r}")
    port: int | None = None
    if value.startswith("["):  # [v6addr]:port or [host]
        close = value.find("]")
        if close < 0:
            raise ValueError(f"unbalanced '[' in tunnel host: {text!r}")
        rest = value[close + 1 :]
        host = value[1:close]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"invalid tunnel host: {text!r}")
            port = _parse_port(rest[1:], text)
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = _parse_port(port_text, text)
    else:
        host = value
    if host.startswith("-"):
        raise ValueError(f"tunnel host must not start with '-': {text!r}")
    if not host:
        raise ValueError(f"invalid tunnel host: {text!r}")
    return Target(host=host, user=user, port=port)


def _parse_port(text: str, original: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"invalid port in tunnel host: {original!r}")
    return int(text)


def config_path(ssh_config: str | os.PathLike[str] | None) -> Path | None:
    """The ssh_config file to read: the given one (must exist) or ``~/.ssh/config`` if present."""
    if ssh_config is not None:
        path = Path(ssh_config).expanduser()
        if not path.is_file():
            raise ValueError(f"ssh config file not found: {path}")
        return path
    default = Path(DEFAULT_SSH_CONFIG).expanduser()
    return default if default.is_file() else None


def resolve(target: Target, ssh_config: str | os.PathLike[str] | None = None) -> ResolvedTarget:
    """Look ``target`` up in the ssh_config (``Host``/``HostName``/``User``/``Port``/...).

    Values typed by the user (``user@``, ``:port``) win over the config, as with ``ssh``.
    """
    import getpass

    import paramiko

    path = config_path(ssh_config)
    config = paramiko.SSHConfig.from_path(str(path)) if path else paramiko.SSHConfig()
    found = config.lookup(target.host)
    hostname = str(found.get("hostname", target.host))
    if hostname.startswith("-"):
        raise ValueError(f"HostName from ssh config must not start with '-': {hostname!r}")
    user = target.user or str(found.get("user") or "") or getpass.getuser()
    port = target.port or int(found.get("port", 22))
    identity = tuple(str(Path(p).expanduser()) for p in found.get("identityfile", []) or [])
    known = found.get("userknownhostsfile")
    known_files = tuple(str(Path(p).expanduser()) for p in str(known).split()) if known else ()
    proxy = bool(found.get("proxyjump") or found.get("proxycommand"))
    options = {k: str(v) for k, v in found.items() if isinstance(v, str)}
    return ResolvedTarget(
        alias=target.host,
        hostname=hostname,
        port=port,
        user=user,
        identity_files=identity,
        known_hosts_files=known_files,
        proxy=proxy,
        options=options,
    )
