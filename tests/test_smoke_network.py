"""The test session cannot reach the internet: pytest-socket only lets loopback through."""

import socket

import pytest


def test_non_loopback_connection_is_blocked() -> None:
    with pytest.raises(Exception, match="(?i)socket|host"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
