"""The admin gRPC server's start-up error, apart from the server so catching it loads no gRPC."""

from __future__ import annotations


class AdminServerError(RuntimeError):
    """The admin gRPC server could not start (e.g. its port is taken)."""
