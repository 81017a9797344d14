"""A throwaway OpenSSH server on loopback, for tests of code that uses dcmview-tunnel.

    with PrivateSSHD.start(tmp_path) as sshd:
        tunnel = connect(sshd.alias, ssh_config=sshd.ssh_config)

It generates its own host key and user keys, writes its own ``sshd_config``, ``ssh_config``
and ``known_hosts`` into the given directory and never reads or changes the system's SSH
configuration (``/run/sshd``, the privilege-separation directory sshd insists on, is created
when missing). Requires the ``sshd`` and ``ssh-keygen`` binaries.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


def find_sshd() -> str | None:
    """Path of the ``sshd`` binary, or ``None``."""
    for candidate in SSHD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("sshd")


def unavailable_reason() -> str | None:
    """Why a private sshd cannot run here (``None`` when it can)."""
    if find_sshd() is None:
        return "openssh-server is not installed (no sshd binary)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is not installed"
    return None


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    path.chmod(0o600)
    return path.with_suffix(".pub").read_text().strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateSSHD:
    """A running private sshd and the client files that reach it."""

    directory: Path
    port: int
    user: str
    process: subprocess.Popen[bytes]
    alias: str  # Host alias in ``ssh_config`` (key + known_hosts set up)
    ssh_config: Path  # alias → good key, known host key
    wrong_key_config: Path  # alias → a key the server does not know
    unknown_host_config: Path  # alias → good key, empty known_hosts
    user_key: Path
    log: Path

    @classmethod
    def start(cls, directory: Path, *, alias: str = "dcmview-test") -> PrivateSSHD:
        """Generate keys and configs in ``directory`` and start sshd on a free loopback port."""
        sshd = find_sshd()
        if sshd is None:
            raise RuntimeError("sshd is not installed")
        directory.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        user = getpass.getuser()
        host_pub = _keygen(directory / "host_ed25519", "dcmview-test-host")
        user_pub = _keygen(directory / "user_ed25519", "dcmview-test-user")
        _keygen(directory / "wrong_ed25519", "dcmview-test-wrong")
        (directory / "authorized_keys").write_text(user_pub + "\n")
        (directory / "authorized_keys").chmod(0o600)
        log = directory / "sshd.log"
        for _attempt in range(5):
            port = _free_port()
            config = directory / "sshd_config"
            config.write_text(
                "\n".join(
                    [
                        f"Port {port}",
                        "ListenAddress 127.0.0.1",
                        f"HostKey {directory / 'host_ed25519'}",
                        f"PidFile {directory / 'sshd.pid'}",
                        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
                        "PermitRootLogin prohibit-password",
                        "PubkeyAuthentication yes",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "StrictModes no",
                        "UsePAM no",
                        "AllowTcpForwarding yes",
                        "X11Forwarding no",
                        "PrintMotd no",
                        "LogLevel VERBOSE",
                        "",
                    ]
                )
            )
            with log.open("ab") as log_file:
                process = subprocess.Popen(
                    [sshd, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                )
            if _wait_banner(port, process):
                break
            process.kill()
            process.wait()
        else:
            raise RuntimeError(f"sshd did not start: {log.read_text(errors='replace')[-2000:]}")

        known = directory / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_pub}\n")
        empty_known = directory / "known_hosts_empty"
        empty_known.write_text("")

        def client_config(name: str, key: str, known_hosts: Path) -> Path:
            path = directory / name
            path.write_text(
                f"Host {alias}\n"
                "    HostName 127.0.0.1\n"
                f"    Port {port}\n"
                f"    User {user}\n"
                f"    IdentityFile {directory / key}\n"
                "    IdentitiesOnly yes\n"
                "    IdentityAgent none\n"
                f"    UserKnownHostsFile {known_hosts}\n"
                "    GlobalKnownHostsFile /dev/null\n"
                "    PasswordAuthentication no\n"
                "    KbdInteractiveAuthentication no\n"
            )
            return path

        return cls(
            directory=directory,
            port=port,
            user=user,
            process=process,
            alias=alias,
            ssh_config=client_config("ssh_config", "user_ed25519", known),
            wrong_key_config=client_config("ssh_config_wrong_key", "wrong_ed25519", known),
            unknown_host_config=client_config("ssh_config_unknown", "user_ed25519", empty_known),
            user_key=directory / "user_ed25519",
            log=log,
        )

    def stop(self) -> None:
        """Stop the daemon (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> PrivateSSHD:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_banner(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False
