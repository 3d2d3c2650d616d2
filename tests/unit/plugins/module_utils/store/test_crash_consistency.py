"""Crash consistency: SIGKILL a writer running the real flow at random moments, 200 times, on each backend.

After every kill the store must load and pass the consistency contract
(consistency.find_violations finds nothing): every transaction was all or
nothing. The JSON store also keeps its file and lock at mode 0600, and
store_check removes exactly the temp files a killed write left. The writer is
a forked child (no interpreter start-up per kill), so the 200 kills take a few
seconds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import stat
import time

import psycopg

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule, server_groups
from ansible_collections.nimbus.compute.plugins.module_utils.compute.store_check import store_check
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow, validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store import consistency
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

KILLS = 200
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
# A small pool: the writer also meets a full network (NoMoreFixedIps) now and then.
NETWORKS = {"private": {"cidr": "198.18.0.0/28", "allocation_pools": [{"start": "198.18.0.2", "end": "198.18.0.9"}]}}
HOSTS = {
    name: {"up": True, "vcpus": 64, "memory_mb": 65536, "disk_gb": 500, "cpu_arch": "x86_64", "virt_types": ["qemu"]}
    for name in ("c1", "c2")
}


def delete(store, uuid: str) -> None:
    """The delete flow of roles/delete_instance, backwards through the steps that touch the store."""
    flow.begin_delete(store, uuid, utcnow())
    flow.deallocate_network(store, uuid)
    flow.release_claim(store, uuid, utcnow())


def purge_deleted(store: JSONStore) -> None:
    # Keeps the store small (nova-manage db archive_deleted_rows): deleted rows hold nothing else.
    with store.transaction() as state:
        for uuid in [u for u, inst in state.instances.items() if inst["vm_state"] == states.DELETED]:
            del state.instances[uuid]


def writer(params: dict, seed: int) -> None:
    """Build and delete instances for ever; every store change goes through the flow's transactions."""
    rng = random.Random(seed)
    store = open_store(params.get("store_path"), params.get("store_url"))
    json_store = isinstance(store, JSONStore)
    server_groups.ensure(store, "grp", "soft-anti-affinity", None, utcnow(), False)
    # What the previous writer left half-done is deleted first, as an operator would.
    for instance in store.snapshot().list_instances():
        delete(store, instance["uuid"])
    if json_store:
        purge_deleted(store)
    serial = 0
    while True:
        serial += 1
        count = rng.randint(1, 3)
        raw = {
            "name": f"w{seed}-{serial}",
            "flavor": "m1.tiny",
            "image": "tiny",
            "networks": [{"network": "private"}] * rng.randint(1, 2),
            "min_count": count,
            "max_count": count,
            "scheduler_hints": {"group": "grp"} if rng.random() < 0.5 else {},
        }
        request = validate_request(raw, FLAVORS, IMAGES, NETWORKS)
        instances, _changed = schedule.schedule_instances(store, request, HOSTS, {}, utcnow())
        for instance in instances:
            try:
                flow.allocate_network(store, instance["uuid"], NETWORKS, utcnow())
            except exceptions.NoMoreFixedIps:
                # allocate_network recorded the fault; the build's rollback releases the claim.
                flow.release_claim(store, instance["uuid"], utcnow())
        for instance in instances:
            delete(store, instance["uuid"])
        if json_store and serial % 5 == 0:
            purge_deleted(store)


def check_after_kill(path: str) -> None:
    data = JSONStore(path).snapshot().data
    assert consistency.find_violations(data) == []
    for name in (path, path + ".lock"):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, name


def stale_temp_files(path: str) -> list[str]:
    prefix = f".{os.path.basename(path)}."
    return [name for name in os.listdir(os.path.dirname(path)) if name.startswith(prefix)]


def test_store_survives_200_kills_of_a_writer(tmp_path):
    path = str(tmp_path / "state" / "store.json")
    context = multiprocessing.get_context("fork")
    rng = random.Random(5)
    started = time.monotonic()
    instances_seen = 0
    mid_write = 0
    for kill in range(KILLS):
        child = context.Process(target=writer, args=({"store_path": path}, kill), daemon=True)
        child.start()
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL, f"writer {kill} ended by itself ({child.exitcode})"
        if not os.path.exists(path):
            continue
        check_after_kill(path)
        instances_seen += len(JSONStore(path).snapshot().instances)
        leftovers = stale_temp_files(path)
        mid_write += bool(leftovers)
        # store_check finds exactly the temp files the killed writer left, and its repair removes them.
        repaired = store_check({"store_path": path, "repair": True}, check_mode=False)
        assert [os.path.basename(name) for name in repaired["removed_temp_files"]] == sorted(leftovers)
        assert stale_temp_files(path) == []
    elapsed = time.monotonic() - started
    # The kills landed while there was work in the store, and some inside write_atomically itself.
    assert instances_seen > KILLS // 2
    assert mid_write > 0
    assert elapsed < 30, elapsed


def usage_kept(url: str) -> dict:
    """The hosts' usage rows the claims' trigger keeps (hosts left with no claim dropped)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT host, vcpus, memory_mb, disk_gb, instances FROM nimbus.host_usage").fetchall()
    return {row[0]: row[1:] for row in rows if row[4]}


def usage_summed(url: str) -> dict:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT host, sum(vcpus), sum(memory_mb), sum(disk_gb), count(*) FROM nimbus.claims GROUP BY host"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_postgresql_store_survives_200_kills_of_a_writer(pg_database):
    params = {"store_url": pg_database}
    context = multiprocessing.get_context("fork")
    rng = random.Random(6)
    instances_seen = 0
    for kill in range(KILLS):
        child = context.Process(target=writer, args=(params, kill), daemon=True)
        child.start()
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL, f"writer {kill} ended by itself ({child.exitcode})"
        report = store_check({**params, "repair": False}, check_mode=False)
        assert (report["consistent"], report["violations"]) == (True, []), kill
        assert usage_kept(pg_database) == usage_summed(pg_database), kill
        instances_seen = report["counts"]["instances"]
    # The writers got far enough to build (and leave half-built) instances between the kills.
    assert instances_seen > KILLS // 2
