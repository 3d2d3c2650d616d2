"""Floating IPs in the store on both backends (compute/floating_ips.py): allocate, associate with an active instance,
refusals that write nothing, disassociate and release, a delete disassociating, and what a host's NAT is made of."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    floating_ips,
    flow,
    host_nat,
    schedule,
    security_groups,
    terminate,
)
from ansible_collections.nimbus.compute.plugins.module_utils.network import linux_net
from ansible_collections.nimbus.compute.plugins.module_utils.objects import floating_ip as fip_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas, states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import ANY

NOW = "2026-12-06T10:00:00.000Z"
LATER = "2026-12-06T10:05:00.000Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
HOST = {"up": True, "vcpus": 8, "memory_mb": 8192, "disk_gb": 100, "cpu_arch": "x86_64"}
# Three addresses: .10, .11 and .12.
POOLS = {
    "public": {
        "cidr": "198.19.0.0/24",
        "interface": "eth1",
        "allocation_pools": [{"start": "198.19.0.10", "end": "198.19.0.12"}],
    }
}
SSH = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}


def built(store, name, host="c1", **overrides):
    """A scheduled instance (vm_state building) of ``overrides`` (project_id, security_groups) on ``host``."""
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    request = validate_request(raw, FLAVORS, IMAGES, NETWORKS)
    return schedule.schedule_instances(store, request, {host: HOST}, {}, NOW)[0][0]


def active(store, name, host="c1", **overrides):
    """An instance built through every step of the flow: active on ``host`` with one port."""
    uuid = built(store, name, host, **overrides)["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    for step, updates in (
        (states.BLOCK_DEVICE_MAPPING, {"block_device_info": {"disks": []}}),
        (states.SPAWNING, {"power_state": states.RUNNING}),
    ):
        assert flow.begin_step(store, uuid, step, NOW)[1]
        flow.finish_step(store, uuid, step, NOW, **updates)
    instance = store.snapshot().instance(uuid)
    assert (instance["vm_state"], instance["host"]) == (states.ACTIVE, host)
    return instance


def port_of(store, uuid):
    """(port id, fixed IPv4 address) of the instance's port."""
    port_id, port = next(iter(store.snapshot().ports_of_instance(uuid).items()))
    return port_id, port["ips"][0]


def ensure(store, check_mode=False, **kwargs):
    return floating_ips.ensure(store, POOLS, NOW, check_mode, **kwargs)


def absent(store, check_mode=False, **kwargs):
    return floating_ips.absent(store, LATER, check_mode, **kwargs)


def addresses(store, **fields):
    return [fip["floating_ip_address"] for fip in store.snapshot().floating_ips_where(**fields)]


def without_id(record):
    return {key: value for key, value in record.items() if key != "id"}


# -- allocate and associate -----------------------------------------------------------------------------


def test_an_address_is_allocated_to_the_project_once(store):
    made = ensure(store, floating_ip_address="198.19.0.11")
    assert (made["changed"], made["nat_refresh"], made["diff"]["before"]) == (True, [], {})
    assert without_id(made["floating_ip"]) == {
        "floating_ip_address": "198.19.0.11",
        "pool": "public",
        "project_id": quotas.DEFAULT_PROJECT,
        "port_id": None,
        "fixed_ip_address": None,
        "instance_uuid": None,
        "host": None,
        "status": "DOWN",
        "created_at": NOW,
        "updated_at": NOW,
    }
    state = store.snapshot()
    assert state.find_floating_ip("198.19.0.11") == made["floating_ip"] == state.floating_ip(made["floating_ip"]["id"])
    assert state.project_usage(quotas.DEFAULT_PROJECT)["floating_ips"] == 1
    assert state.project_usage("other")["floating_ips"] == 0
    again = ensure(store, floating_ip_address="198.19.0.11")
    assert (again["changed"], again["floating_ip"]) == (False, made["floating_ip"])


def test_associating_with_an_active_instance_names_its_host_and_a_second_run_changes_nothing(store):
    web = active(store, "web1")
    port_id, fixed = port_of(store, web["uuid"])
    made = ensure(store, instance="web1", floating_ip_address="198.19.0.11")
    record = made["floating_ip"]
    assert (made["changed"], made["nat_refresh"]) == (True, ["c1"])
    assert (record["port_id"], record["fixed_ip_address"], record["instance_uuid"], record["host"]) == (
        port_id,
        fixed,
        web["uuid"],
        "c1",
    )
    assert (record["status"], record["floating_ip_address"]) == ("ACTIVE", "198.19.0.11")
    assert store.snapshot().find_floating_ip("198.19.0.11") == record
    again = ensure(store, instance="web1", floating_ip_address="198.19.0.11")
    assert (again["changed"], again["nat_refresh"], again["floating_ip"]) == (False, [], record)
    # Without an address the instance keeps its own, whatever else is free.
    own = ensure(store, instance=web["uuid"], reuse=True)
    assert (own["changed"], own["floating_ip"]) == (False, record)
    assert addresses(store) == ["198.19.0.11"]


