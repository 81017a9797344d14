"""`serve()`: ready callback, scan summary, stopping (event, idle timeout, no files), sockets."""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from dcmview_annotations import read_csv

from dcmview_server import ConfigError, Ready, ScanSummary, ServerConfig, ServerHandle, serve
from dcmview_server.config import user_cache_dir
from dcmview_server.state import AppState, recovery_dirs, write_recovery

TOKEN = "runner-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEALTH = f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"


def test_ready_and_summary(study: Path) -> None:
    readies: list[Ready] = []
    summaries: list[ScanSummary] = []
    stop = threading.Event()
    result: list[int] = []

    def run() -> None:
        result.append(
            serve(
                ServerConfig(paths=(str(study),), token=TOKEN),
                on_ready=readies.append,
                on_scan_complete=summaries.append,
                stop_event=stop,
            )
        )

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not (readies and summaries) and time.monotonic() < deadline:
        time.sleep(0.02)
    ready = readies[0]
    assert ready.port is not None
    assert ready.port > 0
    assert ready.base_url == f"http://127.0.0.1:{ready.port}"
    assert ready.url == f"http://127.0.0.1:{ready.port}/#token={TOKEN}"
    assert ready.token == TOKEN
    assert ready.unix_socket is None
    summary = summaries[0]
    assert (summary.loaded, summary.skipped, summary.filtered, summary.paths) == (6, 1, 0, 1)
    assert summary.skip_reasons == [summary.skip_reasons[0]]
    assert summary.skip_reasons[0].startswith("notes.txt: not DICOM")
    response = httpx.get(
        f"{ready.base_url}/api/health", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    started = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2.0
    assert result == [0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{ready.base_url}/api/health", timeout=1)


def test_ready_comes_before_the_summary_with_skip_kinds(study: Path) -> None:
    events: list[str] = []
    stop = threading.Event()
    summaries: list[ScanSummary] = []

    def on_scan(summary: ScanSummary) -> None:
        events.append("scan")
        summaries.append(summary)
        stop.set()

    code = serve(
        ServerConfig(paths=(str(study),), token=TOKEN),
        on_ready=lambda ready: events.append("ready"),
        on_scan_complete=on_scan,
        stop_event=stop,
    )
    assert code == 0
    assert events == ["ready", "scan"]
    (skip,) = summaries[0].skipped_files
    assert (Path(skip.path).name, skip.kind) == ("notes.txt", "not_dicom")
    assert summaries[0].skip_kinds() == {"not_dicom": 1}


def test_handle_start_fails_clearly_without_files(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="stopped before it was ready"):
        ServerHandle.start(ServerConfig(paths=(str(tmp_path),), token=TOKEN))


def test_filters_count_as_filtered(study: Path) -> None:
    with ServerHandle.start(
        ServerConfig(paths=(str(study),), token=TOKEN, filters=("modality==MR",))
    ) as handle:
        summary = handle.wait_scan()
        assert (summary.loaded, summary.filtered, summary.skipped) == (1, 5, 1)
        body = httpx.get(
            f"{handle.base_url}/api/files", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()
        assert (body["scanned"], body["filtered"], body["skipped"]) == (1, 5, 1)
        assert body["files"][0]["modality"] == "MR"


def test_no_loadable_file_returns_1_and_is_never_announced(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    summaries: list[ScanSummary] = []
    readies: list[Ready] = []
    started = time.monotonic()
    code = serve(
        ServerConfig(paths=(str(tmp_path),), token=TOKEN),
        on_ready=readies.append,
        on_scan_complete=summaries.append,
    )
    assert code == 1
    assert readies == []  # no URL for a server that exits for lack of files
    assert time.monotonic() - started < 5
    assert summaries[0].loaded == 0
    assert summaries[0].skip_reasons == [summaries[0].skip_reasons[0]]
    assert "a.txt" in summaries[0].skip_reasons[0]


def test_config_error_before_binding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="filter"):
        serve(ServerConfig(paths=(str(tmp_path),), filters=("bogus=1",)))


def test_idle_timeout_ignores_unauthenticated_requests(study: Path) -> None:
    handle = ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN, timeout=1.0))
    try:
        started = time.monotonic()
        # authenticated requests keep it alive past the timeout
        while time.monotonic() - started < 1.6:
            assert (
                httpx.get(
                    f"{handle.base_url}/api/health", headers={"Authorization": f"Bearer {TOKEN}"}
                ).status_code
                == 200
            )
            time.sleep(0.2)
        assert handle.running
        # so do page loads
        pages_start = time.monotonic()
        while time.monotonic() - pages_start < 1.4:
            assert httpx.get(f"{handle.base_url}/").status_code == 200
            time.sleep(0.2)
        assert handle.running
        # unauthenticated API requests and assets do not
        quiet_start = time.monotonic()
        while handle.running and time.monotonic() - quiet_start < 4:
            try:
                httpx.get(f"{handle.base_url}/api/health", timeout=0.5)
                httpx.get(f"{handle.base_url}/assets/none.js", timeout=0.5)
            except httpx.HTTPError:
                break
            time.sleep(0.2)
        assert handle.wait(3) == 0
        # a 1 s timeout ends it well before the 4 s of unauthenticated traffic would (slack
        # for a loaded machine: had they kept it alive, this would read about 5 s)
        assert time.monotonic() - quiet_start < 3.5
    finally:
        handle.stop()


def test_stop_cuts_idle_and_slow_connections(study: Path) -> None:
    handle = ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN))
    port = handle.ready.port if handle.ready else 0
    idle = socket.create_connection(("127.0.0.1", port))
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
    keep = socket.create_connection(("127.0.0.1", port))
    keep.sendall(HEALTH.encode())
    assert b"200 OK" in keep.recv(65536)
    started = time.monotonic()
    handle.stop()
    elapsed = time.monotonic() - started
    assert not handle.running
    assert elapsed < 2.0
    for sock in (idle, slow, keep):
        sock.settimeout(2)
        try:
            data = sock.recv(65536)
            if data:  # at most a final error answer, then the end of the stream
                assert data.startswith(b"HTTP/1.1 ")
                data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        assert data == b""
        sock.close()


