# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PgState: the store's operations over PostgreSQL, touching only the rows each one needs.

Instances are read with ``SELECT ... FOR UPDATE`` inside a transaction, so the
compare-and-swap of ``save_instance`` is made on a locked row; the records
read are kept (an identity map, as an ORM's session) and the ones that changed
are written back before the next query on instances and at commit. Claims,
ports and host facts are written at once.

Claims follow placement's generation check: the usage a transaction read for a
host (``host_usage``, one row per host that a trigger on the claims keeps)
must, with its own claims added, still be the usage there when it claims on
that host; the claim locks that row to commit. Otherwise StoreRetry, and the
caller schedules again. A server
group read in a transaction is locked, so two builds into one group take turns.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    Conflict,
    StoreError,
    StoreRetry,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import project_of
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import SCHEMA_VERSION as DATA_SCHEMA
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import (
    CLAIM_RESOURCES,
    InstanceRecordRules,
    claim_record,
    discount_claim,
)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


# The columns of a floating IP's row a lookup may name (floating_ips_where).
FLOATING_IP_COLUMNS = frozenset({"project_id", "pool", "instance_uuid", "host", "port_id"})


def _floating_ip_row(fip: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": fip["id"],
        "address": fip["floating_ip_address"],
        "pool": fip["pool"],
        "project_id": project_of(fip),
        "port_id": fip.get("port_id"),
        "fixed_ip_address": fip.get("fixed_ip_address"),
        "instance_uuid": fip.get("instance_uuid"),
        "host": fip.get("host"),
        "record": _dump(fip),
    }


def _instance_row(inst: dict[str, Any]) -> dict[str, Any]:
    record = {key: value for key, value in inst.items() if key != "actions"}
    return {
        "uuid": inst["uuid"],
        "name": inst["name"],
        "project_id": project_of(inst),
        "vm_state": inst["vm_state"],
        "task_state": inst.get("task_state"),
        "host": inst.get("host"),
        "created_at": inst["created_at"],
        "record": _dump(record),
    }


class _Loaded:
    """An instance as read: its record, and the JSON of it and of each action, to find what changed."""

    def __init__(self, inst: dict[str, Any]) -> None:
        self.inst = inst
        self.mark_saved()

    def mark_saved(self) -> None:
        self.row = _instance_row(self.inst)
        self.actions = [_dump(action) for action in self.inst.get("actions") or []]


class _MacsInUse:
    """``mac in macs`` asks the database about that one MAC."""

    def __init__(self, sql: Callable[..., Any]) -> None:
        self.sql = sql

    def __contains__(self, mac: object) -> bool:
        if not isinstance(mac, str):
            return False
        return self.sql("SELECT 1 FROM nimbus.ports WHERE mac = %s", (mac.lower(),)).fetchone() is not None


class PgState(InstanceRecordRules):
    """One transaction's (or one snapshot's) view of the PostgreSQL store."""

    def __init__(
        self,
        conn: Any,
        where: str,
        database_error: type[BaseException],
        translate: Callable[[BaseException], StoreError],
        writable: bool = True,
    ) -> None:
        self.conn = conn
        self.where = where
        self.database_error = database_error
        self.translate = translate
        self.writable = writable
        self.lock = " FOR UPDATE" if writable else ""
        self.on_commit: list[Callable[[], Any]] = []
        self._loaded: dict[str, _Loaded] = {}
        # host -> (vcpus, memory_mb, disk_gb, instances) as host_usage last read them (None: never read), and
        # what this transaction's own claims have changed there since.
        self._seen_usage: dict[str, tuple[int, int, int, int]] | None = None
        self._own_usage: dict[str, tuple[int, ...]] = {}

    def _sql(self, query: str, params: Any = None) -> Any:
        try:
            return self.conn.execute(query, params)
        except self.database_error as exc:
            raise self.translate(exc) from None

    def _writing(self, what: str) -> None:
        if not self.writable:
            raise StoreError(f"store {self.where}: {what} in a read-only snapshot", path=self.where)

    # -- instances -------------------------------------------------------------

    def _instances_where(self, condition: str, params: tuple[Any, ...], lock: bool = True) -> list[dict[str, Any]]:
        self.flush()
        rows = self._sql(
            f"SELECT uuid, record FROM nimbus.instances WHERE {condition} ORDER BY created_at, uuid"
            f"{self.lock if lock else ''}",
            params,
        ).fetchall()
        fresh = [uuid for uuid, _record in rows if uuid not in self._loaded]
        actions: dict[str, list[Any]] = {uuid: [] for uuid in fresh}
        if fresh:
            for uuid, record in self._sql(
                "SELECT instance_uuid, record FROM nimbus.instance_actions WHERE instance_uuid = ANY(%s) "
                "ORDER BY instance_uuid, seq",
                (fresh,),
            ):
                actions[uuid].append(record)
        for uuid, record in rows:
            if uuid in fresh:
                self._loaded[uuid] = _Loaded({**record, "actions": actions[uuid]})
        return [self._loaded[uuid].inst for uuid, _record in rows]

    def get_instance(self, uuid: str) -> dict[str, Any] | None:
        if uuid in self._loaded:
            return self._loaded[uuid].inst
        found = self._instances_where("uuid = %s", (uuid,))
        return found[0] if found else None

    def list_instances(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        condition = "TRUE" if include_deleted else "vm_state <> %s"
        return self._instances_where(condition, () if include_deleted else (states.DELETED,), lock=False)

    def live_instances_by_name(self, names: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for inst in self._instances_where("name = ANY(%s) AND vm_state <> %s", (list(names), states.DELETED)):
            found.setdefault(inst["name"], inst)
        return found

    def project_usage(self, project_id: str, excluding: Iterable[str] = ()) -> dict[str, int]:
        """The project's instances, cores, RAM and server groups, as StoreState.project_usage counts them.

        A writing transaction first takes the project's lock (an advisory lock until commit): builds of one
        project count and claim in turn, so two of them never both take the last room of a quota.
        """
        self.flush()
        if self.writable:
            self._sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"nimbus.project_usage:{project_id}",))
        instances, cores, ram = self._sql(
            "SELECT count(*), coalesce(sum((record->'flavor'->>'vcpus')::bigint), 0), "
            "coalesce(sum((record->'flavor'->>'memory_mb')::bigint), 0) FROM nimbus.instances "
            "WHERE project_id = %s AND vm_state <> %s AND NOT uuid = ANY(%s)",
            (project_id, states.DELETED, list(excluding)),
        ).fetchone()
        (groups,) = self._sql(
            "SELECT count(*) FROM nimbus.server_groups WHERE project_id = %s", (project_id,)
        ).fetchone()
        security_groups, security_group_rules = self._sql(
            "SELECT count(*), coalesce(sum(jsonb_array_length(record->'rules')), 0) "
            "FROM nimbus.security_groups WHERE project_id = %s",
            (project_id,),
        ).fetchone()
        (floating_ips,) = self._sql(
            "SELECT count(*) FROM nimbus.floating_ips WHERE project_id = %s", (project_id,)
        ).fetchone()
        return {
            "instances": instances,
            "cores": cores,
            "ram": ram,
            "server_groups": groups,
            "security_groups": security_groups,
            "security_group_rules": security_group_rules,
            "floating_ips": floating_ips,
        }

    def add_instance(self, inst: dict[str, Any]) -> dict[str, Any]:
        self._writing("add_instance")
        self.check_new_instance(inst)
        self._sql(
            "INSERT INTO nimbus.instances (uuid, name, project_id, vm_state, task_state, host, created_at, record) "
            "VALUES (%(uuid)s, %(name)s, %(project_id)s, %(vm_state)s, %(task_state)s, %(host)s, %(created_at)s, "
            "%(record)s::jsonb)",
            _instance_row(inst),
        )
        inst.setdefault("actions", [])
        loaded = _Loaded(inst)
        loaded.actions = []
        self._loaded[inst["uuid"]] = loaded
        return inst

    def flush(self) -> None:
        """Write back the instances read in this transaction that changed since."""
        if not self.writable:
            return
        for uuid, loaded in self._loaded.items():
            row = _instance_row(loaded.inst)
            if row != loaded.row:
                self._sql(
                    "UPDATE nimbus.instances SET name = %(name)s, project_id = %(project_id)s, "
                    "vm_state = %(vm_state)s, task_state = %(task_state)s, host = %(host)s, record = %(record)s::jsonb "
                    "WHERE uuid = %(uuid)s",
                    row,
                )
            for seq, action in enumerate(loaded.inst.get("actions") or []):
                dumped = _dump(action)
                if seq < len(loaded.actions) and dumped == loaded.actions[seq]:
                    continue
                self._sql(
                    "INSERT INTO nimbus.instance_actions (instance_uuid, seq, action, request_id, record) "
                    "VALUES (%s, %s, %s, %s, %s::jsonb) ON CONFLICT (instance_uuid, seq) DO UPDATE SET "
                    "action = EXCLUDED.action, request_id = EXCLUDED.request_id, record = EXCLUDED.record",
                    (uuid, seq, action["action"], action["request_id"], dumped),
                )
            loaded.mark_saved()

    # -- claims ------------------------------------------------------------------

    def claim(self, uuid: str, host: str, resources: dict[str, int]) -> dict[str, Any]:
        self._writing("claim")
        claim = claim_record(host, resources)
        if self._seen_usage is not None:
            self._check_usage_unchanged(host)
            self._count_own(self.claim_of(uuid), -1)
            self._count_own(claim, +1)
        self._sql(
            "INSERT INTO nimbus.claims (instance_uuid, host, vcpus, memory_mb, disk_gb) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (instance_uuid) DO UPDATE SET host = EXCLUDED.host, "
            "vcpus = EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb, disk_gb = EXCLUDED.disk_gb",
            (uuid, host, *(claim[key] for key in CLAIM_RESOURCES)),
        )
        return claim

    def _count_own(self, claim: dict[str, Any] | None, sign: int) -> None:
        """Note what this transaction's own claim changes do to a host's usage row (the trigger's work)."""
        if claim is None:
            return
        before = self._own_usage.get(claim["host"], (0, 0, 0, 0))
        change = (*(sign * claim[key] for key in CLAIM_RESOURCES), sign)
        self._own_usage[claim["host"]] = tuple(a + b for a, b in zip(before, change, strict=True))

    def _check_usage_unchanged(self, host: str) -> None:
        """StoreRetry unless ``host``'s usage is what host_usage read plus this transaction's own claims.

        The host's usage row is locked to commit: a second claim on the host waits, then sees this one.
        """
        self._sql("INSERT INTO nimbus.host_usage (host) VALUES (%s) ON CONFLICT (host) DO NOTHING", (host,))
        now = tuple(
            self._sql(
                "SELECT vcpus, memory_mb, disk_gb, instances FROM nimbus.host_usage WHERE host = %s FOR UPDATE",
                (host,),
            ).fetchone()
        )
        seen = self._seen_usage.get(host, (0, 0, 0, 0))
        own = self._own_usage.get(host, (0, 0, 0, 0))
        if now != tuple(a + b for a, b in zip(seen, own, strict=True)):
            raise StoreRetry(
                f"store {self.where}: the claims on host {host} changed while this build was scheduled", host=host
            )

    def drop_claim(self, uuid: str) -> bool:
        self._writing("drop_claim")
        rows = self._sql(
            "DELETE FROM nimbus.claims WHERE instance_uuid = %s RETURNING host, vcpus, memory_mb, disk_gb", (uuid,)
        ).fetchall()
        if rows and self._seen_usage is not None:
            self._count_own(dict(zip(("host", *CLAIM_RESOURCES), rows[0], strict=True)), -1)
        return bool(rows)

    def claim_of(self, uuid: str) -> dict[str, Any] | None:
        row = self._sql(
            "SELECT host, vcpus, memory_mb, disk_gb FROM nimbus.claims WHERE instance_uuid = %s", (uuid,)
        ).fetchone()
        return None if row is None else dict(zip(("host", *CLAIM_RESOURCES), row, strict=True))

    def claim_hosts(self, uuids: list[str]) -> dict[str, str]:
        if not uuids:
            return {}
        rows = self._sql("SELECT instance_uuid, host FROM nimbus.claims WHERE instance_uuid = ANY(%s)", (list(uuids),))
        return dict(rows.fetchall())

    def claims_by_host(self) -> dict[str, list[dict[str, Any]]]:
        by_host: dict[str, list[dict[str, Any]]] = {}
        for uuid, host, *amounts in self._sql(
            "SELECT instance_uuid, host, vcpus, memory_mb, disk_gb FROM nimbus.claims ORDER BY instance_uuid"
        ):
            by_host.setdefault(host, []).append(
                {"instance_uuid": uuid, "host": host, **dict(zip(CLAIM_RESOURCES, amounts, strict=True))}
            )
        return by_host

    def host_usage(self, interest: Iterable[str] = (), excluding: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """Each host's usage from the trigger-kept sums (one row per host), as StoreState.host_usage."""
        usage: dict[str, dict[str, Any]] = {}
        seen: dict[str, tuple[int, int, int, int]] = {}
        for host, vcpus, memory_mb, disk_gb, instances in self._sql(
            "SELECT host, vcpus, memory_mb, disk_gb, instances FROM nimbus.host_usage"
        ):
            seen[host] = (vcpus, memory_mb, disk_gb, instances)
            usage[host] = {
                "vcpus": vcpus,
                "memory_mb": memory_mb,
                "disk_gb": disk_gb,
                "instances": instances,
                "instance_uuids": [],
            }
        if self.writable:
            # What a claim on any of these hosts must still find there (_check_usage_unchanged).
            self._seen_usage, self._own_usage = seen, {}
        gone = list(dict.fromkeys(excluding))
        for uuid, host in self.claim_hosts([uuid for uuid in dict.fromkeys(interest) if uuid not in gone]).items():
            usage[host]["instance_uuids"].append(uuid)
        for uuid in gone:
            claim = self.claim_of(uuid)
            if claim is not None:
                discount_claim(usage[claim["host"]], claim)
        return usage

    # -- host facts ----------------------------------------------------------------

    def host_facts(self, host: str) -> dict[str, Any] | None:
        row = self._sql("SELECT record FROM nimbus.host_facts WHERE host = %s", (host,)).fetchone()
        return None if row is None else row[0]

    def all_host_facts(self) -> dict[str, dict[str, Any]]:
        return dict(self._sql("SELECT host, record FROM nimbus.host_facts ORDER BY host").fetchall())

    def set_host_facts(self, host: str, facts: dict[str, Any], now: str) -> dict[str, Any]:
        self._writing("set_host_facts")
        record = {**facts, "updated_at": now}
        self._sql(
            "INSERT INTO nimbus.host_facts (host, record) VALUES (%s, %s::jsonb) "
            "ON CONFLICT (host) DO UPDATE SET record = EXCLUDED.record",
            (host, _dump(record)),
        )
        return record

    # -- server groups --------------------------------------------------------------

    def _groups_where(self, condition: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self._sql(
            f"SELECT uuid, record FROM nimbus.server_groups WHERE {condition} ORDER BY uuid{self.lock}", params
        ).fetchall()
        groups = []
        for uuid, record in rows:
            members = self._sql(
                "SELECT instance_uuid FROM nimbus.server_group_members WHERE group_uuid = %s ORDER BY position",
                (uuid,),
            )
            groups.append({**record, "members": [row[0] for row in members]})
        return groups

    def server_group(self, uuid: str) -> dict[str, Any] | None:
        found = self._groups_where("uuid = %s", (uuid,))
        return found[0] if found else None

    def find_server_group(self, name_or_uuid: str) -> dict[str, Any] | None:
        found = self._groups_where("uuid = %s OR name = %s", (name_or_uuid, name_or_uuid))
        by_uuid = [group for group in found if group["uuid"] == name_or_uuid]
        return (by_uuid or found or [None])[0]

    def add_server_group(self, group: dict[str, Any]) -> dict[str, Any]:
        self._writing("add_server_group")
        existing = self.find_server_group(group["name"])
        if existing is not None:
            raise Conflict(f"a server group named {group['name']} already exists ({existing['uuid']})")
        record = {key: value for key, value in group.items() if key != "members"}
        self._sql(
            "INSERT INTO nimbus.server_groups (uuid, name, project_id, record) VALUES (%s, %s, %s, %s::jsonb)",
            (group["uuid"], group["name"], project_of(group), _dump(record)),
        )
        self.add_group_members(group["uuid"], list(group.get("members") or []))
        return group

    def delete_server_group(self, uuid: str) -> bool:
        self._writing("delete_server_group")
        return self._sql("DELETE FROM nimbus.server_groups WHERE uuid = %s", (uuid,)).rowcount > 0

    def add_group_members(self, group_uuid: str, instance_uuids: list[str]) -> dict[str, Any]:
        self._writing("add_group_members")
        self.flush()
        self._sql(
            "INSERT INTO nimbus.server_group_members (group_uuid, instance_uuid, position) "
            "SELECT %s, member, (SELECT coalesce(max(position), -1) FROM nimbus.server_group_members "
            "WHERE group_uuid = %s) + ordinality FROM unnest(%s::text[]) WITH ORDINALITY AS m(member, ordinality) "
            "ON CONFLICT DO NOTHING",
            (group_uuid, group_uuid, list(instance_uuids)),
        )
        return self.server_group(group_uuid) or {}

    def remove_group_member(self, group_uuid: str, instance_uuid: str) -> bool:
        self._writing("remove_group_member")
        return (
            self._sql(
                "DELETE FROM nimbus.server_group_members WHERE group_uuid = %s AND instance_uuid = %s",
                (group_uuid, instance_uuid),
            ).rowcount
            > 0
        )

    def drop_group_member(self, instance_uuid: str) -> list[str]:
        self._writing("drop_group_member")
        rows = self._sql(
            "DELETE FROM nimbus.server_group_members WHERE instance_uuid = %s RETURNING group_uuid", (instance_uuid,)
        )
        return sorted(row[0] for row in rows)

    def group_of(self, instance_uuid: str) -> dict[str, Any] | None:
        row = self._sql(
            "SELECT group_uuid FROM nimbus.server_group_members WHERE instance_uuid = %s ORDER BY group_uuid LIMIT 1",
            (instance_uuid,),
        ).fetchone()
        return None if row is None else self.server_group(row[0])

    # -- security groups -------------------------------------------------------------

    def _security_groups_where(self, condition: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self._sql(
            f"SELECT record FROM nimbus.security_groups WHERE {condition} ORDER BY name, uuid{self.lock}", params
        )
        return [row[0] for row in rows]

    def security_group(self, uuid: str) -> dict[str, Any] | None:
        found = self._security_groups_where("uuid = %s", (uuid,))
        return found[0] if found else None

    def find_security_group(self, project_id: str, name_or_uuid: str) -> dict[str, Any] | None:
        found = self._security_groups_where(
            "project_id = %s AND (uuid = %s OR name = %s)", (project_id, name_or_uuid, name_or_uuid)
        )
        by_uuid = [group for group in found if group["uuid"] == name_or_uuid]
        return (by_uuid or found or [None])[0]

    def project_security_groups(self, project_id: str) -> list[dict[str, Any]]:
        return self._security_groups_where("project_id = %s", (project_id,))

    def add_security_group(self, group: dict[str, Any]) -> dict[str, Any]:
        self._writing("add_security_group")
        existing = self.find_security_group(project_of(group), group["name"])
        if existing is not None:
            raise Conflict(
                f"a security group named {group['name']} already exists in project {project_of(group)} "
                f"({existing['uuid']})"
            )
        self._sql(
            "INSERT INTO nimbus.security_groups (uuid, name, project_id, record) VALUES (%s, %s, %s, %s::jsonb)",
            (group["uuid"], group["name"], project_of(group), _dump(group)),
        )
        return group

    def save_security_group(self, group: dict[str, Any]) -> dict[str, Any]:
        self._writing("save_security_group")
        self._sql("UPDATE nimbus.security_groups SET record = %s::jsonb WHERE uuid = %s", (_dump(group), group["uuid"]))
        return group

    def delete_security_group(self, uuid: str) -> bool:
        self._writing("delete_security_group")
        return self._sql("DELETE FROM nimbus.security_groups WHERE uuid = %s", (uuid,)).rowcount > 0

    def security_group_members(self, uuid: str) -> list[str]:
        self.flush()
        rows = self._sql(
            "SELECT uuid FROM nimbus.instances WHERE vm_state <> %s AND record->'security_groups' ? %s ORDER BY uuid",
            (states.DELETED, uuid),
        )
        return [row[0] for row in rows]

    # -- floating IPs ----------------------------------------------------------------

    def _floating_ips_where(self, condition: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self._sql(
            f"SELECT record FROM nimbus.floating_ips WHERE {condition} ORDER BY address{self.lock}", params
        )
        return [row[0] for row in rows]

    def floating_ip(self, fip_id: str) -> dict[str, Any] | None:
        found = self._floating_ips_where("id = %s", (fip_id,))
        return found[0] if found else None

    def find_floating_ip(self, address: str) -> dict[str, Any] | None:
        found = self._floating_ips_where("address = %s::inet", (address,))
        return found[0] if found else None

    def floating_ips_where(self, **fields: Any) -> list[dict[str, Any]]:
        """As StoreState.floating_ips_where; the fields are columns (project_id, pool, instance_uuid, host)."""
        if not set(fields) <= FLOATING_IP_COLUMNS:
            raise ValueError(
                f"floating IPs are not looked up by {', '.join(sorted(set(fields) - FLOATING_IP_COLUMNS))}"
            )
        condition = " AND ".join(f"{column} = %s" for column in sorted(fields)) or "TRUE"
        return self._floating_ips_where(condition, tuple(fields[column] for column in sorted(fields)))

    def _check_floating_ip(self, fip: dict[str, Any]) -> None:
        other = self.find_floating_ip(fip["floating_ip_address"])
        if other is not None and other["id"] != fip["id"]:
            raise Conflict(
                f"floating IP {fip['floating_ip_address']} is allocated already ({other['id']})",
                floating_ip=other["id"],
            )
        if fip.get("port_id") is None:
            return
        other = next(
            iter(
                self._floating_ips_where(
                    "port_id = %s AND fixed_ip_address = %s::inet AND id <> %s",
                    (fip["port_id"], fip["fixed_ip_address"], fip["id"]),
                )
            ),
            None,
        )
        if other is not None:
            raise Conflict(
                f"fixed IP {fip['fixed_ip_address']} of port {fip['port_id']} has floating IP "
                f"{other['floating_ip_address']} already",
                floating_ip=other["id"],
            )

    def add_floating_ip(self, fip: dict[str, Any]) -> dict[str, Any]:
        self._writing("add_floating_ip")
        self.flush()
        self._check_floating_ip(fip)
        self._sql(
            "INSERT INTO nimbus.floating_ips (id, address, pool, project_id, port_id, fixed_ip_address, "
            "instance_uuid, host, record) VALUES (%(id)s, %(address)s::inet, %(pool)s, %(project_id)s, %(port_id)s, "
            "%(fixed_ip_address)s::inet, %(instance_uuid)s, %(host)s, %(record)s::jsonb)",
            _floating_ip_row(fip),
        )
        return fip

    def save_floating_ip(self, fip: dict[str, Any]) -> dict[str, Any]:
        self._writing("save_floating_ip")
        self.flush()
        self._check_floating_ip(fip)
        self._sql(
            "UPDATE nimbus.floating_ips SET port_id = %(port_id)s, fixed_ip_address = %(fixed_ip_address)s::inet, "
            "instance_uuid = %(instance_uuid)s, host = %(host)s, record = %(record)s::jsonb WHERE id = %(id)s",
            _floating_ip_row(fip),
        )
        return fip

    def delete_floating_ip(self, fip_id: str) -> bool:
        self._writing("delete_floating_ip")
        return self._sql("DELETE FROM nimbus.floating_ips WHERE id = %s", (fip_id,)).rowcount > 0

    # -- ports -----------------------------------------------------------------------

    def ports_of_instance(self, instance_uuid: str) -> dict[str, dict[str, Any]]:
        rows = self._sql(
            "SELECT id, record FROM nimbus.ports WHERE instance_uuid = %s ORDER BY position", (instance_uuid,)
        )
        return dict(rows.fetchall())

    def add_ports(self, ports: dict[str, dict[str, Any]]) -> None:
        self._writing("add_ports")
        self.flush()
        for port_id, port in ports.items():
            self._sql(
                "INSERT INTO nimbus.ports (id, instance_uuid, network, mac, position, record) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
                (
                    port_id,
                    port["instance_uuid"],
                    port["network"],
                    port["mac"].lower(),
                    port.get("index", 0),
                    _dump(port),
                ),
            )
            for address in port["ips"]:
                self._sql(
                    "INSERT INTO nimbus.port_ips (port_id, network, address) VALUES (%s, %s, %s::inet)",
                    (port_id, port["network"], address),
                )

    def delete_ports(self, port_ids: list[str]) -> list[str]:
        self._writing("delete_ports")
        rows = self._sql("DELETE FROM nimbus.ports WHERE id = ANY(%s) RETURNING id", (list(port_ids),))
        deleted = {row[0] for row in rows}
        return [port_id for port_id in port_ids if port_id in deleted]

    def port_exists(self, port_id: str) -> bool:
        return self._sql("SELECT 1 FROM nimbus.ports WHERE id = %s", (port_id,)).fetchone() is not None

    def macs_in_use(self) -> _MacsInUse:
        return _MacsInUse(self._sql)

    def ips_in_use(self, cidrs: list[str] | None = None) -> set[str]:
        if cidrs is None:
            rows = self._sql("SELECT host(address) FROM nimbus.port_ips")
        else:
            rows = self._sql(
                "SELECT host(address) FROM nimbus.port_ips WHERE address <<= ANY(%s::inet[])", (list(cidrs),)
            )
        return {row[0] for row in rows}

    def count_ports_on_network(self, network: str) -> int:
        return self._sql("SELECT count(*) FROM nimbus.ports WHERE network = %s", (network,)).fetchone()[0]

    # -- whole store -------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The schema-1 data of the whole store, as the JSON store would hold it; a snapshot's, in one read."""
        if self.writable:
            return self._export()
        try:
            with self.conn.transaction():
                self._sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return self._export()
        except self.database_error as exc:
            raise self.translate(exc) from None

    def _export(self) -> dict[str, Any]:
        self.flush()
        instances = {inst["uuid"]: copy.deepcopy(inst) for inst in self.list_instances(include_deleted=True)}
        claims = {
            uuid: dict(zip(("host", *CLAIM_RESOURCES), amounts, strict=True))
            for uuid, *amounts in self._sql(
                "SELECT instance_uuid, host, vcpus, memory_mb, disk_gb FROM nimbus.claims ORDER BY instance_uuid"
            )
        }
        ports = dict(self._sql("SELECT id, record FROM nimbus.ports ORDER BY id").fetchall())
        groups = {group["uuid"]: group for group in self._groups_where("TRUE", ())}
        return {
            "schema": DATA_SCHEMA,
            "instances": instances,
            "claims": claims,
            "ports": ports,
            "host_facts": self.all_host_facts(),
            "server_groups": groups,
            "security_groups": {group["uuid"]: group for group in self._security_groups_where("TRUE", ())},
            "floating_ips": {fip["id"]: fip for fip in self._floating_ips_where("TRUE", ())},
        }

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self.on_commit.append(callback)
