# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a consistent store is, and how to repair the orphans a crash can leave.

Every store transaction is atomic, but a build or a delete is several
transactions; a controller killed between two of them can leave records that
point at nothing (a claim whose instance record is gone, a port of a deleted
instance).  ``find_violations`` is the definition of consistency (see
docs/CONTRACTS.md, "Store consistency"); it is pure, works on the schema-1
data of any backend, and each violation is ``{kind, ids, what, repair}``
where ``repair`` says what ``repair_orphans`` would do, or is None when only
an operator can decide.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.floating_ip import disassociated
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import check_data

# Kinds of violation; the ones in REPAIRABLE are orphans that repair removes.
SCHEMA = "schema"
CLAIM_WITHOUT_INSTANCE = "claim_without_instance"
CLAIM_OF_DELETED_INSTANCE = "claim_of_deleted_instance"
CLAIM_HOST_MISMATCH = "claim_host_mismatch"
PORT_WITHOUT_INSTANCE = "port_without_instance"
PORT_OF_DELETED_INSTANCE = "port_of_deleted_instance"
DUPLICATE_IP = "duplicate_ip"
DUPLICATE_MAC = "duplicate_mac"
NETWORK_INFO_MISMATCH = "network_info_mismatch"
GROUP_MEMBER_WITHOUT_INSTANCE = "group_member_without_instance"
GROUP_MEMBER_DELETED = "group_member_deleted"
FLOATING_IP_WITHOUT_PORT = "floating_ip_without_port"

REPAIRABLE = frozenset(
    (
        CLAIM_WITHOUT_INSTANCE,
        CLAIM_OF_DELETED_INSTANCE,
        PORT_WITHOUT_INSTANCE,
        PORT_OF_DELETED_INSTANCE,
        GROUP_MEMBER_WITHOUT_INSTANCE,
        GROUP_MEMBER_DELETED,
        FLOATING_IP_WITHOUT_PORT,
    )
)

RECORD_KEYS = {
    "instances": ("uuid", "name", "vm_state"),
    "claims": ("host", "vcpus", "memory_mb", "disk_gb"),
    "ports": ("instance_uuid", "mac", "ips"),
    "server_groups": ("uuid", "name", "members"),
    "security_groups": ("uuid", "name", "project_id", "rules"),
    "floating_ips": ("id", "floating_ip_address", "pool", "project_id", "port_id"),
}


# The field of a record that is its key in the collection.
ID_FIELDS = {"instances": "uuid", "server_groups": "uuid", "security_groups": "uuid", "floating_ips": "id"}

# The field of a group's record that must be a list.
LIST_FIELDS = {"server_groups": "members", "security_groups": "rules"}


def violation(kind: str, ids: dict[str, Any], what: str, repair: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "ids": ids, "what": what, "repair": repair}


