# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""StoreState: the records of one transaction, with Nova's operations on them.

Everything here works on the in-memory schema-1 data; the backend decides
whether and how it is written.  Instance actions and events follow
``nova instance-action-list`` / ``instance-action-show``.
"""

from __future__ import annotations

import copy
import ipaddress
import uuid as uuidlib
from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    Conflict,
    InstanceNotFound,
    InvalidInput,
    NotFound,
    UnexpectedTaskStateError,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import project_of, security_group_usage
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import check_data, empty_data

EVENT_RESULTS = ("Success", "Error")
CLAIM_RESOURCES = ("vcpus", "memory_mb", "disk_gb")


class _Any:
    """Sentinel: save_instance without a task_state check."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()


class InstanceExists(Conflict):
    """A live instance already has this name or uuid."""


class ActionNotFound(NotFound):
    """An event was recorded for an instance without an action (or event) to hang it on."""


def task_state_matches(actual: Any, expected: Any) -> bool:
    if expected is ANY:
        return True
    if isinstance(expected, (tuple, list, set, frozenset)):
        return actual in expected
    return actual == expected


class InstanceRecordRules:
    """Nova's rules for an instance record (found by uuid or name, task_state compare-and-swap, actions and
    events); every backend's state has them, given its ``get_instance`` and ``live_instances_by_name``.

    They work on the dict ``self.instance(uuid)`` returns, which the backend saves with its transaction.
    """

    def get_instance(self, uuid: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def live_instances_by_name(self, names: list[str]) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def instance(self, uuid: str) -> dict[str, Any]:
        found = self.get_instance(uuid)
        if found is None:
            raise InstanceNotFound(uuid)
        return found

    def find_instance(self, name: str) -> dict[str, Any] | None:
        """The live (not deleted) instance called ``name``, oldest first if names repeat."""
        return self.live_instances_by_name([name]).get(name)

    def check_new_instance(self, inst: dict[str, Any]) -> None:
        """InstanceExists when the store has the instance's uuid, or a live instance of its name."""
        if self.get_instance(inst["uuid"]) is not None:
            raise InstanceExists(f"instance {inst['uuid']} already exists", instance=inst["uuid"])
        existing = self.find_instance(inst["name"])
        if existing is not None:
            raise InstanceExists(
                f"an instance named {inst['name']} already exists ({existing['uuid']})",
                instance=existing["uuid"],
                name=inst["name"],
            )

    def save_instance(self, uuid: str, expected_task_state: Any, **updates: Any) -> dict[str, Any]:
        """Nova's instance.save(expected_task_state=...): apply updates only if task_state is as expected.

        ``expected_task_state`` is a value (None included), a tuple of allowed values, or ``ANY``.
        """
        inst = self.instance(uuid)
        if not task_state_matches(inst.get("task_state"), expected_task_state):
            raise UnexpectedTaskStateError(uuid, expected_task_state, inst.get("task_state"))
        inst.update(updates)
        if "updated_at" not in updates:
            inst["updated_at"] = utcnow()
        return inst

    def start_action(self, uuid: str, action: str, now: str, request_id: str | None = None) -> dict[str, Any]:
        record = {
            "action": action,
            "request_id": request_id or f"req-{uuidlib.uuid4()}",
            "start_time": now,
            "finish_time": None,
            "message": None,
            "events": [],
        }
        self.instance(uuid).setdefault("actions", []).append(record)
        return record

    def current_action(self, uuid: str) -> dict[str, Any]:
        actions = self.instance(uuid).get("actions") or []
        if not actions:
            raise ActionNotFound(f"instance {uuid} has no action to record events on", instance=uuid)
        return actions[-1]

    def finish_action(self, uuid: str, now: str, message: str | None = None) -> dict[str, Any]:
        action = self.current_action(uuid)
        action["finish_time"] = now
        if message is not None:
            action["message"] = message
        return action

    def start_event(self, uuid: str, event: str, now: str, host: str | None = None) -> dict[str, Any]:
        record = {
            "event": event,
            "start_time": now,
            "finish_time": None,
            "result": None,
            "host": host,
            "details": None,
        }
        self.current_action(uuid)["events"].append(record)
        return record

    def finish_event(self, uuid: str, event: str, result: str, now: str, details: Any = None) -> dict[str, Any]:
        """Finish the latest ``event`` of the current action; an Error also marks the action, as Nova."""
        if result not in EVENT_RESULTS:
            raise InvalidInput("result", f"must be one of {', '.join(EVENT_RESULTS)}, got {result!r}")
        action = self.current_action(uuid)
        for record in reversed(action["events"]):
            if record["event"] == event:
                break
        else:
            raise ActionNotFound(
                f"instance {uuid}: action {action['action']} has no event {event} to finish",
                instance=uuid,
                event=event,
            )
        record.update(finish_time=now, result=result, details=details)
        if result == "Error":
            action["message"] = "Error"
        return record


def new_usage() -> dict[str, Any]:
    return {"vcpus": 0, "memory_mb": 0, "disk_gb": 0, "instances": 0, "instance_uuids": []}


def discount_claim(usage: dict[str, Any], claim: dict[str, Any]) -> None:
    """Take one claim out of a host's usage (an instance counted as gone)."""
    for key in CLAIM_RESOURCES:
        usage[key] -= int(claim[key])
    usage["instances"] -= 1


def claim_record(host: str, resources: dict[str, int]) -> dict[str, Any]:
    """A claim (placement allocation) of ``resources`` on ``host``; InvalidInput when one is missing."""
    missing = [key for key in CLAIM_RESOURCES if key not in resources]
    if missing:
        raise InvalidInput("resources", f"missing {', '.join(missing)}")
    return {"host": host, **{key: int(resources[key]) for key in CLAIM_RESOURCES}}


class StoreState(InstanceRecordRules):
    """The data of one transaction or snapshot."""

    def __init__(self, data: dict[str, Any] | None = None, where: str = "<memory>") -> None:
        self.data = check_data(data if data is not None else empty_data(), where)
        # What the backend runs after it saved the transaction (notifications: they tell what happened).
        self.on_commit: list[Callable[[], Any]] = []

    def copy(self) -> StoreState:
        return StoreState(copy.deepcopy(self.data))

    # -- instances ---------------------------------------------------------

    @property
    def instances(self) -> dict[str, dict[str, Any]]:
        return self.data["instances"]

    def get_instance(self, uuid: str) -> dict[str, Any] | None:
        """The instance with this uuid, deleted ones included; None when there is none."""
        return self.instances.get(uuid)

    def list_instances(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every instance (the live ones unless ``include_deleted``), oldest first."""
        found = [i for i in self.instances.values() if include_deleted or i["vm_state"] != states.DELETED]
        return sorted(found, key=lambda instance: instance["created_at"])

    def live_instances_by_name(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """name -> its live instance (the oldest if names repeat), for each of ``names`` that has one, in one pass."""
        wanted = set(names)
        found: dict[str, dict[str, Any]] = {}
        for inst in self.instances.values():
            name = inst["name"]
            if name not in wanted or inst["vm_state"] == states.DELETED:
                continue
            if name not in found or inst["created_at"] < found[name]["created_at"]:
                found[name] = inst
        return found

    def add_instance(self, inst: dict[str, Any]) -> dict[str, Any]:
        self.check_new_instance(inst)
        self.instances[inst["uuid"]] = inst
        return inst

    def project_usage(self, project_id: str, excluding: Iterable[str] = ()) -> dict[str, int]:
        """The project's instances, cores and RAM (its instances not deleted, but those ``excluding``)
        and server groups; the whole store is locked, so no other build counts at the same time."""
        skip = set(excluding)
        live = [
            inst
            for inst in self.instances.values()
            if inst["vm_state"] != states.DELETED and project_of(inst) == project_id and inst["uuid"] not in skip
        ]
        return {
            "instances": len(live),
            "cores": sum(int(inst["flavor"]["vcpus"]) for inst in live),
            "ram": sum(int(inst["flavor"]["memory_mb"]) for inst in live),
            "server_groups": sum(project_of(group) == project_id for group in self.server_groups.values()),
            **security_group_usage(group for group in self.security_groups.values() if project_of(group) == project_id),
            "floating_ips": sum(project_of(fip) == project_id for fip in self.floating_ips.values()),
        }

    # -- claims (placement allocations) -------------------------------------

    def claim(self, uuid: str, host: str, resources: dict[str, int]) -> dict[str, Any]:
        """Record (or move) the instance's allocation on ``host``."""
        claim = claim_record(host, resources)
        self.data["claims"][uuid] = claim
        return claim

    def drop_claim(self, uuid: str) -> bool:
        return self.data["claims"].pop(uuid, None) is not None

    def claim_of(self, uuid: str) -> dict[str, Any] | None:
        """The instance's claim ``{host, vcpus, memory_mb, disk_gb}``; None when it holds none."""
        return self.data["claims"].get(uuid)

    def claim_hosts(self, uuids: list[str]) -> dict[str, str]:
        """uuid -> the host it has claimed, for those of ``uuids`` that hold a claim."""
        claims = self.data["claims"]
        return {uuid: claims[uuid]["host"] for uuid in uuids if uuid in claims}

    def claims_by_host(self) -> dict[str, list[dict[str, Any]]]:
        """Each host's claims, each with its ``instance_uuid``."""
        by_host: dict[str, list[dict[str, Any]]] = {}
        for instance_uuid, claim in self.data["claims"].items():
            by_host.setdefault(claim["host"], []).append({"instance_uuid": instance_uuid, **claim})
        return by_host

    def host_usage(self, interest: Iterable[str] = (), excluding: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """What the scheduler needs of each host's claims: host -> {vcpus, memory_mb, disk_gb, instances,
        instance_uuids}, where instance_uuids are those of ``interest`` (a request's hints and group members)
        claimed there, and the claims of ``excluding`` (instances to count as gone) are left out."""
        wanted, gone = set(interest), set(excluding)
        usage: dict[str, dict[str, Any]] = {}
        for uuid, claim in self.data["claims"].items():
            if uuid in gone:
                continue
            host = usage.setdefault(claim["host"], new_usage())
            for key in CLAIM_RESOURCES:
                host[key] += int(claim[key])
            host["instances"] += 1
            if uuid in wanted:
                host["instance_uuids"].append(uuid)
        return usage

    # -- host facts ----------------------------------------------------------

    def host_facts(self, host: str) -> dict[str, Any] | None:
        return self.data["host_facts"].get(host)

    def all_host_facts(self) -> dict[str, dict[str, Any]]:
        return self.data["host_facts"]

    def set_host_facts(self, host: str, facts: dict[str, Any], now: str) -> dict[str, Any]:
        record = {**facts, "updated_at": now}
        self.data["host_facts"][host] = record
        return record

    # -- server groups ----------------------------------------------------------

    @property
    def server_groups(self) -> dict[str, dict[str, Any]]:
        return self.data["server_groups"]

    def server_group(self, uuid: str) -> dict[str, Any] | None:
        return self.server_groups.get(uuid)

    def find_server_group(self, name_or_uuid: str) -> dict[str, Any] | None:
        """A server group by uuid or, failing that, by name."""
        found = self.server_group(name_or_uuid)
        if found is not None:
            return found
        return next((group for group in self.server_groups.values() if group["name"] == name_or_uuid), None)

    def add_server_group(self, group: dict[str, Any]) -> dict[str, Any]:
        existing = self.find_server_group(group["name"])
        if existing is not None:
            raise Conflict(f"a server group named {group['name']} already exists ({existing['uuid']})")
        self.server_groups[group["uuid"]] = group
        return group

    def delete_server_group(self, uuid: str) -> bool:
        return self.server_groups.pop(uuid, None) is not None

    def add_group_members(self, group_uuid: str, instance_uuids: list[str]) -> dict[str, Any]:
        group = self.server_groups[group_uuid]
        group["members"].extend(uuid for uuid in instance_uuids if uuid not in group["members"])
        return group

    def drop_group_member(self, instance_uuid: str) -> list[str]:
        """Take a deleted instance out of every group (Nova does it on delete); the groups it left."""
        left = []
        for group in self.server_groups.values():
            if instance_uuid in group["members"]:
                group["members"].remove(instance_uuid)
                left.append(group["uuid"])
        return left

    def remove_group_member(self, group_uuid: str, instance_uuid: str) -> bool:
        """Take one member out of one group; whether it was there."""
        members = (self.server_group(group_uuid) or {}).get("members") or []
        if instance_uuid not in members:
            return False
        members.remove(instance_uuid)
        return True

    def group_of(self, instance_uuid: str) -> dict[str, Any] | None:
        return next((group for group in self.server_groups.values() if instance_uuid in group["members"]), None)

    # -- security groups ---------------------------------------------------------

    @property
    def security_groups(self) -> dict[str, dict[str, Any]]:
        return self.data["security_groups"]

    def security_group(self, uuid: str) -> dict[str, Any] | None:
        return self.security_groups.get(uuid)

    def find_security_group(self, project_id: str, name_or_uuid: str) -> dict[str, Any] | None:
        """A security group of ``project_id`` by uuid or, failing that, by name (names are unique in a project)."""
        found = self.security_group(name_or_uuid)
        if found is not None and project_of(found) == project_id:
            return found
        return next(
            (
                group
                for group in self.security_groups.values()
                if group["name"] == name_or_uuid and project_of(group) == project_id
            ),
            None,
        )

    def project_security_groups(self, project_id: str) -> list[dict[str, Any]]:
        return sorted(
            (group for group in self.security_groups.values() if project_of(group) == project_id),
            key=lambda group: group["name"],
        )

    def add_security_group(self, group: dict[str, Any]) -> dict[str, Any]:
        existing = self.find_security_group(project_of(group), group["name"])
        if existing is not None:
            raise Conflict(
                f"a security group named {group['name']} already exists in project {project_of(group)} "
                f"({existing['uuid']})"
            )
        self.security_groups[group["uuid"]] = group
        return group

    def save_security_group(self, group: dict[str, Any]) -> dict[str, Any]:
        """The group's new description and rules, in place of its record."""
        self.security_groups[group["uuid"]] = group
        return group

    def delete_security_group(self, uuid: str) -> bool:
        return self.security_groups.pop(uuid, None) is not None

    def security_group_members(self, uuid: str) -> list[str]:
        """The instances (not deleted) whose ports the group's rules apply to, by uuid."""
        return sorted(
            inst["uuid"]
            for inst in self.instances.values()
            if inst["vm_state"] != states.DELETED and uuid in (inst.get("security_groups") or [])
        )

    # -- floating IPs (Neutron's, see compute/floating_ips.py) ------------------

    @property
    def floating_ips(self) -> dict[str, dict[str, Any]]:
        return self.data["floating_ips"]

    def floating_ip(self, fip_id: str) -> dict[str, Any] | None:
        return self.floating_ips.get(fip_id)

    def find_floating_ip(self, address: str) -> dict[str, Any] | None:
        return next((fip for fip in self.floating_ips.values() if fip["floating_ip_address"] == address), None)

    def floating_ips_where(self, **fields: Any) -> list[dict[str, Any]]:
        """The floating IPs whose record has these values (project_id, pool, instance_uuid, host), by address."""
        found = [
            fip for fip in self.floating_ips.values() if all(fip.get(key) == value for key, value in fields.items())
        ]
        return sorted(found, key=lambda fip: ipaddress.IPv4Address(fip["floating_ip_address"]))

    def _check_floating_ip(self, fip: dict[str, Any]) -> None:
        """Conflict when another floating IP has the address, or the same fixed IP of the same port."""
        for other in self.floating_ips.values():
            if other["id"] == fip["id"]:
                continue
            if other["floating_ip_address"] == fip["floating_ip_address"]:
                raise Conflict(
                    f"floating IP {fip['floating_ip_address']} is allocated already ({other['id']})",
                    floating_ip=other["id"],
                )
            if fip.get("port_id") is not None and (other.get("port_id"), other.get("fixed_ip_address")) == (
                fip["port_id"],
                fip["fixed_ip_address"],
            ):
                raise Conflict(
                    f"fixed IP {fip['fixed_ip_address']} of port {fip['port_id']} has floating IP "
                    f"{other['floating_ip_address']} already",
                    floating_ip=other["id"],
                )

    def add_floating_ip(self, fip: dict[str, Any]) -> dict[str, Any]:
        self._check_floating_ip(fip)
        self.floating_ips[fip["id"]] = fip
        return fip

    def save_floating_ip(self, fip: dict[str, Any]) -> dict[str, Any]:
        """The floating IP's new association (or none), in place of its record."""
        self._check_floating_ip(fip)
        self.floating_ips[fip["id"]] = fip
        return fip

    def delete_floating_ip(self, fip_id: str) -> bool:
        return self.floating_ips.pop(fip_id, None) is not None

    # -- ports (see network.api) ----------------------------------------------

    @property
    def ports(self) -> dict[str, dict[str, Any]]:
        return self.data["ports"]

    def ports_of_instance(self, instance_uuid: str) -> dict[str, dict[str, Any]]:
        """port_id -> port for the instance's ports, in request order."""
        found = [(port_id, port) for port_id, port in self.ports.items() if port["instance_uuid"] == instance_uuid]
        return dict(sorted(found, key=lambda item: item[1].get("index", 0)))

    def add_ports(self, ports: dict[str, dict[str, Any]]) -> None:
        taken = sorted(set(ports) & set(self.ports))
        if taken:
            raise Conflict(f"port {taken[0]} already exists", port=taken[0])
        self.ports.update(ports)

    def delete_ports(self, port_ids: list[str]) -> list[str]:
        """Delete these ports; the ids of those that existed. A port a floating IP is associated with is refused,
        as PostgreSQL's foreign key refuses it: disassociate first."""
        held = sorted(
            fip["floating_ip_address"] for fip in self.floating_ips.values() if fip.get("port_id") in port_ids
        )
        if held:
            raise Conflict(f"ports {', '.join(port_ids)} have floating IPs associated: {', '.join(held)}")
        return [port_id for port_id in port_ids if self.ports.pop(port_id, None) is not None]

    def port_exists(self, port_id: str) -> bool:
        return port_id in self.ports

    def macs_in_use(self) -> set[str]:
        """The MACs of every port, lower case (a container: ``mac in macs_in_use()``)."""
        return {port["mac"].lower() for port in self.ports.values()}

    def ips_in_use(self, cidrs: list[str] | None = None) -> set[str]:
        """At least every address in use within ``cidrs`` (here: every address of every port)."""
        del cidrs  # one pass over the ports costs less than testing each address against the subnets
        return {address for port in self.ports.values() for address in port["ips"]}

    def count_ports_on_network(self, network: str) -> int:
        return sum(1 for port in self.ports.values() if port["network"] == network)

    # -- whole store ------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The schema-1 data of the whole store (this state's own data: copy it before changing it)."""
        return self.data

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` once the transaction has been saved (never when it fails or is a snapshot)."""
        self.on_commit.append(callback)
