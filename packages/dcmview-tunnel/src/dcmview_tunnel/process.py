"""A command running on the SSH host, read line by line from background threads."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO

from dcmview_tunnel.errors import RemoteCommandError

_EOF = object()
STDERR_LIMIT = 64 * 1024
DRAIN_SECONDS = 2.0
"""After the exit status, how long the end waits for stderr's last bytes to be read."""


class RemoteProcess:
    """A remote command: its stdout lines, its stderr text, its exit status.

    Backends feed it with two byte streams and a ``wait`` function; the caller reads lines
    with a timeout, learns the exit status when the remote side ends (killed included), and
    stops it with :meth:`terminate`, which closes the session: the remote command sees EOF on
    its standard input and, when it writes, a broken pipe.
    """

    def __init__(
        self,
        command: str,
        stdout: Iterable[bytes],
        stderr: Iterable[bytes],
        wait_status: Callable[[], int | None],
        terminate: Callable[[], None],
        close_stdin: Callable[[], None],
    ) -> None:
        self.command = command
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        self._on_stderr: Callable[[str], None] | None = None
        self._wait_status = wait_status
        self._terminate = terminate
        self._close_stdin = close_stdin
        self._status: int | None = None
        self._done = threading.Event()
        self._stdout_done = threading.Event()
        self._stderr_done = threading.Event()
        threading.Thread(target=self._pump_stdout, args=(stdout,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(stderr,), daemon=True).start()
        threading.Thread(target=self._waiter, daemon=True).start()

    # -- feeding threads ---------------------------------------------------------------
    def _pump_stdout(self, stream: Iterable[bytes]) -> None:
        try:
            for raw in stream:
                self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self._lines.put(_EOF)
            self._stdout_done.set()

    def _pump_stderr(self, stream: Iterable[bytes]) -> None:
        try:
            for raw in stream:
                with self._stderr_lock:
                    if len(self._stderr) < STDERR_LIMIT:
                        self._stderr.extend(raw)
                    callback = self._on_stderr
                if callback is not None:
                    callback(raw.decode("utf-8", "replace").rstrip("\r\n"))
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self._stderr_done.set()

    def _waiter(self) -> None:
        try:
            self._status = self._wait_status()
        finally:
            # the status can arrive before the stderr thread has read what came just before
            # it: the command has ended only once its stderr is in (bounded, for a dead link)
            self._stderr_done.wait(DRAIN_SECONDS)
            self._done.set()

    # -- public ------------------------------------------------------------------------
    def readline(self, timeout: float | None = None) -> str | None:
        """Next stdout line without its newline; ``None`` at end of output.

        Raises ``TimeoutError`` when no line arrives within ``timeout`` seconds.
        """
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output from remote command within {timeout} s") from None
        if item is _EOF:
            self._lines.put(_EOF)  # stay at EOF for later calls
            return None
        assert isinstance(item, str)
        return item

    def expect(
        self,
        predicate: Callable[[str], bool],
        timeout: float,
        on_line: Callable[[str], None] | None = None,
    ) -> str:
        """Read lines until one satisfies ``predicate``; return it.

        Lines before it go to ``on_line``. Raises :class:`RemoteCommandError` (with the exit
        status and stderr) when the command ends first or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RemoteCommandError(
                    f"remote command {self.command!r} did not become ready within {timeout:g} s",
                    exit_status=self.poll(),
                    stderr=self.stderr_text(),
                )
            try:
                line = self.readline(timeout=remaining)
            except TimeoutError:
                continue
            if line is None:
                status = self.wait(timeout=5)
                raise self.exit_error(status)
            if predicate(line):
                return line
            if on_line is not None:
                on_line(line)

    def exit_error(self, status: int | None) -> RemoteCommandError:
        """A :class:`RemoteCommandError` describing how the command ended."""
        self._stderr_done.wait(DRAIN_SECONDS)
        stderr = self.stderr_text()
        if status == 127:
            what = f"remote command not found: {self.command!r} (exit status 127)"
        elif status is None or status < 0:
            what = f"remote command {self.command!r} was killed or the connection closed"
        else:
            what = f"remote command {self.command!r} exited with status {status}"
        last = stderr.strip().splitlines()[-1:] if stderr.strip() else []
        if last:
            what += f": {last[0].strip()}"
        return RemoteCommandError(what, exit_status=status, stderr=stderr)

    def relay_stderr(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with each stderr line: the ones so far, then each as it comes."""
        with self._stderr_lock:
            self._on_stderr = callback
            earlier = self._stderr.decode("utf-8", "replace")
        for line in earlier.splitlines():
            callback(line)

    def stderr_text(self) -> str:
        """Everything the command wrote to stderr so far (first 64 KiB)."""
        with self._stderr_lock:
            return self._stderr.decode("utf-8", "replace")

    def poll(self) -> int | None:
        """The exit status once the command has ended, else ``None`` (``-1``: killed)."""
        if not self._done.is_set():
            return None
        return -1 if self._status is None else self._status

    @property
    def running(self) -> bool:
        """True until the remote command (or the session carrying it) ends."""
        return not self._done.is_set()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the end; the exit status (``-1`` when killed), ``None`` on timeout."""
        if not self._done.wait(timeout):
            return None
        return -1 if self._status is None else self._status

    def close_stdin(self) -> None:
        """Send EOF to the remote command's standard input."""
        with contextlib.suppress(OSError):
            self._close_stdin()

    def terminate(self, timeout: float = 3.0) -> int | None:
        """Close stdin, then the session; return the exit status if known within ``timeout``."""
        self.close_stdin()
        status = self.wait(timeout=min(timeout, 1.5))
        if status is None:
            self._terminate()
            status = self.wait(timeout=timeout)
        return status


def iter_lines(stream: IO[bytes]) -> Iterable[bytes]:
    """Lines from a binary stream until EOF (``readline`` based); the stream is then closed."""
    try:
        while True:
            line = stream.readline()
            if not line:
                return
            yield line
    finally:
        stream.close()
