"""Small response helpers shared by the routes."""

from __future__ import annotations

import json
import time
from typing import Any


def json_bytes(value: Any) -> bytes:
    """Compact JSON encoding used for every API body."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)
