"""Security groups in the store on both backends: the default group, rules set whole, quotas, refused deletes."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    argspecs,
    controller,
    flow,
    option_rules,
    schedule,
    security_groups,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas, states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.virt import firewall
from ansible_collections.nimbus.compute.tests.libvirt_schema import assert_valid

NOW = "2026-12-06T10:00:00.000Z"
LATER = "2026-12-06T10:05:00.000Z"
SSH = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
PING = {"direction": "ingress", "protocol": "icmp", "port_range_min": 8}
EGRESS = {"direction": "egress"}


def ensure(store, name, rules=None, **kwargs):
    return security_groups.ensure(store, name, kwargs.pop("description", None), rules, NOW, False, **kwargs)


def rules_of(group):
    return [(rule["direction"], rule["ethertype"], rule["protocol"], rule["port_range_min"]) for rule in group["rules"]]


def test_a_projects_first_group_brings_its_default_group_as_neutron_does(store):
    made = ensure(store, "web", [SSH, EGRESS])
    assert made["changed"]
    state = store.snapshot()
    default = state.find_security_group("default", "default")
    assert [group["name"] for group in state.project_security_groups("default")] == ["default", "web"]
    assert rules_of(default) == [
        ("egress", "IPv4", None, None),
        ("egress", "IPv6", None, None),
        ("ingress", "IPv4", None, None),
        ("ingress", "IPv6", None, None),
    ]
    # Ingress from the members of the default group itself, by its uuid.
    assert [rule["remote_group_id"] for rule in default["rules"]] == [None, None, default["uuid"], default["uuid"]]
    assert rules_of(made["security_group"]) == [("ingress", "IPv4", "tcp", 22), ("egress", "IPv4", None, None)]
    # A new group without rules gets Neutron's two egress rules; the same run again changes nothing.
    plain = ensure(store, "plain")["security_group"]
    assert rules_of(plain) == [("egress", "IPv4", None, None), ("egress", "IPv6", None, None)]
    again = ensure(store, "web", [SSH, EGRESS])
    assert not again["changed"] and again["security_group"] == made["security_group"]
    assert not ensure(store, "web")["changed"]


def test_rules_are_set_whole_and_a_bad_set_changes_nothing(store):
    first = ensure(store, "web", [SSH])["security_group"]
    changed = security_groups.ensure(store, "web", "web servers", [SSH, PING], LATER, False)
    group = changed["security_group"]
    assert changed["changed"] and rules_of(group) == [("ingress", "IPv4", "tcp", 22), ("ingress", "IPv4", "icmp", 8)]
    assert (group["revision_number"], group["updated_at"], group["created_at"]) == (2, LATER, first["created_at"])
    assert changed["diff"]["before"]["rules"] == first["rules"]
    before = store.snapshot().export()
    overlapping = {**SSH, "port_range_min": 20, "port_range_max": 30}
    with pytest.raises(exceptions.InvalidInput, match=r"^rules\[2\]: ports 20-30 overlap ports 22-22 of rules\[0\]"):
        ensure(store, "web", [SSH, PING, overlapping])
    with pytest.raises(exceptions.InvalidInput, match=r"^rules\[1\]\.remote_group: names no security group"):
        ensure(store, "web", [SSH, {"direction": "ingress", "remote_group": "nowhere"}])
    with pytest.raises(exceptions.InvalidInput, match=r"^rules\[0\]\.remote_ip_prefix"):
        ensure(store, "web", [{**SSH, "remote_ip_prefix": "198.18.0.0/33"}])
    assert store.snapshot().export() == before


def test_a_remote_group_is_one_of_the_same_project_this_group_included(store):
    ensure(store, "web", [SSH])
    db = ensure(
        store, "db", [{"direction": "ingress", "remote_group": "web"}, {"direction": "ingress", "remote_group": "db"}]
    )
    web = store.snapshot().find_security_group("default", "web")
    assert [rule["remote_group_id"] for rule in db["security_group"]["rules"]] == [
        web["uuid"],
        db["security_group"]["uuid"],
    ]
    # The other project has its own groups, its own default, and may use the same names.
    with pytest.raises(exceptions.InvalidInput, match=r"names no security group of project other"):
        ensure(store, "db", [{"direction": "ingress", "remote_group": "web"}], project_id="other")
    other = ensure(store, "web", [PING], project_id="other")["security_group"]
    assert other["uuid"] != web["uuid"] and other["project_id"] == "other"
    names = [(group["project_id"], group["name"]) for group in store.snapshot().export()["security_groups"].values()]
    assert sorted(names) == [
        ("default", "db"),
        ("default", "default"),
        ("default", "web"),
        ("other", "default"),
        ("other", "web"),
    ]


def test_quotas_count_groups_and_rules_of_the_project_in_the_transaction(store):
    # The default group (4 rules) and "web" (2 rules) use 2 of 2 groups.
    ensure(store, "web", [SSH, EGRESS], quotas={"security_groups": 2})
    with pytest.raises(
        quotas.QuotaExceeded, match=r"^Quota exceeded for security_groups: Requested 1, but already used 2 of 2"
    ):
        ensure(store, "db", quotas={"security_groups": 2})
    # 6 rules in use: replacing web's two by four needs room for two more.
    with pytest.raises(quotas.QuotaExceeded, match=r"security_group_rules: Requested 2, but already used 6 of 7"):
        ensure(store, "web", [SSH, EGRESS, PING, {**EGRESS, "ethertype": "IPv6"}], quotas={"security_group_rules": 7})
    assert ensure(store, "web", [SSH, EGRESS, PING], quotas={"security_group_rules": 7})["changed"]
    assert store.snapshot().project_usage("default")["security_group_rules"] == 7
    assert store.snapshot().project_usage("other")["security_groups"] == 0


def test_check_mode_predicts_the_default_group_and_writes_nothing(store):
    before = store.snapshot().export()
    predicted = security_groups.ensure(store, "web", None, [SSH], NOW, True)
    assert predicted["changed"] and rules_of(predicted["security_group"]) == [("ingress", "IPv4", "tcp", 22)]
    assert store.snapshot().export() == before


def test_deletes_refused_for_the_default_group_a_remote_group_and_a_group_in_use(store):
    ensure(store, "web", [SSH])
    ensure(store, "db", [{"direction": "ingress", "remote_group": "web"}])
    with pytest.raises(exceptions.Conflict, match="Removing default security group not allowed"):
        security_groups.delete(store, "default", False)
    with pytest.raises(exceptions.Conflict, match=r"is the remote group of rules of db: change those rules first"):
        security_groups.delete(store, "web", False)
    # An instance that uses the group keeps it (the build records its groups' uuids on the instance).
    db = store.snapshot().find_security_group("default", "db")
    uuid = build(store, "db1", ["db", "default"])["uuid"]
    assert store.snapshot().instance(uuid)["security_groups"] == [
        db["uuid"],
        store.snapshot().find_security_group("default", "default")["uuid"],
    ]
    with pytest.raises(exceptions.Conflict, match=rf"^Security Group {db['uuid']} in use: instances {uuid} use it"):
        security_groups.delete(store, "db", False)
    with store.transaction() as state:
        state.save_instance(uuid, states.SCHEDULING, vm_state=states.DELETED)
    assert security_groups.delete(store, "db", True)["changed"]
    assert store.snapshot().find_security_group("default", "db") is not None
    assert security_groups.delete(store, "db", False)["changed"]
    assert security_groups.delete(store, "web", False)["security_group"]["name"] == "web"
    assert not security_groups.delete(store, "web", False)["changed"]


def build(store, name, groups=None, project_id="default"):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]}
    if groups is not None:
        raw["security_groups"] = groups
    request = validate_request(
        {**raw, "project_id": project_id},
        {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}},
        {"tiny": {"source": "/images/tiny.qcow2"}},
        {"private": {"cidr": "198.18.0.0/24"}},
    )
    host = {"up": True, "vcpus": 8, "memory_mb": 8192, "disk_gb": 100, "cpu_arch": "x86_64"}
    return schedule.schedule_instances(store, request, {"c1": host}, {}, NOW)[0][0]


def test_a_build_takes_its_projects_groups_by_name_the_default_one_when_none_is_given(store):
    # The project's first build makes its default group, as Neutron does, and the instance uses it.
    first = build(store, "web1", project_id="alpha")
    default = store.snapshot().find_security_group("alpha", "default")
    assert first["security_groups"] == [default["uuid"]]
    ensure(store, "web", [SSH], project_id="alpha")
    web = store.snapshot().find_security_group("alpha", "web")
    assert build(store, "web2", ["web"], project_id="alpha")["security_groups"] == [web["uuid"]]
    # A group of another project, or none by that name, is refused with Nova's message and nothing is created.
    before = store.snapshot().export()
    with pytest.raises(
        exceptions.InvalidInput, match=r"^security_groups\[1\]: Security group web not found for project beta"
    ):
        build(store, "db1", ["default", "web"], project_id="beta")
    assert store.snapshot().export() == before


def test_the_module_takes_rules_through_its_argument_spec(store_params):
    params, refusal = option_rules.validate_arguments(
        "security_group",
        argspecs.SECURITY_GROUP,
        {
            **store_params,
            "name": "web",
            "rules": [{"direction": "ingress", "protocol": 6, "port_range_min": "22", "port_range_max": 22}],
        },
    )
    assert refusal is None
    result = controller.security_group(params, False)
    assert rules_of(result["security_group"]) == [("ingress", "IPv4", "tcp", 22)]
    _params, refusal = option_rules.validate_arguments(
        "security_group", argspecs.SECURITY_GROUP, {**store_params, "name": "web", "rules": [{"direction": "in"}]}
    )
    assert "value of direction must be one of: ingress, egress, got: in found in rules" in refusal
    _params, refusal = option_rules.validate_arguments(
        "security_group",
        argspecs.SECURITY_GROUP,
        {**store_params, "name": "web", "rules": [{"direction": "ingress", "port": 22}]},
    )
    assert "Unsupported parameters for (security_group) module: rules.port." in refusal


def test_an_instances_firewall_has_its_groups_rules_and_the_remote_groups_member_addresses(store, tmp_path):
    """prepare_instance_filter's input from the store, as libvirt's nwfilter schema reads its port filter."""
    ensure(store, "db", [EGRESS])
    ensure(
        store,
        "web",
        [
            SSH,
            EGRESS,
            {
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 5432,
                "port_range_max": 5432,
                "remote_group": "db",
            },
        ],
    )
    networks = {"private": {"cidr": "198.18.0.0/24"}}
    web = build(store, "web1", ["web", "default"])
    db = build(store, "db1", ["db"])
    for instance in (web, db):
        flow.allocate_network(store, instance["uuid"], networks, NOW)
    state = store.snapshot()
    web_ip = next(iter(state.ports_of_instance(web["uuid"]).values()))["ips"][0]
    db_ip = next(iter(state.ports_of_instance(db["uuid"]).values()))["ips"][0]
    found = security_groups.instance_firewall(state, state.instance(web["uuid"]))
    # web's three rules and the default group's four, its IPv4 egress rule once; default's members are web1 only.
    assert len(found["rules"]) == 6
    assert all(set(rule) == set(security_groups.FIREWALL_RULE_FIELDS) for rule in found["rules"])
    db_group, default_group = (state.find_security_group(quotas.DEFAULT_PROJECT, name) for name in ("db", "default"))
    assert found["remote_groups"] == sorted(
        [{"id": db_group["uuid"], "addresses": [db_ip]}, {"id": default_group["uuid"], "addresses": [web_ip]}],
        key=lambda group: group["id"],
    )
    assert security_groups.instance_firewall(state, {**state.instance(web["uuid"]), "security_groups": []}) is None
    port = next(iter(state.ports_of_instance(web["uuid"])))
    addresses = {group["id"]: group["addresses"] for group in found["remote_groups"]}
    xml = firewall.port_filter_xml(port, found["rules"], addresses)
    assert_valid(xml, "nwfilter", tmp_path)
    assert f'srcipaddr="{db_ip}"' in xml and 'dstportstart="5432"' in xml


def test_changed_rules_and_members_name_the_hosts_whose_guests_filters_change(store):
    """Nova's refresh_security_group_rules and _members: which running guests need their filters redefined."""
    to_db = {"direction": "ingress", "protocol": "tcp", "port_range_min": 5432, "port_range_max": 5432,
             "remote_group": "db"}  # fmt: skip
    ensure(store, "db", [EGRESS])
    ensure(store, "web", [SSH, to_db])
    web1 = build(store, "web1", ["web"])["uuid"]
    db1 = build(store, "db1", ["db"])["uuid"]
    # web's rules change: its members, on their hosts; the same rules again, or a new description, change none.
    changed = security_groups.ensure(store, "web", None, [SSH, PING, to_db], LATER, False)
    assert changed["firewall_refresh"] == [{"host": "c1", "instances": [web1]}]
    assert ensure(store, "web", [SSH, PING, to_db])["firewall_refresh"] == []
    assert ensure(store, "web", description="web servers")["firewall_refresh"] == []
    assert ensure(store, "db", [SSH])["firewall_refresh"] == [{"host": "c1", "instances": [db1]}]
    # db1 joined db: web's members, whose rule names db, must let it in; db1 itself is left out.
    state = store.snapshot()
    assert security_groups.membership_refresh(state, [state.instance(db1)]) == [{"host": "c1", "instances": [web1]}]
    # No rule names web: nobody's filter lists its members.
    assert security_groups.membership_refresh(state, [state.instance(web1)]) == []
    # A guest being deleted gets no refresh.
    flow.begin_delete(store, web1, LATER, False)
    state = store.snapshot()
    assert security_groups.membership_refresh(state, [state.instance(db1)]) == []
    assert security_groups.refresh_plan(state, [group_uuid(state, "web")], []) == []


def group_uuid(state, name):
    return state.find_security_group(quotas.DEFAULT_PROJECT, name)["uuid"]