def test_a_hundred_slow_clients_do_not_starve_others(study: Path) -> None:
    with ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN)) as handle:
        port = handle.ready.port if handle.ready else 0
        slow = []
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(s)
        try:
            started = time.monotonic()
            response = httpx.get(
                f"{handle.base_url}/api/files", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert response.status_code == 200
            assert time.monotonic() - started < 2.0
        finally:
            for s in slow:
                s.close()


def test_unix_socket(study: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "dcmview.sock")
    with ServerHandle.start(
        ServerConfig(paths=(str(study),), token=TOKEN, unix_socket=path)
    ) as handle:
        ready = handle.ready
        assert ready is not None
        assert (ready.url, ready.base_url, ready.port, ready.unix_socket) == ("", "", None, path)
        assert os.stat(path).st_mode & 0o777 == 0o600
        transport = httpx.HTTPTransport(uds=path)
        with httpx.Client(transport=transport, base_url="http://localhost") as client:
            response = client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 200
            assert client.get("/api/health").status_code == 401
    assert not os.path.exists(path)


def test_non_loopback_host_warns(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN, host="0.0.0.0")) as h:
        assert h.ready is not None
        assert h.ready.base_url.startswith("http://127.0.0.1:")
    err = capsys.readouterr().err
    assert "dcmview: warning: --host 0.0.0.0 exposes" in err
    with ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN)):
        pass
    assert "warning" not in capsys.readouterr().err


def test_tunnel_host_is_reported(study: Path) -> None:
    with ServerHandle.start(
        ServerConfig(paths=(str(study),), token=TOKEN, tunnel_host="gpu-server")
    ) as handle:
        body: dict[str, Any] = json.loads(
            httpx.get(
                f"{handle.base_url}/api/files", headers={"Authorization": f"Bearer {TOKEN}"}
            ).content
        )
        assert (body["tunnelled"], body["tunnel_host"]) == (True, "gpu-server")


