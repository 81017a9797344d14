"""The startup lines the CLI prints and others (view(), the tunnel) read back."""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "dcmview: "
READY_PREFIX = "dcmview: server running at "
SOCKET_PREFIX = "dcmview: listening on unix socket "
TOKEN_PREFIX = "dcmview: token "

_READY = re.compile(
    r"^dcmview: server running at (?P<base>https?://[^/\s#]+)(?P<rest>/[^\s#]*)?(?:#token=(?P<token>\S+))?$"
)


@dataclass(frozen=True)
class ReadyLine:
    """A parsed ``dcmview: server running at URL`` line."""

    url: str
    base_url: str
    port: int
    token: str | None


def parse_ready_line(line: str) -> ReadyLine | None:
    """The URL, base URL, port and token of a ready line; ``None`` for any other line."""
    match = _READY.match(line.strip())
    if match is None:
        return None
    base = match["base"]
    port_text = base.rsplit(":", 1)[-1]
    if not port_text.isdigit():
        return None
    url = line.strip()[len(READY_PREFIX) :]
    return ReadyLine(url=url, base_url=base, port=int(port_text), token=match["token"])


def ready_line(url: str) -> str:
    """The exact first startup line for ``url``."""
    return f"{READY_PREFIX}{url}"


def is_ready_line(line: str) -> bool:
    """True for a ``dcmview: server running at http://…`` line."""
    return parse_ready_line(line) is not None
