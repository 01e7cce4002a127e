"""The sidecar keys of `server:`: socket, socket-mode, tcp, admin-grpc-socket, default-key-file."""

from __future__ import annotations

import pytest

from dsl.config import load_config
from dsl.errors import DslValidationError
from dsl.model import ServerConfig


def test_the_sidecar_keys_land_in_the_model() -> None:
    text = (
        "server:\n  socket /run/router/gateway.sock\n  socket-mode 0o600\n  tcp off\n"
        "  admin-grpc-socket /run/router/admin.sock\n  default-key-file /etc/router/key\n"
    )
    server = load_config(text, "s.lino").server
    assert (server.socket, server.socket_mode, server.tcp) == ("/run/router/gateway.sock", 0o600, False)
    assert server.admin_grpc_socket == "/run/router/admin.sock"
    assert server.default_key_file == "/etc/router/key"


def test_the_socket_defaults_to_group_access_and_tcp_stays_on() -> None:
    assert (ServerConfig().socket, ServerConfig().socket_mode, ServerConfig().tcp) == (None, 0o660, True)


@pytest.mark.parametrize(
    ("text", "mode"), [("660", 0o660), ("0600", 0o600), ("0o640", 0o640), ("777", 0o777)]
)
def test_socket_modes_are_octal(text: str, mode: int) -> None:
    server = load_config(f"server:\n  socket /s\n  socket-mode {text}\n").server
    assert server.socket_mode == mode


@pytest.mark.parametrize("text", ["rw", "999", "4755", "66", "-1"])
def test_bad_socket_modes_are_pointed_at(text: str) -> None:
    with pytest.raises(DslValidationError) as err:
        load_config(f"server:\n  socket /s\n  socket-mode {text}\n", "m.lino")
    assert "octal file mode" in str(err.value)