SERVE_SNIPPET = """
import json, sys
from dcmview_server import ServerConfig, serve
def ready(r):
    print(json.dumps({"port": r.port}), flush=True)
sys.exit(serve(ServerConfig(paths=(sys.argv[1],), token="sig-token"), on_ready=ready))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_process_within_2_s(study: Path, signum: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SNIPPET, str(study)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        # a keep-alive connection and a half-sent request are open when the signal arrives
        idle = socket.create_connection(("127.0.0.1", port))
        idle.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(5) == 0
        assert time.monotonic() - started < 2.0
        idle.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_ipv6_loopback(study: Path) -> None:
    with ServerHandle.start(ServerConfig(paths=(str(study),), token=TOKEN, host="::1")) as h:
        assert h.ready is not None
        assert h.ready.base_url == f"http://[::1]:{h.ready.port}"
        assert h.ready.url == f"http://[::1]:{h.ready.port}/#token={TOKEN}"
        assert httpx.get(f"{h.base_url}/api/health", headers=AUTH).status_code == 200


# ---- ROI edits: --save-annotations and the recovery CSV (issue 12 §3) ---------------------------

BOXES = {"num_roi": 1, "roi_coords": [[1, 2, 3, 4]], "roi_frames": [[0]]}


def _state_with_an_edit(study: Path, **config: Any) -> AppState:
    state = AppState.build(ServerConfig(paths=(str(study),), token=TOKEN, **config))
    state.start()
    assert state.registry.wait_complete(30)
    entry = state.registry.get(1)
    assert entry is not None
    state.annotations.replace(entry, BOXES)
    state.roi_changed()
    return state


def test_save_annotations_rewrites_the_csv_atomically_after_each_edit(
    study: Path, tmp_path: Path
) -> None:
    target = tmp_path / "saved.csv"
    state = _state_with_an_edit(study, save_annotations=str(target))
    try:
        csv = read_csv(str(target))
        assert not csv.structural_errors
        (row,) = csv.rows
        assert row.path == str(study / "series" / "b_single.dcm")
        assert row.roi_set is not None
        assert row.roi_set.to_json()["roi_coords"] == [[1, 2, 3, 4]]
        assert [p.name for p in tmp_path.iterdir()] == ["saved.csv"]  # no temp file left
        assert state.unsaved_edits() == 0
        assert state.recover_unsaved() is None  # saved: nothing to recover
    finally:
        state.close()


def test_save_annotations_refuses_the_input_csv(tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("anon_dicom_path,ROI_coords\n")
    with pytest.raises(ConfigError, match="must not be the --annotations CSV"):
        ServerConfig(paths=(str(tmp_path),), annotations=str(csv), save_annotations=str(csv))
    link = tmp_path / "link.csv"
    link.symlink_to(csv)
    with pytest.raises(ConfigError, match="must not be the --annotations CSV"):
        ServerConfig(paths=(str(tmp_path),), annotations=str(csv), save_annotations=str(link))


def test_unsaved_edits_go_to_a_recovery_csv_in_the_working_directory(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    state = _state_with_an_edit(study)
    try:
        assert state.unsaved_edits() == 1
        path = Path(state.recover_unsaved() or "")
        assert path.parent == work
        assert re.fullmatch(r"dcmview-annotations-recovered-\d{8}-\d{6}\.csv", path.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        (row,) = read_csv(str(path)).rows
        assert row.path == str(study / "series" / "b_single.dcm")
        assert state.recover_unsaved() is None  # written once
        state.roi_changed()
        state.roi_exported()
        assert state.recover_unsaved() is None  # exported: nothing at risk
    finally:
        state.close()
    assert not list(study.rglob("*.csv"))  # never beside the DICOM files


def test_recovery_never_goes_beside_the_inputs(study: Path, tmp_path: Path) -> None:
    cache = user_cache_dir()
    assert recovery_dirs((str(study),), cwd=str(study / "series")) == [cache]
    single = study / "series" / "b_single.dcm"
    assert recovery_dirs((str(single),), cwd=str(study / "series")) == [cache]
    assert recovery_dirs((str(study),), cwd=str(tmp_path)) == [tmp_path, cache]
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        path = write_recovery(b"x", [read_only, tmp_path / "cache"]) if os.geteuid() else None
    finally:
        read_only.chmod(0o700)
    if path is not None:  # root can write anywhere
        assert Path(path).parent == tmp_path / "cache"


def _serve_with_an_edit(
    study: Path, monkeypatch: pytest.MonkeyPatch, on_recovered: Callable[[str], None] | None
) -> None:
    """Serve ``study`` with one unexported ROI edit, stopping when the scan completes."""
    original = AppState.build.__func__  # type: ignore[attr-defined]

    def build_with_an_edit(cls: type[AppState], /, config: ServerConfig, **kw: Any) -> AppState:
        state: AppState = original(cls, config, **kw)
        state.registry.add_listener(lambda entry: state.roi_changed())
        return state

    monkeypatch.setattr(AppState, "build", classmethod(build_with_an_edit))
    stop = threading.Event()
    serve(
        ServerConfig(paths=(str(study),), token=TOKEN),
        on_scan_complete=lambda summary: stop.set(),
        stop_event=stop,
        on_recovered=on_recovered,
    )


def test_a_library_server_writes_no_recovery_csv_nobody_is_told_about(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _serve_with_an_edit(study, monkeypatch, on_recovered=None)
    assert not list(tmp_path.iterdir())


def test_serve_reports_the_recovery_csv_on_stop(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    recovered: list[str] = []
    _serve_with_an_edit(study, monkeypatch, on_recovered=recovered.append)
    (path,) = recovered
    assert Path(path).parent == tmp_path
    assert Path(path).name.startswith("dcmview-annotations-recovered-")


@pytest.mark.parametrize("freeze", [False, True])
def test_the_heap_is_frozen_only_when_the_process_is_the_server(
    tmp_path: Path, freeze: bool
) -> None:
    """The CLI asks for `gc.freeze` (fewer GC passes over the start-up heap); a notebook's
    or a test's `serve` never freezes the caller's objects."""
    (tmp_path / "a.txt").write_text("hello")
    gc.unfreeze()
    try:
        code = serve(ServerConfig(paths=(str(tmp_path),), token=TOKEN), freeze_heap=freeze)
        assert code == 1
        assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()
