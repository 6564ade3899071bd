"""Keep every unit test away from the real ~/.wake and from the caller's WAKE_* settings."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

WAKE_VARIABLES = ("WAKE_PLATFORMS_PATH", "WAKE_BASE_IMAGE", "WAKE_CA_BUNDLE", "WAKE_REGISTRY",
                  "WAKE_WORKSPACE", "WAKE_VERBOSE", "WAKE_NO_CACHE")


@pytest.fixture(autouse=True)
def wake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$WAKE_HOME is a fresh folder under tmp_path; other WAKE_* variables are unset."""
    home = tmp_path / "wake-home"
    monkeypatch.setenv("WAKE_HOME", str(home))
    for name in WAKE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on (for "port in use" checks)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]