def _record_problem(collection: str, record_id: str, record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"{collection} record {record_id} is not an object"
    missing = [key for key in RECORD_KEYS[collection] if key not in record]
    if missing:
        return f"{collection} record {record_id} lacks {', '.join(missing)}"
    id_field = ID_FIELDS.get(collection)
    if id_field in record and record[id_field] != record_id:
        return f"{collection} record {record_id} has {id_field} {record[id_field]}"
    if collection == "ports" and not (
        isinstance(record["mac"], str)
        and isinstance(record["ips"], list)
        and all(isinstance(ip, str) for ip in record["ips"])
    ):
        return f"port {record_id} needs a MAC string and a list of IP strings"
    listed = LIST_FIELDS.get(collection)
    if listed is not None and not isinstance(record[listed], list):
        return f"{collection[:-1].replace('_', ' ')} {record_id} has {listed} that are not a list"
    return None


def schema_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Records whose shape keeps them from being cross-checked (``data`` passed ``check_data``)."""
    found = []
    for collection in RECORD_KEYS:
        for record_id, record in data[collection].items():
            problem = _record_problem(collection, record_id, record)
            if problem is not None:
                found.append(violation(SCHEMA, {collection: record_id}, problem))
    return found


def _is_live(instance: dict[str, Any] | None) -> bool:
    return instance is not None and instance["vm_state"] != states.DELETED


def _orphan(
    instances: dict[str, Any], uuid: str, kinds: tuple[str, str], ids: dict[str, Any], subject: str, repair: str
) -> dict[str, Any] | None:
    """The violation of a record whose instance (``kinds``: missing, deleted) is gone, else None."""
    instance = instances.get(uuid)
    if instance is None:
        return violation(kinds[0], ids, f"{subject} instance {uuid}, which does not exist", repair)
    if not _is_live(instance):
        return violation(kinds[1], ids, f"{subject} deleted instance {instance['name']} ({uuid})", repair)
    return None


def _claim_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for uuid, claim in data["claims"].items():
        instance = data["instances"].get(uuid)
        ids = {"claim": uuid, "host": claim["host"]}
        kinds = (CLAIM_WITHOUT_INSTANCE, CLAIM_OF_DELETED_INSTANCE)
        orphan = _orphan(data["instances"], uuid, kinds, ids, f"claim on {claim['host']} for", "drop the claim")
        if orphan is not None:
            found.append(orphan)
        elif instance.get("host") != claim["host"]:
            what = f"claim on {claim['host']} for instance {instance['name']} ({uuid}) on host {instance.get('host')}"
            found.append(violation(CLAIM_HOST_MISMATCH, {**ids, "instance_host": instance.get("host")}, what))
    return found


def _port_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    owners: dict[tuple[str, str], list[str]] = {}
    for port_id, port in data["ports"].items():
        uuid = port["instance_uuid"]
        ids = {"port": port_id, "instance": uuid}
        kinds = (PORT_WITHOUT_INSTANCE, PORT_OF_DELETED_INSTANCE)
        orphan = _orphan(data["instances"], uuid, kinds, ids, f"port {port_id} ({port['mac']}) of", "delete the port")
        if orphan is not None:
            found.append(orphan)
        owners.setdefault(("mac", port["mac"].lower()), []).append(port_id)
        for address in port["ips"]:
            owners.setdefault(("ip", address), []).append(port_id)
    for (kind, value), port_ids in owners.items():
        if len(port_ids) > 1:
            found.append(
                violation(
                    DUPLICATE_MAC if kind == "mac" else DUPLICATE_IP,
                    {"ports": sorted(port_ids), kind: value},
                    f"{kind.upper()} {value} is on {len(port_ids)} ports: {', '.join(sorted(port_ids))}",
                )
            )
    return found


def vif_summary(vif: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(port id, MAC, addresses) of a network_info entry."""
    subnets = (vif.get("network") or {}).get("subnets") or []
    addresses = [ip["address"] for subnet in subnets for ip in subnet.get("ips") or []]
    return vif.get("id"), str(vif.get("address")).lower(), sorted(addresses)


def _network_info_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    held: dict[str, list[tuple[int, tuple[str, str, list[str]]]]] = {}
    for port_id, port in data["ports"].items():
        summary = (port_id, port["mac"].lower(), sorted(port["ips"]))
        held.setdefault(port["instance_uuid"], []).append((port.get("index", 0), summary))
    found = []
    for uuid, instance in data["instances"].items():
        if not _is_live(instance):
            continue
        recorded = [vif_summary(vif) for vif in instance.get("network_info") or []]
        ports = [summary for _index, summary in sorted(held.get(uuid, []), key=lambda item: item[0])]
        if recorded != ports:
            what = (
                f"instance {instance['name']} ({uuid}) records {len(recorded)} VIFs "
                f"{[vif[2] for vif in recorded]} but holds {len(ports)} ports {[port[2] for port in ports]}"
            )
            found.append(violation(NETWORK_INFO_MISMATCH, {"instance": uuid}, what))
    return found


def _group_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for group_uuid, group in data["server_groups"].items():
        for member in group["members"]:
            ids = {"server_group": group_uuid, "instance": member}
            kinds = (GROUP_MEMBER_WITHOUT_INSTANCE, GROUP_MEMBER_DELETED)
            subject = f"server group {group['name']} lists"
            orphan = _orphan(data["instances"], member, kinds, ids, subject, "remove the member")
            if orphan is not None:
                found.append(orphan)
    return found


def _floating_ip_violations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Floating IPs associated with a port the store no longer has (a port cannot go while one is associated)."""
    return [
        violation(
            FLOATING_IP_WITHOUT_PORT,
            {"floating_ip": fip_id, "port": fip["port_id"]},
            f"floating IP {fip['floating_ip_address']} is associated with port {fip['port_id']}, which does not exist",
            "disassociate the floating IP",
        )
        for fip_id, fip in data["floating_ips"].items()
        if fip["port_id"] is not None and fip["port_id"] not in data["ports"]
    ]


def find_violations(data: Any) -> list[dict[str, Any]]:
    """Every way ``data`` breaks the consistency contract; empty when it is consistent."""
    try:
        # A shallow copy: check_data fills in missing collections, which is no change to report.
        checked = check_data(dict(data) if isinstance(data, dict) else data, "data")
    except StoreError as exc:
        return [violation(SCHEMA, {}, exc.message)]
    found = schema_violations(checked)
    if found:
        # Records that lack their keys cannot be cross-checked.
        return found
    return [
        *_claim_violations(checked),
        *_port_violations(checked),
        *_network_info_violations(checked),
        *_group_violations(checked),
        *_floating_ip_violations(checked),
    ]


def record_counts(data: dict[str, Any]) -> dict[str, int]:
    """How many records of each kind the store holds (after any repair): the same on two copies of one store."""
    instances = data.get("instances") or {}
    live = sum(1 for inst in instances.values() if isinstance(inst, dict) and inst.get("vm_state") != states.DELETED)
    counts = {
        kind: len(data.get(kind) or {})
        for kind in ("instances", "claims", "ports", "host_facts", "server_groups", "security_groups", "floating_ips")
    }
    return {**counts, "live_instances": live}


def repairable(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [found for found in violations if found["kind"] in REPAIRABLE]


def repair_orphans(state: Any, violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove the orphans among ``violations`` through the store operations of ``state``; the ones repaired."""
    repaired = []
    for found in repairable(violations):
        ids = found["ids"]
        if found["kind"] in (CLAIM_WITHOUT_INSTANCE, CLAIM_OF_DELETED_INSTANCE):
            removed = state.drop_claim(ids["claim"])
        elif found["kind"] in (PORT_WITHOUT_INSTANCE, PORT_OF_DELETED_INSTANCE):
            for fip in state.floating_ips_where(port_id=ids["port"]):
                state.save_floating_ip(disassociated(fip))
            removed = bool(state.delete_ports([ids["port"]]))
        elif found["kind"] == FLOATING_IP_WITHOUT_PORT:
            fip = state.floating_ip(ids["floating_ip"])
            removed = fip is not None and fip["port_id"] == ids["port"]
            if removed:
                state.save_floating_ip(disassociated(fip))
        else:
            removed = state.remove_group_member(ids["server_group"], ids["instance"])
        if removed:
            repaired.append(found)
    return repaired
