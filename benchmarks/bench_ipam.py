#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPAM benchmark: allocating in a /16 that already holds 60,000 addresses.

  allocate    one address (ipam.allocate_addresses) in 198.18.0.0/16 whose
              pool holds 60,000 used addresses, the index of used addresses
              already built, as allocate_for_instance has it after reading the
              ports (target <= 5 ms).  Two layouts: the addresses packed from
              the start of the pool (lowest-first allocation fills a network
              so) and scattered at random over the /16.
  nic         for information: the whole of allocate_for_instance for one NIC
              on a store state with those 60,000 ports (index and MAC set
              built from the ports, then allocation), i.e. what network_allocate
              adds on top of reading the JSON store.
  index       for information: building the AddressIndex from 60,000 strings.

Each figure is the median of --repeats runs after one warm-up. Prints a table,
writes the figures as JSON (default benchmarks/results/ipam.json) and exits
non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.nimbus.compute.plugins.module_utils.network import api, ipam  # noqa: E402
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState  # noqa: E402

TARGET_ALLOCATE_MS = 5.0
USED = 60_000
CIDR = "198.18.0.0/16"
NETWORKS = {"big": {"cidr": CIDR, "gateway": "198.18.0.1"}}
NOW = "2026-01-01T00:00:00Z"


def _address(value: int) -> str:
    return socket.inet_ntoa(value.to_bytes(4, "big"))


def used_addresses(layout: str, seed: int) -> list[str]:
    first = int.from_bytes(socket.inet_aton("198.18.0.2"), "big")
    last = int.from_bytes(socket.inet_aton("198.18.255.254"), "big")
    if layout == "packed":
        return [_address(first + offset) for offset in range(USED)]
    return [_address(value) for value in random.Random(seed).sample(range(first, last + 1), USED)]


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()
    samples = []
    for _repeat in range(repeats):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(layout: str, repeats: int, seed: int) -> dict[str, float]:
    network = ipam.normalise_network("big", NETWORKS["big"])
    addresses = used_addresses(layout, seed)
    index = ipam.AddressIndex(addresses)

    def allocate() -> None:
        taken = ipam.allocate_addresses(network, index)
        # Give it back so every repeat allocates in the same 60,000-address network.
        index.discard(taken[0])

    state = StoreState()
    for number, address in enumerate(addresses):
        state.ports[f"port-{number}"] = {
            "instance_uuid": f"instance-{number}",
            "network": "big",
            "mac": f"fa:16:3e:{number >> 16 & 255:02x}:{number >> 8 & 255:02x}:{number & 255:02x}",
            "ips": [address],
        }

    def nic() -> None:
        api.allocate_for_instance(state, "bench", [{"network": "big"}], NETWORKS, NOW, rng=random.Random(seed))
        api.deallocate_for_instance(state, "bench")

    return {
        "allocate_ms": median_ms(allocate, repeats),
        "nic_ms": median_ms(nic, max(3, repeats // 10)),
        "index_ms": median_ms(lambda: ipam.AddressIndex(addresses), max(3, repeats // 10)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=101)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "ipam.json"))
    options = parser.parse_args(argv)
    results = {layout: measure(layout, options.repeats, options.seed) for layout in ("packed", "scattered")}
    met = all(figures["allocate_ms"] <= TARGET_ALLOCATE_MS for figures in results.values())
    print(f"IPAM in {CIDR} holding {USED:,} addresses (median of {options.repeats} runs)")
    print(f"{'layout':<10} {'allocate ms':>12} {'nic ms':>9} {'index ms':>9}")
    for layout, figures in results.items():
        print(f"{layout:<10} {figures['allocate_ms']:>12.3f} {figures['nic_ms']:>9.1f} {figures['index_ms']:>9.1f}")
    print(f"target: allocate <= {TARGET_ALLOCATE_MS} ms: {'met' if met else 'MISSED'}")
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "benchmark": "ipam",
                "cidr": CIDR,
                "used_addresses": USED,
                "repeats": options.repeats,
                "target_allocate_ms": TARGET_ALLOCATE_MS,
                "met": met,
                "results": results,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
