"""Every security rule of docs/api.md, each with a hostile request through a real socket."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

TOKEN = "test-token-0123456789abcdefghijklmnopqrstuvwx"
AUTH = f"Authorization: Bearer {TOKEN}\r\n"


def raw_request(
    port: int, request: bytes, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; parse status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:])
                }
                length = int(headers.get("content-length", "-1"))
                if length >= 0 and len(body) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    return status, headers, body


def get(
    port: int, target: str, host: str = "127.0.0.1", extra: str = AUTH
) -> tuple[int, dict[str, str], bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
    return raw_request(port, request.encode("latin-1"))


def assert_error(result: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    got_status, headers, body = result
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert "x-server-instance" in headers
    assert not any(h.startswith("access-control-") for h in headers)
    doc = json.loads(body)
    assert set(doc) == {"code", "error"}
    assert doc["code"] == code


def test_token_is_required_on_every_api_route(server: Any) -> None:
    port = server.port
    routes = [
        "/api/health",
        "/api/files",
        "/api/presets",
        "/api/file/0/info",
        "/api/file/0/frame/0",
        "/api/file/0/frame/0/raw",
        "/api/file/0/frame/0/thumbnail",
        "/api/file/0/frame/0/overlay",
        "/api/file/0/tags",
        "/api/file/0/tags/select?path=(0008,0060)",
        "/api/file/0/annotations",
        "/api/annotations/export.csv",
        "/api/nope",
        "/api/",
        "/api",
        "/%61pi/health",
        "/api/file/999/info",
    ]
    for route in routes:
        for extra in [
            "",
            "Authorization: Bearer wrong\r\n",
            f"Authorization: Basic {TOKEN}\r\n",
            f"Authorization: {TOKEN}\r\n",
            f"Cookie: token={TOKEN}\r\n",
            f"X-Token: {TOKEN}\r\n",
        ]:
            status, headers, body = get(port, route, extra=extra)
            if route.startswith("/%61pi"):
                assert status in (401, 404), route
                continue
            assert_error((status, headers, body), 401, "unauthorized")
            assert headers["www-authenticate"] == "Bearer"
            assert json.loads(body)["error"] == (
                "missing or invalid access token: send Authorization: Bearer <token>"
            )
    # query strings are never credentials
    assert_error(get(port, f"/api/health?token={TOKEN}", extra=""), 401, "unauthorized")
    assert get(port, "/api/health", extra=f"authorization: bearer {TOKEN}\r\n")[0] == 200


def test_no_token_mode(make_server: Any, study: Any) -> None:
    srv = make_server((str(study),), no_token=True)
    assert httpx.get(f"{srv.base}/api/health").status_code == 200
    assert srv.handle.ready.url == f"{srv.base}/"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:1",
        "127.9.9.9:65000",
        "localhost",
        "LOCALHOST:9000",
        "[::1]:9000",
        "[::1]",
    ],
)
def test_loopback_hosts_on_any_port_are_accepted(server: Any, host: str) -> None:
    assert get(server.port, "/api/health", host=host)[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.com",
        "evil.com:80",
        "127.0.0.1.nip.io",
        "localhost.evil.com",
        "10.1.2.3",
        "[::2]:80",
        "127.0.0.1@evil.com",
        "",
        "a b",
        "127.0.0.1:abc",
    ],
)
def test_foreign_hosts_are_refused(server: Any, host: str) -> None:
    for target in ["/api/health", "/", "/index.html"]:
        assert_error(get(server.port, target, host=host), 403, "forbidden_host")


def test_missing_host_is_refused(server: Any) -> None:
    status, headers, body = raw_request(
        server.port, f"GET /api/health HTTP/1.0\r\n{AUTH}\r\n".encode()
    )
    assert_error((status, headers, body), 403, "forbidden_host")


def test_allow_host_adds_names(make_server: Any, study: Any) -> None:
    srv = make_server((str(study),), allow_hosts=("viewer.example.org",))
    assert get(srv.port, "/api/health", host="viewer.example.org:443")[0] == 200
    assert_error(get(srv.port, "/api/health", host="other.example.org"), 403, "forbidden_host")


def test_cross_origin_writes_are_refused_and_no_cors(server: Any) -> None:
    body = b'{"num_roi": 0, "roi_coords": [], "roi_frames": []}'

    def put(origin: str | None, content_type: str = "application/json") -> Any:
        lines = [
            "PUT /api/file/1/annotations HTTP/1.1",
            "Host: 127.0.0.1:9000",
            f"Authorization: Bearer {TOKEN}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        return raw_request(server.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    for origin in ["http://evil.com", "null", "http://127.0.0.1:9001", "https://localhost:9000"]:
        assert_error(put(origin), 403, "forbidden_origin")
    assert put("http://127.0.0.1:9000")[0] == 200
    assert put(None)[0] == 200
    status, headers, _ = get(server.port, "/api/health", extra=AUTH + "Origin: http://evil.com\r\n")
    assert status == 200
    assert not any(h.startswith("access-control-") for h in headers)
    # a preflight gets no CORS blessing either
    status, headers, _ = raw_request(
        server.port,
        b"OPTIONS /api/file/1/annotations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Origin: http://evil.com\r\nAccess-Control-Request-Method: PUT\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert status in (401, 403, 405)
    assert not any(h.startswith("access-control-") for h in headers)
    assert_error(put(None, "text/plain"), 415, "unsupported_media_type")


def test_put_body_limit(server: Any) -> None:
    big = b'{"roi_coords": [' + b"[1,2,3,4]," * 250_000 + b"[1,2,3,4]]}"
    assert len(big) > 2 * 2**20
    response = server.client.put(
        "/api/file/1/annotations", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.headers["x-content-type-options"] == "nosniff"
    # the earlier ROIs are untouched and the server still answers
    assert server.get("/api/file/1/annotations").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "/../../../../etc/passwd",
        "/assets/../../etc/passwd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/%252e%252e/index.html",
        "/assets/..%2findex.html",
        "/assets/..\\..\\etc\\passwd",
        "/assets\\..\\index.html",
        "//etc/passwd",
        "/etc/passwd",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/README.md",
        "/static/index.html",
        "/pyproject.toml",
        "/assets/",
        "/%00",
        "/assets/x%00.js",
    ],
)
def test_static_paths_never_escape_the_bundle(server: Any, target: str) -> None:
    status, headers, body = get(server.port, target, extra="")
    assert status in (400, 404), (target, status)
    assert b"root:" not in body
    assert headers["x-content-type-options"] == "nosniff"
    assert "x-server-instance" in headers
    doc = json.loads(body)
    assert set(doc) == {"code", "error"}


def test_index_is_public_and_not_cached(server: Any) -> None:
    for target in ["/", "/index.html"]:
        status, headers, _ = get(server.port, target, extra="")
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH", "TRACE", "FOO"])
def test_unknown_methods_get_405_without_echo(server: Any, method: str) -> None:
    request = (
        f"{method} /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}"
        "X-Secret-Probe: reflected-value\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    status, headers, body = raw_request(server.port, request.encode())
    assert status in (405, 400), (method, status)
    assert b"reflected-value" not in body
    assert not any("reflected-value" in v for v in headers.values())
    assert headers["x-content-type-options"] == "nosniff"
    if status == 405:
        assert json.loads(body)["code"] == "method_not_allowed"


def test_malformed_requests_get_the_json_envelope(server: Any) -> None:
    for request in [b"GARBAGE\r\n\r\n", b"GET /api/health HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"]:
        status, headers, body = raw_request(server.port, request)
        assert (status, json.loads(body)["code"]) == (400, "bad_request")
        assert headers["x-content-type-options"] == "nosniff"
        assert "x-server-instance" in headers


def test_absolute_form_targets_and_duplicate_hosts(server: Any) -> None:
    def send(request: str) -> tuple[int, dict[str, str], bytes]:
        return raw_request(server.port, request.encode())

    tail = f"{AUTH}Connection: close\r\n\r\n"
    assert_error(
        send(f"GET http://evil.com/api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n{tail}"),
        403,
        "forbidden_host",
    )
    assert (
        send(f"GET http://127.0.0.1:9/api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n{tail}")[0] == 200
    )
    for hosts in (("127.0.0.1", "evil.com"), ("evil.com", "127.0.0.1"), ("127.0.0.1", "127.0.0.1")):
        request = f"GET /api/health HTTP/1.1\r\nHost: {hosts[0]}\r\nHost: {hosts[1]}\r\n{tail}"
        assert_error(send(request), 400, "bad_request")


def test_every_response_loses_cors_headers_whatever_their_case(study: Any) -> None:
    """The response decorator strips any ``Access-Control-*`` header, in any spelling."""
    from sanic.response import raw

    from dcmview_server import ServerConfig
    from dcmview_server.app import create_app

    app = create_app(ServerConfig(paths=(str(study),), token="t"))
    response = raw(
        b"",
        headers={
            "Access-Control-Allow-Origin": "*",
            "access-control-max-age": "5",
            "ACCESS-CONTROL-ALLOW-METHODS": "PUT",
            "X-Frame-Rows": "2",
            "Accept-Ranges": "none",
        },
    )
    app.ctx.decorate_response(response)
    names = {h.lower() for h in response.headers}
    assert not any(h.startswith("access-control-") for h in names)
    assert {"x-frame-rows", "accept-ranges", "x-content-type-options"} <= names
    assert response.headers["X-Server-Instance"] == str(app.ctx.state.server_start_ms)
