# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Body of libvirt_domain, which runs on a compute host: Nova's driver spawn and destroy."""

from __future__ import annotations

import threading
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import steps
from ansible_collections.nimbus.compute.plugins.module_utils.compute.per_instance import each_instance, instance_uuid
from ansible_collections.nimbus.compute.plugins.module_utils.virt import driver, firewall, vif
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import open_connection

# Domains of one host started or destroyed at once: QEMU's start and its exit on destroy are mostly waiting.
DOMAIN_WORKERS = 8


def _without_firewall(params: dict[str, Any]) -> dict[str, Any]:
    """With the noop firewall driver (Nova's NoopFirewallDriver), the records without their firewall."""
    if params.get("firewall_driver") != "noop":
        return params

    def bare(record: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in record.items() if key != "firewall"}

    bared = dict(params)
    if params.get("instance") is not None:
        bared["instance"] = bare(params["instance"])
    if params.get("instances") is not None:
        bared["instances"] = [bare(record) if isinstance(record, dict) else record for record in params["instances"]]
    return bared


def libvirt_domain(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    params = _without_firewall(params)
    if params.get("instances") is not None:
        return domains_of_instances(params, check_mode)
    instance = params["instance"]
    conn = open_connection(params["uri"])
    try:
        if params["state"] == "absent":
            return driver.destroy(conn, instance_uuid(instance), check_mode, instance.get("network_info"))
        spec = steps.domain_spec(instance, params["virt_type"])
        return driver.spawn(
            conn,
            spec,
            instance.get("network_info") or [],
            instance.get("hostname") or instance["name"],
            check_mode,
            timeout=params["wait_timeout"],
            filters=steps.port_filters(instance),
        )
    finally:
        conn.close()


class Connections:
    """One libvirt connection per URI for the records of a list (each record may carry its host's own)."""

    def __init__(self, default_uri: str) -> None:
        self.default_uri = default_uri
        self.open: dict[str, Any] = {}
        self.opening = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> Any:
        uri = record.get("libvirt_uri") or self.default_uri
        with self.opening:
            if uri not in self.open:
                self.open[uri] = open_connection(uri)
            return self.open[uri]

    def close(self) -> None:
        for conn in self.open.values():
            conn.close()


def instance_firewall(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Body of instance_firewall: the base filters defined (Nova's setup_basic_filtering, what host preparation
    runs with no instance), then each instance's port filters redefined from its record's firewall, on the host
    that has its domain (driver.refresh_instance_filters); one instance's failure does not stop the others."""
    connection = Connections(params["uri"])

    def refresh(record: dict[str, Any]) -> dict[str, Any]:
        uuid = instance_uuid(record)
        changed = driver.refresh_instance_filters(connection(record), uuid, steps.port_filters(record), check_mode)
        return {"changed": bool(changed), "filters": changed}

    try:
        base = firewall.define_filters(connection({}), firewall.base_filters(), check_mode)[0]
        records = params["instances"] if params.get("instances") is not None else [params["instance"]]
        result = each_instance(records, refresh)
    finally:
        connection.close()
    result["changed"] = result["changed"] or bool(base)
    return {**result, "base_filters": base}


def domains_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """libvirt_domain for a list, one connection per URI: each instance's domain spawned (as driver.spawn does for
    one), or destroyed and undefined with state=absent. One instance's failure does not stop the others."""
    connection = Connections(params["uri"])

    def destroy(record: dict[str, Any]) -> dict[str, Any]:
        return driver.destroy(connection(record), instance_uuid(record), check_mode, record.get("network_info"))

    # Each spawn's spec and the DHCP entries added for it. libvirt updates a
    # network's DHCP hosts one at a time and reloads the network's firewall
    # rules on each (~0.2 s here), holding the network driver that defining
    # and starting a domain need too: all entries first, then the domains
    # start together without queueing behind the updates (measured with ten:
    # 4.8-5.1 s against 5.6 s interleaved, 7.5 s pipelined).
    prepared: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}

    def reserve(record: dict[str, Any]) -> None:
        # The spec first: a record no domain can be built from gets no DHCP entry.
        spec = steps.domain_spec(record, record.get("virt_type") or params["virt_type"])
        network_info = record.get("network_info") or []
        prepared[record["uuid"]] = (
            spec,
            vif.plug_vif_entries(connection(record), network_info, _hostname(record), check_mode),
        )

    def spawn(record: dict[str, Any]) -> dict[str, Any]:
        spec, reserved = prepared[record["uuid"]]
        network_info = record.get("network_info") or []
        return driver.spawn(
            connection(record),
            spec,
            network_info,
            _hostname(record),
            check_mode,
            timeout=params["wait_timeout"],
            reserved=reserved,
            filters=steps.port_filters(record),
        )

    try:
        if params["state"] == "absent":
            return each_instance(params["instances"], destroy, workers=DOMAIN_WORKERS)
        return each_instance(params["instances"], spawn, workers=DOMAIN_WORKERS, prepare=reserve)
    finally:
        connection.close()


def _hostname(record: dict[str, Any]) -> str:
    return record.get("hostname") or record["name"]
