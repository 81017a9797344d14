"""``view()``: the viewer for scripts and notebooks, run as a ``dcmview`` subprocess."""

from __future__ import annotations

import contextlib
import html
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dcmview_py import tables
from dcmview_py.browser import BrowserOpener
from dcmview_py.readyline import ReadyLine, parse_ready_line

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_HEIGHT = 600
START_TIMEOUT = 60.0
TUNNEL_START_TIMEOUT = 180.0
_EOF = object()


class DcmviewStartError(RuntimeError):
    """The viewer failed to start: the message is its one-line reason (``no DICOM files
    found (…)``, ``port 8765 … in use``); ``stderr`` holds all it wrote."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        errors = [ln for ln in stderr.splitlines() if ln.startswith("dcmview: error: ")]
        reason = errors[-1].removeprefix("dcmview: error: ") if errors else ""
        super().__init__(reason or message)
        self.stderr = stderr
        self.returncode = returncode


# -- argument checking ----------------------------------------------------------------------
def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def _split_items(items: Any, rgb: bool | None) -> tuple[list[str], list[Any]]:
    """Separate paths from in-memory objects; TypeError for anything else."""
    from dcmview_py.inmemory import check_array, is_array, is_dataset

    if items is None:
        return [], []
    if isinstance(items, (str, os.PathLike)) or is_dataset(items) or is_array(items):
        items = [items]
    if not isinstance(items, Iterable):
        raise TypeError(f"view() takes a path, Dataset, array or a list of them, not {items!r}")
    paths: list[str] = []
    objects: list[Any] = []
    for index, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            path = os.fsdecode(item)
            if not path:
                raise ValueError(f"item {index}: empty path")
            paths.append(path)
        elif is_dataset(item):
            objects.append(item)
        elif is_array(item):
            check_array(item, index, rgb=rgb)
            objects.append(item)
        else:
            raise TypeError(
                f"item {index}: expected a path, a pydicom Dataset or a numpy array, "
                f"not {type(item).__name__}"
            )
    return paths, objects


# -- the process ------------------------------------------------------------------------------
def _stop_process(process: subprocess.Popen[bytes], tmpdir: str | None, grace: float) -> None:
    """Stop the viewer process for good and delete the temporary directory (idempotent)."""
    try:
        if process.poll() is None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # --exit-on-eof: a graceful stop
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


class _Reader:
    """Drains the child's stdout (lines into a queue) and stderr (kept) in threads."""

    def __init__(self, process: subprocess.Popen[bytes], echo: bool) -> None:
        self.lines: queue.Queue[object] = queue.Queue()
        self.output: deque[str] = deque(maxlen=1000)
        self._stderr = bytearray()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.echo = echo
        assert process.stdout is not None
        assert process.stderr is not None
        self._threads = [
            threading.Thread(target=self._out, args=(process.stdout,), daemon=True),
            threading.Thread(target=self._err, args=(process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _out(self, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.output.append(line)
                if not self._ready.is_set():
                    self.lines.put(line)
                elif self.echo:
                    print(line, flush=True)
        except (OSError, ValueError):
            pass
        finally:
            self.lines.put(_EOF)

    def _err(self, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                with self._lock:
                    if len(self._stderr) < 256 * 1024:
                        self._stderr.extend(raw)
                if self._ready.is_set() and self.echo:
                    sys.stderr.write(raw.decode("utf-8", "replace"))
        except (OSError, ValueError):
            pass

    def started(self) -> None:
        self._ready.set()

    def stderr(self, wait: float = 0.0) -> str:
        if wait:
            self._threads[1].join(wait)
        with self._lock:
            return self._stderr.decode("utf-8", "replace")


class ViewerHandle:
    """A running viewer: ``url``, ``base_url``, ``token``, ``stop()``; a context manager.

    Stopped by ``stop()``, on leaving a ``with`` block, on garbage collection and at
    interpreter exit; in a notebook it displays the viewer inline (an IFrame).
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        ready: ReadyLine,
        reader: _Reader,
        tmpdir: str | None,
        *,
        height: int | str = DEFAULT_HEIGHT,
        proxy_url: str | None = None,
    ) -> None:
        self.process = process
        self.url = ready.url
        self.base_url = ready.base_url
        self.port = ready.port
        self.token = ready.token
        self.height = height
        self.proxy_url = proxy_url
        self.tmpdir = tmpdir
        self._reader = reader
        self._opener = BrowserOpener()
        self._finalizer = weakref.finalize(self, _stop_process, process, tmpdir, 5.0)

    @property
    def running(self) -> bool:
        """True while the viewer process runs."""
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The viewer's exit status once it has ended."""
        return self.process.poll()

    @property
    def output(self) -> list[str]:
        """The lines the viewer printed on stdout (the last 1000)."""
        return list(self._reader.output)

    @property
    def stderr(self) -> str:
        """What the viewer wrote on stderr."""
        return self._reader.stderr()

    def open_browser(self) -> bool:
        """Open the viewer in the default browser (without exposing the token in ``ps``)."""
        return self._opener.open(self.url)

    def measurements(self) -> pd.DataFrame:
        """The lengths and angles drawn so far, one row each (``path, file, frame, kind,
        points, value, unit, at_detector, label``); `ViewerApiError` when not running."""
        return tables.measurements_frame(self.base_url, self.token)

    def annotations(self) -> pd.DataFrame:
        """The ROIs now, one row per file (``anon_dicom_path, num_ROI, ROI_coords,
        ROI_frames``, as the EMBED CSV export); `ViewerApiError` when not running."""
        return tables.annotations_frame(self.base_url, self.token)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the viewer to exit; its status, or ``None`` on timeout."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop the viewer and delete its temporary files; idempotent."""
        self._finalizer()
        self._opener.close()

    def __enter__(self) -> ViewerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def iframe_src(self) -> str:
        """The IFrame address: the launch URL, or the proxied one behind jupyter-server-proxy.

        ``proxy_url`` (or ``$DCMVIEW_PROXY_URL``) is a template such as ``/proxy/{port}/``;
        under JupyterHub ``$JUPYTERHUB_SERVICE_PREFIX`` + ``proxy/{port}/`` is used. The viewer
        uses relative URLs, so it works below such a path prefix.
        """
        template = self.proxy_url or os.environ.get("DCMVIEW_PROXY_URL")
        if template is None and os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
            template = os.environ["JUPYTERHUB_SERVICE_PREFIX"].rstrip("/") + "/proxy/{port}/"
        if not template:
            return self.url
        fragment = f"#token={self.token}" if self.token else ""
        return template.format(port=self.port) + fragment

    def iframe(self, height: int | str | None = None) -> str:
        """HTML for an IFrame showing the viewer (``height`` in pixels or any CSS length)."""
        value = self.height if height is None else height
        css = f"{value}px" if isinstance(value, int) else str(value)
        return (
            f'<iframe src="{html.escape(self.iframe_src(), quote=True)}" width="100%" '
            f'style="height:{html.escape(css, quote=True)};border:0" '
            'allow="fullscreen" title="dcmview"></iframe>'
        )

    def _repr_html_(self) -> str:
        if not self.running:
            return f"<p>dcmview viewer stopped (exit status {self.returncode})</p>"
        return self.iframe()

    def __repr__(self) -> str:
        state = "running" if self.running else f"stopped ({self.returncode})"
        return f"<ViewerHandle {self.base_url} {state}>"


def _wait_ready(
    process: subprocess.Popen[bytes], reader: _Reader, timeout: float
) -> tuple[ReadyLine, list[str]]:
    """Read lines until the ready line; DcmviewStartError if the process ends or stalls."""
    import time

    deadline = time.monotonic() + timeout
    before: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DcmviewStartError(
                f"the viewer did not start within {timeout:g} s", stderr=reader.stderr()
            )
        try:
            item = reader.lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        if item is _EOF:
            code = process.wait(timeout=10)
            raise DcmviewStartError(
                f"the viewer exited during start (status {code})",
                stderr=reader.stderr(wait=2),
                returncode=code,
            )
        assert isinstance(item, str)
        ready = parse_ready_line(item)
        if ready is not None:
            reader.started()
            return ready, before
        before.append(item)


def _overlay_arrays(overlays: Any) -> bool:
    """Whether ``overlays`` (a ``{name: path or array}`` mapping) holds arrays to write."""
    from dcmview_py.inmemory import is_array

    return isinstance(overlays, Mapping) and any(is_array(v) for v in overlays.values())


def _place_overlays(options: dict[str, Any], tmpdir: str) -> None:
    """``overlays={name: path or array}`` → paths; arrays saved as ``<tmpdir>/overlays/k/name.npy``
    (the overlay's label is the file stem, i.e. ``name``)."""
    from pathlib import Path

    from dcmview_py.inmemory import is_array

    overlays = options.get("overlays")
    if not isinstance(overlays, Mapping):
        return
    placed: list[str] = []
    for k, (name, value) in enumerate(overlays.items()):
        if not isinstance(name, str) or not name or "/" in name or "\x00" in name:
            raise ValueError(f"overlays: invalid overlay name {name!r}")
        if is_array(value):
            import numpy as np

            folder = Path(tmpdir) / "overlays" / str(k)
            folder.mkdir(parents=True)
            np.save(folder / f"{name}.npy", value, allow_pickle=False)
            placed.append(str(folder / f"{name}.npy"))
        else:
            placed.append(value)
    options["overlays"] = tuple(placed)


def _check_array_overlays(handle: ViewerHandle, written: list[str], limit: float) -> None:
    """Raise ``ValueError`` (naming both shapes) for an array overlay that fits no loaded image:
    wait until the scan is complete and every array overlay is placed or refused.

    ``written`` are the arrays' ``.npy`` files relative to the private directory (the API may
    show sources relative to the inputs' root under ``mask=True``)."""
    deadline = time.monotonic() + limit
    while True:
        body = json.loads(tables.api_bytes(handle.base_url, handle.token, "/api/overlays"))
        mine = [
            o
            for o in body["overlays"]
            if any(str(o.get("source", "")).endswith(tail) for tail in written)
        ]
        refused = [o for o in mine if not o["targets"] and o.get("reason")]
        if refused:
            raise ValueError("; ".join(str(o["reason"]) for o in refused))
        settled = all(o["targets"] for o in mine)
        if (body.get("scan_complete") and settled) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def view(
    items: Any = None,
    *,
    block: bool = True,
    height: int | str = DEFAULT_HEIGHT,
    proxy_url: str | None = None,
    start_timeout: float | None = None,
    rgb: bool | None = None,
    **options: Any,
) -> ViewerHandle:
    """View DICOM paths, pydicom Datasets and numpy arrays in the dcmview viewer.

    ``options`` are the ``dcmview`` options as keywords (``port``, ``host``, ``browser``,
    ``timeout``, ``recursive``, ``filters``, ``annotations``, ``save_annotations``, ``mask``,
    ``cache_budget``, ``allow_hosts``, ``tunnel_host``, ``tunnel_port``, ``ssh_config``,
    ``remote_command``, ``demo``, ``verbose``, …: `dcmview_py.options.keywords` lists them all).
    ``block=True`` waits until the viewer exits (Ctrl+C stops it) and returns the stopped
    handle; ``block=False`` returns the running handle once the first file is loaded.
    In-memory objects are written as DICOM to a private temporary directory deleted when the
    viewer stops; ``rgb`` decides whether a ``uint8`` array whose last axis is 3 or 4 is a colour
    image (None: yes, see `dcmview_py.inmemory`). A bad argument raises
    ``ValueError``/``TypeError`` before anything starts; a viewer that fails to start (no DICOM
    files found, port in use …) raises :class:`DcmviewStartError` with the reason.
    """
    from dcmview_py.options import from_keywords, secret_env, to_argv

    if rgb is not None:
        _check_flag(rgb, "rgb")
    paths, objects = _split_items(items, rgb)
    if not isinstance(height, (int, str)) or isinstance(height, bool):
        raise TypeError("height must be pixels (int) or a CSS length (str)")
    _check_flag(block, "block")
    tunnelled = options.get("tunnel_host") is not None
    if tunnelled and objects:
        raise ValueError("in-memory objects cannot be viewed through tunnel_host")

    overlay_arrays = _overlay_arrays(options.get("overlays"))
    tmpdir = tempfile.mkdtemp(prefix="dcmview-view-") if objects or overlay_arrays else None
    try:
        if tmpdir is not None:
            _place_overlays(options, tmpdir)
        if isinstance(options.get("segment_labels"), Mapping):
            labels = options["segment_labels"]
            options["segment_labels"] = json.dumps({str(k): v for k, v in labels.items()})
        images = os.path.join(tmpdir, "images") if tmpdir is not None and objects else None
        if images is not None:
            os.mkdir(images, 0o700)
        inv = from_keywords([*paths, *([images] if images else [])], options)
        if objects:
            from dcmview_py.inmemory import write_objects

            assert images is not None
            write_objects(objects, images, rgb=rgb)
        argv = [sys.executable, "-m", "dcmview_py", "--no-browser", "--exit-on-eof"]
        argv += to_argv(inv.server, skip=("paths",))
        argv += to_argv(inv.cli, skip=("browser", "exit_on_eof", "remove_on_exit"))
        if tmpdir is not None:  # the viewer deletes it too, should this process die first
            argv.append(f"--remove-on-exit={tmpdir}")
        if not inv.cli.demo:
            argv += ["--", *inv.server.paths]
        env = dict(os.environ, PYTHONUNBUFFERED="1", **secret_env(inv.cli))
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a notebook's interrupt must not kill the viewer
        )
    except BaseException:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    reader = _Reader(process, echo=block)
    limit = start_timeout or (TUNNEL_START_TIMEOUT if tunnelled else START_TIMEOUT)
    try:
        ready, before = _wait_ready(process, reader, limit)
    except BaseException:
        _stop_process(process, tmpdir, grace=2.0)
        raise
    handle = ViewerHandle(process, ready, reader, tmpdir, height=height, proxy_url=proxy_url)
    if overlay_arrays:
        assert tmpdir is not None
        written = [p for p in inv.server.overlays if p.startswith(tmpdir + os.sep)]
        try:
            _check_array_overlays(handle, [os.path.relpath(p, tmpdir) for p in written], limit)
        except BaseException:
            handle.stop()
            raise
    if block:
        for line in [*before, f"dcmview: server running at {ready.url}"]:
            print(line, flush=True)
    if inv.cli.browser:
        handle.open_browser()
    if block:
        try:
            handle.wait()
        except KeyboardInterrupt:
            pass
        finally:
            handle.stop()
    return handle
