# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Body of the store_migrate module: create or upgrade the PostgreSQL store's schema, copy a JSON store into it.

Everything happens in one transaction: the schema is created (or upgraded)
and every record of the JSON store copied, or nothing is. A record already in
PostgreSQL (same uuid, port id or host) is left as it is, so a second run
copies nothing and changes nothing. Check mode does the same work and rolls
it back, so what it reports is what a real run does.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.store import consistency, pg_schema
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import store_url, url_field
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.pg_store import PostgresStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import URL_ENV, check_path, check_url

RECORD_KINDS = ("instances", "server_groups", "security_groups", "claims", "ports", "floating_ips", "host_facts")


def consistent_source(path: str) -> dict[str, Any]:
    """The JSON store's data; StoreError naming ``source_path`` when it breaks the consistency contract."""
    store = JSONStore(check_path(path, "source_path"))
    data = store.snapshot().export()
    violations = consistency.find_violations(data)
    if violations:
        raise StoreError(
            f"source_path {store.path} has {len(violations)} consistency violation(s), the first: "
            f"{violations[0]['what']}; run nimbus.compute.store_check with repair=true on it (and resolve what it "
            "leaves) before copying it",
            path=store.path,
        )
    return data


def _set_host_facts(state: Any, host: str, record: dict[str, Any]) -> None:
    record = dict(record)
    updated_at = record.pop("updated_at", None)
    state.set_host_facts(host, record, updated_at)


# Each kind of record: whether the store has it already, and how to add it.
_KINDS: dict[str, tuple[Any, Any]] = {
    "instances": (lambda state, key: state.get_instance(key), lambda state, key, record: state.add_instance(record)),
    "server_groups": (
        lambda state, key: state.server_group(key),
        lambda state, key, record: state.add_server_group(record),
    ),
    "security_groups": (
        lambda state, key: state.security_group(key),
        lambda state, key, record: state.add_security_group(record),
    ),
    "claims": (
        lambda state, key: state.claim_of(key),
        lambda state, key, record: state.claim(key, record["host"], record),
    ),
    "ports": (
        lambda state, key: state.port_exists(key) or None,
        lambda state, key, record: state.add_ports({key: record}),
    ),
    "floating_ips": (
        lambda state, key: state.floating_ip(key),
        lambda state, key, record: state.add_floating_ip(record),
    ),
    "host_facts": (lambda state, key: state.host_facts(key), _set_host_facts),
}


def _copy_one(state: Any, kind: str, key: str, record: dict[str, Any]) -> bool:
    """Copy one record unless the store has it already; whether it was copied."""
    present, add = _KINDS[kind]
    if present(state, key) is not None:
        return False
    add(state, key, copy.deepcopy(record))
    return True


def copy_records(state: Any, data: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """Copy every record of ``data`` the store does not have; (copied, already there) counts by kind."""
    copied = dict.fromkeys(RECORD_KINDS, 0)
    present = dict.fromkeys(RECORD_KINDS, 0)
    instances = sorted(data["instances"].items(), key=lambda item: (item[1]["created_at"], item[0]))
    for kind in RECORD_KINDS:
        records = instances if kind == "instances" else sorted(data[kind].items())
        for key, record in records:
            if _copy_one(state, kind, key, record):
                copied[kind] += 1
            else:
                present[kind] += 1
    state.flush()
    return copied, present


def store_migrate(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    url = store_url(params)
    if url is None:
        raise InvalidInput(
            "store_url", f"is required (or {URL_ENV} in the controller's environment): the PostgreSQL store to migrate"
        )
    field = url_field(params)
    target = PostgresStore(check_url(url, field), params.get("store_password"), field)
    data = consistent_source(params["source_path"]) if params.get("source_path") else None
    with target.migration(commit=not check_mode) as conn:
        before, after = pg_schema.migrate(conn, target.where)
        copied, present = copy_records(target.state_on(conn), data) if data is not None else ({}, {})
    return {
        "changed": before != after or any(copied.values()),
        "store": target.where,
        "schema_version_before": before,
        "schema_version": after,
        "copied": copied,
        "already_present": present,
    }
