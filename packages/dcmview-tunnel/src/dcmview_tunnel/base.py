"""The interface both backends implement."""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType

from dcmview_tunnel.process import RemoteProcess


def remote_command_line(argv: Sequence[str]) -> str:
    """Quote an argv list into the one string an SSH server hands to the remote shell."""
    if isinstance(argv, str) or not argv:
        raise TypeError("argv must be a non-empty sequence of strings, not a string")
    for arg in argv:
        if not isinstance(arg, str):
            raise TypeError(f"argv items must be strings, not {type(arg).__name__}")
        if "\x00" in arg:
            raise ValueError("argv items must not contain NUL characters")
    return shlex.join(argv)


def check_command_line(command_line: str) -> str:
    """Refuse an empty command line or one with NUL characters."""
    if not isinstance(command_line, str):
        raise TypeError(f"command line must be a string, not {type(command_line).__name__}")
    if not command_line.strip():
        raise ValueError("command line is empty")
    if "\x00" in command_line:
        raise ValueError("command line must not contain NUL characters")
    return command_line


class Forward(ABC):
    """A local port forwarded to ``remote_host:remote_port`` as seen from the SSH host."""

    local_host: str
    local_port: int
    remote_host: str
    remote_port: int

    @abstractmethod
    def close(self) -> None:
        """Stop listening and close the connections carried by this forward (idempotent)."""


class Tunnel(ABC):
    """An authenticated SSH connection that can run commands and forward ports."""

    backend: str  # "paramiko" or "ssh"
    destination: str  # what the user typed, e.g. "me@gpu-server"

    def run(self, argv: Sequence[str]) -> RemoteProcess:
        """Start ``argv`` on the SSH host (each item quoted for its shell), without a terminal."""
        return self.run_shell(remote_command_line(argv))

    @abstractmethod
    def run_shell(self, command_line: str) -> RemoteProcess:
        """Start ``command_line`` as the remote shell reads it (``~``, ``$VAR``, ``&&`` work).

        Only for text the user wrote for their own remote shell; quote anything else with
        :func:`remote_command_line` (or use :meth:`run`).
        """

    @abstractmethod
    def forward(
        self,
        remote_port: int,
        *,
        local_port: int = 0,
        remote_host: str = "127.0.0.1",
        local_host: str = "127.0.0.1",
    ) -> Forward:
        """Listen on ``local_host:local_port`` (0 = any free port) and forward to the host.

        Raises ``OSError`` (``EADDRINUSE``) when a fixed ``local_port`` is taken.
        """

    @property
    @abstractmethod
    def alive(self) -> bool:
        """True while the SSH connection is up."""

    @abstractmethod
    def close(self) -> None:
        """Close forwards, sessions and the connection (idempotent)."""

    def __enter__(self) -> Tunnel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def check_port(port: int, name: str) -> None:
    """Raise ``ValueError`` unless ``port`` is an int in [0, 65535]."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{name} must be an int")
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be in 0..65535, got {port}")
