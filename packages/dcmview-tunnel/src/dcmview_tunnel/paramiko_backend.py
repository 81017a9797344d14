"""Backend 1: paramiko (agent, keys from ssh_config or ~/.ssh, known_hosts)."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko

from dcmview_tunnel.base import Forward, Tunnel, check_command_line, check_port
from dcmview_tunnel.errors import HostKeyError, TunnelAuthError, TunnelError
from dcmview_tunnel.process import RemoteProcess, iter_lines
from dcmview_tunnel.target import ResolvedTarget

_CHUNK = 64 * 1024


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        raise HostKeyError(
            f"host key for {hostname} ({key.get_name()}) is not in known_hosts; "
            "add it (ssh-keyscan or a first interactive `ssh`) or accept unknown keys explicitly"
        )


class _AcceptUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Accept an unknown key for this connection only; nothing is written to known_hosts."""

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)


def default_known_hosts() -> list[str]:
    """The known_hosts files ``ssh`` reads when ssh_config names none."""
    return [
        str(Path("~/.ssh/known_hosts").expanduser()),
        str(Path("~/.ssh/known_hosts2").expanduser()),
    ]


class ParamikoForward(Forward):
    """A listening socket whose connections become ``direct-tcpip`` channels."""

    def __init__(
        self,
        transport: paramiko.Transport,
        local_host: str,
        local_port: int,
        remote_host: str,
        remote_port: int,
    ) -> None:
        self._transport = transport
        self._listener = socket.create_server((local_host, local_port))
        self.local_host = local_host
        self.local_port = int(self._listener.getsockname()[1])
        self.remote_host = remote_host
        self.remote_port = remote_port
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept_loop, daemon=True, name="dcmview-forward").start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.25)
                if not ready:
                    continue
                conn, peer = self._listener.accept()
            except (OSError, ValueError):
                return
            threading.Thread(target=self._carry, args=(conn, peer), daemon=True).start()

    def _carry(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        with self._lock:
            self._open.add(conn)
        try:
            try:
                chan = self._transport.open_channel(
                    "direct-tcpip", (self.remote_host, self.remote_port), peer[:2], timeout=15
                )
            except (paramiko.SSHException, OSError, EOFError):
                return
            try:
                _pump(conn, chan, self._closed)
            finally:
                chan.close()
        finally:
            with self._lock:
                self._open.discard(conn)
            conn.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._listener.close()
        with self._lock:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


def _pump(conn: socket.socket, chan: paramiko.Channel, closed: threading.Event) -> None:
    """Copy bytes both ways; a half-close on one side is passed on; ends when both are done."""
    conn_open = chan_open = True
    while (conn_open or chan_open) and not closed.is_set():
        watch = ([conn] if conn_open else []) + ([chan] if chan_open else [])
        ready, _, _ = select.select(watch, [], [], 0.5)
        if conn in ready:
            data = conn.recv(_CHUNK)
            if data:
                chan.sendall(data)
            else:
                conn_open = False
                chan.shutdown_write()
        if chan in ready:
            data = chan.recv(_CHUNK)
            if data:
                conn.sendall(data)
            else:
                chan_open = False
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)
                if chan.closed:  # the far side closed completely: nothing more can be sent
                    return


class ParamikoTunnel(Tunnel):
    """An SSH connection made with paramiko."""

    backend = "paramiko"

    def __init__(self, client: paramiko.SSHClient, destination: str) -> None:
        self._client = client
        self.destination = destination
        self._forwards: list[Forward] = []
        self._processes: list[RemoteProcess] = []
        self._closed = False

    @classmethod
    def connect(
        cls,
        resolved: ResolvedTarget,
        destination: str,
        *,
        accept_unknown_host_key: bool = False,
        connect_timeout: float = 15.0,
    ) -> ParamikoTunnel:
        """Connect and authenticate; raise a typed :class:`TunnelError` on failure."""
        client = paramiko.SSHClient()
        for path in resolved.known_hosts_files or default_known_hosts():
            if os.path.isfile(path):
                try:
                    client.load_system_host_keys(path)
                except (OSError, paramiko.SSHException, ValueError) as exc:
                    # not a verdict on the host: let the ssh binary (which reads more) try
                    raise TunnelError(
                        f"paramiko cannot read known_hosts file {path}: {exc}"
                    ) from exc
        global_known = "/etc/ssh/ssh_known_hosts"
        if os.path.isfile(global_known):
            with contextlib.suppress(OSError, paramiko.SSHException):
                client.load_system_host_keys(global_known)
        client.set_missing_host_key_policy(
            _AcceptUnknown() if accept_unknown_host_key else _RefuseUnknown()
        )
        only = resolved.options.get("identitiesonly", "no").lower() == "yes"
        keys = [p for p in resolved.identity_files if os.path.isfile(p)]
        where = f"{resolved.user}@{resolved.hostname}:{resolved.port}"
        try:
            client.connect(
                resolved.hostname,
                port=resolved.port,
                username=resolved.user,
                key_filename=keys or None,
                timeout=connect_timeout,
                banner_timeout=connect_timeout,
                auth_timeout=connect_timeout,
                allow_agent=not only,
                look_for_keys=not only,
            )
        except HostKeyError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(
                f"host key for {resolved.hostname} does not match known_hosts "
                "(possible man-in-the-middle attack)",
                changed=True,
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TunnelAuthError(f"authentication to {where} failed: {exc}") from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise TunnelError(f"cannot connect to {where}: {exc}") from exc
        except Exception as exc:  # e.g. a key format paramiko cannot parse: the ssh binary may
            client.close()
            raise TunnelError(f"paramiko failed to connect to {where}: {exc!r}") from exc
        return cls(client, destination)

    @property
    def _transport(self) -> paramiko.Transport:
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise TunnelError(f"the SSH connection to {self.destination} is closed")
        return transport

    @property
    def alive(self) -> bool:
        transport = self._client.get_transport()
        return bool(transport is not None and transport.is_active())

    def run_shell(self, command_line: str) -> RemoteProcess:
        command = check_command_line(command_line)
        try:
            chan = self._transport.open_session(timeout=15)
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TunnelError(f"cannot start {command!r} on {self.destination}: {exc}") from exc

        def wait() -> int | None:
            status = int(chan.recv_exit_status())
            return None if status < 0 else status

        proc = RemoteProcess(
            command,
            iter_lines(chan.makefile("rb")),
            iter_lines(chan.makefile_stderr("rb")),
            wait,
            chan.close,
            chan.shutdown_write,
        )
        self._processes.append(proc)
        return proc

    def forward(
        self,
        remote_port: int,
        *,
        local_port: int = 0,
        remote_host: str = "127.0.0.1",
        local_host: str = "127.0.0.1",
    ) -> Forward:
        check_port(remote_port, "remote_port")
        check_port(local_port, "local_port")
        fwd = ParamikoForward(self._transport, local_host, local_port, remote_host, remote_port)
        self._forwards.append(fwd)
        return fwd

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for fwd in self._forwards:
            fwd.close()
        for proc in self._processes:
            if proc.running:
                proc.terminate(timeout=2)
        self._client.close()
