"""A compute-host step's instance records: typed by their documentation, their fields kept as given."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from lxml import etree

from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    argspecs,
    flow,
    option_rules,
    security_groups,
    steps,
)
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store
from ansible_collections.nimbus.compute.plugins.module_utils.virt import block_device, domain_xml
from ansible_collections.nimbus.compute.tests.libvirt_schema import assert_valid

FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"cirros": {"source": "/images/cirros.qcow2", "disk_format": "qcow2", "min_disk": 1}}
NETWORKS = {
    "private": {
        "cidr": "198.18.0.0/24",
        "dns": ["198.18.0.1"],
        "ipv6": {"cidr": "2001:db8::/64"},
        "libvirt_network": "nimbus-private",
    },
    "isolated": {"cidr": "198.18.1.0/24", "gateway": None, "dhcp": False},
}
HOST = {"up": True, "vcpus": 8, "memory_mb": 8192, "disk_gb": 100, "cpu_arch": "x86_64"}


@pytest.fixture
def record(tmp_path, schedule_and_allocate):
    """The whole record of an instance after its networking step, with the disks its mapping step reports."""
    request = {
        "name": "web1",
        "flavor": "m1.tiny",
        "image": "cirros",
        "networks": [{"network": "private"}, {"network": "isolated"}],
        "metadata": {"role": "web"},
        "config_drive_format": "nocloud",
    }
    allocated = schedule_and_allocate(str(tmp_path / "store.json"), request, FLAVORS, IMAGES, NETWORKS, {"c1": HOST})
    mapping = {
        "root": {"dev": "vda"},
        "disk": {"dev": "vda", "bus": "virtio", "type": "disk", "boot_index": 0},
        "disk.config": {"dev": "hdd", "bus": "ide", "type": "cdrom", "boot_index": None},
    }
    disks = block_device.block_device_info(str(tmp_path / "web1"), mapping, 1 << 30, 4096)
    return {**allocated["instance"], "block_device_info": disks}


def test_a_spawn_record_gives_each_port_its_filter_and_the_domain_references_it(record, tmp_path):
    """libvirt_domain's action adds the firewall; on the host each port gets a filter its interface references."""
    state = open_store(str(tmp_path / "store.json")).snapshot()
    sent = security_groups.host_record(state, record)
    params, refusal = option_rules.validate_arguments("libvirt_domain", argspecs.LIBVIRT_DOMAIN, {"instance": sent})
    assert refusal is None
    instance = params["instance"]
    filters = dict(steps.port_filters(instance))
    ports = [vif["id"] for vif in instance["network_info"]]
    assert list(filters) == ["nimbus-base", "nimbus-nodhcp", *(f"nimbus-port-{port}" for port in ports)]
    for xml in filters.values():
        assert_valid(xml, "nwfilter", tmp_path)
    # The default group: its members (web1 alone) may reach web1; DHCP only on the network that has a server.
    private, isolated = (etree.fromstring(filters[f"nimbus-port-{port}"]) for port in ports)
    web1_ips = [address for vif in instance["network_info"] for s in vif["network"]["subnets"] for address in
                [ip["address"] for ip in s["ips"]]]  # fmt: skip
    assert {rule.get("srcipaddr") for rule in private.iter("all", "all-ipv6")} - {None} == set(web1_ips)
    assert private.find("filterref").get("filter") == "nimbus-base"
    assert isolated.find("filterref").get("filter") == "nimbus-nodhcp"
    xml = domain_xml.build_domain_xml(steps.domain_spec(instance, "qemu"))
    assert_valid(xml, "domain", tmp_path)
    refs = [
        (ref.get("filter"), {p.get("name"): p.get("value") for p in ref.iter("parameter")})
        for ref in etree.fromstring(xml).iter("filterref")
    ]
    assert refs == [
        (f"nimbus-port-{ports[0]}", {"IP": web1_ips[0], "DHCPSERVER": "198.18.0.1"}),
        (f"nimbus-port-{ports[1]}", {"IP": web1_ips[2]}),
    ]
    assert domain_xml.interface_filters(xml) == [ref[0] for ref in refs]
    # Without a firewall (an instance built before security groups, or no store): no filter, the same domain.
    bare = {key: value for key, value in instance.items() if key != flow.FIREWALL_FIELD}
    assert steps.port_filters(bare) == []
    assert "filterref" not in domain_xml.build_domain_xml(steps.domain_spec(bare, "qemu"))


def test_a_whole_record_is_taken_with_the_fields_the_step_reads_its_nulls_kept(record):
    params, refusal = option_rules.validate_arguments("libvirt_domain", argspecs.LIBVIRT_DOMAIN, {"instance": record})
    assert refusal is None
    # The controller's fields (states, actions) are not the step's; every other field arrives as it was given.
    assert "vm_state" in record and "actions" in record
    assert params["instance"] == flow.compute_view(record)
    subnets = [vif["network"]["subnets"] for vif in params["instance"]["network_info"]]
    assert subnets[1][0]["gateway"] == {"address": None}
    assert params["instance"]["block_device_info"]["disks"][1]["boot_index"] is None


def test_a_list_takes_records_and_uuids():
    params, refusal = option_rules.validate_arguments(
        "block_device_map", argspecs.BLOCK_DEVICE_MAP, {"instances": ["u-1", {"uuid": "u-2", "vm_state": "active"}]}
    )
    assert refusal is None
    assert params["instances"] == [{"uuid": "u-1"}, {"uuid": "u-2"}]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"flavor": {"name": "m1.tiny", "vcpu": 1}}, "module: instance.flavor.vcpu. Supported parameters include"),
        ({"launch_index": "first"}, "argument 'launch_index' is of type str found in 'instance'"),
        (
            {"network_info": [{"id": "p1", "address": "fa:16:3e:00:00:01", "network": {"subnets": [{"ip": []}]}}]},
            "instance.network_info.network.subnets.ip.",
        ),
        ({"block_device_info": {"disks": [{"size": 1}]}}, "instance.block_device_info.disks.size."),
        ({"block_device_mapping": [{"boot_index": "zero"}]}, "argument 'boot_index' is of type str"),
    ],
)
def test_a_wrong_field_of_a_record_is_refused_by_its_path(record, change, says):
    _params, refusal = option_rules.validate_arguments(
        "libvirt_domain", argspecs.LIBVIRT_DOMAIN, {"instance": {**record, **change}}
    )
    assert refusal is not None and says in refusal


def test_the_module_on_its_host_gets_the_record_as_its_action_sent_it(record, capsys):
    """What run_module hands the step's body: the compute view, Ansible's conversions applied, nulls kept."""
    view = flow.compute_view(record)
    seen = []

    def body(params, check_mode):
        seen.append(params["instances"])
        return {"changed": False}

    capsys.readouterr()
    with patch_module_args({"instances": [view], "state": "absent"}), pytest.raises(SystemExit):
        run_module(argspecs.LIBVIRT_DOMAIN, body, **argspecs.ONE_OR_MORE_INSTANCES)
    assert json.loads(capsys.readouterr().out).get("failed") is not True
    assert seen == [[view]]


def test_the_documented_record_fields_are_the_compute_view():
    # The instance_record fragment and flow.COMPUTE_FIELDS describe one thing: neither may gain a field alone.
    for spec in (argspecs.LIBVIRT_DOMAIN, argspecs.BLOCK_DEVICE_MAP):
        assert set(spec["instance"]["options"]) == {*flow.COMPUTE_FIELDS, flow.FIREWALL_FIELD}
        assert spec["instances"]["options"] == spec["instance"]["options"]
