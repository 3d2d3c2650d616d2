"""How Ansible reaches a built guest: address, console, login user and the SSH route through its compute host."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import guest_access
from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam, model

NO_CHECK = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def instance(properties=None, nics=("198.18.0.12", "198.18.1.10")):
    networks = [
        ipam.normalise_network("private", {"cidr": "198.18.0.0/24", "libvirt_network": "nimbus-private"}),
        ipam.normalise_network("static", {"cidr": "198.18.1.0/24", "libvirt_network": "nimbus-static"}),
    ]
    return {
        "uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "name": "web1",
        "host": "compute1",
        "image": {"name": "debian", "properties": properties or {}},
        "network_info": [
            model.build_vif(f"port{index}", f"fa:16:3e:00:00:0{index}", address, network)
            for index, (address, network) in enumerate(zip(nics, networks, strict=False))
        ],
        "block_device_info": {"instance_dir": "/var/lib/nimbus/instances/0d8e6f7a"},
    }


def test_wait_target_is_the_first_nic_and_the_console_log():
    assert guest_access.wait_target(instance()) == {
        "name": "web1",
        "uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "address": "198.18.0.12",
        "console_log": "/var/lib/nimbus/instances/0d8e6f7a/console.log",
    }


def test_an_instance_without_nics_cannot_be_reached():
    with pytest.raises(exceptions.InvalidInput, match="instance web1: has no fixed IP"):
        guest_access.wait_target(instance(nics=()))


@pytest.mark.parametrize(
    ("compute", "route"),
    [
        # The controller is the compute host, libvirtd inside the namespace nimbus (the local inventory).
        ({"ansible_connection": "local", "nimbus_netns": "nimbus"}, "-o ProxyCommand='ip netns exec nimbus nc %h %p' "),
        # The controller is the compute host, guests on its own network.
        ({"ansible_connection": "local"}, ""),
        # A compute host reached over SSH: jump through it, as its user and port.
        (
            {"inventory_hostname": "c1", "ansible_host": "192.0.2.7", "ansible_user": "ops", "ansible_port": 2222},
            "-o ProxyJump=ops@192.0.2.7:2222 ",
        ),
        ({"inventory_hostname": "c1.example"}, "-o ProxyJump=c1.example "),
    ],
)
def test_guest_host_vars_route_through_the_compute_host(compute, route):
    host_vars = guest_access.guest_host_vars(instance({"os_admin_user": "debian"}), compute)
    assert host_vars == {
        "ansible_host": "198.18.0.12",
        "ansible_connection": "ssh",
        "ansible_ssh_common_args": route + NO_CHECK,
        "ansible_user": "debian",
        "nimbus_instance_uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
        "nimbus_compute_host": "compute1",
    }


@pytest.mark.parametrize(
    ("properties", "user", "expected"),
    [({"os_admin_user": "debian"}, None, "debian"), ({"os_admin_user": "debian"}, "ops", "ops"), ({}, "ops", "ops")],
)
def test_login_user_is_the_images_admin_user_unless_given(properties, user, expected):
    host_vars = guest_access.guest_host_vars(instance(properties), {"ansible_connection": "local"}, user)
    assert host_vars["ansible_user"] == expected


def test_no_login_user_when_the_image_names_none():
    assert "ansible_user" not in guest_access.guest_host_vars(instance(), {"ansible_connection": "local"})
