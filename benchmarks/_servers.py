"""Start a viewer server as a process group, read its ready line, watch its RSS and CPU.

Both implementations are measured the same way: the command is started in a new session
(its own process group), the launch URL is read from stdout, the memory of the whole
process tree is sampled from /proc, and the whole group is signalled to stop.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import venv
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

READY_RE = re.compile(r"server running at (http://[^/\s]+)/#token=([A-Za-z0-9_\-]+)")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RUST_VERSION = "0.4.1"


class ServerError(RuntimeError):
    """The server did not start, or died, with its output attached."""


@dataclass(frozen=True)
class Implementation:
    """A viewer command to measure (`argv` is run with server options and paths appended)."""

    key: str
    label: str
    argv: tuple[str, ...]
    version: str


def _proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(ppid, rss_bytes, cpu_seconds incl. reaped children) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state) of proc(5); utime is field 14, rss field 24.
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    rss = int(fields[21]) * PAGE_SIZE
    return ppid, rss, ticks / CLOCK_TICKS


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_usage(root: int) -> tuple[int, float]:
    """(sum of RSS bytes, sum of CPU seconds) over the live process tree of `root`."""
    rss, cpu = 0, 0.0
    for pid in process_tree(root):
        st = _proc_stat(pid)
        if st is not None:
            rss += st[1]
            cpu += st[2]
    return rss, cpu


@dataclass
class Server:
    """A running viewer server (use `start_server`)."""

    impl: Implementation
    proc: subprocess.Popen[str]
    started_at: float
    base_url: str = ""
    token: str = ""
    ready_seconds: float = 0.0
    lines: list[tuple[float, str]] = field(default_factory=list)
    peak_rss: int = 0
    stderr_lines: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    _stop_sampling: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None
    _reader: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.perf_counter()
            self.lines.append((now - self.started_at, line.rstrip("\n")))
            if not self._ready.is_set():
                m = READY_RE.search(line)
                if m:
                    self.ready_seconds = now - self.started_at
                    self.base_url, self.token = m.group(1), m.group(2)
                    self._ready.set()

    def _sample(self, interval: float) -> None:
        while not self._stop_sampling.wait(interval):
            rss, _ = tree_usage(self.proc.pid)
            self.peak_rss = max(self.peak_rss, rss)

    def usage(self) -> tuple[int, float]:
        """Current (RSS bytes, CPU seconds) of the process tree; updates the peak."""
        rss, cpu = tree_usage(self.proc.pid)
        self.peak_rss = max(self.peak_rss, rss)
        return rss, cpu

    def line_time(self, pattern: str) -> float | None:
        """Seconds from start to the first stdout line matching `pattern`."""
        rx = re.compile(pattern)
        for t, line in list(self.lines):
            if rx.search(line):
                return t
        return None

    def stop(self, grace: float = 8.0) -> int | None:
        """Signal the whole process group (SIGINT, then SIGTERM, then SIGKILL) and reap it."""
        self._stop_sampling.set()
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                # The leader is gone; make sure nothing else in its group lingers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                break
            except subprocess.TimeoutExpired:
                continue
        if self._reader is not None:
            self._reader.join(2.0)
        return self.proc.returncode

    def output(self) -> str:
        """All stdout lines read so far."""
        return "\n".join(line for _, line in self.lines)


def start_server(
    impl: Implementation,
    paths: Sequence[Path],
    *,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 60.0,
    sample_interval: float = 0.05,
) -> Server:
    """Start `impl` on `paths` and wait for its ready line (raises ServerError on failure)."""
    argv = [*impl.argv, "--no-browser", "--port", "0", *extra_args, *map(str, paths)]
    env = server_env()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )
    server = Server(impl=impl, proc=proc, started_at=started)
    server._reader = threading.Thread(target=server._read_stdout, daemon=True)
    server._reader.start()
    server._sampler = threading.Thread(target=server._sample, args=(sample_interval,), daemon=True)
    server._sampler.start()
    deadline = started + ready_timeout
    while not server._ready.wait(0.01):
        if proc.poll() is not None or time.perf_counter() > deadline:
            server.stop(grace=1.0)
            err = proc.stderr.read() if proc.stderr else ""
            raise ServerError(
                f"{impl.label} did not print its ready line (exit {proc.returncode}):\n"
                f"{server.output()}\n{err[-3000:]}"
            )
    # Keep only the tail of stderr (for error reports) so the pipe never fills.
    threading.Thread(target=_drain, args=(proc, server.stderr_lines), daemon=True).start()
    return server


def _drain(proc: subprocess.Popen[str], keep: deque[str]) -> None:
    if proc.stderr is not None:
        for line in proc.stderr:
            keep.append(line.rstrip("\n"))


def server_env() -> dict[str, str]:
    """The environment both implementations run in: ours, minus the token and minus
    PYTHONDONTWRITEBYTECODE, so the unrecorded warm-up start writes the bytecode a user's
    first run writes (a sandbox that sets it would make every start of a venv installed
    without compiled bytecode recompile every module: +1.5 s of CPU per start)."""
    env = dict(os.environ)
    env.pop("DCMVIEW_TOKEN", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def time_help(impl: Implementation) -> float:
    """Seconds for `COMMAND --help` to run to completion."""
    started = time.perf_counter()
    subprocess.run(
        [*impl.argv, "--help"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=60,
        env=server_env(),
    )
    return time.perf_counter() - started


def ours(root: Path, exe: Path | None = None) -> Implementation | None:
    """Our `dcmview` (the workspace venv's unless `exe`), when `--help` works; else None."""
    exe = exe or Path(sys.executable).parent / "dcmview"
    if not exe.exists():
        return None
    try:
        proc = subprocess.run(
            [str(exe), "--version"], capture_output=True, text=True, timeout=60, cwd=root
        )
        help_ok = subprocess.run(
            [str(exe), "--help"], capture_output=True, text=True, timeout=60, cwd=root
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if help_ok.returncode != 0:
        return None
    version = (proc.stdout.strip() or proc.stderr.strip() or "unknown").splitlines()[0]
    return Implementation("ours", "dcmview (Python, this repo)", (str(exe),), version)


def rust(data_dir: Path, *, install: bool = True) -> tuple[Implementation | None, str]:
    """The Rust dcmview 0.4.1 from its own venv under `data_dir` (installed when missing)."""
    venv_dir = data_dir / "rust-venv"
    exe = venv_dir / "bin" / "dcmview"
    if not exe.exists():
        if not install:
            return None, "not installed (--no-install)"
        try:
            if venv_dir.exists():
                import shutil

                shutil.rmtree(venv_dir)
            _make_venv(venv_dir)
            subprocess.run(
                [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q",
                 "--disable-pip-version-check", f"dcmview-py=={RUST_VERSION}"],
                check=True, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            return None, f"install failed: {str(detail).strip()[-500:]}"
    try:
        out = subprocess.run(
            [str(exe), "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"does not run: {exc}"
    version = out.stdout.strip()
    return Implementation("rust", f"Rust dcmview {RUST_VERSION}", (str(exe),), version), ""


def _make_venv(target: Path) -> None:
    """A venv with pip, made by a system Python (uv's venvs have no pip of their own)."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        subprocess.run(
            [base, "-m", "venv", str(target)], check=True, capture_output=True, timeout=300
        )
    except (OSError, subprocess.SubprocessError):
        venv.create(target, with_pip=True)
