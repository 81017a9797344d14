"""Start-up (issue 17): what the server imports before its ready line, and the TouchUp cache.

Each check runs in a fresh interpreter: the test process has long imported everything, and
Sanic's TouchUp rewrites classes process-wide once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_HEAVY = ("pydicom", "PIL", "pandas", "gdcm", "requests", "matplotlib", "paramiko")

_READY_MODULES = """
import json, sys, threading
from dcmview_server import ServerConfig, serve
stop = threading.Event()
seen = []
def on_ready(ready):
    seen.extend(sorted(sys.modules))
    stop.set()
status = serve(ServerConfig(paths=(sys.argv[1],)), on_ready=on_ready, stop_event=stop)
print(json.dumps({"status": status, "modules": seen}))
"""

# Starts one app, then compares every method TouchUp replaced with what Sanic's own
# `BaseScheme.build` makes of the original: the cached code must be the same code.
_TOUCHED = """
import asyncio, inspect, json, sys
from sanic.touchup.schemes.base import BaseScheme
from sanic.touchup.service import TouchUp
from dcmview_server import ServerConfig
import dcmview_server.app
from dcmview_server.app import create_app
from pathlib import Path
dcmview_server.app._touchup_dir = Path(sys.argv[2])
originals = {(t, n): getattr(t, n) for t, n in TouchUp._registry}
app = create_app(ServerConfig(paths=(sys.argv[1],)))
asyncio.run(app._startup())
same = []
for (target, name), method in originals.items():
    module_globals = dict(inspect.getmembers(sys.modules[target.__module__]))
    expected = BaseScheme.build(method, module_globals, app).__code__
    same.append(getattr(target, name).__code__ == expected)
print(json.dumps({"targets": len(originals), "same": all(same)}))
"""

# The routers' find_route compiled straight from sanic_routing's source must be the code its
# own parse-and-compile makes, and route the same.
_ROUTERS = """
import ast, asyncio, json, sys
import sanic_routing.router
from dcmview_server import ServerConfig
from dcmview_server.app import create_app
app = create_app(ServerConfig(paths=(sys.argv[1],)))
asyncio.run(app._startup())
same = []
for router in (app.router, app.signal_router):
    tree = ast.parse(router.find_route_src)
    ast.fix_missing_locations(tree)
    ctx = {}
    exec(compile(tree, "", "exec", dont_inherit=True), vars(sanic_routing.router), ctx)
    same.append(ctx["find_route"].__code__ == router.find_route.__code__)
route, handler, params = app.router.get("/api/file/7/frame/2/raw", "GET", None)
print(json.dumps({"same": same, "params": params, "name": route.name}))
"""


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_serving_to_the_ready_line_imports_no_pydicom_pillow_nor_pandas(study: Path) -> None:
    result = _run(_READY_MODULES, str(study))
    assert result["status"] == 0
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "dcmview_server.app" in modules
    assert [m for m in modules if m.split(".")[0] in _HEAVY] == []


def test_touchup_cache_gives_sanics_own_rewrite_cold_warm_and_corrupt(
    study: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "pycache"
    args = (str(study), str(cache))
    skip = {"PYTHONDONTWRITEBYTECODE": "1"}
    write = {"PYTHONDONTWRITEBYTECODE": ""}  # empty: Python writes bytecode
    cold = _run(_TOUCHED, *args, env=skip)
    assert cold == {"targets": cold["targets"], "same": True}
    assert isinstance(cold["targets"], int)
    assert cold["targets"] > 0
    assert not cache.exists()  # like a .pyc: not written under PYTHONDONTWRITEBYTECODE
    assert _run(_TOUCHED, *args, env=write) == cold
    (stored,) = cache.glob("sanic-touchup.*.marshal")
    written = stored.stat().st_mtime_ns
    assert _run(_TOUCHED, *args, env=write) == cold  # from the cache
    assert stored.stat().st_mtime_ns == written  # read, not rewritten
    stored.write_bytes(b"not marshal data")
    assert _run(_TOUCHED, *args, env=write) == cold  # corrupt: rebuilt
    assert stored.read_bytes() != b"not marshal data"


def test_routers_compiled_from_source_match_sanic_routing(study: Path) -> None:
    result = _run(_ROUTERS, str(study))
    assert result["same"] == [True, True]
    assert result["params"] == {"i": "7", "f": "2"}
    assert str(result["name"]).endswith("frame_raw")
