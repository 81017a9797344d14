"""``dcmview --tunnel``: run dcmview on an SSH host and view it through a local forward."""

from __future__ import annotations

import _thread
import contextlib
import errno
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from dcmview_server.config import ConfigError

from dcmview_py.browser import BrowserOpener
from dcmview_py.options import Invocation, to_argv
from dcmview_py.output import PROG, error, on_stdin_eof, say
from dcmview_py.readyline import ReadyLine, parse_ready_line, ready_line

if TYPE_CHECKING:
    from dcmview_tunnel import Forward, RemoteCommandError, RemoteProcess, Tunnel

READY_TIMEOUT = 120.0
# remote lines not worth repeating locally (the local side prints its own)
_QUIET_PREFIXES = (f"{PROG}: to view from another machine:", f"{PROG}: stopped")


def remote_command_line(inv: Invocation, host_label: str) -> str:
    """The remote shell command: ``--remote-command`` as the user wrote it (so ``~``, ``$VAR``
    and ``conda run …`` work in their remote shell), then our arguments, each one quoted."""
    return f"{inv.cli.remote_command.strip()} {shlex.join(remote_argv(inv, host_label))}"


def remote_argv(inv: Invocation, host_label: str) -> list[str]:
    """The arguments given to the remote ``dcmview``: every server option the user set (from
    the declarations), then the paths."""
    server, cli = inv.server, inv.cli
    argv = ["--no-browser", f"--port={server.port}", f"--tunnelled-from={host_label}"]
    argv += to_argv(server, skip=("port", "tunnel_host"))
    if cli.verbose:
        argv.append("--verbose")
    if cli.demo:
        argv.append("--demo")
    else:
        argv += ["--", *server.paths]
    return argv


def recipe_lines(destination: str) -> list[str]:
    """How to do by hand what ``--tunnel`` does."""
    return [
        f"{PROG}: to do it by hand, run on the remote host:",
        f"    ssh {destination} dcmview --no-browser PATHS      (note PORT and TOKEN it prints)",
        f"{PROG}: then, in another terminal here:",
        f"    ssh -N -L PORT:127.0.0.1:PORT {destination}",
        f"{PROG}: and open http://127.0.0.1:PORT/#token=TOKEN",
    ]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl+C so the remote server and ssh helpers are stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_tunnel(inv: Invocation) -> int:
    """Connect, start the remote server, forward its port, print the local URL, wait."""
    from dcmview_tunnel import RemoteCommandError, TunnelError, connect, parse_target

    cli = inv.cli
    assert cli.tunnel_target is not None
    destination = cli.tunnel_target
    target = parse_target(destination)
    command_line = remote_command_line(inv, target.host)
    backend = os.environ.get("DCMVIEW_SSH_BACKEND", "auto") or "auto"
    if backend not in ("auto", "paramiko", "ssh"):
        raise ConfigError(f"DCMVIEW_SSH_BACKEND must be auto, paramiko or ssh, not {backend!r}")
    with _sigterm_as_interrupt():
        try:
            tunnel = connect(
                destination,
                ssh_config=cli.ssh_config,
                backend=backend,  # type: ignore[arg-type]
                batch_mode=not (sys.stdin is not None and sys.stdin.isatty()),
            )
        except (TunnelError, ValueError) as exc:
            error(f"cannot reach {destination} over SSH: {exc}")
            for line in recipe_lines(destination):
                say(line, sys.stderr)
            return 2
        opener = BrowserOpener()
        proc = None
        if cli.exit_on_eof:  # unwind like Ctrl+C when view()'s parent has gone
            on_stdin_eof(_thread.interrupt_main)
        try:
            say(
                f"{PROG}: connected to {destination} ({tunnel.backend}); starting "
                f"{cli.remote_command.strip()} there"
            )
            proc = tunnel.run_shell(command_line)
            proc.relay_stderr(_relay_remote_stderr)
            try:
                line = proc.expect(
                    lambda s: parse_ready_line(s) is not None, READY_TIMEOUT, on_line=say
                )
            except RemoteCommandError as exc:
                return _remote_failed(exc, inv)
            ready = parse_ready_line(line)
            assert ready is not None
            fwd = _forward(tunnel, ready, cli.tunnel_port)
            local_url = f"http://127.0.0.1:{fwd.local_port}" + ready.url[len(ready.base_url) :]
            say(ready_line(local_url))
            say(
                f"{PROG}: tunnelled to {destination} over SSH ({tunnel.backend}); the "
                f"remote server listens on its 127.0.0.1:{ready.port}"
            )
            if cli.browser:
                opener.open(local_url)
            return _relay_until_end(proc, tunnel)
        except KeyboardInterrupt:
            say(f"{PROG}: interrupted, stopping the remote server")
            return 0
        finally:
            with contextlib.suppress(Exception):
                if proc is not None and proc.running:
                    proc.terminate(timeout=1.0)
            tunnel.close()
            opener.close()


def _relay_remote_stderr(line: str) -> None:
    """Show the remote's warnings and notes here; its error line is summarised on exit."""
    if line.strip() and not line.startswith(f"{PROG}: error:"):
        say(line, sys.stderr)


def _forward(tunnel: Tunnel, ready: ReadyLine, tunnel_port: int) -> Forward:
    if tunnel_port:
        try:
            return tunnel.forward(ready.port, local_port=tunnel_port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"--tunnel-port {tunnel_port} is already in use") from None
            raise
    try:
        return tunnel.forward(ready.port, local_port=ready.port)
    except OSError:
        return tunnel.forward(ready.port, local_port=0)


def _remote_failed(exc: RemoteCommandError, inv: Invocation) -> int:
    host = inv.cli.tunnel_target
    if exc.exit_status == 127:
        error(
            f"{inv.cli.remote_command!r} was not found on {host}; install dcmview there "
            "or pass its path with --remote-command"
        )
        return 1
    lines = [ln.strip() for ln in exc.stderr.splitlines() if ln.strip()]
    last = lines[-1] if lines else str(exc)
    last = last.removeprefix(f"{PROG}: error: ")
    error(f"on {host}: {last} (remote exit status {exc.exit_status})")
    return 2 if exc.exit_status == 2 else 1


def _relay_until_end(proc: RemoteProcess, tunnel: Tunnel) -> int:
    while True:
        try:
            line = proc.readline(timeout=0.5)
        except TimeoutError:
            if not tunnel.alive:
                error(f"the SSH connection to {tunnel.destination} was lost")
                return 1
            continue
        if line is None:
            break
        if not line.startswith(_QUIET_PREFIXES):
            say(line)
    status = proc.wait(timeout=5)
    if status == 0:
        say(f"{PROG}: the remote server stopped")
        return 0
    exc = proc.exit_error(status)
    lines = [ln.strip() for ln in exc.stderr.splitlines() if ln.strip()]
    detail = lines[-1].removeprefix(f"{PROG}: error: ") if lines else ""
    how = "was killed" if status is None or status < 0 else f"exited with status {status}"
    error(f"the remote dcmview on {tunnel.destination} {how}" + (f": {detail}" if detail else ""))
    return 1
