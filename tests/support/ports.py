"""A free TCP port on 127.0.0.1 for a process the test starts (which binds it itself)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free right now; the tiny race until the child binds it is accepted in tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
