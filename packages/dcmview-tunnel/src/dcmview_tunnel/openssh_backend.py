"""Backend 2: the system ``ssh`` binary, always called with an argv list.

One master connection (``ssh -M -S <private socket> -N``) authenticates once, with whatever the
user's ssh supports (ProxyJump, ProxyCommand, hardware keys, certificates); commands and
forwards then ride on it (``ssh -S socket ...``, ``ssh -S socket -O forward -L ...``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from dcmview_tunnel.base import Forward, Tunnel, check_command_line, check_port
from dcmview_tunnel.errors import HostKeyError, TunnelAuthError, TunnelError
from dcmview_tunnel.process import RemoteProcess, iter_lines
from dcmview_tunnel.target import Target

_HOST_KEY_MARKERS = (
    "host key verification failed",
    "remote host identification has changed",
    "host key is known for",
    "no matching host key",
)
# forwards from the user's ssh_config (LocalForward, ...) are not ours to open
_NO_CONFIG_FORWARDS = ("-o", "ClearAllForwardings=yes")
# sessions and control commands use our master only, whatever ControlMaster the config says
_CLIENT = ("-o", "ControlMaster=no")
_AUTH_MARKERS = ("permission denied", "too many authentication failures", "no more authentication")


def find_ssh() -> str | None:
    """Path of the system ``ssh`` binary, or ``None``."""
    return shutil.which("ssh")


def classify(stderr: str, destination: str) -> TunnelError:
    """Turn ``ssh`` diagnostics into the matching typed error."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    lowered = stderr.lower()
    summary = lines[-1] if lines else "ssh exited without a message"
    if any(marker in lowered for marker in _HOST_KEY_MARKERS):
        changed = "has changed" in lowered or "does not match" in lowered
        return HostKeyError(
            f"ssh refused the host key of {destination}: {summary}", changed=changed
        )
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return TunnelAuthError(f"ssh authentication to {destination} failed: {summary}")
    return TunnelError(f"ssh could not connect to {destination}: {summary}")


class OpenSSHForward(Forward):
    """A ``-L`` forward added to the master connection."""

    def __init__(
        self,
        tunnel: OpenSSHTunnel,
        spec: str,
        local_host: str,
        local_port: int,
        remote_host: str,
        remote_port: int,
    ) -> None:
        self._tunnel = tunnel
        self._spec = spec
        self.local_host = local_host
        self.local_port = local_port
        self.remote_host = remote_host
        self.remote_port = remote_port
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._tunnel.alive:
            self._tunnel._control("cancel", "-L", self._spec)


class OpenSSHTunnel(Tunnel):
    """An SSH connection made by the system ``ssh`` binary (a private ControlMaster)."""

    backend = "ssh"

    def __init__(
        self,
        target: Target,
        *,
        ssh_config: str | os.PathLike[str] | None = None,
        accept_unknown_host_key: bool = False,
        connect_timeout: float = 15.0,
        batch_mode: bool = True,
        ssh_binary: str | None = None,
    ) -> None:
        binary = ssh_binary or find_ssh()
        if binary is None:
            raise TunnelError("no `ssh` binary found on PATH")
        self.destination = target.destination
        self._dir = tempfile.mkdtemp(prefix="dcmv-ssh-", dir=_short_tmp())
        self._socket = str(Path(self._dir) / "ctl")
        base = [binary]
        if ssh_config is not None:
            base += ["-F", str(Path(ssh_config).expanduser())]
        base += [
            "-o", f"StrictHostKeyChecking={'accept-new' if accept_unknown_host_key else 'yes'}",
            "-o", f"ConnectTimeout={max(1, round(connect_timeout))}",
            "-o", "ServerAliveInterval=15",
            "-o", "ExitOnForwardFailure=yes",
            "-S", self._socket,
        ]  # fmt: skip
        if batch_mode:
            base += ["-o", "BatchMode=yes"]
        if target.port:
            base += ["-p", str(target.port)]
        self._base = base
        self._host = ["--", target.destination]
        self._processes: list[tuple[subprocess.Popen[bytes], RemoteProcess]] = []
        self._forwards: list[OpenSSHForward] = []
        self._closed = False
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the master
        self._master = subprocess.Popen(
            [*base, "-M", "-N", "-o", "ControlPersist=no", *_NO_CONFIG_FORWARDS, *self._host],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=batch_mode,
        )
        try:
            self._wait_master(connect_timeout)
        except BaseException:  # Ctrl+C included: never leave a master connection behind
            if self._master.poll() is None:
                self._master.kill()
                self._master.wait()
            self._cleanup()
            raise

    def _wait_master(self, connect_timeout: float) -> None:
        deadline = time.monotonic() + connect_timeout + 5
        while True:
            if self._master.poll() is not None:
                self._stderr.seek(0)
                raise classify(self._stderr.read().decode("utf-8", "replace"), self.destination)
            if self._control("check").returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TunnelError(
                    f"ssh to {self.destination} timed out after {connect_timeout:g} s"
                )
            time.sleep(0.05)

    def _control(self, command: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self._base, *_CLIENT, "-O", command, *extra, *self._host],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )

    @property
    def alive(self) -> bool:
        return not self._closed and self._master.poll() is None

    def run_shell(self, command_line: str) -> RemoteProcess:
        command = check_command_line(command_line)
        if not self.alive:
            raise TunnelError(f"the SSH connection to {self.destination} is closed")
        popen = subprocess.Popen(
            [*self._base, *_CLIENT, "-T", *_NO_CONFIG_FORWARDS, *self._host, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl+C reaches us, and we stop it in order
        )
        assert popen.stdin is not None
        assert popen.stdout is not None
        assert popen.stderr is not None
        stdin = popen.stdin

        def wait() -> int | None:
            status = popen.wait()
            with contextlib.suppress(OSError):
                stdin.close()
            return None if status in (255, -15, -9) or status < 0 else status

        proc = RemoteProcess(
            command,
            iter_lines(popen.stdout),
            iter_lines(popen.stderr),
            wait,
            popen.terminate,
            stdin.close,
        )
        self._processes.append((popen, proc))
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
        if not self.alive:
            raise TunnelError(f"the SSH connection to {self.destination} is closed")
        attempts = 1 if local_port else 5
        error = ""
        for _ in range(attempts):
            port = local_port or _free_port(local_host)
            spec = f"{local_host}:{port}:{remote_host}:{remote_port}"
            result = self._control("forward", "-L", spec)
            if result.returncode == 0:
                fwd = OpenSSHForward(self, spec, local_host, port, remote_host, remote_port)
                self._forwards.append(fwd)
                return fwd
            error = result.stderr.decode("utf-8", "replace").strip()
        if local_port:
            raise OSError(
                errno.EADDRINUSE, f"Address already in use: {local_host}:{local_port} ({error})"
            )
        raise TunnelError(f"ssh could not set up the forward: {error}")

    def close(self) -> None:
        if self._closed:
            return
        for fwd in self._forwards:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                fwd.close()
        for popen, proc in self._processes:
            if popen.poll() is None:
                proc.terminate(timeout=2)
            if popen.poll() is None:
                popen.kill()
            popen.wait()
        self._closed = True
        if self._master.poll() is None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self._control("exit")
            try:
                self._master.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._master.kill()
                self._master.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _short_tmp() -> str | None:
    """A temp dir short enough for a Unix socket path (~104 bytes; macOS TMPDIR is long)."""
    base = tempfile.gettempdir()
    return "/tmp" if len(base) > 60 and os.path.isdir("/tmp") else None


def _free_port(host: str) -> int:
    """A port that was free a moment ago (``ssh -L`` cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
