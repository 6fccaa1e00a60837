"""The test session cannot reach the internet: pytest-socket only lets loopback through."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_non_loopback_connection_is_blocked() -> None:
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
