"""`serve()`: ready callback, scan summary, stopping (event, idle timeout, no files), sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dcmview_server import ConfigError, Ready, ScanSummary, ServerConfig, ServerHandle, serve

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


def test_no_loadable_file_returns_1(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    summaries: list[ScanSummary] = []
    started = time.monotonic()
    code = serve(
        ServerConfig(paths=(str(tmp_path),), token=TOKEN), on_scan_complete=summaries.append
    )
    assert code == 1
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
        assert time.monotonic() - quiet_start < 2.5
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
