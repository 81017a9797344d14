"""dcmview-server: the dcmview HTTP API (``docs/api.md``) as a single-process Sanic app.

Public API: `ServerConfig`, `parse_size`, `ConfigError`, `Ready`, `ScanSummary`, `serve`,
`ServerHandle` (serve in a background thread) and `create_app` (one app per call, for tests).
The config names import in milliseconds; Sanic and the DICOM stack load on first use of
`serve`, `ServerHandle` or `create_app` (keeps ``dcmview --help`` fast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dcmview_server._version import __version__
from dcmview_server.config import ConfigError, Ready, ScanSummary, ServerConfig, parse_size

if TYPE_CHECKING:
    from dcmview_server.app import create_app
    from dcmview_server.runner import ServerHandle, serve

__all__ = [
    "ConfigError",
    "Ready",
    "ScanSummary",
    "ServerConfig",
    "ServerHandle",
    "__version__",
    "create_app",
    "parse_size",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from dcmview_server.app import create_app

        return create_app
    if name in {"serve", "ServerHandle"}:
        import importlib

        return getattr(importlib.import_module("dcmview_server.runner"), name)
    raise AttributeError(f"module 'dcmview_server' has no attribute {name!r}")