def test_instance_info_shows_the_floating_ip_beside_its_fixed_ip_the_record_keeps_neither(store):
    web = active(store, "web1")
    port_id, fixed = port_of(store, web["uuid"])
    ensure(store, instance="web1", floating_ip_address="198.19.0.12")
    state = store.snapshot()
    shown = floating_ips.shown(state, state.instance(web["uuid"]))
    assert shown["floating_ips"] == [
        {"floating_ip_address": "198.19.0.12", "fixed_ip_address": fixed, "pool": "public", "port_id": port_id}
    ]
    ips = shown["network_info"][0]["network"]["subnets"][0]["ips"]
    assert [(ip["address"], ip["floating_ips"]) for ip in ips] == [
        (fixed, [{"address": "198.19.0.12", "type": "floating", "version": 4}])
    ]
    record = store.snapshot().instance(web["uuid"])
    assert "floating_ips" not in record
    assert "floating_ips" not in record["network_info"][0]["network"]["subnets"][0]["ips"][0]
    absent(store, instance="web1")
    state = store.snapshot()
    bare = floating_ips.shown(state, state.instance(web["uuid"]))
    assert bare["floating_ips"] == []
    assert bare["network_info"][0]["network"]["subnets"][0]["ips"][0]["floating_ips"] == []


def test_an_allocated_address_is_associated_in_place(store):
    active(store, "web1")
    allocated = ensure(store, floating_ip_address="198.19.0.12")["floating_ip"]
    bound = ensure(store, instance="web1", floating_ip_address="198.19.0.12")
    assert bound["changed"] and bound["diff"]["before"] == allocated
    assert (bound["floating_ip"]["id"], bound["floating_ip"]["created_at"]) == (allocated["id"], NOW)
    assert store.snapshot().project_usage(quotas.DEFAULT_PROJECT)["floating_ips"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"floating_ip_address": "198.19.0.12"},
        {"instance": "web1"},
        {"instance": "web1", "floating_ip_address": "198.19.0.12"},
    ],
)
def test_check_mode_predicts_the_same_and_writes_nothing(store, kwargs):
    active(store, "web1")
    before = store.snapshot().export()
    predicted = ensure(store, check_mode=True, **kwargs)
    assert store.snapshot().export() == before
    done = ensure(store, **kwargs)
    assert (
        (predicted["changed"], predicted["nat_refresh"])
        == (done["changed"], done["nat_refresh"])
        == (
            True,
            ["c1"] if "instance" in kwargs else [],
        )
    )
    assert without_id(predicted["floating_ip"]) == without_id(done["floating_ip"])


def test_one_address_never_goes_to_two_fixed_ips_nor_two_addresses_to_one(store):
    web1, web2 = active(store, "web1"), active(store, "web2")
    _port, fixed1 = port_of(store, web1["uuid"])
    ensure(store, instance="web1", floating_ip_address="198.19.0.11")
    before = store.snapshot().export()
    with pytest.raises(
        floating_ips.FloatingIpAssociated,
        match=rf"^floating IP 198\.19\.0\.11 is associated with fixed IP {fixed1} of instance {web1['uuid']} already",
    ):
        ensure(store, instance="web2", floating_ip_address="198.19.0.11")
    with pytest.raises(
        floating_ips.FloatingIpAssociated,
        match=rf"^fixed IP {fixed1} of instance web1 has floating IP 198\.19\.0\.11 already: disassociate it first$",
    ):
        ensure(store, instance="web1", floating_ip_address="198.19.0.12")
    assert store.snapshot().export() == before
    assert addresses(store, instance_uuid=web2["uuid"]) == []


