# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL store's tables, in their own schema ``nimbus``, and their versions.

The database refuses what must never happen, whatever a writer does: an
address twice on a network, a MAC on two ports, two live instances of one
name in a project, a port, claim, action or group member of an instance that
does not exist. Each record keeps its whole JSON form in ``record``; the
columns beside it are what the operations look rows up by and what the
constraints need.

``MIGRATIONS[n]`` takes a database from schema version n to n + 1; a database
without the schema starts at 0. Version 1 holds the same records as the JSON
store's schema 1; version 2 adds security groups, version 3 floating IPs.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError

SCHEMA = "nimbus"
SCHEMA_VERSION = 3
# Taken (per transaction) by whoever creates or upgrades the schema: two first runs at once create it once.
MIGRATION_LOCK = "nimbus.compute schema migration"

_VERSION_1 = """
CREATE SCHEMA IF NOT EXISTS nimbus;
CREATE TABLE nimbus.schema_version (
    version integer NOT NULL CHECK (version > 0),
    migrated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE nimbus.instances (
    uuid text PRIMARY KEY,
    name text NOT NULL,
    project_id text NOT NULL,
    vm_state text NOT NULL,
    task_state text,
    host text,
    created_at text NOT NULL,
    record jsonb NOT NULL CHECK (record->>'uuid' = uuid)
);
CREATE UNIQUE INDEX instances_live_name ON nimbus.instances (project_id, name) WHERE vm_state <> 'deleted';
CREATE INDEX instances_name ON nimbus.instances (name);
CREATE TABLE nimbus.instance_actions (
    instance_uuid text NOT NULL REFERENCES nimbus.instances (uuid) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq >= 0),
    action text NOT NULL,
    request_id text NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (instance_uuid, seq)
);
CREATE TABLE nimbus.claims (
    instance_uuid text PRIMARY KEY REFERENCES nimbus.instances (uuid),
    host text NOT NULL,
    vcpus integer NOT NULL CHECK (vcpus >= 0),
    memory_mb integer NOT NULL CHECK (memory_mb >= 0),
    disk_gb integer NOT NULL CHECK (disk_gb >= 0)
);
CREATE INDEX claims_host ON nimbus.claims (host);
-- Each host's claims summed, kept by the trigger below in the claim's own transaction: the scheduler reads
-- one row per host, and a claim locks its host's row to check what the scheduler saw there.
CREATE TABLE nimbus.host_usage (
    host text PRIMARY KEY,
    vcpus bigint NOT NULL DEFAULT 0,
    memory_mb bigint NOT NULL DEFAULT 0,
    disk_gb bigint NOT NULL DEFAULT 0,
    instances bigint NOT NULL DEFAULT 0 CHECK (instances >= 0)
);
CREATE FUNCTION nimbus.count_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE nimbus.host_usage
           SET vcpus = vcpus - OLD.vcpus, memory_mb = memory_mb - OLD.memory_mb, disk_gb = disk_gb - OLD.disk_gb,
               instances = instances - 1
         WHERE host = OLD.host;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO nimbus.host_usage AS usage (host, vcpus, memory_mb, disk_gb, instances)
        VALUES (NEW.host, NEW.vcpus, NEW.memory_mb, NEW.disk_gb, 1)
        ON CONFLICT (host) DO UPDATE
           SET vcpus = usage.vcpus + EXCLUDED.vcpus, memory_mb = usage.memory_mb + EXCLUDED.memory_mb,
               disk_gb = usage.disk_gb + EXCLUDED.disk_gb, instances = usage.instances + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER claims_count AFTER INSERT OR UPDATE OR DELETE ON nimbus.claims
    FOR EACH ROW EXECUTE FUNCTION nimbus.count_claim();
CREATE TABLE nimbus.ports (
    id text PRIMARY KEY,
    instance_uuid text NOT NULL REFERENCES nimbus.instances (uuid),
    network text NOT NULL,
    mac text NOT NULL UNIQUE CHECK (mac = lower(mac)),
    position integer NOT NULL,
    record jsonb NOT NULL
);
CREATE INDEX ports_instance ON nimbus.ports (instance_uuid);
CREATE INDEX ports_network ON nimbus.ports (network);
CREATE TABLE nimbus.port_ips (
    port_id text NOT NULL REFERENCES nimbus.ports (id) ON DELETE CASCADE,
    network text NOT NULL,
    address inet NOT NULL,
    PRIMARY KEY (network, address)
);
CREATE INDEX port_ips_address ON nimbus.port_ips USING gist (address inet_ops);
CREATE INDEX port_ips_port ON nimbus.port_ips (port_id);
CREATE TABLE nimbus.host_facts (
    host text PRIMARY KEY,
    record jsonb NOT NULL
);
CREATE TABLE nimbus.server_groups (
    uuid text PRIMARY KEY,
    name text NOT NULL,
    project_id text NOT NULL,
    record jsonb NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE nimbus.server_group_members (
    group_uuid text NOT NULL REFERENCES nimbus.server_groups (uuid) ON DELETE CASCADE,
    instance_uuid text NOT NULL REFERENCES nimbus.instances (uuid),
    position integer NOT NULL,
    PRIMARY KEY (group_uuid, instance_uuid)
);
CREATE INDEX server_group_members_instance ON nimbus.server_group_members (instance_uuid);
"""

