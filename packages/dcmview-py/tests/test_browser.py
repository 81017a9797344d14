"""The browser launch: display detection and the private redirect file."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from dcmview_py.browser import BrowserOpener, display_available, write_redirect


@pytest.mark.skipif(sys.platform != "linux", reason="display rules differ on macOS/Windows")
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"BROWSER": "firefox"}, True),
        ({"DISPLAY": ""}, False),
    ],
)
def test_display_available(env: dict[str, str], expected: bool) -> None:
    assert display_available(env) is expected


def test_redirect_file_is_private_and_escaped(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8/#token=a\"b<c>'d"
    path = write_redirect(url, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert 'content="0;url=http://127.0.0.1:8/#token=a&quot;b&lt;c&gt;&#x27;d"' in text
    assert 'location.replace("http://127.0.0.1:8/#token=a\\"b\\u003cc>\'d")' in text
    assert "<script>location.replace(" in text


def test_opener_without_display_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    opener = BrowserOpener()
    assert opener.open("http://127.0.0.1:1/#token=x") is False
    opener.close()
