from __future__ import annotations

import gc

import libvirt
import pytest
from domain_specs import UUID, domain_spec

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InstanceNotFound, VirtError
from ansible_collections.nimbus.compute.plugins.module_utils.objects.states import NOSTATE, RUNNING, SHUTDOWN
from ansible_collections.nimbus.compute.plugins.module_utils.virt import domain_xml, driver, vif
from ansible_collections.nimbus.compute.plugins.module_utils.virt.driver import DEFINE, RESUME, START

MAC = "fa:16:3e:00:00:01"
IP = "192.168.122.10"
OTHER_UUID = "11111111-2222-3333-4444-555555555555"
HANDMADE_MAC = "52:54:00:aa:bb:cc"
HANDMADE_IP = "192.168.122.77"


@pytest.fixture
def conn(conn):
    """conftest's connection, really closed: a pytest.raises traceback keeps domains, and so the
    connection and test:///default's state, alive until the garbage collector breaks its cycle."""
    yield conn
    gc.collect()


def make_spec(**overrides):
    """A small domain the test driver runs: one disk, on the driver's default network."""
    small = {
        "memory_mb": 128,
        "vcpus": 1,
        "virt_type": "test",
        "disks": domain_spec()["disks"][:1],
        "interfaces": [{"mac": MAC, "network": "default"}],
    }
    return domain_spec(**{**small, **overrides})


NETWORK_INFO = [
    {
        "id": "port-1",
        "address": MAC,
        "type": "bridge",
        "network": {
            "id": "default",
            "label": "default",
            "bridge": "default",
            "meta": {"mtu": 1500, "dhcp": True, "libvirt_network": "default"},
            "subnets": [{"cidr": "192.168.122.0/24", "version": 4, "ips": [{"address": IP, "version": 4}]}],
        },
    }
]


def dhcp_hosts(conn):
    return vif.dhcp_hosts(conn.networkLookupByName("default").XMLDesc(0))


def domain_names(conn):
    return sorted(domain.name() for domain in conn.listAllDomains())


@pytest.mark.parametrize(
    ("exists", "same", "active", "state", "expected"),
    [
        (False, False, False, NOSTATE, [DEFINE, START]),
        (True, True, True, RUNNING, []),
        (True, True, False, SHUTDOWN, [START]),
        (True, True, True, 3, [RESUME]),
        (True, False, False, SHUTDOWN, [DEFINE, START]),
    ],
)
def test_spawn_actions(exists, same, active, state, expected):
    assert driver.spawn_actions(exists, same, active, state) == expected


def test_spawn_actions_refuses_to_redefine_a_running_domain():
    with pytest.raises(driver.InstanceInvalidState, match="stop it"):
        driver.spawn_actions(True, False, True, RUNNING)


def test_spawn_check_mode_touches_nothing(conn):
    before = domain_names(conn)
    result = driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=True)
    assert result["changed"] is True
    assert result["power_state"] == NOSTATE
    assert result["diff"]["before"] == ""
    assert domain_names(conn) == before
    assert dhcp_hosts(conn) == []


def test_spawn_defines_starts_and_plugs(conn):
    result = driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    assert result["changed"] is True
    assert result["power_state"] == RUNNING
    assert result["domain_xml"] == domain_xml.build_domain_xml(make_spec())
    assert driver.power_state(conn, UUID) == RUNNING
    assert conn.lookupByUUIDString(UUID).name() == "instance-1"
    assert dhcp_hosts(conn) == [vif.host_entry(MAC, IP, "vm1")]


def test_spawn_again_is_unchanged_in_both_modes(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    for check_mode in (True, False):
        result = driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=check_mode)
        assert result["changed"] is False
        assert result["power_state"] == RUNNING
        assert result["diff"]["before"] == result["diff"]["after"]


def test_spawn_starts_a_stopped_domain_with_the_same_definition(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    conn.lookupByUUIDString(UUID).destroy()
    assert driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=True)["changed"] is True
    assert driver.power_state(conn, UUID) == SHUTDOWN
    result = driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    assert (result["changed"], result["power_state"]) == (True, RUNNING)