def test_reuse_takes_an_unassociated_floating_ip_of_the_project_else_a_new_one(store):
    active(store, "web1")
    web2 = active(store, "web2")
    ensure(store, floating_ip_address="198.19.0.10", project_id="other")
    spare = ensure(store, floating_ip_address="198.19.0.12")["floating_ip"]
    reused = ensure(store, instance="web1", reuse=True)
    assert (reused["floating_ip"]["id"], reused["floating_ip"]["floating_ip_address"]) == (spare["id"], "198.19.0.12")
    # Nothing left to reuse: the pool's first free address.
    fresh = ensure(store, instance="web2", reuse=True)["floating_ip"]
    assert (fresh["floating_ip_address"], fresh["instance_uuid"]) == ("198.19.0.11", web2["uuid"])
    assert addresses(store, project_id=quotas.DEFAULT_PROJECT) == ["198.19.0.11", "198.19.0.12"]


def test_both_backends_list_and_reuse_floating_ips_in_address_order(store):
    """BUG (JSON store): StoreState.floating_ips_where sorts by the address string, so 198.19.0.10 comes before
    198.19.0.9 and reuse takes another floating IP than on PostgreSQL, which orders by the inet column."""
    wide = {"public": {**POOLS["public"], "allocation_pools": [{"start": "198.19.0.2", "end": "198.19.0.100"}]}}
    active(store, "web1")
    for address in ("198.19.0.10", "198.19.0.9"):
        floating_ips.ensure(store, wide, NOW, False, floating_ip_address=address)
    assert addresses(store, project_id=quotas.DEFAULT_PROJECT) == ["198.19.0.9", "198.19.0.10"]
    reused = floating_ips.ensure(store, wide, NOW, False, instance="web1", reuse=True)["floating_ip"]
    assert reused["floating_ip_address"] == "198.19.0.9"


def test_a_full_pool_and_a_full_quota_refuse_and_write_nothing(store):
    active(store, "web1")
    ensure(store, floating_ip_address="198.19.0.10")
    before = store.snapshot().export()
    with pytest.raises(
        quotas.QuotaExceeded,
        match=r"^Quota exceeded for floating_ips: Requested 1, but already used 1 of 1 floating_ips$",
    ):
        ensure(store, instance="web1", quotas={"floating_ips": 1})
    assert store.snapshot().export() == before
    # Another project's quota is its own.
    assert ensure(store, floating_ip_address="198.19.0.11", project_id="other", quotas={"floating_ips": 1})["changed"]
    ensure(store, floating_ip_address="198.19.0.12", project_id="other")
    before = store.snapshot().export()
    with pytest.raises(floating_ips.NoMoreFloatingIps, match=r"^No more floating IPs in pool public"):
        ensure(store, instance="web1")
    assert store.snapshot().export() == before


# (what is asked, the error, its message): each refused with the store unchanged.
REFUSALS = {
    "outside every pool": (
        {"floating_ip_address": "198.19.0.50"},
        exceptions.InvalidInput,
        r"^floating_ip_address: 198\.19\.0\.50 is in the ranges of no floating IP pool",
    ),
    "not IPv4": ({"floating_ip_address": "2001:db8::1"}, exceptions.InvalidInput, r"^floating_ip_address: must be"),
    "nothing named": ({}, exceptions.InvalidInput, r"^floating_ip_address: is required without instance"),
    "unknown pool": ({"instance": "web1", "pool": "nope"}, exceptions.InvalidInput, r"^pool: names no floating IP"),
    "another project's address": (
        {"floating_ip_address": "198.19.0.11"},
        exceptions.Conflict,
        r"^floating IP 198\.19\.0\.11 is allocated to another project",
    ),
    "another project's instance": (
        {"instance": "theirs"},
        exceptions.InvalidInput,
        r"^instance: names no instance of project default: 'theirs'",
    ),
    "no instance": ({"instance": "nowhere"}, exceptions.InvalidInput, r"^instance: names no instance of project"),
    "building": (
        {"instance": "slow"},
        exceptions.Conflict,
        r"is building \(task_state scheduling\): a floating IP is associated with an active instance",
    ),
    "being deleted": ({"instance": "going"}, exceptions.Conflict, r"is active \(task_state deleting\)"),
    "not its fixed IP": (
        {"instance": "web1", "fixed_address": "198.18.0.99"},
        exceptions.InvalidInput,
        r"^fixed_address: is not an IPv4 address of the ports of instance web1 \(198\.18\.0\.\d+\): '198\.18\.0\.99'",
    ),
}


@pytest.mark.parametrize(("kwargs", "error", "message"), list(REFUSALS.values()), ids=list(REFUSALS))
def test_refusals_write_nothing(store, kwargs, error, message):
    active(store, "web1")
    active(store, "theirs", project_id="other")
    active(store, "going")
    built(store, "slow")
    flow.begin_delete(store, "going", NOW)
    ensure(store, floating_ip_address="198.19.0.11", project_id="other")
    before = store.snapshot().export()
    with pytest.raises(error, match=message):
        ensure(store, **kwargs)
    assert store.snapshot().export() == before


