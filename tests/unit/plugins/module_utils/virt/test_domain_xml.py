from __future__ import annotations

import copy

import libvirt
import pytest
from domain_specs import UUID
from domain_specs import domain_spec as make_spec
from lxml import etree

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt import domain_xml

NS = {"nimbus": domain_xml.NIMBUS_NS}


def parse(spec):
    return etree.fromstring(domain_xml.build_domain_xml(spec).encode())


def test_domain_basics():
    domain = parse(make_spec())
    assert domain.get("type") == "qemu"
    assert domain.findtext("name") == "instance-1"
    assert domain.findtext("uuid") == UUID
    assert (domain.findtext("memory"), domain.find("memory").get("unit")) == ("256", "MiB")
    assert domain.findtext("vcpu") == "2"
    os_type = domain.find("os/type")
    assert (os_type.text, os_type.get("arch"), os_type.get("machine")) == ("hvm", "x86_64", "pc")
    assert [feature.tag for feature in domain.find("features")] == ["acpi", "apic"]
    assert domain.find("devices/graphics") is None
    assert domain.find("devices/memballoon").get("model") == "virtio"


@pytest.mark.parametrize(("virt_type", "cpu_mode"), [("kvm", "host-model"), ("qemu", None), ("test", None)])
def test_host_model_cpu_only_for_kvm(virt_type, cpu_mode):
    domain = parse(make_spec(virt_type=virt_type))
    assert domain.get("type") == virt_type
    cpu = domain.find("cpu")
    assert (cpu.get("mode") if cpu is not None else None) == cpu_mode


def test_disks():
    disks = parse(make_spec()).findall("devices/disk")
    root, config = disks
    assert (root.get("type"), root.get("device")) == ("file", "disk")
    assert root.find("driver").attrib == {"name": "qemu", "type": "qcow2"}
    assert root.find("source").get("file") == "/i/disk"
    assert root.find("target").attrib == {"dev": "vda", "bus": "virtio"}
    assert root.find("boot").get("order") == "1"
    assert root.find("readonly") is None
    assert config.get("device") == "cdrom"
    assert config.find("driver").get("type") == "raw"
    assert config.find("target").attrib == {"dev": "hdd", "bus": "ide"}
    assert config.find("readonly") is not None
    assert config.find("boot") is None


def test_os_boot_dev_when_no_disk_has_a_boot_index():
    spec = make_spec()
    for disk in spec["disks"]:
        disk["boot_index"] = None
    domain = parse(spec)
    assert domain.find("os/boot").get("dev") == "hd"
    assert domain.find("devices/disk/boot") is None


def test_os_boot_dev_absent_with_boot_order():
    assert parse(make_spec()).find("os/boot") is None


def test_interfaces():
    spec = make_spec(
        interfaces=[
            {"mac": "FA:16:3E:00:00:01", "network": "net1", "mtu": 1400},
            {"mac": "fa:16:3e:00:00:02", "network": "net2"},
        ]
    )
    first, second = parse(spec).findall("devices/interface")
    assert first.get("type") == "network"
    assert first.find("mac").get("address") == "fa:16:3e:00:00:01"
    assert first.find("source").get("network") == "net1"
    assert first.find("model").get("type") == "virtio"
    assert first.find("mtu").get("size") == "1400"
    assert second.find("source").get("network") == "net2"
    assert second.find("mtu") is None


def test_an_interface_on_a_host_bridge():
    (element,) = parse(make_spec(interfaces=[{"mac": "fa:16:3e:00:00:03", "bridge": "br-guests"}])).findall(
        "devices/interface"
    )
    assert element.get("type") == "bridge"
    assert element.find("source").attrib == {"bridge": "br-guests"}
    assert domain_xml.network_interfaces(etree.tostring(element.getroottree()).decode()) == []


def test_an_interface_needs_a_network_or_a_bridge():
    with pytest.raises(InvalidInput, match=r"interfaces\.network"):
        domain_xml.build_domain(make_spec(interfaces=[{"mac": "fa:16:3e:00:00:03"}]))


def test_serial_console_logs_through_virtlogd():
    devices = parse(make_spec()).find("devices")
    serial = devices.find("serial")
    assert serial.get("type") == "pty"
    assert serial.find("log").attrib == {"file": "/i/console.log", "append": "off"}
    assert devices.find("console").get("type") == "pty"


