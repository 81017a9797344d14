"""`serve(config)`: bind the socket ourselves, run the app in one process, stop cleanly.

The socket is bound before anything is announced (TCP port 0 is read back from it; a Unix
socket is created 0600), so `Ready` always carries the real address. The server runs on an
event loop owned by this function (any thread); SIGINT/SIGTERM are handled when it runs in the
main thread. ``on_ready`` is called once the socket accepts requests AND the first file is
registered (or the scan ended with files), so nothing announces a server that is about to
exit: when the scan finds no loadable file, only ``on_scan_complete`` is called and `serve`
returns 1. It stops on a signal, on ``stop_event``, after ``config.timeout`` idle seconds, or
for lack of files. In-flight requests get ``GRACEFUL_SHUTDOWN_TIMEOUT`` (1.5 s) to finish, then
their connections are cut; unsaved ROI edits then go to a recovery CSV (``on_recovered``).

A non-loopback ``host`` prints one ``dcmview: warning: …`` line on stderr naming what is exposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import ipaddress
import logging
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable
from typing import Any

from sanic import Sanic

from dcmview_server.app import create_app
from dcmview_server.config import ConfigError, Ready, ScanSummary, ServerConfig
from dcmview_server.state import AppState

log = logging.getLogger("dcmview_server")
POLL_SECONDS = 0.1


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_tcp(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: the OS picks); `ConfigError` on failure."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ConfigError(f"cannot resolve --host {host!r}: {error.strerror}") from error
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(512)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} is already in use on {host}") from error
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.setblocking(False)
    return sock


def bind_unix(path: str) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600; a stale socket file is replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise ConfigError(f"unix socket path exists and is not a socket: {path}")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: nobody listens on it
        else:
            raise ConfigError(f"unix socket is already in use: {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot create unix socket {path}: {error.strerror}") from error
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _ready(config: ServerConfig, sock: socket.socket, token: str | None) -> Ready:
    if config.unix_socket is not None:
        return Ready("", "", config.host, None, config.unix_socket, token)
    port = int(sock.getsockname()[1])
    host = config.host.strip("[]")
    if host in {"0.0.0.0", "", "::"}:
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    url = f"{base}/#token={token}" if token else f"{base}/"
    return Ready(url, base, config.host, port, None, token)


def _warn_exposure(config: ServerConfig) -> None:
    if config.unix_socket is None and not _is_loopback(config.host):
        auth = (
            "WITHOUT an access token (--no-token)"
            if config.no_token
            else "protected only by the access token"
        )
        sys.stderr.write(
            f"dcmview: warning: --host {config.host} exposes the DICOM files, their tags and "
            f"annotations to every machine that can reach this address, {auth}\n"
        )
        sys.stderr.flush()


class _Stopper:
    """Collects stop requests from signals, threads and timers into one asyncio event."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self.exit_code = 0

    def request(self, exit_code: int = 0) -> None:
        def _set() -> None:
            if not self.event.is_set():
                self.exit_code = exit_code
                self.event.set()

        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_set)


async def _run(
    app: Sanic[Any, Any],
    state: AppState,
    sock: socket.socket,
    ready: Ready,
    on_ready: Callable[[Ready], None] | None,
    on_scan_complete: Callable[[ScanSummary], None] | None,
    stop_event: threading.Event | None,
    freeze_heap: bool = False,
) -> int:
    loop = asyncio.get_running_loop()
    stopper = _Stopper(loop)
    server: Any = await app.create_server(
        sock=sock,
        return_asyncio_server=True,
        access_log=False,
        asyncio_server_kwargs={"start_serving": False},
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    announced = threading.Event()

    def _announce() -> None:  # on the loop, in order with _finish
        if on_ready is not None:
            on_ready(ready)

    def _first_file(_entry: object = None) -> None:  # the scan thread, per file: cheap
        if not announced.is_set():
            announced.set()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_announce)

    def _finish(summary: ScanSummary) -> None:
        if freeze_heap:
            gc.freeze()  # the registry and the stacks: long-lived, never garbage
        if summary.loaded and not announced.is_set():
            announced.set()
            _announce()
        if on_scan_complete is not None:
            on_scan_complete(summary)
        if summary.loaded == 0:
            stopper.request(1)

    def _scan_done(summary: ScanSummary) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_finish, summary)

    signals_installed = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stopper.request, 0)
                signals_installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    try:
        await server.start_serving()
        await server.after_start()
        if freeze_heap:
            gc.freeze()  # see `serve`
        state.registry.add_listener(_first_file)
        if len(state.registry):
            _first_file()
        state.touch()
        state.on_scan_complete(_scan_done)
        timeout = state.config.timeout
        while not stopper.event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopper.event.wait(), POLL_SECONDS)
            if stop_event is not None and stop_event.is_set():
                stopper.request(0)
            if timeout is not None and state.idle_seconds() >= timeout:
                stopper.request(0)
    finally:
        for sig in signals_installed:
            loop.remove_signal_handler(sig)
        await _shutdown(app, server, state)
    return stopper.exit_code


async def _shutdown(app: Sanic[Any, Any], server: Any, state: AppState) -> None:
    """Stop accepting, let in-flight requests finish (≤ GRACEFUL_SHUTDOWN_TIMEOUT), cut the rest."""
    with contextlib.suppress(Exception):
        await server.before_stop()
    if server.server is not None:
        server.server.close()
    # Sanic logs a spurious traceback for connections cut while a request is half received.
    logging.getLogger("sanic.error").setLevel(logging.CRITICAL)
    connections = server.connections
    for conn in list(connections):
        http = getattr(conn, "_http", None)
        if http is not None and getattr(http, "request", None) is None:
            conn.abort()  # headers not complete yet: nothing in flight to wait for
        else:
            conn.close_if_idle()
    graceful = float(app.config.GRACEFUL_SHUTDOWN_TIMEOUT)
    waited = 0.0
    while connections and waited < graceful:
        await asyncio.sleep(0.05)
        waited += 0.05
    for conn in list(connections):
        conn.abort()
    with contextlib.suppress(Exception):
        await server.after_stop()
    state.close()
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=0.5)


