# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating, changing and deleting security groups in the store (Neutron's security-groups API).

A group belongs to a project; its name is unique there. A project's first
group operation creates its ``default`` group (all egress, ingress from the
group's own members), as Neutron does on a project's first request. A group's
rules are set whole: the new set is checked as a whole
(objects/security_group.validate_rules) and within the project's quotas
(security_groups, security_group_rules) in the transaction that writes it, or
nothing changes.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow
from ansible_collections.nimbus.compute.plugins.module_utils.compute.server_groups import record_diff
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas as quotas_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import security_group as group_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import DEFAULT_PROJECT
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict

# Neutron gives a new group these two rules unless it is given its own.
NEW_GROUP_RULES = ({"direction": "egress", "ethertype": "IPv4"}, {"direction": "egress", "ethertype": "IPv6"})


def new_security_group(
    name: str, project_id: str, description: str, rules: list[dict[str, Any]], now: str
) -> dict[str, Any]:
    return {
        "uuid": str(uuidlib.uuid4()),
        "name": name,
        "project_id": project_id,
        "description": description,
        "rules": rules,
        "revision_number": 1,
        "created_at": now,
        "updated_at": now,
    }


def _resolve_remote_groups(
    rules: list[dict[str, Any]], groups: dict[str, dict[str, Any]], project_id: str
) -> list[dict[str, Any]]:
    """Each rule with ``remote_group_id``, the uuid of the group of the project its ``remote_group`` names."""
    resolved = []
    for index, rule in enumerate(rules):
        remote = rule.get("remote_group")
        if remote is not None and remote not in groups:
            raise exceptions.InvalidInput(
                f"rules[{index}].remote_group",
                f"names no security group of project {project_id}; its groups: {', '.join(sorted(groups))}",
            )
        resolved.append({**rule, "remote_group_id": None if remote is None else groups[remote]["uuid"]})
    return resolved


def _default_group(state, project_id: str, now: str, check_mode: bool) -> dict[str, Any] | None:
    """The project's default group, created when the project has none yet; the new one, or None."""
    if state.find_security_group(project_id, group_obj.DEFAULT_GROUP) is not None:
        return None
    group = new_security_group(group_obj.DEFAULT_GROUP, project_id, "Default security group", [], now)
    group["rules"] = _resolve_remote_groups(group_obj.default_group_rules(), {group["name"]: group}, project_id)
    if not check_mode:
        state.add_security_group(group)
    return group


def _check_quotas(limits: dict[str, int], usage: dict[str, int], groups: int, rules: int) -> None:
    quotas_obj.check_room(limits, "security_groups", usage["security_groups"], groups)
    quotas_obj.check_room(limits, "security_group_rules", usage["security_group_rules"], rules)


def _project_groups(state, project_id: str, now: str, check_mode: bool, limits: dict[str, int]):
    """The project's groups by name, its default group made first when it has none (within the quotas)."""
    usage = state.project_usage(project_id)
    made = _default_group(state, project_id, now, check_mode)
    groups = {group["name"]: group for group in state.project_security_groups(project_id)}
    if made is not None:
        _check_quotas(limits, usage, 1, len(made["rules"]))
        groups[made["name"]] = made
    return groups, made


def requested_groups(
    state, project_id: str, names: list[str], now: str, check_mode: bool, quotas: dict[str, Any] | None = None
) -> list[str]:
    """The uuids of a build request's ``security_groups`` (Nova's API resolves them before scheduling), in the
    build's transaction; the project's default group is made when the project has none."""
    groups, _made = _project_groups(state, project_id, now, check_mode, quotas_obj.project_limits(quotas))
    for index, name in enumerate(names):
        if name not in groups:
            raise exceptions.InvalidInput(
                f"security_groups[{index}]", f"Security group {name} not found for project {project_id}"
            )
    return [groups[name]["uuid"] for name in names]


@retry_on_conflict
def ensure(
    store,
    name: str,
    description: str | None,
    rules: Any,
    now: str,
    check_mode: bool,
    project_id: str = DEFAULT_PROJECT,
    quotas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The group exists in ``project_id`` with ``description`` and exactly ``rules`` (None keeps them)."""
    check_safe_name("name", name)
    check_safe_name("project_id", project_id)
    if description is not None:
        group_obj.check_description("description", description)
    checked = None if rules is None else group_obj.validate_rules(rules)
    limits = quotas_obj.project_limits(quotas)
    with store.transaction() as state:
        groups, made = _project_groups(state, project_id, now, check_mode, limits)
        usage = quotas_obj.security_group_usage(groups.values())
        existing = groups.get(name)
        if existing is None:
            group = new_security_group(name, project_id, description or "", [], now)
            wanted = group_obj.validate_rules(list(NEW_GROUP_RULES)) if checked is None else checked
            group["rules"] = _resolve_remote_groups(wanted, {**groups, name: group}, project_id)
            _check_quotas(limits, usage, 1, len(group["rules"]))
            if not check_mode:
                state.add_security_group(group)
            return {"changed": True, "security_group": group, "diff": record_diff(None, group), "firewall_refresh": []}
        after = dict(existing)
        if checked is not None:
            after["rules"] = _resolve_remote_groups(checked, groups, project_id)
        if description is not None:
            after["description"] = description
        if after == existing:
            return {
                "changed": made is not None,
                "security_group": existing,
                "diff": record_diff(existing, existing),
                "firewall_refresh": [],
            }
        _check_quotas(limits, usage, 0, len(after["rules"]) - len(existing["rules"]))
        after.update(revision_number=existing.get("revision_number", 1) + 1, updated_at=now)
        if not check_mode:
            state.save_security_group(after)
        # Nova's refresh_security_group_rules: the group's members get its new rules on their hosts.
        refresh = refresh_plan(state, [existing["uuid"]] if after["rules"] != existing["rules"] else [], [])
        return {
            "changed": True,
            "security_group": after,
            "diff": record_diff(existing, after),
            "firewall_refresh": refresh,
        }


@retry_on_conflict
def delete(store, name: str, check_mode: bool, project_id: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """No group of that name is left in the project; refused for the default group, a group instances use, and
    a group other groups' rules name as their remote group."""
    check_safe_name("name", name)
    check_safe_name("project_id", project_id)
    with store.transaction() as state:
        existing = state.find_security_group(project_id, name)
        if existing is None:
            return {"changed": False, "security_group": None, "diff": record_diff(None, None), "firewall_refresh": []}
        if existing["name"] == group_obj.DEFAULT_GROUP:
            raise exceptions.Conflict(
                f"security group {existing['name']} ({existing['uuid']}) is the default group of project "
                f"{project_id}: Removing default security group not allowed",
                security_group=existing["uuid"],
            )
        members = state.security_group_members(existing["uuid"])
        if members:
            raise exceptions.Conflict(
                f"Security Group {existing['uuid']} in use: instances {', '.join(members)} use it",
                security_group=existing["uuid"],
            )
        referring = sorted(
            group["name"]
            for group in state.project_security_groups(project_id)
            if group["uuid"] != existing["uuid"]
            and any(rule.get("remote_group_id") == existing["uuid"] for rule in group["rules"])
        )
        if referring:
            raise exceptions.Conflict(
                f"security group {existing['name']} ({existing['uuid']}) is the remote group of rules of "
                f"{', '.join(referring)}: change those rules first",
                security_group=existing["uuid"],
            )
        if not check_mode:
            state.delete_security_group(existing["uuid"])
        # No instance uses it and no rule names it: no filter changes.
        return {
            "changed": True,
            "security_group": existing,
            "diff": record_diff(existing, None),
            "firewall_refresh": [],
        }


# The fields of a rule the firewall driver reads: the remote group by its uuid, not its name; no description.
FIREWALL_RULE_FIELDS = tuple(sorted(group_obj.RULE_KEYS - {"remote_group", "description"} | {"remote_group_id"}))


def instance_rules(state, instance: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The rules of the instance's security groups, each once, with the fields the firewall reads; None for an
    instance without security groups (built before they existed): nothing filtered."""
    uuids = instance.get("security_groups")
    if not uuids:
        return None
    rules: list[dict[str, Any]] = []
    for uuid in uuids:
        group = state.security_group(uuid)
        for rule in group["rules"] if group is not None else []:
            wanted = {field: rule.get(field) for field in FIREWALL_RULE_FIELDS}
            if wanted not in rules:
                rules.append(wanted)
    return rules


def instance_firewall(state, instance: dict[str, Any]) -> dict[str, Any] | None:
    """What the firewall driver needs for the instance's ports (Nova's prepare_instance_filter, on the controller):
    ``rules``, those of its groups (each once), and ``remote_groups``, each remote group's uuid (``id``) and
    member addresses. None for an instance without security groups (built before they existed): no filter.

    A remote group's members are the instances (not deleted) that use it; their addresses are their ports' IPs.
    """
    rules = instance_rules(state, instance)
    if rules is None:
        return None
    remote_ids = sorted({rule["remote_group_id"] for rule in rules if rule["remote_group_id"] is not None})
    remote_groups = [
        {
            "id": group_uuid,
            "addresses": sorted(
                address
                for member in state.security_group_members(group_uuid)
                for port in state.ports_of_instance(member).values()
                for address in port["ips"]
            ),
        }
        for group_uuid in remote_ids
    ]
    return {"rules": rules, "remote_groups": remote_groups}


def host_record(state, instance: dict[str, Any]) -> dict[str, Any]:
    """The instance as the firewall driver's host gets it (spawn, refresh): its compute view and its firewall."""
    return {**flow.compute_view(instance), flow.FIREWALL_FIELD: instance_firewall(state, instance)}


def refresh_plan(state, rules_changed: Iterable[str], members_changed: Iterable[str]) -> list[dict[str, Any]]:
    """Where running guests' filters must be redefined, one entry per compute host: ``{host, instances}``.

    Nova's refresh_security_group_rules and refresh_security_group_members: the members of the groups in
    ``rules_changed``, and the members of every group with a rule whose remote group is in ``members_changed``
    (their filters name that group's member addresses). Only instances on a host and not being deleted.
    """
    changed_members = set(members_changed)
    groups = set(rules_changed)
    projects = {group["project_id"] for group in map(state.security_group, changed_members) if group is not None}
    for project in projects:
        groups |= {
            group["uuid"]
            for group in state.project_security_groups(project)
            if any(rule.get("remote_group_id") in changed_members for rule in group["rules"])
        }
    by_host: dict[str, set[str]] = {}
    for group_uuid in groups:
        for uuid in state.security_group_members(group_uuid):
            instance = state.get_instance(uuid)
            if instance and instance.get("host") and not flow.is_being_deleted(instance):
                by_host.setdefault(instance["host"], set()).add(uuid)
    return [{"host": host, "instances": sorted(uuids)} for host, uuids in sorted(by_host.items())]


def membership_refresh(state, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``refresh_plan`` for instances that joined or left their groups (built, deleted): the other instances whose
    filters name those groups as remote groups. The instances themselves are left out: a built one's filters were
    made with the members as they are, a deleted one has none."""
    changed = {group for instance in instances for group in instance.get("security_groups") or []}
    if not changed:
        return []
    own = {instance["uuid"] for instance in instances}
    plan = [
        {"host": entry["host"], "instances": [uuid for uuid in entry["instances"] if uuid not in own]}
        for entry in refresh_plan(state, [], changed)
    ]
    return [entry for entry in plan if entry["instances"]]
