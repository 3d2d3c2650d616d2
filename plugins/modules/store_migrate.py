#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: store_migrate
short_description: Create or upgrade the PostgreSQL store's schema, and copy a JSON store into it
description:
  - Creates the tables of the PostgreSQL store (schema C(nimbus)) in an empty database, or upgrades them to the
    schema version this collection uses, and records the version.
  - With O(source_path), copies every record of that JSON store (instances with their actions and events, claims,
    ports with their MACs and addresses, host facts, server groups) into PostgreSQL. A record PostgreSQL already
    holds (the same instance or group uuid, port id, or host) is left as it is.
  - Everything happens in one transaction, so the schema and every copied record are written, or nothing is.
  - The JSON store must be consistent (M(nimbus.compute.store_check) finds no violation in it); otherwise nothing
    is written and the first violation is named.
  - A database of a newer schema version than this collection knows is refused.
  - Runs on the controller (in the action plugin's process).
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
attributes:
  check_mode:
    support: full
    description: Does the whole migration and copy in a transaction that is rolled back, and reports what it did.
  diff_mode:
    support: none
    description: The records copied are counted in RV(copied).
  idempotent:
    support: full
    description: A second run finds the schema current and every record present, and changes nothing.
options:
  store_url:
    description:
      - The PostgreSQL store, C(postgresql://user@host:port/dbname).
      - When not given, the environment variable C(NIMBUS_STORE_URL) of the controller is used.
      - The password comes from libpq's own sources (C(PGPASSWORD), C(~/.pgpass), a service file) or
        O(store_password); messages show the URL without it.
    type: str
  store_password:
    description: The password for O(store_url), when libpq's own sources do not give it. Never logged or returned.
    type: str
  source_path:
    description:
      - A JSON store (for example the old C(nimbus_store_path)) whose records are copied into PostgreSQL.
      - It is only read.
    type: path
notes:
  - After the copy, M(nimbus.compute.store_check) reports the same RV(nimbus.compute.store_check#module:counts) on
    the JSON store and on PostgreSQL.
  - Needs the Python package C(psycopg) (version 3) on the controller.
"""

EXAMPLES = r"""
- name: Create the schema of a new PostgreSQL store
  nimbus.compute.store_migrate:
    store_url: postgresql://nimbus@db.example.com:5432/nimbus

- name: Move the state of this controller's JSON store into PostgreSQL
  nimbus.compute.store_migrate:
    store_url: postgresql://nimbus@db.example.com:5432/nimbus
    source_path: "{{ nimbus_store_path }}"
"""

RETURN = r"""
store:
  description: The store, as its URL without a password.
  returned: always
  type: str
  sample: postgresql://nimbus@db.example.com:5432/nimbus
schema_version_before:
  description: The schema version found (0 for a database without the store's schema).
  returned: always
  type: int
schema_version:
  description: The schema version the store has now.
  returned: always
  type: int
copied:
  description: How many records of each kind were copied from O(source_path) (instances, server_groups,
    security_groups, claims, ports, floating_ips, host_facts); empty without it.
  returned: always
  type: dict
  sample: {"instances": 3, "server_groups": 1, "security_groups": 2, "claims": 2, "ports": 2, "floating_ips": 1,
           "host_facts": 1}
already_present:
  description: How many records of each kind of O(source_path) PostgreSQL held already and were left as they are.
  returned: always
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, store_migrate
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.STORE_MIGRATE, store_migrate.store_migrate)


if __name__ == "__main__":
    main()