def serve(
    config: ServerConfig,
    *,
    on_ready: Callable[[Ready], None] | None = None,
    on_scan_complete: Callable[[ScanSummary], None] | None = None,
    stop_event: threading.Event | None = None,
    on_recovered: Callable[[str], None] | None = None,
    freeze_heap: bool = False,
) -> int:
    """Serve ``config`` until stopped; returns 0, or 1 when no loadable file was found.

    Raises `ConfigError` (before binding when possible) for usage-class failures. Once
    stopped, and only when ``on_recovered`` is given (someone will tell the user where it is),
    unsaved ROI edits are written to a recovery CSV whose path goes to ``on_recovered`` (a
    warning on stderr when it cannot be written).

    ``freeze_heap`` (for a process that is only this server, like the CLI): once serving and
    again when the scan completes, `gc.freeze` moves the start-up heap (Sanic, numpy, the
    registry) out of later collections, which otherwise walk it again and again while first
    frames allocate (server CPU per first frame of a small file −27 %). Never in a notebook:
    it would keep the user's unreachable cycles of that moment alive.
    """
    state = AppState.build(config)
    _fix_malloc_threshold()
    try:
        if config.unix_socket:
            sock = bind_unix(config.unix_socket)
        else:
            sock = bind_tcp(config.host, config.port)
    except BaseException:
        state.close()
        raise
    loop = _new_loop()
    app: Sanic[Any, Any] | None = None
    try:
        state.start(loop)  # the scan runs while Sanic sets up (its hook finds it started)
        app = create_app(config, state)
        _warn_exposure(config)
        ready = _ready(config, sock, state.token)
        status = loop.run_until_complete(
            _run(app, state, sock, ready, on_ready, on_scan_complete, stop_event, freeze_heap)
        )
        if on_recovered is not None:
            _recover(state, on_recovered)
        return status
    finally:
        state.close()
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        sock.close()
        if config.unix_socket:
            with contextlib.suppress(OSError):
                os.unlink(config.unix_socket)
        if app is not None:
            Sanic.unregister_app(app)


def _recover(state: AppState, on_recovered: Callable[[str], None]) -> None:
    try:
        path = state.recover_unsaved()
    except OSError as error:
        sys.stderr.write(
            f"dcmview: warning: {state.unsaved_edits()} unsaved ROI edit(s) could not be "
            f"written to a recovery CSV: {error}\n"
        )
        return
    if path is not None:
        on_recovered(path)


M_MMAP_THRESHOLD = -3


def _fix_malloc_threshold() -> None:
    """Keep frame-sized buffers in mmap so freed frames go back to the OS (glibc only).

    glibc raises its mmap threshold after the first large free, after which 7 MB frame buffers
    come from per-thread heaps that keep freed memory: RSS then grows well past the cache
    budget under concurrent load. A fixed 1 MiB threshold turns that adjustment off.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        pass


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (Sanic's dependency on Linux: faster large writes), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class ServerHandle:
    """A server running `serve` in a background thread (tests, benchmarks, notebooks).

    ``ServerHandle.start(config)`` returns once the socket accepts requests; ``stop()`` is
    idempotent and joins the thread; also a context manager.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._scan_done = threading.Event()
        self.ready: Ready | None = None
        self.summary: ScanSummary | None = None
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="dcmview-server", daemon=True)

    @classmethod
    def start(cls, config: ServerConfig, timeout: float = 10.0) -> ServerHandle:
        """Start serving ``config`` in a thread; raise what `serve` raised if it failed."""
        handle = cls(config)
        handle._thread.start()
        handle._ready.wait(timeout)
        if handle.error is not None:
            raise handle.error
        if handle.ready is None:
            handle.stop()
            if handle.exit_code is not None:
                raise RuntimeError(
                    f"the server stopped before it was ready (status {handle.exit_code}): "
                    "no loadable file"
                )
            raise TimeoutError("the server did not become ready in time")
        return handle

    def _on_ready(self, ready: Ready) -> None:
        self.ready = ready
        self._ready.set()

    def _on_scan(self, summary: ScanSummary) -> None:
        self.summary = summary
        self._scan_done.set()

    def _main(self) -> None:
        try:
            self.exit_code = serve(
                self.config,
                on_ready=self._on_ready,
                on_scan_complete=self._on_scan,
                stop_event=self._stop,
            )
        except BaseException as error:
            self.error = error
        finally:
            self._ready.set()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self.ready is not None
        return self.ready.base_url

    @property
    def token(self) -> str | None:
        """The access token (None with ``no_token``)."""
        assert self.ready is not None
        return self.ready.token

    def wait_scan(self, timeout: float = 30.0) -> ScanSummary:
        """Block until the scan has completed; returns its summary."""
        if not self._scan_done.wait(timeout) or self.summary is None:
            raise TimeoutError("the scan did not complete in time")
        return self.summary

    @property
    def running(self) -> bool:
        """True while the server thread is alive."""
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the server to stop by itself; its exit code (None if still running)."""
        self._thread.join(timeout)
        return None if self._thread.is_alive() else self.exit_code

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for its thread (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
