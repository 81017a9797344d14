"""The one exception remote sources raise when the server or bucket fails them."""

from __future__ import annotations

from dcmview_core.errors import PixelError


class UpstreamError(PixelError, OSError):
    """A remote server or bucket failed (unreachable, 401/403, missing, timeout, truncated body).

    A `PixelError` so a frame request answers ``502 upstream_failed`` for that frame only, and an
    `OSError` so discovery reports the object as unreadable. The message never holds credentials.
    """
