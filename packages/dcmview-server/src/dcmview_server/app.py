"""`create_app(config)`: the Sanic application of ``docs/api.md`` (no global app).

The routes live in `dcmview_server.routes` (one module per resource); the request gate and the
response stamp in `dcmview_server.middleware`; every error becomes ``{"code", "error"}`` in
`dcmview_server.errors`. This module only wires them to one Sanic instance.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import hashlib
import inspect
import itertools
import marshal
import os
import sys
import tempfile
import textwrap
import threading
import types
from pathlib import Path
from typing import Any

import sanic
import sanic_routing.router
from sanic import Request, Sanic
from sanic.config import Config
from sanic.http import Http
from sanic.response import HTTPResponse
from sanic.router import Router
from sanic.signals import SignalRouter
from sanic.touchup import TouchUp
from sanic.touchup.schemes import BaseScheme

from dcmview_server import routes
from dcmview_server.config import ServerConfig
from dcmview_server.errors import DcmviewErrorHandler
from dcmview_server.middleware import guard, stamper
from dcmview_server.responses import stamp_timing
from dcmview_server.state import AppState

MAX_BODY = 2 * 2**20
REQUEST_TIMEOUT = 30.0
"""Seconds a client may take to send its request (headers and body)."""
RESPONSE_TIMEOUT = 120.0
KEEP_ALIVE_TIMEOUT = 5.0
GRACEFUL_SHUTDOWN_TIMEOUT = 1.5
_app_ids = itertools.count()
_touchup_lock = threading.Lock()
_TOUCHUP_CACHE_FORMAT = 2
_touchup_dir = Path(__file__).parent / "__pycache__"
"""Where `_touch_up` keeps its compiled rewrite (tests point it elsewhere)."""


class _App(Sanic[Any, Any]):
    """Sanic with its TouchUp applied once per process.

    TouchUp rewrites Sanic's request-path classes (process-wide) to drop the dispatch of every
    signal no handler listens to: a quarter of the CPU of a cached-frame request. Every app of
    ours listens to the same signals, so the first server's rewrite serves all later ones; a
    second rewrite of already rewritten code fails, hence once per process.
    """

    async def _startup(self) -> None:
        with _touchup_lock:  # Sanic's _startup never suspends: the lock spans no real await
            touch = not getattr(Http, "__touched__", False)
            self.config.TOUCHUP = False  # Sanic's own run recompiles from source every start
            await super()._startup()  # type: ignore[no-untyped-call]
            self.config.TOUCHUP = touch  # what `amend` re-signalizes with
            if touch:
                self.signal_router.allow_fail_builtin = True  # as `signalize(True)` sets it
                if self.state.primary:
                    _touch_up(self)

    def _determine_error_format(self, handler: Any) -> str:
        """Every route's errors are JSON (`DcmviewErrorHandler` renders them all).

        Sanic guesses a route's error format by reading and parsing its handler's source
        (``inspect.getsource`` + ``ast.parse`` per route): a tenth of the start-up CPU.
        """
        return "json"


class _NoAltSvc(BaseScheme):  # type: ignore[no-untyped-call]  # (Sanic registers it)
    """Drop the empty ``alt-svc`` header Sanic's HTTP/1 writer adds to every response.

    Sanic removes it only when its own TouchUp finds exactly one server at start; ours are made
    with ``create_server``, so it finds none and the header stayed. This scheme (registered
    with Sanic's TouchUp on import) removes the assignment when the request path is rewritten.
    """

    ident = "DCMVIEW_NO_ALTSVC"

    def visitors(self) -> list[ast.NodeTransformer]:
        """The one rewrite: delete ``headers["alt-svc"] = …``."""
        return [_DropAltSvc()]


class _DropAltSvc(ast.NodeTransformer):
    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value == "alt-svc"
            ):
                return None
        return node


def _touch_up(app: Sanic[Any, Any]) -> None:
    """Sanic's ``TouchUp.run``, its compiled rewrite cached beside this module like a ``.pyc``.

    Sanic reads, parses, rewrites and compiles nine request-path methods at every start
    (30–50 ms, a tenth of the start-up). The result depends only on their source files, the
    rewriting schemes and the signals the app listens to, so the compiled code is kept under
    that key in this package's ``__pycache__`` — written only where Python would write a
    ``.pyc`` (not with ``PYTHONDONTWRITEBYTECODE``, skipped silently when not writable), never
    in the user's directories. Any trouble with it falls back to the rewrite; test mode
    (sanic-testing) runs Sanic's own.
    """
    if app.test_mode:
        TouchUp.run(app)  # type: ignore[no-untyped-call]
        return
    schemes = [scheme(app) for scheme in BaseScheme._registry]  # ODE syncs the apps' signals
    targets = sorted(TouchUp._registry, key=lambda t: (t[0].__module__, t[0].__qualname__, t[1]))
    files = sorted(
        {inspect.getfile(type(scheme)) for scheme in schemes}
        | {inspect.getfile(target) for target, _ in targets}
    )
    key = _touchup_key(app, schemes, targets, files)
    path = _touchup_dir / f"sanic-touchup.{sys.implementation.cache_tag}.marshal"
    codes = _load_codes(path, key, len(targets)) if key else None
    if codes is None:
        codes = [_rewrite(getattr(target, name), schemes) for target, name in targets]
        if key and not sys.dont_write_bytecode:
            _store_codes(path, key, codes)
    for (target, name), code in zip(targets, codes, strict=True):
        module_globals = dict(vars(sys.modules[target.__module__]))
        exec_locals: dict[str, Any] = {}
        exec(code, module_globals, exec_locals)  # as Sanic's BaseScheme.build
        setattr(target, name, exec_locals[name])
        setattr(target, "__touched__", True)  # noqa: B010


def _rewrite(method: Any, schemes: list[Any]) -> types.CodeType:
    """The module code Sanic's ``BaseScheme.build`` compiles for ``method``."""
    node: Any = ast.parse(textwrap.dedent(inspect.getsource(method)))
    for scheme in schemes:
        for visitor in scheme():
            node = visitor.visit(node)
    # dont_inherit: not this module's ``from __future__ import annotations``
    code: types.CodeType = compile(node, str(method.__name__), "exec", dont_inherit=True)
    return code


def _digest(parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _touchup_key(
    app: Sanic[Any, Any], schemes: list[Any], targets: list[Any], files: list[str]
) -> str:
    """A digest of everything the rewrite depends on; "" when a source file is missing."""
    parts: list[object] = [
        _TOUCHUP_CACHE_FORMAT,
        sys.version,
        sanic.__version__,
        sorted(type(scheme).__qualname__ for scheme in schemes),
        sorted(signal.name for signal in app.signal_router.routes),
        sorted(
            str((i.settings.get("version"), i.settings.get("port"))) for i in app.state.server_info
        ),
        [(t.__module__, t.__qualname__, name) for t, name in targets],
    ]
    try:
        for file in files:
            st = os.stat(file)
            parts.append((file, st.st_mtime_ns, st.st_size))
    except OSError:
        return ""
    return _digest(parts)


def _load_codes(path: Path, key: str, count: int) -> list[types.CodeType] | None:
    """The cached code objects for ``key``, or None (missing, stale, corrupt).

    It lies in the installed package, as trusted as the ``.pyc`` files beside it.
    """
    try:
        with open(path, "rb") as file:
            stored = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key):
        return None
    codes = stored[1]
    if not isinstance(codes, list) or len(codes) != count:
        return None
    if not all(isinstance(code, types.CodeType) for code in codes):
        return None
    return codes


def _store_codes(path: Path, key: str, codes: list[types.CodeType]) -> None:
    """Write the cache atomically; a cache that cannot be written is only slower."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sanic-touchup-")
        try:
            with os.fdopen(fd, "wb") as file:
                marshal.dump((key, codes), file)
            os.chmod(tmp, os.stat(__file__).st_mode & 0o666)  # as py_compile: the source's mode
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, ValueError):
        pass


def _render_routes(router: Any, base_render: Any, do_compile: bool, do_optimize: bool) -> None:
    """sanic_routing's ``BaseRouter._render`` without its detour through Python's ``ast``.

    sanic_routing writes the router's ``find_route`` as source, then parses it to an AST,
    unparses that back to text (kept only for debugging) and compiles the AST: 10–40 ms of the
    start for our two routers. Compiling the source directly makes the same code; any
    trouble (a syntax error, an optimising request) takes sanic_routing's own path.
    """
    if not do_compile or do_optimize:
        base_render(do_compile, do_optimize)
        return
    base_render(False, False)  # only writes router.find_route_src
    try:
        code = compile(router.find_route_src, "", "exec", dont_inherit=True)
    except SyntaxError:
        base_render(True, False)  # raises sanic_routing's FinalizationError
        return
    ctx: dict[str, Any] = {}
    exec(code, vars(sanic_routing.router), ctx)  # the globals sanic_routing's exec uses
    router._find_route = ctx["find_route"]
    router._matchers = ctx.get("matchers")


class _Router(Router):
    def _render(self, do_compile: bool = True, do_optimize: bool = False) -> None:
        _render_routes(self, super()._render, do_compile, do_optimize)


class _SignalRouter(SignalRouter):
    def _render(self, do_compile: bool = True, do_optimize: bool = False) -> None:
        _render_routes(self, super()._render, do_compile, do_optimize)


def _sanic_config() -> Config:
    config = Config()
    config.REQUEST_MAX_SIZE = MAX_BODY
    config.update(
        {
            "REQUEST_TIMEOUT": REQUEST_TIMEOUT,
            "RESPONSE_TIMEOUT": RESPONSE_TIMEOUT,
            "KEEP_ALIVE_TIMEOUT": KEEP_ALIVE_TIMEOUT,
        }
    )
    config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_TIMEOUT
    config.NOISY_EXCEPTIONS = False
    config.ACCESS_LOG = False
    config.AUTO_EXTEND = False
    config.AUTO_RELOAD = False
    config.MOTD = False
    config.TOUCHUP = False  # decided per process at server start: see `_App._startup`
    config.FALLBACK_ERROR_FORMAT = "json"
    config.REAL_IP_HEADER = None
    return config


def create_app(config: ServerConfig, state: AppState | None = None) -> Sanic[Any, Any]:
    """Build the app for ``config`` (or for an already validated ``state``).

    The background scan starts when the server starts (``before_server_start``). Raises
    `ConfigError` for a bad filter or a structurally bad annotations CSV.
    """
    if state is None:
        state = AppState.build(config)
    app: Sanic[Any, Any] = _App(
        f"dcmview-{os.getpid()}-{next(_app_ids)}",
        config=_sanic_config(),
        router=_Router(),
        signal_router=_SignalRouter(),
        error_handler=DcmviewErrorHandler(),
        strict_slashes=True,
        configure_logging=False,
    )
    app.ctx.state = state
    decorate = stamper(str(state.server_start_ms))
    app.ctx.decorate_response = decorate  # also used by `routes.base.stream` and the errors

    @app.on_request
    async def _guard(request: Request) -> None:
        guard(state, request)

    @app.signal("http.lifecycle.response")
    async def _stamp(request: Request, response: HTTPResponse) -> None:
        if getattr(request.ctx, "streamed", False):
            return  # `routes.base.stream` stamped it before sending its headers
        decorate(response)
        stamp_timing(request, response)

    @app.before_server_start
    async def _start(app: Sanic[Any, Any]) -> None:
        state.start(asyncio.get_running_loop())

    @app.after_server_start
    async def _services(app: Sanic[Any, Any]) -> None:
        # Overlay metadata (SEG/RTSTRUCT headers) is read as the scan finds the files, not at
        # the viewer's first request; imported here so start-up does not pay for it earlier.
        from dcmview_server.overlays import overlay_service

        overlay_service(state)

    @app.after_server_stop
    async def _stop(app: Sanic[Any, Any]) -> None:
        state.close()

    routes.register(app)
    return app
