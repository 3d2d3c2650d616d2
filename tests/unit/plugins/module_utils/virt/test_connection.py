from __future__ import annotations

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
