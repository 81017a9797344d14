"""``dcmview --tunnel`` end to end against a private sshd, with both SSH backends.

The "remote" host is this machine: the remote command is this environment's ``dcmview``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from dcmview_tunnel.testing import PrivateSSHD
from pydicom.data import get_testdata_file

from dcmview_py import view
from dcmview_py.readyline import ReadyLine, parse_ready_line
from dcmview_py.testing import api_get, dcmview_script, scanned_files, start_cli

pytestmark = [pytest.mark.sshd, pytest.mark.slow]

BACKENDS = ["paramiko", "ssh"]


def _remote_pids(marker: str) -> list[int]:
    """PIDs of processes whose command line contains ``marker`` (read from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "--tunnelled-from" in cmdline:
            pids.append(int(entry.name))
    return pids


def _wait_gone(marker: str, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while _remote_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _remote_pids(marker)


def _start(
    sshd: PrivateSSHD,
    backend: str,
    paths: list[str],
    *extra: str,
    config: Path | None = None,
    remote_command: str | None = None,
) -> subprocess.Popen[str]:
    env = dict(os.environ, DCMVIEW_SSH_BACKEND=backend)
    return start_cli(
        "--tunnel", "--tunnel-host", sshd.alias, "--ssh-config", str(config or sshd.ssh_config),
        "--remote-command", remote_command or dcmview_script(), "--no-browser", *extra, *paths,
        env=env,
    )  # fmt: skip


def _read_ready(proc: subprocess.Popen[str]) -> tuple[ReadyLine, list[str]]:
    assert proc.stdout is not None
    lines = []
    for _ in range(10):
        line = proc.stdout.readline().rstrip("\n")
        if not line:
            break
        lines.append(line)
        ready = parse_ready_line(line)
        if ready is not None:
            return ready, lines
    raise AssertionError(f"no ready line: {lines} / {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


@pytest.mark.parametrize("backend", BACKENDS)
def test_tunnel_flow(
    sshd: PrivateSSHD, dicom_dir: Path, backend: str, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc = _start(sshd, backend, [str(dicom_dir)])
    cleanup.append(proc)
    ready, lines = _read_ready(proc)
    assert lines[0].startswith(f"dcmview: connected to {sshd.alias} ({backend})")
    assert ready.url == f"http://127.0.0.1:{ready.port}/#token={ready.token}"
    status, body = api_get(ready.base_url, "/api/files", ready.token)
    assert status == 200
    assert body["tunnelled"] is True
    assert body["tunnel_host"] == sshd.alias
    assert api_get(ready.base_url, "/api/files", None)[0] == 401
    assert _remote_pids(str(dicom_dir))  # the remote server runs
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 2.0, time.monotonic() - started
    assert out.splitlines()[-1] == "dcmview: interrupted, stopping the remote server"
    assert _wait_gone(str(dicom_dir))  # Ctrl+C stopped the remote server too
    with pytest.raises(urllib.error.URLError, match="refused"):
        api_get(ready.base_url, "/api/files", ready.token)


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_server_killed(
    sshd: PrivateSSHD, dicom_dir: Path, backend: str, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc = _start(sshd, backend, [str(dicom_dir)])
    cleanup.append(proc)
    _read_ready(proc)
    pids = _remote_pids(str(dicom_dir))
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 1
    assert f"dcmview: error: the remote dcmview on {sshd.alias} was killed" in err


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_command_missing(
    sshd: PrivateSSHD, dicom_dir: Path, backend: str, cleanup: list[subprocess.Popen[str]]
) -> None:
    env = dict(os.environ, DCMVIEW_SSH_BACKEND=backend)
    proc = start_cli(
        "--tunnel", "--tunnel-host", sshd.alias, "--ssh-config", str(sshd.ssh_config),
        "--remote-command", "/nonexistent/dcmview", "--no-browser", str(dicom_dir), env=env,
    )  # fmt: skip
    cleanup.append(proc)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.splitlines()[-1] == (
        f"dcmview: error: '/nonexistent/dcmview' was not found on {sshd.alias}; install dcmview "
        "there or pass its path with --remote-command"
    )


def test_remote_usage_error_is_reported(
    sshd: PrivateSSHD, tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc = _start(sshd, "paramiko", [str(tmp_path / "not-there")])
    cleanup.append(proc)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.splitlines()[-1] == (
        f"dcmview: error: on {sshd.alias}: path not found: {tmp_path / 'not-there'} "
        "(remote exit status 2)"
    )


@pytest.mark.parametrize(
    ("config_attr", "message"),
    [("wrong_key_config", "authentication"), ("unknown_host_config", "host key")],
)
def test_connection_refused_exits_2_with_recipe(
    sshd: PrivateSSHD, dicom_dir: Path, config_attr: str, message: str
) -> None:
    config = getattr(sshd, config_attr)
    proc = _start(sshd, "auto", [str(dicom_dir)], config=config)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    first = err.splitlines()[0]
    assert first.startswith(f"dcmview: error: cannot reach {sshd.alias} over SSH: ")
    assert message in first.lower()
    assert f"ssh -N -L PORT:127.0.0.1:PORT {sshd.alias}" in err
    assert out == ""


def test_fixed_tunnel_port(
    sshd: PrivateSSHD, dicom_dir: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    proc = _start(sshd, "paramiko", [str(dicom_dir)], "--tunnel-port", str(wanted))
    cleanup.append(proc)
    ready, _ = _read_ready(proc)
    assert ready.port == wanted
    assert api_get(ready.base_url, "/api/files", ready.token)[0] == 200


def test_view_through_the_tunnel(sshd: PrivateSSHD, dicom_dir: Path) -> None:
    with view(
        [dicom_dir], tunnel_host=sshd.alias, ssh_config=sshd.ssh_config,
        remote_command=dcmview_script(), browser=False, block=False,
    ) as handle:  # fmt: skip
        status, body = api_get(handle.base_url, "/api/files", handle.token)
        assert status == 200
        assert body["tunnelled"] is True
    assert _wait_gone(str(dicom_dir))


def test_tunnel_child_of_view_stops_when_its_parent_dies(
    sshd: PrivateSSHD, dicom_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys\n"
        "from dcmview_py import view\n"
        f"h = view([{str(dicom_dir)!r}], tunnel_host={sshd.alias!r}, "
        f"ssh_config={str(sshd.ssh_config)!r}, remote_command={dcmview_script()!r}, "
        "browser=False, block=False)\n"
        "print(h.process.pid, flush=True)\n"
        "os._exit(0)  # no cleanup at all: only the closed pipe tells the child\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    child = int(result.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()
    assert _wait_gone(str(dicom_dir))


def test_no_usable_backend_exits_2_with_recipe(
    sshd: PrivateSSHD, dicom_dir: Path, tmp_path: Path
) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # paramiko is refused and there is no `ssh`
    proc = start_cli(
        "--tunnel", "--tunnel-host", sshd.alias, "--ssh-config", str(sshd.wrong_key_config),
        "--no-browser", str(dicom_dir), env=env,
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.startswith(f"dcmview: error: cannot reach {sshd.alias} over SSH: ")
    assert "no `ssh` binary" in err.splitlines()[0]
    assert f"ssh -N -L PORT:127.0.0.1:PORT {sshd.alias}" in err
    assert out == ""


@pytest.mark.parametrize("backend", BACKENDS)
def test_remote_command_is_read_by_the_remote_shell(
    sshd: PrivateSSHD, tmp_path: Path, backend: str, cleanup: list[subprocess.Popen[str]]
) -> None:
    """``~``, ``$VAR`` and ``&&`` in --remote-command work; PATHs stay literal."""
    odd = tmp_path / "it's $HOME & `x`"
    odd.mkdir()
    source = get_testdata_file("CT_small.dcm")
    assert source is not None
    shutil.copy(str(source), odd / "ct.dcm")
    command = f'cd "$HOME" && {dcmview_script()}'
    proc = _start(sshd, backend, [str(odd)], remote_command=command)
    cleanup.append(proc)
    ready, _ = _read_ready(proc)
    body = scanned_files(ready.base_url, ready.token)
    assert [f["path"] for f in body["files"]] == [str(odd / "ct.dcm")]


def test_remote_idle_timeout_ends_the_local_side_with_0(
    sshd: PrivateSSHD, dicom_dir: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    proc = _start(sshd, "paramiko", [str(dicom_dir)], "--timeout", "1")
    cleanup.append(proc)
    _read_ready(proc)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "dcmview: the remote server stopped"
    assert _wait_gone(str(dicom_dir))


def test_remote_warnings_are_shown_locally(
    sshd: PrivateSSHD, dicom_dir: Path, tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    csv = tmp_path / "rois.csv"
    csv.write_text('anon_dicom_path,ROI_coords\n/elsewhere/x.dcm,"[[1,2,3,4]]"\n')
    proc = _start(sshd, "paramiko", [str(dicom_dir)], "--annotations", str(csv), "--timeout", "2")
    cleanup.append(proc)
    _read_ready(proc)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "dcmview: annotations: " in err  # the remote's message about the unmatched row
