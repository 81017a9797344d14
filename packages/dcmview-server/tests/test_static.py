"""The static viewer bundle, unit-level through Sanic's ASGI test client (one app per test)."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

from dcmview_server import ServerConfig, create_app
from dcmview_server.state import STATIC_DIR, AppState

with warnings.catch_warnings():
    # sanic-testing imports websockets.legacy at import time (deprecated upstream, unused here)
    warnings.simplefilter("ignore", DeprecationWarning)
    from sanic_testing.testing import SanicASGITestClient

TOKEN = "unit-token"


def client_for(tmp_path: Path, static_dir: Path) -> SanicASGITestClient:
    config = ServerConfig(paths=(str(tmp_path),), token=TOKEN, allow_hosts=("mockserver",))
    app = create_app(config, AppState.build(config, static_dir=static_dir))
    return SanicASGITestClient(app)


def fetch(client: SanicASGITestClient, path: str, **kwargs: Any) -> Any:
    _, response = asyncio.run(client.get(path, **kwargs))
    return response


def test_missing_build_serves_a_page_not_a_500(tmp_path: Path) -> None:
    client = client_for(tmp_path, tmp_path / "no-build")
    for path in ["/", "/index.html"]:
        response = fetch(client, path)
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "viewer build is missing" in response.text
    response = fetch(client, "/assets/app.js")
    assert response.status == 404
    assert response.json["code"] == "not_found"


def test_bundle_files_with_cache_headers(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "assets").mkdir(parents=True)
    (bundle / "index.html").write_text("<!doctype html><title>viewer</title>")
    (bundle / "assets" / "index-abc123.js").write_text("console.log(1)")
    (bundle / "assets" / "index-abc123.css").write_text("body{}")
    (bundle / "favicon.svg").write_text("<svg/>")
    client = client_for(tmp_path, bundle)
    index = fetch(client, "/")
    assert index.status == 200
    assert index.text == "<!doctype html><title>viewer</title>"
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    js = fetch(client, "/assets/index-abc123.js")
    assert js.status == 200
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in js.headers["content-type"]
    assert js.headers["x-content-type-options"] == "nosniff"
    assert "x-server-instance" in js.headers
    css = fetch(client, "/assets/index-abc123.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert fetch(client, "/favicon.svg").status == 200
    # created after start: not in the table, so not served
    (bundle / "assets" / "late.js").write_text("x")
    assert fetch(client, "/assets/late.js").status == 404


def test_package_bundle_is_served_when_built(tmp_path: Path) -> None:
    client = client_for(tmp_path, STATIC_DIR)
    response = fetch(client, "/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = (
        sorted(p for p in (STATIC_DIR / "assets").glob("*") if p.is_file())
        if (STATIC_DIR / "assets").is_dir()
        else []
    )
    for asset in assets[:3]:
        got = fetch(client, f"/assets/{asset.name}")
        assert got.status == 200
        assert got.body == asset.read_bytes()