# -- disassociate and release ------------------------------------------------------------------------------


@pytest.fixture
def associated(store):
    """web1 on c1 with 198.19.0.11; 198.19.0.12 allocated, not associated."""
    web = active(store, "web1")
    record = ensure(store, instance="web1", floating_ip_address="198.19.0.11")["floating_ip"]
    ensure(store, floating_ip_address="198.19.0.12")
    return web, record


def test_absent_with_an_instance_disassociates_and_the_address_stays_with_the_project(store, associated):
    _web, record = associated
    gone = absent(store, instance="web1")
    assert (gone["changed"], gone["nat_refresh"], gone["diff"]["before"]) == (True, ["c1"], record)
    kept = store.snapshot().find_floating_ip("198.19.0.11")
    assert (
        kept
        == gone["floating_ip"]
        == {
            **record,
            "port_id": None,
            "fixed_ip_address": None,
            "instance_uuid": None,
            "host": None,
            "status": "DOWN",
            "updated_at": LATER,
        }
    )
    assert (absent(store, instance="web1")["changed"], addresses(store)) == (False, ["198.19.0.11", "198.19.0.12"])


def test_absent_with_purge_releases_only_the_instances_floating_ips(store, associated):
    gone = absent(store, instance="web1", purge=True)
    assert (gone["changed"], gone["nat_refresh"], gone["floating_ip"]) == (True, ["c1"], None)
    assert addresses(store) == ["198.19.0.12"]
    assert store.snapshot().project_usage(quotas.DEFAULT_PROJECT)["floating_ips"] == 1


@pytest.mark.parametrize(("address", "host"), [("198.19.0.11", ["c1"]), ("198.19.0.12", [])])
def test_absent_with_an_address_releases_it(store, associated, address, host):
    gone = absent(store, floating_ip_address=address)
    assert (gone["changed"], gone["nat_refresh"], gone["diff"]["after"]) == (True, host, {})
    assert store.snapshot().find_floating_ip(address) is None
    assert len(addresses(store)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"floating_ip_address": "198.19.0.10"},
        {"instance": "web1", "floating_ip_address": "198.19.0.12"},
        {"instance": "web2"},
    ],
)
def test_absent_of_nothing_changes_nothing(store, associated, kwargs):
    active(store, "web2")
    before = store.snapshot().export()
    assert absent(store, **kwargs) == {
        "changed": False,
        "floating_ip": None,
        "diff": {"before": {}, "after": {}},
        "nat_refresh": [],
    }
    assert store.snapshot().export() == before


def test_absent_in_check_mode_writes_nothing_and_refuses_another_projects_address(store, associated):
    before = store.snapshot().export()
    assert absent(store, check_mode=True, instance="web1", purge=True)["nat_refresh"] == ["c1"]
    assert absent(store, check_mode=True, floating_ip_address="198.19.0.12")["changed"]
    with pytest.raises(exceptions.Conflict, match="allocated to another project"):
        absent(store, floating_ip_address="198.19.0.12", project_id="other")
    with pytest.raises(exceptions.InvalidInput, match=r"^instance: names no instance of project other"):
        absent(store, instance="web1", project_id="other")
    assert store.snapshot().export() == before


def test_deleting_the_instance_disassociates_its_floating_ip_which_stays_allocated(store, associated):
    web, record = associated
    assert floating_ips.hosts_of(store.snapshot(), [web["uuid"]]) == {"c1"}
    terminate.begin_terminate(store, ["web1"], LATER)
    for module in ("libvirt_domain", "block_device_map"):
        terminate.record_host_step(store, module, [{"uuid": web["uuid"], "failed": False, "msg": None}], "c1", LATER)
    assert [found["name"] for found in terminate.complete_terminate(store, [web["uuid"]], LATER)["deleted"]] == ["web1"]
    state = store.snapshot()
    kept = state.find_floating_ip("198.19.0.11")
    assert (kept["id"], kept["port_id"], kept["instance_uuid"], kept["host"], kept["status"]) == (
        record["id"],
        None,
        None,
        None,
        "DOWN",
    )
    assert state.get_instance(web["uuid"])["vm_state"] == states.DELETED
    assert state.ports_of_instance(web["uuid"]) == {}
    assert floating_ips.hosts_of(state, [web["uuid"]]) == set()
    assert floating_ips.host_bindings(state, "c1") == []


