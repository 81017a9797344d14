"""The CLI as a real process: startup lines, API reachable, --timeout, Ctrl+C, browser, demo."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcmview_py.readyline import parse_ready_line
from dcmview_py.testing import api_get, dcmview_script, scanned_files, start_cli

READY = re.compile(
    r"^dcmview: server running at http://127\.0\.0\.1:(\d+)/#token=([A-Za-z0-9_-]{20,})$"
)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def _readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().rstrip("\n")


LOCAL = {k: v for k, v in os.environ.items() if k != "SSH_CONNECTION"}


def test_startup_lines_and_api(dicom_dir: Path) -> None:
    proc = start_cli("--no-browser", str(dicom_dir), env=LOCAL)
    try:
        first = _readline(proc)  # arrives while the process runs: flushed, line-buffered
        match = READY.match(first)
        assert match, first
        port, token = int(match[1]), match[2]
        # not in an SSH session, loopback host: no ssh -L hint
        assert _readline(proc) == (
            "dcmview: loaded 2 DICOM files from 1 path (1 skipped: 1 not DICOM; "
            "--verbose lists them)"
        )
        status, body = api_get(f"http://127.0.0.1:{port}", "/api/files", token)
        assert status == 200
        assert len(body["files"]) == 2
        assert body["tunnelled"] is False
        assert api_get(f"http://127.0.0.1:{port}", "/api/files", None)[0] == 401
    finally:
        _stop(proc)


def test_ssh_session_gets_the_reach_hint_and_verbose_lists_skipped(dicom_dir: Path) -> None:
    env = dict(os.environ, SSH_CONNECTION="10.0.0.1 50000 10.0.0.2 22")
    proc = start_cli("--no-browser", "--verbose", str(dicom_dir), env=env)
    try:
        match = READY.match(_readline(proc))
        assert match
        port = match[1]
        assert _readline(proc).startswith(
            f"dcmview: to view from another machine: ssh -L {port}:127.0.0.1:{port} "
        )
        assert _readline(proc) == (
            "dcmview: loaded 2 DICOM files from 1 path (1 skipped: 1 not DICOM)"
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert f"dcmview: skipped {dicom_dir / 'notes.txt'}: not DICOM" in err


def test_no_dicom_files_prints_only_the_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    result = subprocess.run(
        [sys.executable, "-m", "dcmview_py", "--no-browser", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, env=LOCAL,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("dcmview: error: no DICOM files found (a.txt: not DICOM")
    assert len(result.stderr.splitlines()) == 1


def test_ctrl_c_exits_0_within_2_seconds_with_one_line(dicom_dir: Path) -> None:
    proc = start_cli("--no-browser", str(dicom_dir), env=LOCAL)
    try:
        assert READY.match(_readline(proc))
        assert _readline(proc).startswith("dcmview: loaded")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert elapsed < 2.0, elapsed
    assert len(out.splitlines()) == 1, out
    assert "Traceback" not in err


def test_idle_timeout_exits_0(dicom_dir: Path) -> None:
    proc = start_cli("--no-browser", "--timeout", "1", str(dicom_dir))
    try:
        assert READY.match(_readline(proc))
        started = time.monotonic()
        out, err = proc.communicate(timeout=20)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err
    assert 0.5 < time.monotonic() - started < 10
    assert out.splitlines()[-1] == "dcmview: stopped"


def test_unix_socket_lines(dicom_dir: Path, tmp_path: Path) -> None:
    sock = tmp_path / "v.sock"
    proc = start_cli("--no-browser", "--unix-socket", str(sock), str(dicom_dir))
    try:
        assert _readline(proc) == f"dcmview: listening on unix socket {sock}"
        token_line = _readline(proc)
        assert re.fullmatch(r"dcmview: token [A-Za-z0-9_-]{20,}", token_line), token_line
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def _fake_browser(tmp_path: Path) -> tuple[dict[str, str], Path]:
    record = tmp_path / "browser-calls"
    script = tmp_path / "fake-browser"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {record}\n'
        f'f=$(echo "$1" | sed \'s|^file://||\')\ncat "$f" > {record}.html\n'
        f'stat -c %a "$f" > {record}.mode\n'
    )
    script.chmod(0o755)
    env = dict(LOCAL, BROWSER=str(script))
    env.pop("DISPLAY", None)
    return env, record


def test_browser_gets_a_private_redirect_file_not_the_token(
    dicom_dir: Path, tmp_path: Path
) -> None:
    env, record = _fake_browser(tmp_path)
    proc = start_cli(str(dicom_dir), env=env)
    try:
        ready = parse_ready_line(_readline(proc))
        assert ready is not None
        assert ready.token is not None
        deadline = time.monotonic() + 15
        while not Path(f"{record}.mode").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        argv_seen = record.read_text()
        assert ready.token not in argv_seen  # nothing in `ps` shows the token
        assert argv_seen.startswith("file://")
        assert ready.url in Path(f"{record}.html").read_text()
        assert Path(f"{record}.mode").read_text().strip() == "600"
        redirect = Path(argv_seen.split()[0].removeprefix("file://"))
        assert redirect.exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert not redirect.exists()  # removed on exit


def test_no_browser_flag_opens_nothing(dicom_dir: Path, tmp_path: Path) -> None:
    env, record = _fake_browser(tmp_path)
    proc = start_cli("--no-browser", str(dicom_dir), env=env)
    try:
        assert READY.match(_readline(proc))
        assert _readline(proc).startswith("dcmview: loaded")
        time.sleep(1.0)  # a browser call happens right after the ready line (see above)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert not record.exists()


def test_demo_views_a_private_temporary_study() -> None:
    proc = start_cli("--demo", "--no-browser", env=LOCAL)
    try:
        ready = parse_ready_line(_readline(proc))
        assert ready is not None
        body = scanned_files(ready.base_url, ready.token)
        assert len(body["files"]) > 0
        paths = [Path(f["path"]) for f in body["files"]]
        demo_root = next(p for p in paths[0].parents if p.name.startswith("dcmview-demo-"))
        assert demo_root.is_dir()
        assert re.fullmatch(
            r"dcmview: loaded \d+ DICOM files from 1 path \(0 skipped\)", _readline(proc)
        )
        tomo = next(i for i, f in enumerate(body["files"]) if "tomosynthesis" in f["path"])
        status, rois = api_get(ready.base_url, f"/api/file/{tomo}/annotations", ready.token)
        assert status == 200
        assert rois["num_roi"] > 0  # the demo's EMBED CSV was loaded with it
        assert stat.S_IMODE(demo_root.stat().st_mode) == 0o700
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not demo_root.exists()


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "dcmview_py", "--version"],
        [dcmview_script(), "--version"],
        [dcmview_script() + "-py", "--version"],
    ],
)
def test_entry_points_run_the_same_cli(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == "dcmview 0.1.0"


def test_usage_error_from_a_real_process_has_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dcmview_py", "--port", "x", "."],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == "dcmview: error: argument -p/--port: expected a whole number, got 'x'\n"


# ---- ROI edits are never lost silently (issue 12 §3) -------------------------------------------

BOXES = {"num_roi": 1, "roi_coords": [[1, 2, 3, 4]], "roi_frames": [[0]]}


def _put_rois(base_url: str, token: str, index: int) -> int:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{base_url}/api/file/{index}/annotations",
        data=json.dumps(BOXES).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return int(response.status)


def test_ctrl_c_writes_unsaved_edits_to_a_recovery_csv(dicom_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = start_cli("--no-browser", str(dicom_dir), env=LOCAL, cwd=work)
    try:
        ready = parse_ready_line(_readline(proc))
        assert ready is not None
        assert ready.token is not None
        scanned_files(ready.base_url, ready.token)
        assert _put_rois(ready.base_url, ready.token, 0) == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    (recovered,) = work.glob("dcmview-annotations-recovered-*.csv")
    assert f"dcmview: unsaved ROI edits were written to {recovered}" in out.splitlines()
    assert "[[1,2,3,4]]" in recovered.read_text().replace(" ", "")
    assert not list(dicom_dir.glob("*.csv"))


def test_save_annotations_after_every_put(dicom_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "saved.csv"
    proc = start_cli(
        "--no-browser", "--save-annotations", str(target), str(dicom_dir), env=LOCAL, cwd=tmp_path
    )
    try:
        ready = parse_ready_line(_readline(proc))
        assert ready is not None
        assert ready.token is not None
        scanned_files(ready.base_url, ready.token)
        assert not target.exists()
        assert _put_rois(ready.base_url, ready.token, 1) == 200
        text = target.read_text()  # written before the PUT answered
        assert "[[1,2,3,4]]" in text.replace(" ", "")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert "recovered" not in out  # saved: nothing to recover
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["saved.csv"]
