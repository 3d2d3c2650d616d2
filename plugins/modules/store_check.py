#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: store_check
short_description: Check that the store's claims, ports, IPs and instances agree, and repair orphans
description:
  - Reports every way the store breaks its consistency contract; each violation names its kind, the ids
    involved and what is wrong.
  - A consistent store has every claim owned by a live (not deleted) instance on the claim's host, every port
    owned by a live instance, no IP or MAC on two ports, each live instance's network_info matching its ports,
    only live instances as server group members, and records of the schema-1 shape.
  - Every store write is atomic, but a build or a delete takes several writes; a controller that dies between
    two of them can leave orphans. With O(repair=true) the module removes the orphans (claims and ports of
    missing or deleted instances, server group members that are missing or deleted) in one store transaction.
    Other violations are reported for an operator to resolve.
  - A writer killed between writing its temp file (C(.<store file name>.XXXXXXXX.tmp), beside the store) and
    renaming it over the store leaves that temp file behind. It breaks no record, so it is not a violation; it is
    reported in RV(stale_temp_files), and O(repair=true) removes it. A temp file is stale when it is seen while
    holding the store's lock, which every writer holds while its temp file exists, so a live writer's temp file
    is never reported or removed (the module waits for that writer to finish).
  - Works on both stores, the JSON file (O(store_path)) and PostgreSQL (O(store_url)); a PostgreSQL store's
    constraints already refuse claims, ports and members of instances that do not exist and an address or MAC on
    two ports, so only the other violations can be found there. It has no temp files.
  - Runs on the controller (in the action plugin's process).
version_added: 0.2.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
attributes:
  check_mode:
    support: full
    description:
      - With O(repair=true), reports what a repair would remove (orphans and stale temp files) and what would remain,
        writing and removing nothing.
  diff_mode:
    support: none
    description: The violations repaired are returned in RV(repaired).
  idempotent:
    support: full
    description: A repair leaves no orphans and no stale temp files behind, so a second repair changes nothing.
options:
  repair:
    description:
      - Remove the orphans found and the stale temp files, in one store transaction.
      - When false, the module only reads the store and never reports a change.
    type: bool
    default: false
notes:
  - A store that cannot be read (not JSON, not a JSON object, with C(NaN) or C(Infinity), nested too deeply to read,
    or not schema 1) makes the module fail naming it, so such a store is never reported consistent; it is never
    replaced.
"""

EXAMPLES = r"""
- name: Check the store after a controller crash
  nimbus.compute.store_check:
    store_path: "{{ nimbus_store_path }}"
  register: store_report

- name: Remove claims and ports whose instances are gone
  nimbus.compute.store_check:
    store_path: "{{ nimbus_store_path }}"
    repair: true
"""

RETURN = r"""
store:
  description: The store checked, as its path or its URL without a password.
  returned: always
  type: str
  sample: postgresql://nimbus@db.example.com:5432/nimbus
counts:
  description:
    - How many records of each kind the store holds, after the repair (or after the predicted one in check mode).
    - The kinds are C(instances) (deleted ones included), C(live_instances), C(claims), C(ports), C(host_facts),
      C(server_groups), C(security_groups) and C(floating_ips).
    - A JSON store and the PostgreSQL store M(nimbus.compute.store_migrate) copied it into report the same counts.
  returned: always
  type: dict
  sample: {"instances": 4, "live_instances": 3, "claims": 3, "ports": 3, "host_facts": 1, "server_groups": 0,
           "security_groups": 1, "floating_ips": 0}
consistent:
  description: Whether the store has no violation left (after the repair, or after the predicted repair in check mode).
  returned: always
  type: bool
violations:
  description:
    - Every violation found before any repair.
    - Each has C(kind) (for example C(claim_without_instance), C(port_of_deleted_instance), C(duplicate_ip),
      C(network_info_mismatch), C(group_member_without_instance), C(schema)), C(ids) (the records involved),
      C(what) (a sentence) and C(repair) (what O(repair=true) does about it, or null when it does nothing).
  returned: always
  type: list
  elements: dict
repaired:
  description: The violations removed by the repair (or that it would remove, in check mode); empty without O(repair).
  returned: always
  type: list
  elements: dict
remaining:
  description: The violations left after the repair (or without one); an operator has to resolve them.
  returned: always
  type: list
  elements: dict
stale_temp_files:
  description:
    - Paths of the temp files of writes that were killed before their rename, found before any repair.
    - They are not violations; they do not make RV(consistent) false.
  returned: always
  type: list
  elements: str
  sample: ["/root/.local/state/nimbus/.store.json.k3x9a0zq.tmp"]
removed_temp_files:
  description:
    - The stale temp files the repair removed (or would remove, in check mode); empty without O(repair).
    - A removal makes the result changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, store_check
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.STORE_CHECK, store_check.store_check)


if __name__ == "__main__":
    main()
