"""Exceptions raised by dcmview-tunnel.

    TunnelError                  anything that stops the tunnel from working
    ├── TunnelAuthError          the SSH server refused every credential offered
    ├── HostKeyError             the host key is unknown (and not accepted) or does not match
    ├── TunnelUnavailableError   no backend can be used (no paramiko connection, no ``ssh`` binary)
    └── RemoteCommandError       the remote command failed or exited (carries status and stderr)

``ValueError`` is raised for invalid arguments (for example a host starting with ``-``).
"""

from __future__ import annotations


class TunnelError(Exception):
    """Root of every exception dcmview-tunnel raises on purpose."""


class TunnelAuthError(TunnelError):
    """Authentication failed: no offered key, agent identity or password was accepted."""


class HostKeyError(TunnelError):
    """The server's host key is not in known_hosts (and not accepted), or it changed.

    ``changed`` is True when known_hosts holds a different key for the host.
    """

    def __init__(self, message: str, *, changed: bool = False) -> None:
        super().__init__(message)
        self.changed = changed


class TunnelUnavailableError(TunnelError):
    """Neither backend could be used (paramiko failed or is missing, and no ``ssh`` binary)."""


class RemoteCommandError(TunnelError):
    """The remote command failed to start, or exited before doing what was expected."""

    def __init__(self, message: str, *, exit_status: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.stderr = stderr
