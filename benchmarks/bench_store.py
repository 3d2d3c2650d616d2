#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store benchmark: the flow's store operations at 1,000, 10,000 and 100,000 instances, on both backends.

For each backend (the JSON file; PostgreSQL on a throw-away cluster of
Debian's server, tests/pg_cluster.py) and each size, a store is filled with
that many active instances (each with its claim on one of 100 hosts and a port
on one of the /22 networks of 198.18.0.0/15, about 800 ports on each), then, one instance after another, the
three transactions the flow runs on the controller are timed:

  claim        host_select's scheduling transaction: the instance record, the
               scheduler over every host's claims, the claim
  ip           network_allocate's transaction: compare-and-swap to
               networking, a MAC and the lowest free address of the first
               network, the port (the addresses of that network are read:
               the cost grows with a network's ports, not with the store's)
  cas_step     a build step's begin: compare-and-swap of task_state and its
               event (flow.begin_step)

Medians and p95 in ms. Goal (issue 12): PostgreSQL <= 5 ms per operation at
100,000 instances and flat from 1,000 to 100,000; JSON no slower than before at
1,000 (bench_scheduler's store step gives the figure before).

  concurrent   ten processes each run the store part of one create (claim,
               ip, the three build steps begun and finished, with 0.2 s of
               "host work" between transactions) at once; their wall time is
               compared with the sum of the three slowest of them run alone:
               no global serialisation means concurrent <= that sum.

Prints a table, writes benchmarks/results/store.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam, model  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import (  # noqa: E402
    new_instance,
    validate_request,
)
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import empty_data  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import (  # noqa: E402
    serialise,
    write_atomically,
)
from ansible_collections.nimbus.compute.tests import pg_cluster  # noqa: E402

NOW = "2026-12-06T00:00:00.000Z"
HOSTS = 100
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 64, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
# The instances' ports are spread over /22 networks of 198.18.0.0/15, about 800 on each whatever the size:
# an allocation reads the addresses of its own network, not of the store.
PORTS_PER_NETWORK = 800
NETWORK_SIZE = 1024
FIRST_HOST = 10


def network_name(index: int) -> str:
    return f"net-{index:03d}"


def network_of(index: int) -> dict:
    base = (198 << 24) | (18 << 16)
    start = base + index * NETWORK_SIZE
    return {"cidr": f"{_address(start)}/22", "gateway": _address(start + 1)}


def _address(value: int) -> str:
    """The IPv4 address of an integer."""
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


NETWORKS = {network_name(0): network_of(0)}
FACTS = {
    f"c{index:03d}": {
        "up": True,
        "vcpus": 4096,
        "memory_mb": 4096 * 1024,
        "disk_gb": 100000,
        "cpu_arch": "x86_64",
        "virt_types": ["qemu"],
    }
    for index in range(HOSTS)
}
SIZES = (1000, 10000, 100000)
OPERATIONS = ("claim", "ip", "cas_step")
GOAL_MS = 5.0


def request(name: str) -> dict:
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": network_name(0)}]}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def filled_data(count: int) -> dict:
    """A schema-1 store of ``count`` active instances, each with its claim and one port."""
    data = empty_data()
    spread = -(-count // PORTS_PER_NETWORK)
    networks = [ipam.normalise_network(network_name(k), network_of(k)) for k in range(spread)]
    template = request("filler")
    for index in range(count):
        uuid = str(uuidlib.UUID(int=index + 1, version=4))
        host = f"c{index % HOSTS:03d}"
        network = networks[index % spread]
        first = ipam.address_as_int(network["cidr"].split("/")[0])[1] + FIRST_HOST
        address = _address(first + index // spread)
        mac = f"fa:16:3e:{(index >> 16) & 255:02x}:{(index >> 8) & 255:02x}:{index & 255:02x}"
        port_id = str(uuidlib.UUID(int=(1 << 64) + index, version=4))
        vif = model.build_vif(port_id, mac, [address], network)
        instance = new_instance(template, NOW, name=f"filler-{index}", launch_index=0)
        instance.update(
            uuid=uuid, vm_state=states.ACTIVE, task_state=None, host=host, node=host, network_info=[vif], actions=[]
        )
        data["instances"][uuid] = instance
        data["claims"][uuid] = {"host": host, "vcpus": 1, "memory_mb": 64, "disk_gb": 1}
        data["ports"][port_id] = {
            "instance_uuid": uuid,
            "network": network["name"],
            "mac": mac,
            "ips": [address],
            "created_at": NOW,
            "index": 0,
            "vif": vif,
        }
    return data


def fill_json(path: str, data: dict) -> dict:
    write_atomically(path, serialise(data, path))
    return {"store_path": path}


def fill_postgresql(url: str, data: dict) -> dict:
    """COPY the records in (the store's own operations would take minutes for 100,000)."""
    store = open_store(url=url)
    store.snapshot()
    with store.migration() as conn, conn.cursor() as cursor:
        with cursor.copy(
            "COPY nimbus.instances (uuid, name, project_id, vm_state, task_state, host, created_at, record) FROM STDIN"
        ) as copy:
            for uuid, inst in data["instances"].items():
                record = json.dumps({k: v for k, v in inst.items() if k != "actions"})
                copy.write_row((uuid, inst["name"], "default", inst["vm_state"], None, inst["host"], NOW, record))
        with cursor.copy("COPY nimbus.claims (instance_uuid, host, vcpus, memory_mb, disk_gb) FROM STDIN") as copy:
            for uuid, claim in data["claims"].items():
                copy.write_row((uuid, claim["host"], claim["vcpus"], claim["memory_mb"], claim["disk_gb"]))
        with cursor.copy("COPY nimbus.ports (id, instance_uuid, network, mac, position, record) FROM STDIN") as copy:
            for port_id, port in data["ports"].items():
                copy.write_row((port_id, port["instance_uuid"], port["network"], port["mac"], 0, json.dumps(port)))
        with cursor.copy("COPY nimbus.port_ips (port_id, network, address) FROM STDIN") as copy:
            for port_id, port in data["ports"].items():
                copy.write_row((port_id, port["network"], port["ips"][0]))
        cursor.execute("ANALYZE")
    store.close()
    return {"store_url": url}


def timed(work: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """What ``work(*args)`` returns, and the ms it took."""
    started = time.perf_counter()
    value = work(*args)
    return value, (time.perf_counter() - started) * 1000


def measure(params: dict, repeats: int, tag: str) -> dict[str, list[float]]:
    """Each operation ``repeats`` times, each on a new instance, as one build runs them."""
    store = open_store(params.get("store_path"), params.get("store_url"))
    times: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    for index in range(repeats + 1):
        (scheduled, _changed), claim_ms = timed(
            schedule.schedule_instances, store, request(f"bench-{tag}-{index}"), FACTS, {}, NOW
        )
        uuid = scheduled[0]["uuid"]
        _allocated, ip_ms = timed(flow.allocate_network, store, uuid, NETWORKS, NOW)
        _begun, cas_ms = timed(flow.begin_step, store, uuid, states.BLOCK_DEVICE_MAPPING, NOW)
        if index:  # the first is a warm-up (connections, caches)
            times["claim"].append(claim_ms)
            times["ip"].append(ip_ms)
            times["cas_step"].append(cas_ms)
    close = getattr(store, "close", None)
    if close is not None:
        close()
    return times


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "runs": len(ordered)}


def one_create(params: dict, name: str, host_work: float) -> float:
    """The store part of one create, with ``host_work`` seconds between transactions; its wall time."""
    started = time.perf_counter()
    store = open_store(params.get("store_path"), params.get("store_url"))
    uuid = schedule.schedule_instances(store, request(name), FACTS, {}, NOW)[0][0]["uuid"]
    time.sleep(host_work)
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    for step in (states.BLOCK_DEVICE_MAPPING, states.SPAWNING):
        flow.begin_step(store, uuid, step, NOW)
        time.sleep(host_work)
        flow.finish_step(store, uuid, step, NOW)
    return time.perf_counter() - started


def concurrent_creates(params: dict, tag: str, host_work: float = 0.2) -> dict[str, float]:
    alone = sorted(one_create(params, f"alone-{tag}-{index}", host_work) for index in range(10))
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(10) as pool:
        pool.starmap(one_create, [(params, f"together-{tag}-{index}", host_work) for index in range(10)])
    together = time.perf_counter() - started
    three_slowest = sum(alone[-3:])
    return {
        "ten_at_once_s": round(together, 3),
        "three_slowest_alone_s": round(three_slowest, 3),
        "slowest_alone_s": round(alone[-1], 3),
        "no_global_serialisation": together <= three_slowest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per operation (JSON: fewer when large)")
    parser.add_argument("--backends", nargs="+", choices=["json", "postgresql"], default=["json", "postgresql"])
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/store.json")
    args = parser.parse_args()

    results: dict = {
        "benchmark": "store",
        "machine": {"python": platform.python_version(), "cpus": multiprocessing.cpu_count()},
        "goal_ms": GOAL_MS,
        "figures": {},
    }
    base = tempfile.mkdtemp(prefix="nimbus-bench-store-", dir="/tmp")
    # The server runs as the postgres user, which must reach its directory inside.
    Path(base).chmod(0o755)
    try:
        cluster = pg_cluster.start(Path(base) / "pg")
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    # PostgreSQL's own default, not the tests' small one: a 100,000-instance store does not fit in 16 MB.
    cluster.psql("ALTER SYSTEM SET shared_buffers = '128MB';")
    cluster.stop()
    cluster.start_again()
    try:
        for size in args.sizes:
            data = filled_data(size)
            json_repeats = max(3, args.repeats * 1000 // max(size, 1000)) if size > 1000 else args.repeats
            for backend, fill, repeats in (
                ("json", lambda d, s=size: fill_json(f"{base}/store-{s}.json", d), json_repeats),
                (
                    "postgresql",
                    lambda d, s=size: fill_postgresql(cluster.create_database(f"bench_{s}"), d),
                    args.repeats,
                ),
            ):
                if backend not in args.backends:
                    continue
                params = fill(data)
                times = measure(params, repeats, f"{backend}-{size}")
                figures = {name: summary(values) for name, values in times.items()}
                results["figures"].setdefault(backend, {})[str(size)] = figures
                print(
                    f"{backend:<11} {size:>7} instances  "
                    + "  ".join(f"{n} {f['median_ms']:>8.2f} ms (p95 {f['p95_ms']:>8.2f})" for n, f in figures.items()),
                    flush=True,
                )
            del data
        concurrent_params = fill_postgresql(cluster.create_database("bench_concurrent"), filled_data(1000))
        results["concurrent_postgresql"] = concurrent_creates(concurrent_params, "pg")
        print("postgresql  ten creates at once:", results["concurrent_postgresql"], flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)

    pg = results["figures"].get("postgresql", {})
    worst = max((f["median_ms"] for size in pg.values() for f in size.values()), default=0.0)
    results["postgresql_within_goal"] = worst <= GOAL_MS
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"worst PostgreSQL median {worst:.2f} ms (goal {GOAL_MS} ms); figures in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
