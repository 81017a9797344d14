"""A small keep-alive HTTP client for the measurements (stdlib only, low overhead)."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class RequestError(RuntimeError):
    """A request failed or answered with a non-200 status."""

    def __init__(self, path: str, status: int, body: bytes) -> None:
        super().__init__(f"GET {path} -> {status}: {body[:300]!r}")
        self.status = status
        self.path = path
        self.body = body


@dataclass(frozen=True)
class Response:
    """Status, headers (lower-case names), body and request time of one GET."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Client:
    """One persistent connection to a server, sending the bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 120.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def get(self, path: str, *, check: bool = True, encoding: str = "identity") -> Response:
        """GET `path` (body as sent, e.g. still gzipped); RequestError on non-200 if `check`."""
        headers = {**self.headers, "Accept-Encoding": encoding}
        for attempt in (0, 1):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection closed by the server: retry once on a new one.
                self.close()
                if attempt:
                    raise
                continue
            seconds = time.perf_counter() - started
            headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            if check and resp.status != 200:
                raise RequestError(path, resp.status, body)
            return Response(resp.status, headers, body, seconds)
        raise AssertionError("unreachable")

    def json(self, path: str) -> Any:
        """GET `path` and decode its JSON body."""
        return json.loads(self.get(path).body)

    def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class SweepResult:
    """Wall time and bytes of fetching a list of paths with several clients."""

    seconds: float
    requests: int
    total_bytes: int
    latencies: list[float]
    cache_hits: int
    partial: bool

    @property
    def per_second(self) -> float:
        """Completed requests per second of wall time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def sweep(
    base_url: str,
    token: str,
    paths: Sequence[str],
    clients: int,
    *,
    time_limit: float | None = None,
) -> SweepResult:
    """Fetch every path once, `clients` connections taking the next path from a shared queue.

    With `time_limit`, no new request starts after that many seconds; the result is then
    marked partial and its rate counts only the completed requests.
    """
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for p in paths:
        todo.put(p)
    conns = [Client(base_url, token) for _ in range(clients)]
    latencies: list[float] = []
    sizes: list[int] = []
    hits: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at = [float("inf")]
    cut = threading.Event()

    def work(client: Client) -> None:
        start_gate.wait()
        while True:
            if time.perf_counter() > stop_at[0]:
                cut.set()
                return
            try:
                path = todo.get_nowait()
            except queue.Empty:
                return
            try:
                r = client.get(path)
            except BaseException as exc:  # recorded and re-raised by the caller
                with lock:
                    errors.append(exc)
                return
            with lock:
                latencies.append(r.seconds)
                sizes.append(len(r.body))
                hits.append(1 if r.headers.get("x-cache", "").upper() == "HIT" else 0)

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    started = time.perf_counter()
    if time_limit is not None:
        stop_at[0] = started + time_limit
    start_gate.wait()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    partial = cut.is_set() and len(latencies) < len(paths)
    return SweepResult(seconds, len(latencies), sum(sizes), latencies, sum(hits), partial)
