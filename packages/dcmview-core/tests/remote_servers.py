"""Real servers on 127.0.0.1 for the remote-source tests and benchmarks (nothing mocked).

- `OrthancServer`: Debian's Orthanc with its DICOMweb plugin, private storage, loopback ports,
  ``--verbose`` so its log lists every HTTP request (``(http) GET /dicom-web/…``); files are
  loaded with ``POST /instances``. `orthanc_binary` says why tests must skip when it is absent.
- `MotoS3`: moto's threaded S3 server with a WSGI wrapper counting the body bytes it serves per
  request (method, path, Range header, bytes).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def orthanc_binary() -> tuple[str | None, str]:
    """(path of the Orthanc binary or None, the reason when missing)."""
    binary = shutil.which("Orthanc") or (
        "/usr/sbin/Orthanc" if os.path.exists("/usr/sbin/Orthanc") else None
    )
    if binary is None:
        return None, "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
    if not os.path.exists(PLUGIN):
        return (
            None,
            f"the Orthanc DICOMweb plugin is missing ({PLUGIN}: apt-get install orthanc-dicomweb)",
        )
    return binary, ""


class OrthancServer:
    """A private Orthanc on loopback ports; `start`, `upload`, `stop`, `requests`."""

    def __init__(
        self, directory: Path, *, users: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        binary, reason = orthanc_binary()
        if binary is None:
            raise RuntimeError(reason)
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.users = users
        self.log_path = directory / "orthanc.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb(self) -> str:
        """The DICOMweb service root."""
        return f"{self.url}/dicom-web"

    def _config(self) -> dict[str, Any]:
        storage = str(self.directory / "storage")
        config: dict[str, Any] = {
            "Name": "dcmview-test",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "HttpPort": self.port,
            "DicomPort": free_port(),
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": bool(self.users),
            "HttpCompressionEnabled": False,
            "Plugins": [PLUGIN],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        if self.users:
            config["RegisteredUsers"] = self.users
        return config

    def start(self, timeout: float = 30.0) -> None:
        """Start Orthanc and wait until ``GET /system`` answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "orthanc.json"
        config.write_text(json.dumps(self._config()))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self._process = subprocess.Popen(
            [self.binary, "--verbose", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start: see {self.log_path}")
            try:
                self._get("/system")
                return
            except urllib.error.HTTPError:
                return  # it answers (401 with authentication on)
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout} s: see {self.log_path}")

    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method)
        if self.users:
            import base64

            user, password = next(iter(self.users.items()))
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            data: bytes = response.read()
            return data

    def _get(self, path: str) -> bytes:
        return self._request("GET", path)

    def upload(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Store files with ``POST /instances``."""
        for path in paths:
            answer = json.loads(self._request("POST", "/instances", Path(path).read_bytes()))
            if answer.get("Status") not in ("Success", "AlreadyStored"):
                raise RuntimeError(f"Orthanc refused {path}: {answer}")

    def requests(self) -> list[str]:
        """Every HTTP request line Orthanc logged so far (``GET /dicom-web/…``)."""
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            _, sep, rest = line.partition("(http) ")
            if sep:
                lines.append(rest.strip())
        return lines

    def stop(self) -> None:
        """Stop Orthanc (SIGTERM to its process group, SIGKILL after 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def __enter__(self) -> OrthancServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- moto S3 -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    """One request moto answered: method, path, Range header and the body bytes it sent."""

    method: str
    path: str
    range: str | None
    nbytes: int


class _Counting:
    """WSGI middleware recording `Served` for every response."""

    def __init__(self, app: Any, log: list[Served], lock: threading.Lock) -> None:
        self._app, self._log, self._lock = app, log, lock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        total = 0
        try:
            for chunk in self._app(environ, start_response):
                total += len(chunk)
                yield chunk
        finally:
            served = Served(
                environ.get("REQUEST_METHOD", ""),
                environ.get("PATH_INFO", ""),
                environ.get("HTTP_RANGE"),
                total,
            )
            with self._lock:
                self._log.append(served)


class MotoS3:
    """moto's S3 in server mode on 127.0.0.1 with fake credentials; counts bytes served."""

    ENV: ClassVar[dict[str, str]] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def __init__(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.served: list[Served] = []
        self._lock = threading.Lock()
        self.port = free_port()
        counting = _Counting(
            DomainDispatcherApplication(create_backend_app), self.served, self._lock
        )

        class Server(ThreadedMotoServer):
            def _server_entry(inner) -> None:  # noqa: N805 - moto's hook, with our app
                inner._server = make_server(
                    inner._ip_address,
                    inner._port,
                    counting,
                    True,
                    request_handler=MotoRequestHandler,
                )
                inner._server_ready_event.set()
                inner._server.serve_forever()

        self._server = Server(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._saved: dict[str, str | None] = {}

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and set the fake credentials in the environment."""
        for key, value in self.ENV.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        self._server.start()

    def stop(self) -> None:
        """Stop the server and restore the environment."""
        self._server.stop()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def client(self) -> Any:
        """A boto3 S3 client on this server (for filling buckets)."""
        import boto3  # type: ignore[import-untyped]

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def reset_counts(self) -> None:
        """Forget the requests served so far."""
        with self._lock:
            self.served.clear()

    def counts(self, key_part: str = "") -> list[Served]:
        """Requests served so far whose path contains *key_part*."""
        with self._lock:
            return [s for s in self.served if key_part in s.path]


# --- fixture files -------------------------------------------------------------------------------

FIXTURES = (
    "CT_small.dcm",  # explicit VR little endian
    "MR_small_implicit.dcm",  # implicit VR little endian
    "MR_small_bigendian.dcm",  # explicit VR big endian
    "image_dfl.dcm",  # deflated explicit VR little endian
    "MR_small_RLE.dcm",  # RLE lossless
    "SC_rgb_rle_2frame.dcm",  # RLE, colour, two frames
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline (YBR)
    "JPGExtended.dcm",  # JPEG extended 12-bit
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    "JPEGLSNearLossless_16.dcm",  # JPEG-LS near-lossless
    "MR_small_jp2klossless.dcm",  # JPEG 2000 lossless
    "JPEG2000.dcm",  # JPEG 2000
    "rtdose.dcm",  # implicit VR, 15 frames
    "examples_palette.dcm",  # PALETTE COLOR with LUT data
)
UID_ROOT = "1.2.826.0.1.3680043.10.1512.16"


def fixture_files(directory: Path, names: Iterable[str] = FIXTURES) -> list[Path]:
    """Copies of pydicom's bundled files, each with its own study, series and SOP Instance
    UIDs (several bundled files share them) and the identifiers Orthanc requires."""
    import pydicom
    from conftest import bundled

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for k, name in enumerate(names):
        ds = pydicom.dcmread(bundled(name))
        ds.PatientID = ds.get("PatientID") or f"P{k:03d}"
        ds.StudyInstanceUID = f"{UID_ROOT}.{k}"
        ds.SeriesInstanceUID = f"{UID_ROOT}.{k}.1"
        ds.SOPInstanceUID = f"{UID_ROOT}.{k}.1.1"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = directory / name
        ds.save_as(target, enforce_file_format=True)
        out.append(target)
    return out