# Security groups (Neutron's), their rules in the record: a project's group names are unique, and only the
# quotas' counts read the rules.
_VERSION_2 = """
CREATE TABLE nimbus.security_groups (
    uuid text PRIMARY KEY,
    name text NOT NULL,
    project_id text NOT NULL,
    record jsonb NOT NULL,
    UNIQUE (project_id, name),
    CHECK (jsonb_typeof(record->'rules') = 'array' AND record->>'uuid' = uuid AND record->>'name' = name)
);
"""

# Floating IPs (Neutron's): an address is allocated once; a fixed IP of a port has at most one; a port that has
# one cannot be deleted (no cascade: the delete disassociates it first, in the same transaction).
_VERSION_3 = """
CREATE TABLE nimbus.floating_ips (
    id text PRIMARY KEY,
    address inet NOT NULL UNIQUE CHECK (family(address) = 4 AND masklen(address) = 32),
    pool text NOT NULL,
    project_id text NOT NULL,
    port_id text REFERENCES nimbus.ports (id),
    fixed_ip_address inet,
    instance_uuid text REFERENCES nimbus.instances (uuid),
    host text,
    record jsonb NOT NULL,
    UNIQUE (port_id, fixed_ip_address),
    CHECK ((port_id IS NULL) = (fixed_ip_address IS NULL) AND (port_id IS NULL) = (instance_uuid IS NULL)),
    CHECK (record->>'id' = id AND (record->>'floating_ip_address')::inet = address)
);
CREATE INDEX floating_ips_project ON nimbus.floating_ips (project_id);
CREATE INDEX floating_ips_host ON nimbus.floating_ips (host);
CREATE INDEX floating_ips_instance ON nimbus.floating_ips (instance_uuid);
"""

MIGRATIONS = {0: _VERSION_1, 1: _VERSION_2, 2: _VERSION_3}


def current_version(conn: Any) -> int:
    """The database's schema version: 0 without our schema."""
    exists = conn.execute("SELECT to_regclass('nimbus.schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM nimbus.schema_version").fetchone()
    return int(row[0] or 0)


def version_error(where: str, version: int) -> StoreError:
    if version > SCHEMA_VERSION:
        advice = "upgrade nimbus.compute on this controller"
    else:
        advice = "run nimbus.compute.store_migrate to upgrade it"
    reason = f"schema version {version}, this collection uses {SCHEMA_VERSION}"
    return StoreError(f"store {where} has {reason}: {advice}", path=where, reason=reason)


def migrate(conn: Any, where: str, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Bring the schema to ``target`` in the caller's transaction; (version before, version after)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (MIGRATION_LOCK,))
    before = current_version(conn)
    if before > target:
        raise version_error(where, before)
    for version in range(before, target):
        conn.execute(MIGRATIONS[version])
        conn.execute("INSERT INTO nimbus.schema_version (version) VALUES (%s)", (version + 1,))
    return before, target