def test_a_port_with_a_floating_ip_cannot_be_deleted_until_disassociated(store, associated):
    web, _record = associated
    port_id, _fixed = port_of(store, web["uuid"])
    with pytest.raises((exceptions.Conflict, exceptions.StoreError), match="floating"), store.transaction() as state:
        state.delete_ports([port_id])
    assert store.snapshot().port_exists(port_id)
    with store.transaction() as state:
        assert flow.release_ports(state, web["uuid"])
    assert not store.snapshot().port_exists(port_id)
    assert store.snapshot().find_floating_ip("198.19.0.11")["port_id"] is None


# -- what the hosts' NAT is made of ------------------------------------------------------------------------


def test_host_bindings_carry_the_instances_security_group_rules(store):
    security_groups.ensure(store, "web", None, [SSH], NOW, False)
    web = active(store, "web1", security_groups=["web"])
    plain = active(store, "plain1")
    far = active(store, "far1", host="c2")
    for name, address in (("web1", "198.19.0.10"), ("plain1", "198.19.0.11"), ("far1", "198.19.0.12")):
        ensure(store, instance=name, floating_ip_address=address)
    # An instance from before security groups has none: nothing is filtered.
    with store.transaction() as state:
        state.save_instance(plain["uuid"], ANY, security_groups=[])
    state = store.snapshot()
    bindings = floating_ips.host_bindings(state, "c1")
    web_rules = security_groups.instance_firewall(state, state.instance(web["uuid"]))["rules"]
    assert [rule["port_range_min"] for rule in web_rules if rule["direction"] == "ingress"] == [22]
    assert bindings == [
        {
            "floating_ip_address": "198.19.0.10",
            "fixed_ip_address": port_of(store, web["uuid"])[1],
            "pool": "public",
            "rules": web_rules,
        },
        {
            "floating_ip_address": "198.19.0.11",
            "fixed_ip_address": port_of(store, plain["uuid"])[1],
            "pool": "public",
            "rules": None,
        },
    ]
    assert [binding["floating_ip_address"] for binding in floating_ips.host_bindings(state, "c2")] == ["198.19.0.12"]
    assert floating_ips.host_bindings(state, "c3") == []
    assert floating_ips.hosts_of(state, [web["uuid"], far["uuid"], "no-such-uuid"]) == {"c1", "c2"}
    assert floating_ips.hosts_of(state, [plain["uuid"]]) == {"c1"}


# -- the host's end: floating_ip_nat's input ---------------------------------------------------------------

NAT_POOLS = fip_obj.check_pools(POOLS)
BINDING = {"floating_ip_address": "198.19.0.10", "fixed_ip_address": "198.18.0.5", "pool": "public", "rules": None}


def test_bindings_of_give_each_floating_ip_its_pools_interface():
    assert host_nat.bindings_of([BINDING], NAT_POOLS) == [{**BINDING, "interface": "eth1"}]
    assert host_nat.bindings_of([], NAT_POOLS) == []


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"pool": "private"}, "floating_ips[1].pool"),
        ({"floating_ip_address": "198.19.0.13"}, "floating_ips[1].floating_ip_address"),
    ],
)
def test_bindings_of_refuse_a_floating_ip_outside_its_pool(changed, field):
    with pytest.raises(exceptions.InvalidInput) as raised:
        host_nat.bindings_of([BINDING, {**BINDING, **changed}], NAT_POOLS)
    assert raised.value.field == field


def test_floating_ip_nat_sends_the_pools_ranges_and_names_a_failure_as_a_virt_error(monkeypatch):
    calls = []

    def ensure_forwards(bindings, pools, check_mode):
        calls.append((bindings, pools, check_mode))
        if not bindings:
            raise linux_net.NatError("pools.public.interface: this host has no interface eth1")
        return {"changed": True}

    monkeypatch.setattr(linux_net, "ensure_floating_forwards", ensure_forwards)
    result = host_nat.floating_ip_nat({"pools": POOLS, "floating_ips": [BINDING]}, True)
    assert result == {"changed": True, "floating_ips": ["198.19.0.10"]}
    assert calls == [
        (
            [{**BINDING, "interface": "eth1"}],
            [{"name": "public", "interface": "eth1", "ranges": [["198.19.0.10", "198.19.0.12"]]}],
            True,
        )
    ]
    with pytest.raises(exceptions.VirtError, match=r"^pools\.public\.interface: this host has no interface eth1$"):
        host_nat.floating_ip_nat({"pools": POOLS, "floating_ips": []}, False)
