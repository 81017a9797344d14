"""A private sshd on loopback for the tunnel tests (skipped only when sshd is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dcmview_tunnel.testing import PrivateSSHD, unavailable_reason


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSSHD]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a private sshd: {reason}")
    directory: Path = tmp_path_factory.mktemp("sshd")
    with PrivateSSHD.start(directory) as server:
        yield server
