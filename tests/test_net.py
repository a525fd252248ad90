import errno
import socket

import pytest

from bridge.net import address_in_use


def test_binding_a_port_another_socket_holds_is_an_address_in_use() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second,
    ):
        holder.bind(("127.0.0.1", 0))
        with pytest.raises(OSError, match="in use") as caught:
            second.bind(("127.0.0.1", holder.getsockname()[1]))
    assert address_in_use(caught.value)


def test_other_bind_failures_are_not_an_address_in_use() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(OSError, match="assign") as caught,
    ):
        sock.bind(("192.0.2.1", 0))  # TEST-NET-1: not an address of this machine
    assert caught.value.errno == errno.EADDRNOTAVAIL
    assert not address_in_use(caught.value)
    assert not address_in_use(ValueError("not a socket error"))
