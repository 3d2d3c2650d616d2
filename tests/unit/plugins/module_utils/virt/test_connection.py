from __future__ import annotations

import socket
import threading

import libvirt
import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import VirtError
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import (
    HypervisorUnavailable,
    open_connection,
    virt_error,
)


def test_open_connection_returns_a_live_connection():
    conn = open_connection("test:///default")
    try:
        assert conn.getType() == "TEST"
    finally:
        conn.close()


def test_open_connection_failure_names_uri_and_libvirt_message(tmp_path):
    uri = f"test://{tmp_path}/missing.xml"
    with pytest.raises(HypervisorUnavailable) as info:
        open_connection(uri)
    assert uri in info.value.message
    assert info.value.details["uri"] == uri
    assert info.value.reschedulable
    assert info.value.code == 503


def test_virt_error_names_action_and_libvirt_message(conn):
    with pytest.raises(libvirt.libvirtError) as info:
        conn.lookupByName("no-such-domain")
    error = virt_error(info.value, "look up domain")
    assert isinstance(error, VirtError)
    assert error.message.startswith("look up domain: ")
    assert "Domain not found" in error.message
    assert error.details["libvirt_code"] == libvirt.VIR_ERR_NO_DOMAIN


def _hang_up_server(path):
    """A unix socket that accepts one client and closes at once: libvirtd dying under a connection."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def hang_up():
        client = listener.accept()[0]
        client.close()
        listener.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("server", [False, True], ids=["no daemon", "daemon hangs up"])
def test_unreachable_libvirtd_is_named_with_its_uri_and_reschedulable(tmp_path, server):
    sock = tmp_path / "libvirt-sock"
    if server:
        _hang_up_server(sock)
    uri = f"qemu+unix:///system?socket={sock}"
    with pytest.raises(HypervisorUnavailable) as info:
        open_connection(uri)
    assert info.value.message.startswith(f"cannot connect to {uri}: libvirtd is not reachable: ")
    assert info.value.reschedulable
    assert info.value.code == 503


def _transport_error(tmp_path):
    """A real libvirtError of a connection whose daemon hung up."""
    sock = tmp_path / "libvirt-sock"
    thread = _hang_up_server(sock)
    try:
        libvirt.open(f"qemu+unix:///system?socket={sock}")
    except libvirt.libvirtError as exc:
        return exc
    finally:
        thread.join(5)
    raise AssertionError("opening a connection to a socket that hangs up succeeded")


def test_a_connection_lost_mid_step_names_the_uri_last_opened(tmp_path):
    open_connection("test:///default").close()
    error = virt_error(_transport_error(tmp_path), "define domain d1")
    assert isinstance(error, HypervisorUnavailable)
    assert error.message.startswith("define domain d1: libvirtd is not reachable at test:///default: ")
    assert error.details["uri"] == "test:///default"
    assert error.reschedulable and error.code == 503


def test_a_closed_connection_is_unreachable_not_a_plain_virt_error():
    conn = open_connection("test:///default")
    conn.close()
    with pytest.raises(libvirt.libvirtError) as info:
        conn.listAllDomains()
    error = virt_error(info.value, "list domains")
    assert isinstance(error, HypervisorUnavailable)
    assert "libvirtd is not reachable at test:///default" in error.message


def test_an_error_libvirtd_answers_stays_a_plain_virt_error(conn):
    with pytest.raises(libvirt.libvirtError) as info:
        conn.lookupByName("no-such-domain")
    error = virt_error(info.value, "look up domain")
    assert isinstance(error, VirtError) and not isinstance(error, HypervisorUnavailable)
    assert "not reachable" not in error.message