def test_spawn_redefines_a_stopped_domain_with_another_definition(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    conn.lookupByUUIDString(UUID).destroy()
    result = driver.spawn(conn, make_spec(memory_mb=256), NETWORK_INFO, "vm1", check_mode=False)
    assert result["changed"] is True
    assert result["diff"]["before"] != result["diff"]["after"]
    assert conn.lookupByUUIDString(UUID).maxMemory() == 256 * 1024
    assert driver.power_state(conn, UUID) == RUNNING


def test_spawn_refuses_to_redefine_a_running_domain(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    with pytest.raises(driver.InstanceInvalidState):
        driver.spawn(conn, make_spec(memory_mb=256), NETWORK_INFO, "vm1", check_mode=True)
    assert conn.lookupByUUIDString(UUID).maxMemory() == 128 * 1024


def test_spawn_timeout_undoes_define_and_plug(conn, monkeypatch):
    monkeypatch.setattr(driver.power, "wait_for", lambda predicate, timeout: False)
    before = domain_names(conn)
    with pytest.raises(VirtError, match="did not reach running within 5 s"):
        driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False, timeout=5)
    assert domain_names(conn) == before
    assert dhcp_hosts(conn) == []


def test_spawn_failure_restores_the_previous_definition(conn, monkeypatch):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    conn.lookupByUUIDString(UUID).destroy()
    monkeypatch.setattr(driver.power, "wait_for", lambda predicate, timeout: False)
    with pytest.raises(VirtError):
        driver.spawn(conn, make_spec(memory_mb=256), NETWORK_INFO, "vm1", check_mode=False)
    domain = conn.lookupByUUIDString(UUID)
    assert domain.maxMemory() == 128 * 1024
    assert not domain.isActive()
    # The DHCP entry was there before this call: it stays.
    assert dhcp_hosts(conn) == [vif.host_entry(MAC, IP, "vm1")]


def test_spawn_define_failure_unplugs(conn, monkeypatch):
    def refuse(xml):
        raise libvirt.libvirtError("operation failed: no room")

    monkeypatch.setattr(conn, "defineXML", refuse)
    with pytest.raises(VirtError, match="define domain instance-1"):
        driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    assert dhcp_hosts(conn) == []


def handmade_domain(conn, uuid, name):
    """A running domain made as virsh or virt-manager would, with a DHCP reservation on the default network."""
    domain = conn.defineXML(
        f"<domain type='test'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        f"<interface type='network'><mac address='{HANDMADE_MAC}'/><source network='default'/></interface>"
        "</devices></domain>"
    )
    domain.create()
    vif.plug_vif_entries(conn, [dict(NETWORK_INFO[0], address=HANDMADE_MAC, network=handmade_network())], name, False)
    return domain


def handmade_network():
    network = NETWORK_INFO[0]["network"]
    return {**network, "subnets": [{**network["subnets"][0], "ips": [{"address": HANDMADE_IP, "version": 4}]}]}


def snapshot(conn):
    """Everything spawn or destroy could touch: each domain's XML and state, and the DHCP entries."""
    domains = {d.UUIDString(): (d.name(), d.XMLDesc(0), d.isActive(), d.state()) for d in conn.listAllDomains()}
    return domains, dhcp_hosts(conn)


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize(
    ("holds", "uuid", "name", "error", "reschedulable"),
    [
        ("uuid", UUID, "handmade", driver.DomainNotOwned, False),
        # Names are unique per host only: another host may take the instance.
        ("name", OTHER_UUID, "instance-1", driver.DomainNameInUse, True),
    ],
)
def test_spawn_leaves_a_domain_nimbus_did_not_define(conn, holds, uuid, name, error, reschedulable, check_mode):
    handmade_domain(conn, uuid, name)
    before = snapshot(conn)
    with pytest.raises(error) as info:
        driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=check_mode)
    assert info.value.message.startswith(
        f"domain {name} ({uuid}) on this host has the {holds} of instance {UUID}, but nimbus did not define it: "
        "nimbus never redefines, destroys or undefines it; "
    )
    assert info.value.reschedulable is reschedulable
    assert info.value.details == {"domain_name": name, "domain_uuid": uuid, "instance_uuid": UUID}
    assert snapshot(conn) == before


