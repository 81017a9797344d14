"""One pooled HTTP client per server: auth, timeouts, bounded retries, clear one-line errors.

httpx is used directly (not dicomweb-client): its `Client` is thread-safe with one bounded
connection pool, so the server's frame workers and prefetch share keep-alive connections, and
we control the ``Accept`` header (``transfer-syntax=*``) and the multipart parsing ourselves.
Credentials (``--dicomweb-token`` / ``DCMVIEW_DICOMWEB_TOKEN`` as a bearer token, else basic
auth from ``~/.netrc`` or from ``user:password@`` in the URL) live only in the client: never in
names, messages or logs.
"""

from __future__ import annotations

import logging
import netrc
import os
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from dcmview_core.remote.errors import UpstreamError

TOKEN_ENV = "DCMVIEW_DICOMWEB_TOKEN"
MAX_CONNECTIONS = 8
RETRIES = 2
"""Extra attempts after a transport error or a 502/503/504 (never after 4xx or 500)."""
_BACKOFF = (0.1, 0.4)


@dataclass(slots=True)
class Settings:
    """Process-wide remote settings (set once by `configure`)."""

    token: str | None = None
    timeout: float = 20.0
    connect_timeout: float = 5.0


settings = Settings()
_clients: dict[tuple[str, str], httpx.Client] = {}
_userinfo: dict[str, tuple[str, str]] = {}
_lock = threading.Lock()


logging.getLogger("httpx").setLevel(logging.WARNING)  # no per-request INFO lines


def strip_userinfo(url: str) -> str:
    """*url* without ``user:password@``; the pair is remembered for that host's client."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    with _lock:
        _userinfo[host.lower()] = (user, password)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def host_of(url: str) -> str:
    """``host[:port]`` of *url* (what names and messages show)."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _auth(host: str) -> httpx.Auth | None:
    token = settings.token or os.environ.get(TOKEN_ENV) or None
    if token:
        return _Bearer(token)
    with _lock:
        pair = _userinfo.get(host.lower())
    if pair is not None:
        return httpx.BasicAuth(*pair)
    try:
        entry = netrc.netrc().authenticators(host.split(":")[0])
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        entry = None
    if entry is not None and entry[0] is not None:
        return httpx.BasicAuth(entry[0], entry[2] or "")
    return None


class _Bearer(httpx.Auth):
    """``Authorization: Bearer`` (the token is not in repr, so not in tracebacks)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_Bearer(***)"


def client(url: str) -> httpx.Client:
    """The shared client for *url*'s scheme and host (created on first use)."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.netloc)
    with _lock:
        found = _clients.get(key)
    if found is not None:
        return found
    made = httpx.Client(
        auth=_auth(parts.netloc),
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        ),
        follow_redirects=True,
        trust_env=False,  # no proxy or netrc surprises from the environment
    )
    with _lock:
        found = _clients.setdefault(key, made)
    if found is not made:
        made.close()
    return found


def reset_clients() -> None:
    """Close every pooled client (tests; settings changes take effect on the next request)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for c in clients:
        c.close()


def _describe(status: int) -> str:
    if status in (401, 403):
        return f"access denied ({status}): check --dicomweb-token, {TOKEN_ENV} or ~/.netrc"
    if status == 404:
        return "not found (404)"
    return f"HTTP {status}"


def get(
    url: str,
    *,
    accept: str | None = None,
    params: list[tuple[str, str]] | None = None,
    ok: tuple[int, ...] = (200,),
) -> httpx.Response:
    """GET *url* with the shared client; bounded retries; `UpstreamError` with one line on failure.

    Statuses in *ok* are returned (the body read); others raise. Transport errors and
    502/503/504 are retried `RETRIES` times.
    """
    headers = {"Accept": accept} if accept else None
    # QIDO wildcards stay literal: some servers (Orthanc) do not decode %2A back to *
    target = f"{url}?{urlencode(params, safe='*?,')}" if params else url
    where = f"{host_of(url)}{urlsplit(url).path}"
    last = ""
    for attempt in range(RETRIES + 1):
        try:
            response = client(url).get(target, headers=headers)
        except httpx.TimeoutException:
            last = f"{where}: timed out after {settings.timeout:g} s"
        except httpx.ConnectError:
            last = f"cannot reach {host_of(url)} (connection refused or no route)"
        except httpx.TransportError as exc:
            last = f"{where}: transfer failed ({type(exc).__name__})"
        else:
            if response.status_code in ok:
                return response
            last = f"{where}: {_describe(response.status_code)}"
            if response.status_code not in (502, 503, 504):
                raise UpstreamError(last)
        if attempt < RETRIES:
            time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
    raise UpstreamError(last)


@contextmanager
def stream(
    url: str, *, accept: str | None = None, ok: tuple[int, ...] = (200,)
) -> Iterator[httpx.Response]:
    """`get` whose body is read by the caller (``response.iter_bytes``) as it arrives.

    Retries as `get` until the headers arrive; a failure while the body streams (timeout, reset)
    raises `UpstreamError` with one line and is not retried (the caller keeps what it parsed).
    """
    headers = {"Accept": accept} if accept else None
    where = f"{host_of(url)}{urlsplit(url).path}"
    if len(where) > 160:
        where = where[:157] + "..."
    last = ""
    response: httpx.Response | None = None
    for attempt in range(RETRIES + 1):
        try:
            shared = client(url)
            response = shared.send(shared.build_request("GET", url, headers=headers), stream=True)
        except httpx.TimeoutException:
            last = f"{where}: timed out after {settings.timeout:g} s"
        except httpx.ConnectError:
            last = f"cannot reach {host_of(url)} (connection refused or no route)"
        except httpx.TransportError as exc:
            last = f"{where}: transfer failed ({type(exc).__name__})"
        else:
            if response.status_code in ok:
                break
            status = response.status_code
            response.close()
            response = None
            last = f"{where}: {_describe(status)}"
            if status not in (502, 503, 504):
                raise UpstreamError(last)
        if attempt < RETRIES:
            time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
    if response is None:
        raise UpstreamError(last)
    try:
        yield response
    except httpx.TimeoutException:
        raise UpstreamError(f"{where}: timed out after {settings.timeout:g} s") from None
    except httpx.TransportError as exc:
        raise UpstreamError(f"{where}: transfer failed ({type(exc).__name__})") from None
    finally:
        response.close()
