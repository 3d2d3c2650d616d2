#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduler benchmark on synthetic host states, in the process that schedules.

host_select runs in the action plugin's process, so these figures are what a
build waits for between the host reports and the claim:

  select      one instance among 1,000 hosts with 10,000 instances already
              claimed: HostStates built from facts and claims, then filtered,
              weighed and picked (target <= 50 ms)
  multi       a 100-instance multi-create over the same hosts, each instance
              placed and consumed before the next (target <= 1 s)
  growth      one selection (filter, weigh, pick on prebuilt HostStates) over
              100, 1,000 and 5,000 hosts (10 claims per host): the time per
              host must not grow with the number of hosts (no worse than
              linear; a 25 % margin absorbs timer noise); the same with the
              HostStates built from the claims is printed for information
  store       for information: the whole scheduling step of one instance on a
              JSON store that holds the 10,000 instances and their claims
              (read, schedule, claim, write), as host_select runs it

Each figure is the median of --repeats runs after one warm-up. Prints a table
and writes the figures as JSON; exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.nimbus.compute.plugins.module_utils.compute import schedule  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import (  # noqa: E402
    new_instance,
    validate_request,
)
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import build_host_states  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore  # noqa: E402

TARGET_SELECT_MS = 50.0
TARGET_MULTI_MS = 1000.0
GROWTH_MARGIN = 1.25
FLAVORS = {"m1.small": {"vcpus": 1, "memory_mb": 512, "root_gb": 2}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
CLAIM = {"vcpus": 1, "memory_mb": 512, "disk_gb": 2}


def host_facts(count: int) -> dict[str, dict]:
    """``count`` hosts in three zones, big enough that none is full, with slightly varied sizes."""
    rng = random.Random(count)
    return {
        f"compute{index:05d}": {
            "up": True,
            "enabled": True,
            "vcpus": rng.choice((32, 48, 64)),
            "memory_mb": rng.choice((131072, 196608, 262144)),
            "disk_gb": rng.choice((2000, 4000)),
            "cpu_arch": "x86_64",
            "virt_types": ["kvm", "qemu"],
            "availability_zone": f"az{index % 3}",
            "traits": ["HW_CPU_X86_AVX2"] if index % 2 else [],
        }
        for index in range(count)
    }


def claims_by_host(hosts: list[str], instances: int, seed: int = 7) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    by_host: dict[str, list[dict]] = {}
    for _index in range(instances):
        host = rng.choice(hosts)
        by_host.setdefault(host, []).append({"instance_uuid": str(uuid.uuid4()), "host": host, **CLAIM})
    return by_host


def request(name: str = "bench", count: int = 1) -> dict:
    raw = {"name": name, "flavor": "m1.small", "image": "tiny", "networks": [{"network": "private"}]}
    if count > 1:
        raw["max_count"] = count
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def spec_for(count: int) -> dict:
    req = request(count=count)
    return {
        "flavor": req["flavor"],
        "image": req["image"],
        "availability_zone": None,
        "force_hosts": [],
        "scheduler_hints": {"same_host": [], "different_host": []},
        "group": None,
        "instance_uuids": [str(uuid.uuid4()) for _index in range(count)],
        "min_count": count,
    }


def median_ms(work: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    work()  # warm-up: imports, caches
    samples = []
    for _index in range(repeats):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples


def schedule_once(facts: dict, claims: dict, count: int, config: dict) -> int:
    """HostStates from facts and claims, then a selection: what host_select does in its transaction."""
    host_states = build_host_states(facts, claims, config)
    placements = manager.select_destinations(host_states, spec_for(count), config, random.Random(1))
    if len(placements) != count:
        raise SystemExit(f"expected {count} placements, got {len(placements)}")
    return len(placements)


def store_with_instances(path: Path, facts: dict, claims: dict) -> JSONStore:
    store = JSONStore(str(path))
    req = request("seed")
    with store.transaction() as state:
        for host, host_claims in claims.items():
            for claim in host_claims:
                record = new_instance(req, "2026-11-23T00:00:00.000Z", name=f"seed-{claim['instance_uuid'][:8]}")
                record.update(uuid=claim["instance_uuid"], host=host, vm_state="active", task_state=None)
                state.instances[record["uuid"]] = record
                state.claim(record["uuid"], host, CLAIM)
    return store


def store_step_ms(facts: dict, claims: dict, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = store_with_instances(Path(tmp) / "store.json", facts, claims)
        names = iter(range(repeats + 1))

        def step() -> None:
            schedule.schedule_instances(store, request(f"bench{next(names)}"), facts, {}, "2026-11-23T00:00:00.000Z")

        return median_ms(step, repeats)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/scheduler.json")
    args = parser.parse_args()
    config = scheduler_config({})

    facts = host_facts(1000)
    claims = claims_by_host(sorted(facts), 10_000)
    select_ms = median_ms(lambda: schedule_once(facts, claims, 1, config), args.repeats)[0]
    multi_ms = median_ms(lambda: schedule_once(facts, claims, 100, config), max(3, args.repeats // 3))[0]

    # Growth: the scheduler proper (filter, weigh, pick) on prebuilt HostStates,
    # and, for information, the whole step with the HostStates built from the
    # claims (reading scattered claim records costs more per host as the fleet
    # outgrows the CPU caches, an effect of memory, not of the algorithm).
    growth = []
    for count in (100, 1000, 5000):
        grown_facts = host_facts(count)
        grown_claims = claims_by_host(sorted(grown_facts), 10 * count)
        built = build_host_states(grown_facts, grown_claims, config)
        select_only = median_ms(
            lambda states=built: manager.select_destinations(states, spec_for(1), config, random.Random(1)),
            args.repeats,
        )[0]
        whole = median_ms(lambda f=grown_facts, c=grown_claims: schedule_once(f, c, 1, config), args.repeats)[0]
        growth.append(
            {
                "hosts": count,
                "claims": 10 * count,
                "select_ms": round(select_only, 3),
                "select_us_per_host": round(select_only * 1000 / count, 3),
                "with_host_states_ms": round(whole, 3),
                "with_host_states_us_per_host": round(whole * 1000 / count, 3),
            }
        )
    smallest_per_host = min(item["select_us_per_host"] for item in growth[:-1])
    # Linear or better: the largest run spends no more per host than the smaller ones did.
    linear = growth[-1]["select_us_per_host"] <= smallest_per_host * GROWTH_MARGIN

    store_ms = store_step_ms(facts, claims, max(3, args.repeats // 3))
    checks = {
        "select_ms<=50": select_ms <= TARGET_SELECT_MS,
        "multi_create_100_ms<=1000": multi_ms <= TARGET_MULTI_MS,
        "growth_no_worse_than_linear": linear,
    }
    result = {
        "benchmark": "scheduler",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "repeats": args.repeats,
        "select_1000_hosts_10000_claims_ms": round(select_ms, 3),
        "multi_create_100_over_1000_hosts_ms": round(multi_ms, 3),
        "growth": growth,
        "store_step_1000_hosts_10000_instances_ms": round(store_ms, 3),
        "targets": {"select_ms": TARGET_SELECT_MS, "multi_create_ms": TARGET_MULTI_MS, "growth_margin": GROWTH_MARGIN},
        "checks": checks,
    }
    print(f"{'figure':<52}{'ms':>10}  target")
    print(f"{'one selection, 1,000 hosts, 10,000 claims':<52}{select_ms:>10.1f}  <= {TARGET_SELECT_MS:g}")
    print(f"{'multi-create of 100, 1,000 hosts':<52}{multi_ms:>10.1f}  <= {TARGET_MULTI_MS:g}")
    for item in growth:
        label = f"growth, {item['hosts']:,} hosts: select ({item['select_us_per_host']:.1f} us/host)"
        print(f"{label:<52}{item['select_ms']:>10.1f}")
        label = f"  with HostStates built ({item['with_host_states_us_per_host']:.1f} us/host)"
        print(f"{label:<52}{item['with_host_states_ms']:>10.1f}  (information)")
    print(f"{'store step, 10,000 instances in the JSON store':<52}{store_ms:>10.1f}  (information)")
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'} {name}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.output}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
