"""dcmview-tunnel: forward a local port to an SSH host and run a command there.

    >>> from dcmview_tunnel import connect
    >>> with connect("me@gpu-server") as tunnel:           # doctest: +SKIP
    ...     proc = tunnel.run(["dcmview", "--no-browser", "/data"])
    ...     line = proc.expect(lambda s: "running at" in s, timeout=30)
    ...     fwd = tunnel.forward(8765)                        # local 127.0.0.1:<fwd.local_port>

Backend 1 is paramiko (agent, keys, ssh_config, known_hosts; unknown host keys refused unless
``accept_unknown_host_key=True``). Backend 2 is the system ``ssh`` binary, used when paramiko
cannot connect or the ssh_config needs ProxyJump/ProxyCommand. The library never prints,
prompts or exits: failures are the typed errors in :mod:`dcmview_tunnel.errors`.
"""

from __future__ import annotations

import os
from typing import Literal

from dcmview_tunnel.base import Forward, Tunnel, remote_command_line
from dcmview_tunnel.errors import (
    HostKeyError,
    RemoteCommandError,
    TunnelAuthError,
    TunnelError,
    TunnelUnavailableError,
)
from dcmview_tunnel.process import RemoteProcess
from dcmview_tunnel.target import ResolvedTarget, Target, parse_target, resolve

__version__ = "0.1.0"

Backend = Literal["auto", "paramiko", "ssh"]

__all__ = [
    "Backend",
    "Forward",
    "HostKeyError",
    "RemoteCommandError",
    "RemoteProcess",
    "ResolvedTarget",
    "Target",
    "Tunnel",
    "TunnelAuthError",
    "TunnelError",
    "TunnelUnavailableError",
    "connect",
    "manual_recipe",
    "parse_target",
    "remote_command_line",
    "resolve",
]


def connect(
    host: str,
    *,
    ssh_config: str | os.PathLike[str] | None = None,
    backend: Backend = "auto",
    accept_unknown_host_key: bool = False,
    connect_timeout: float = 15.0,
    batch_mode: bool = True,
    ssh_binary: str | None = None,
) -> Tunnel:
    """Open an SSH connection to ``[user@]host[:port]`` (an ssh_config alias works).

    ``backend="auto"`` tries paramiko first and falls back to the ``ssh`` binary when paramiko
    is missing, cannot authenticate or cannot connect, or when the config needs ProxyJump/
    ProxyCommand. A changed host key is never retried with the other backend; an unknown one
    is (ssh refuses it too unless it knows it, e.g. through HostKeyAlias). ``batch_mode``
    (ssh backend) forbids ssh's own passphrase/PIN prompts; pass ``False`` from a terminal.

    Raises ``ValueError`` for a bad host or missing ``ssh_config`` file, :class:`HostKeyError`,
    :class:`TunnelAuthError`, :class:`TunnelUnavailableError` or :class:`TunnelError`.
    """
    target = parse_target(host)
    if backend not in ("auto", "paramiko", "ssh"):
        raise ValueError(f"backend must be 'auto', 'paramiko' or 'ssh', not {backend!r}")
    if ssh_config is not None and not os.path.isfile(os.path.expanduser(os.fspath(ssh_config))):
        raise ValueError(f"ssh config file not found: {ssh_config}")
    first_error: TunnelError | None = None
    if backend in ("auto", "paramiko"):
        try:
            from dcmview_tunnel.paramiko_backend import ParamikoTunnel
        except ImportError as exc:
            if backend == "paramiko":
                raise TunnelUnavailableError("paramiko is not installed") from exc
        else:
            resolved = resolve(target, ssh_config)
            if not (resolved.proxy and backend == "auto"):
                try:
                    return ParamikoTunnel.connect(
                        resolved,
                        target.destination,
                        accept_unknown_host_key=accept_unknown_host_key,
                        connect_timeout=connect_timeout,
                    )
                except HostKeyError as exc:
                    # a changed key is final; an unknown one may be known to ssh in ways
                    # paramiko does not read (HostKeyAlias, @cert-authority,
                    # KnownHostsCommand), and ssh refuses unknown keys just the same
                    if exc.changed or backend == "paramiko":
                        raise
                    first_error = exc
                except TunnelError as exc:
                    if backend == "paramiko":
                        raise
                    first_error = exc
    from dcmview_tunnel.openssh_backend import OpenSSHTunnel, find_ssh

    if (ssh_binary or find_ssh()) is None:
        why = f"paramiko failed ({first_error}) and " if first_error else ""
        raise TunnelUnavailableError(f"{why}no `ssh` binary was found") from first_error
    try:
        return OpenSSHTunnel(
            target,
            ssh_config=ssh_config,
            accept_unknown_host_key=accept_unknown_host_key,
            connect_timeout=connect_timeout,
            batch_mode=batch_mode,
            ssh_binary=ssh_binary,
        )
    except TunnelError as exc:
        if first_error is not None:
            exc.args = (f"{exc} (paramiko before it: {first_error})",)
        raise


def manual_recipe(
    destination: str, remote_port: int | str = "PORT", local_port: int | str = "PORT"
) -> str:
    """The commands a user can type to do by hand what the tunnel does."""
    return (
        f"ssh {destination} dcmview --no-browser PATHS   # note the port and token it prints\n"
        f"ssh -N -L {local_port}:127.0.0.1:{remote_port} {destination}   # then open "
        f"http://127.0.0.1:{local_port}/#token=TOKEN"
    )