def test_metadata_records_instance_and_digest():
    instance = parse(make_spec()).find("metadata/nimbus:instance", NS)
    assert instance.findtext("nimbus:uuid", namespaces=NS) == UUID
    flavor = instance.find("nimbus:flavor", NS)
    assert flavor.get("name") == "m1.tiny"
    assert flavor.findtext("nimbus:root_gb", namespaces=NS) == "1"
    assert instance.find("nimbus:image", NS).attrib == {"name": "cirros", "sha256": "ab" * 32}
    assert instance.findtext("nimbus:spec-sha256", namespaces=NS) == domain_xml.domain_spec_digest(make_spec())


def test_recorded_spec_digest_reads_it_back():
    spec = make_spec()
    assert domain_xml.recorded_spec_digest(domain_xml.build_domain_xml(spec)) == domain_xml.domain_spec_digest(spec)
    assert domain_xml.recorded_spec_digest("<domain type='qemu'><name>x</name></domain>") is None


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (domain_xml.build_domain_xml(make_spec()), UUID),
        (domain_xml.build_domain_xml(make_spec(uuid=UUID.upper())), UUID),
        ("<domain type='qemu'><name>x</name></domain>", None),
        # Another tool's metadata carrying a uuid is not nimbus's.
        (
            f"<domain type='qemu'><name>x</name><metadata><kcli:info xmlns:kcli='kvirt'><kcli:uuid>{UUID}</kcli:uuid>"
            "</kcli:info></metadata></domain>",
            None,
        ),
    ],
    ids=["nimbus", "upper-case", "no-metadata", "other-namespace"],
)
def test_recorded_instance_uuid(xml, expected):
    assert domain_xml.recorded_instance_uuid(xml) == expected


def test_digest_ignores_sizes_key_order_and_mac_case():
    spec = make_spec()
    same = copy.deepcopy(spec)
    same["disks"][1]["size_bytes"] = 999
    same["interfaces"][0]["mac"] = "fa:16:3e:00:00:01"
    same["interfaces"][0]["model"] = "virtio"
    same = dict(reversed(list(same.items())))
    assert domain_xml.domain_spec_digest(same) == domain_xml.domain_spec_digest(spec)


@pytest.mark.parametrize(
    "change",
    [
        {"memory_mb": 512},
        {"vcpus": 1},
        {"virt_type": "kvm"},
        {"name": "other"},
        {"interfaces": []},
        {"console_log": "/elsewhere"},
        {"metadata": {"flavor": {"name": "m1.small"}, "image": {}}},
    ],
)
def test_digest_changes_with_the_domain(change):
    assert domain_xml.domain_spec_digest(make_spec(**change)) != domain_xml.domain_spec_digest(make_spec())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"virt_type": "xen"}, "virt_type"),
        ({"memory_mb": 0}, "memory_mb"),
        ({"vcpus": "2"}, "vcpus"),
        ({"name": ""}, "name"),
        ({"uuid": None}, "uuid"),
        ({"console_log": None}, "console_log"),
    ],
)
def test_invalid_spec(change, field):
    with pytest.raises(InvalidInput) as info:
        domain_xml.build_domain_xml(make_spec(**change))
    assert info.value.field == field


def test_network_interfaces_reads_mac_and_network():
    xml = domain_xml.build_domain_xml(
        make_spec(
            interfaces=[
                {"mac": "fa:16:3e:00:00:01", "network": "net1"},
                {"mac": "fa:16:3e:00:00:02", "network": "net2"},
            ]
        )
    )
    assert domain_xml.network_interfaces(xml) == [("fa:16:3e:00:00:01", "net1"), ("fa:16:3e:00:00:02", "net2")]


def test_diff_xml_pretty_prints_both_sides():
    after = domain_xml.build_domain_xml(make_spec())
    diff = domain_xml.diff_xml("<domain type='qemu'><name>x</name></domain>", after)
    assert diff["before"] == '<domain type="qemu">\n  <name>x</name>\n</domain>\n'
    assert diff["after"] == after
    assert domain_xml.diff_xml(None, after)["before"] == ""


def test_the_test_driver_defines_and_starts_it(conn):
    domain = conn.defineXML(domain_xml.build_domain_xml(make_spec(virt_type="test")))
    try:
        domain.create()
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        live = domain.XMLDesc()
        assert domain_xml.recorded_spec_digest(live) == domain_xml.domain_spec_digest(make_spec(virt_type="test"))
        assert domain_xml.network_interfaces(live) == [("fa:16:3e:00:00:01", "net1")]
    finally:
        if domain.isActive():
            domain.destroy()
        domain.undefine()
