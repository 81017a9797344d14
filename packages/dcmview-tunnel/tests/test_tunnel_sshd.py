"""The tunnel against a real private sshd, with both backends."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcmview_tunnel import (
    HostKeyError,
    RemoteCommandError,
    Tunnel,
    TunnelAuthError,
    TunnelError,
    TunnelUnavailableError,
    connect,
)
from dcmview_tunnel.testing import PrivateSSHD

pytestmark = pytest.mark.sshd

BACKENDS = ["paramiko", "ssh"]

ECHO_SERVER = """
import socket, sys
srv = socket.create_server(("127.0.0.1", 0))
print("PORT", srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        data = conn.recv(1024)
        conn.sendall(b"echo:" + data)
"""


@pytest.fixture(params=BACKENDS)
def tunnel(request: pytest.FixtureRequest, sshd: PrivateSSHD) -> Iterator[Tunnel]:
    with connect(sshd.alias, ssh_config=sshd.ssh_config, backend=request.param) as t:
        assert t.backend == request.param
        yield t


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_forward_reaches_a_remote_server(tunnel: Tunnel) -> None:
    proc = tunnel.run([sys.executable, "-u", "-c", ECHO_SERVER])
    line = proc.expect(lambda s: s.startswith("PORT "), timeout=20)
    remote_port = int(line.split()[1])
    fwd = tunnel.forward(remote_port)
    assert fwd.local_port > 0
    for payload in (b"one", b"two"):
        with socket.create_connection(("127.0.0.1", fwd.local_port), timeout=10) as sock:
            sock.sendall(payload)
            assert sock.recv(1024) == b"echo:" + payload
    fwd.close()
    fwd.close()  # idempotent
    assert proc.running
    proc.terminate(timeout=5)
    assert not proc.running


def test_run_reports_lines_stderr_and_exit_status(tunnel: Tunnel) -> None:
    proc = tunnel.run(["sh", "-c", 'echo "out $1"; echo oops >&2; exit 3', "sh", "a b"])
    assert proc.readline(timeout=20) == "out a b"
    assert proc.readline(timeout=20) is None
    assert proc.wait(timeout=20) == 3
    assert "oops" in proc.stderr_text()


def test_missing_remote_command_is_a_clear_error(tunnel: Tunnel) -> None:
    proc = tunnel.run(["dcmview-does-not-exist", "--no-browser"])
    with pytest.raises(RemoteCommandError, match="not found") as info:
        proc.expect(lambda s: "running at" in s, timeout=20)
    assert info.value.exit_status == 127
    assert "dcmview-does-not-exist" in info.value.stderr


def test_caller_learns_when_the_remote_process_is_killed(tunnel: Tunnel) -> None:
    proc = tunnel.run(["sh", "-c", "echo $$; exec sleep 60"])
    line = proc.readline(timeout=20)
    assert line is not None
    os.kill(int(line), signal.SIGKILL)  # the "remote" host is this machine
    assert proc.wait(timeout=10) is not None
    assert not proc.running
    assert proc.readline(timeout=5) is None
    assert "killed" in str(proc.exit_error(proc.poll()))


def test_close_ends_remote_commands_through_eof(sshd: PrivateSSHD) -> None:
    for backend in BACKENDS:
        t = connect(sshd.alias, ssh_config=sshd.ssh_config, backend=backend)  # type: ignore[arg-type]
        proc = t.run(["sh", "-c", "echo $$; exec cat"])
        pid = int(proc.readline(timeout=20) or "0")
        assert _pid_alive(pid)
        t.close()
        t.close()
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pid_alive(pid), backend
        assert not t.alive


def test_fixed_local_port_in_use_raises_oserror(tunnel: Tunnel) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match="in use") as info:
            tunnel.forward(22, local_port=port)
        assert info.value.errno == errno.EADDRINUSE


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_key_is_an_auth_error(sshd: PrivateSSHD, backend: str) -> None:
    with pytest.raises(TunnelAuthError):
        connect(sshd.alias, ssh_config=sshd.wrong_key_config, backend=backend)  # type: ignore[arg-type]


def test_auto_reports_auth_error_after_trying_both(sshd: PrivateSSHD) -> None:
    with pytest.raises(TunnelAuthError, match="paramiko"):
        connect(sshd.alias, ssh_config=sshd.wrong_key_config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_host_key_is_refused(sshd: PrivateSSHD, backend: str) -> None:
    with pytest.raises(HostKeyError):
        connect(sshd.alias, ssh_config=sshd.unknown_host_config, backend=backend)  # type: ignore[arg-type]


def test_unknown_host_key_refused_by_auto_with_both_backends(sshd: PrivateSSHD) -> None:
    with pytest.raises(HostKeyError, match="ssh refused the host key") as info:
        connect(sshd.alias, ssh_config=sshd.unknown_host_config)
    assert "paramiko before it: host key" in str(info.value)
    assert not info.value.changed


def test_host_key_alias_known_only_to_ssh_falls_back(sshd: PrivateSSHD, tmp_path: Path) -> None:
    host_key = (sshd.directory / "known_hosts").read_text().split(maxsplit=1)[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"dcmview-alias-key {host_key}")
    config = tmp_path / "config"
    config.write_text(
        sshd.ssh_config.read_text().replace(str(sshd.directory / "known_hosts"), str(known))
        + "    HostKeyAlias dcmview-alias-key\n"
    )
    with pytest.raises(HostKeyError):
        connect(sshd.alias, ssh_config=config, backend="paramiko")
    with connect(sshd.alias, ssh_config=config) as t:
        assert t.backend == "ssh"
        assert t.run(["true"]).wait(timeout=20) == 0


def test_changed_host_key_is_refused(sshd: PrivateSSHD, tmp_path: Path) -> None:
    other = (sshd.directory / "wrong_ed25519.pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    config = tmp_path / "config"
    config.write_text(
        sshd.ssh_config.read_text().replace(str(sshd.directory / "known_hosts"), str(known))
    )
    for backend in [*BACKENDS, "auto"]:
        with pytest.raises(HostKeyError) as info:
            connect(sshd.alias, ssh_config=config, backend=backend)  # type: ignore[arg-type]
        assert info.value.changed, backend


def test_unknown_host_key_accepted_when_opted_in(sshd: PrivateSSHD) -> None:
    with connect(
        sshd.alias, ssh_config=sshd.unknown_host_config, accept_unknown_host_key=True,
        backend="paramiko",
    ) as t:  # fmt: skip
        assert t.run(["true"]).wait(timeout=20) == 0
    # paramiko accepts for this connection only: nothing was written
    assert (sshd.directory / "known_hosts_empty").read_text() == ""


def test_proxyjump_config_uses_the_ssh_binary(sshd: PrivateSSHD, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        sshd.ssh_config.read_text()
        + sshd.ssh_config.read_text().replace(f"Host {sshd.alias}", "Host via-jump")
        + f"    ProxyJump {sshd.alias}\n"
    )
    with connect("via-jump", ssh_config=config) as t:
        assert t.backend == "ssh"
        proc = t.run(["echo", "through the jump host"])
        assert proc.readline(timeout=20) == "through the jump host"


def test_no_usable_backend(
    sshd: PrivateSSHD, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ssh` binary to fall back to
    with pytest.raises(TunnelUnavailableError, match="no `ssh` binary") as info:
        connect(sshd.alias, ssh_config=sshd.wrong_key_config)
    assert isinstance(info.value.__cause__, TunnelAuthError)
    with pytest.raises(TunnelUnavailableError):
        connect(sshd.alias, ssh_config=sshd.ssh_config, backend="ssh")


BULK_SERVER = """
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
print("PORT", srv.getsockname()[1], flush=True)
def handle(conn):
    with conn:
        data = bytearray()
        while chunk := conn.recv(65536):
            data += chunk
        conn.sendall(bytes(reversed(data)))
while True:
    conn, _ = srv.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""


def test_forward_carries_large_payloads_on_parallel_connections(tunnel: Tunnel) -> None:
    import threading

    proc = tunnel.run([sys.executable, "-u", "-c", BULK_SERVER])
    port = int(proc.expect(lambda s: s.startswith("PORT "), timeout=20).split()[1])
    fwd = tunnel.forward(port)
    results: dict[int, bool] = {}

    def client(n: int) -> None:
        payload = os.urandom(1_500_000 + n)
        with socket.create_connection(("127.0.0.1", fwd.local_port), timeout=30) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            received = bytearray()
            while chunk := sock.recv(65536):
                received += chunk
        results[n] = bytes(received) == bytes(reversed(payload))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == dict.fromkeys(range(6), True)
    proc.terminate()


def test_stderr_lines_are_relayed_as_they_come(tunnel: Tunnel) -> None:
    import threading

    seen: list[str] = []
    proc = tunnel.run(["sh", "-c", "echo early >&2; read x; echo late >&2; echo done"])
    deadline = time.monotonic() + 20
    while "early" not in proc.stderr_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    relayed = threading.Event()

    def callback(line: str) -> None:
        seen.append(line)
        if line == "late":
            relayed.set()

    proc.relay_stderr(callback)
    assert seen == ["early"]
    proc.close_stdin()
    assert proc.readline(timeout=20) == "done"
    assert relayed.wait(10)
    assert seen == ["early", "late"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_silent_server_times_out(backend: str, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never says a word
        config = tmp_path / "config"
        config.write_text(
            f"Host silent\n  HostName 127.0.0.1\n  Port {silent.getsockname()[1]}\n"
            "  IdentitiesOnly yes\n  IdentityAgent none\n"
        )
        started = time.monotonic()
        with pytest.raises(TunnelError) as info:
            connect("silent", ssh_config=config, backend=backend, connect_timeout=1)  # type: ignore[arg-type]
        assert time.monotonic() - started < 15
    assert not isinstance(info.value, (TunnelAuthError, HostKeyError))
    assert not _ssh_processes_for(str(config))  # no master left behind


def _ssh_processes_for(marker: str) -> list[int]:
    pids = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = path.read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and os.path.basename(cmdline.split(b"\0")[0]) == b"ssh":
            pids.append(int(path.parent.name))
    return pids