def test_spawn_names_the_instance_that_holds_the_name(conn):
    # Another store's instance of the same name, on the same host.
    other = conn.defineXML(domain_xml.build_domain_xml(make_spec(uuid=OTHER_UUID)))
    xml = other.XMLDesc(0)
    with pytest.raises(driver.DomainNameInUse, match=f"nimbus defined it for another instance \\({OTHER_UUID}\\)"):
        driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    assert other.XMLDesc(0) == xml
    assert dhcp_hosts(conn) == []


@pytest.mark.parametrize("check_mode", [True, False])
def test_destroy_leaves_a_domain_of_the_uuid_that_nimbus_did_not_define(conn, check_mode):
    handmade_domain(conn, UUID, "handmade")
    before = snapshot(conn)
    with pytest.raises(driver.DomainNotOwned) as info:
        driver.destroy(conn, UUID, check_mode=check_mode)
    assert f"domain handmade ({UUID})" in info.value.message
    assert "delete" in info.value.message
    assert snapshot(conn) == before
    assert vif.host_entry(HANDMADE_MAC, HANDMADE_IP, "handmade") in dhcp_hosts(conn)


def test_destroy_leaves_a_domain_that_nimbus_defined_for_another_instance(conn):
    # A nimbus domain XML copied under this instance's uuid: its metadata names the other instance.
    xml = domain_xml.build_domain_xml(make_spec(uuid=OTHER_UUID)).replace(
        f"<uuid>{OTHER_UUID}</uuid>", f"<uuid>{UUID}</uuid>", 1
    )
    conn.defineXML(xml)
    before = snapshot(conn)
    with pytest.raises(driver.DomainNotOwned, match=f"nimbus defined it for another instance \\({OTHER_UUID}\\)"):
        driver.destroy(conn, UUID, check_mode=False)
    assert snapshot(conn) == before


def test_rollback_leaves_a_domain_that_nimbus_did_not_define(conn):
    # Whatever took the uuid after spawn's own check is not undone either.
    handmade_domain(conn, UUID, "handmade")
    before = snapshot(conn)
    errors = driver._rollback(conn, UUID, None, True, [], [])
    assert errors == [f"undo domain {UUID}: domain handmade is not nimbus's for the instance; left alone"]
    assert snapshot(conn) == before


def test_destroy(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    result = driver.destroy(conn, UUID, check_mode=True)
    assert result["changed"] is True
    assert driver.power_state(conn, UUID) == RUNNING
    assert driver.destroy(conn, UUID, check_mode=False)["changed"] is True
    with pytest.raises(InstanceNotFound):
        driver.power_state(conn, UUID)
    assert dhcp_hosts(conn) == []
    assert driver.destroy(conn, UUID, check_mode=False) == {"changed": False, "diff": {"before": "", "after": ""}}


def test_destroy_without_a_domain_still_drops_the_ports_dhcp_entries(conn):
    # A domain undefined by hand (or a spawn that stopped before its domain): the record's ports are the instance's.
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    domain = conn.lookupByUUIDString(UUID)
    domain.destroy()
    domain.undefine()
    assert dhcp_hosts(conn) != []
    assert driver.destroy(conn, UUID, check_mode=True, network_info=NETWORK_INFO)["changed"] is True
    assert dhcp_hosts(conn) != []
    assert driver.destroy(conn, UUID, check_mode=False, network_info=NETWORK_INFO)["changed"] is True
    assert dhcp_hosts(conn) == []
    assert driver.destroy(conn, UUID, check_mode=False, network_info=NETWORK_INFO)["changed"] is False


def test_destroy_a_stopped_domain(conn):
    driver.spawn(conn, make_spec(), NETWORK_INFO, "vm1", check_mode=False)
    conn.lookupByUUIDString(UUID).destroy()
    assert driver.destroy(conn, UUID, check_mode=False)["changed"] is True
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByUUIDString(UUID)


def test_undefine_flags_add_nvram_only_when_present():
    plain = domain_xml.build_domain_xml(make_spec())
    assert not driver.undefine_flags(plain) & libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    uefi = plain.replace("</os>", "<nvram>/var/lib/libvirt/qemu/nvram/x_VARS.fd</nvram></os>")
    assert driver.undefine_flags(uefi) & libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
