#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create to SSH-ready for the Debian 12 cloud image: nimbus.compute against community.libvirt.

Both sides boot build/images/nimbus-debian12.qcow2 with the flavor's size
(m1.small: 512 MiB, 1 vCPU, a 2 GiB root overlay), under TCG, with one NIC on
the DHCP network with a reserved address, and the same SSH public key (made
by this script in a temp dir) delivered through cloud-init:

  A  ours  playbooks/create_instance.yml -e instance_name=bench-ssh-a-N
           -e image=nimbus-debian12 -e flavor=m1.small -e public_keys={...}
           (config drive; the playbook itself waits for the guest's SSH)
  B  peer  benchmarks/peers/community_libvirt_create.yml with the cloud image,
           512 MiB, 2G, and the key in the NoCloud seed's user-data
           (ssh_authorized_keys); the playbook ends when the domain runs

Time: from spawning ansible-playbook until this script sees the guest's SSH
banner (SSH-2.0-) on port 22 of the guest's address, read from inside the
guests' network namespace by benchmarks/ssh_banner.py (one try a second,
--ssh-timeout bounds it), started when the playbook has exited; for both
sides alike. The playbook's own wall time is recorded apart.

After each run, untimed: the domain runs, `ssh -i KEY debian@IP true` through
`ip netns exec` succeeds (the key reached the guest), the side's delete
playbook removes the instance and the domain is gone. --pairs pairs (default
3), A then B in each; --warmup adds one uncounted pair first. Prints a table,
the medians and the ratio ours/peer, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from bench_create import BENCH, MAX_INDEX, REPO, TEST_NET, Bench, BenchError, Ours, Peer, Side, machine_info, sh, tail

KEY_NAME = "bench"
# Our guests' security groups: the default one, and this one letting SSH in from the test networks.
SSH_GROUP = "bench-ssh"
SSH_RULE = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
SSH_FROM = str(TEST_NET)
OURS_IMAGE = "nimbus-debian12"
CLOUD_IMAGE = REPO / "build/images/nimbus-debian12.qcow2"
POLLER = BENCH / "ssh_banner.py"
SSH_LOGIN_TRIES = 3


def flavor_of(inventory: Path, name: str) -> dict:
    """The flavor ``name`` of the inventory's group_vars/all.yml: what ours builds, so what the peer gets."""
    path = inventory / "group_vars/all.yml"
    try:
        flavors = (yaml.safe_load(path.read_text()) or {}).get("nimbus_flavors") or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BenchError(f"cannot read the flavors of {path}: {exc}") from exc
    flavor = flavors.get(name)
    if not isinstance(flavor, dict) or not all(k in flavor for k in ("memory_mb", "vcpus", "root_gb")):
        raise BenchError(f"{path} has no flavor {name!r} with memory_mb, vcpus and root_gb")
    return flavor


def store_time(value: str | None) -> float | None:
    """An ISO time of the store (``...Z``) as a Unix timestamp."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class CloudOurs(Ours):
    def name(self, index: int) -> str:
        return f"bench-ssh-a-{index}"

    def create_argv(self, index: int) -> list[str]:
        request = {
            "image": self.b.args.image,
            "flavor": self.b.args.flavor,
            "public_keys": {KEY_NAME: self.b.pubkey},
            "security_groups": ["default", SSH_GROUP],
        }
        return [*super().create_argv(index), "-e", json.dumps(request)]

    def _record(self, index: int) -> dict:
        found = self.b.store_instances(self.name(index))
        if len(found) != 1:
            raise BenchError(
                f"{self.label}: expected one record of {self.name(index)} in the store, found {len(found)}"
            )
        return found[0][1]

    def address(self, index: int) -> str:
        ips = [
            ip["address"]
            for vif in self._record(index).get("network_info") or []
            for subnet in vif["network"]["subnets"]
            for ip in subnet["ips"]
        ]
        if not ips:
            raise BenchError(f"{self.label}: {self.name(index)} has no fixed IP in the store")
        return ips[0]

    def domain_running_at(self, index: int) -> float | None:
        """When the build's spawn step ended (the domain was running), from the store's action events."""
        actions = self._record(index).get("actions") or []
        events = actions[-1].get("events", []) if actions else []
        return next((store_time(e.get("finish_time")) for e in events if e.get("event") == "spawn"), None)


class CloudPeer(Peer):
    def name(self, index: int) -> str:
        return f"bench-ssh-b-{index}"

    def _vars(self, index: int) -> str:
        flavor = self.b.flavor
        return json.dumps(
            {
                **json.loads(super()._vars(index)),
                "peer_memory_mb": flavor["memory_mb"],
                "peer_vcpus": flavor["vcpus"],
                "peer_disk_size": f"{flavor['root_gb']}G",
                "peer_ssh_authorized_keys": [self.b.pubkey],
            }
        )

    def address(self, index: int) -> str:
        return f"{self.b.ip_prefix}.{200 + index}"  # the playbook's peer_ip

    def mac(self, index: int) -> str:
        return f"52:54:00:b7:00:{index:02x}"  # the playbook's peer_mac

    def domain_running_at(self, _index: int) -> float | None:
        return None  # the playbook's last task starts the domain: its exit is that moment


class CloudBench(Bench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.sides: dict[str, Side] = {}
        if args.only in ("both", "ours"):
            self.sides["ours"] = CloudOurs(self)
        if args.only in ("both", "peer"):
            self.sides["peer"] = CloudPeer(self)
        self.key = self.tmp / "id_ed25519"
        self.pubkey = ""
        self.flavor: dict = {}
        self.dhcp_hosts_before: set[tuple[str, ...]] = set()
        self.dhcp_leases_before: set[tuple[str, str]] = set()

    def preflight(self) -> None:
        if not Path("/run/netns", self.args.netns).exists():
            raise BenchError(f"no network namespace {self.args.netns!r} (make hosts creates it)")
        self.flavor = flavor_of(self.args.inventory, self.args.flavor)
        super().preflight()  # the peer's private copy of the base image, leftovers from an earlier run
        comment = f"nimbus-bench@{os.uname().nodename}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(self.key)], check=True)
        self.pubkey = self.key.with_suffix(".pub").read_text().strip()
        self.dhcp_hosts_before = self.dhcp_hosts()
        self.dhcp_leases_before = set(self.dhcp_leases())
        if "ours" in self.sides:
            # Untimed: the group that lets SSH in from the compute host (the default group lets in only its members).
            rules = [{"direction": "egress"}, {**SSH_RULE, "remote_ip_prefix": SSH_FROM}]
            extra = {"security_group_name": SSH_GROUP, "rules": rules}
            argv = [*self.playbook, str(REPO / "playbooks/security_group.yml"), "-e", json.dumps(extra)]
            made = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, check=False)
            if made.returncode != 0:
                raise BenchError(f"playbooks/security_group.yml failed: {made.stdout[-2000:]}{made.stderr[-2000:]}")

    def dhcp_hosts(self) -> set[tuple[str, ...]]:
        root = ET.fromstring(self.virsh("net-dumpxml", self.args.network).stdout)
        return {tuple(h.get(a) or "" for a in ("mac", "name", "ip")) for h in root.iter("host")}

    def dhcp_leases(self, mac: str | None = None) -> list[tuple[str, str]]:
        """(MAC, IP) of the network's DHCP leases, of one MAC when given."""
        argv = ["net-dhcp-leases", self.args.network, *(["--mac", mac] if mac else [])]
        return [
            (fields[2].lower(), fields[4].split("/")[0])
            for line in self.virsh(*argv).stdout.splitlines()
            if len(fields := line.split()) >= 5 and fields[3] == "ipv4"
        ]

    def delete(self, side: Side, index: int, tag: str) -> None:
        super().delete(side, index, tag)
        if isinstance(side, CloudPeer):
            # The guest never said DHCPRELEASE; a community.libvirt user's delete
            # leaves its lease for dnsmasq to expire (an hour). Ours releases its
            # own; the harness releases the peer's (untimed) so nothing is left.
            for mac, ip in self.dhcp_leases(side.mac(index)):
                bridge = ET.fromstring(self.virsh("net-dumpxml", self.args.network).stdout).find("bridge")
                if bridge is None or not bridge.get("name"):
                    raise BenchError(f"network {self.args.network} has no bridge to release {ip} ({mac}) on")
                sh(self.in_netns("dhcp_release", bridge.get("name"), ip, mac))

    def in_netns(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.args.netns, *argv]

    # ------------------------------------------------------------------ one run

    def boot(self, side: Side, index: int, tag: str) -> dict:
        """Timed: spawn the create playbook, wait for it, poll the guest's SSH banner from inside the netns."""
        name = side.name(index)
        log = self.logs / f"{tag}-{name}-create.log"
        self.live.append((side, index))
        started_wall = time.time()
        started = time.perf_counter()
        rc, playbook_seconds = self._spawn(side.create_argv(index), log)
        if rc != 0:
            raise BenchError(f"{side.label}: create of {name} failed (rc {rc}), log {log}:\n{tail(log)}")
        address = side.address(index)
        if ipaddress.ip_address(address) not in TEST_NET:
            raise BenchError(f"{side.label}: {name} has address {address}, outside {TEST_NET}; not polled")
        python = str(REPO / ".venv/bin/python")
        poll_argv = [python, str(POLLER), address, "--timeout", str(self.args.ssh_timeout), "--interval", "1"]
        poll = subprocess.run(
            self.in_netns(*poll_argv), capture_output=True, text=True, check=False, timeout=self.args.ssh_timeout + 60
        )
        ready_seconds = time.perf_counter() - started
        try:
            seen = json.loads(poll.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            seen = {"ready": False}
        if poll.returncode != 0 or not seen.get("ready"):
            leases = self.virsh("net-dhcp-leases", self.args.network, check=False).stdout
            raise BenchError(
                f"{side.label}: no SSH banner from {name} at {address} within {self.args.ssh_timeout} s after "
                f"the playbook ({seen}, {poll.stderr.strip()}); leases on {self.args.network}:\n{leases}"
            )
        self.verify_running(side, index, log)
        running_at = side.domain_running_at(index)
        to_running = playbook_seconds if running_at is None else running_at - started_wall
        return {
            "side": side.key,
            "name": name,
            "address": address,
            "seconds": round(ready_seconds, 3),
            "playbook_seconds": round(playbook_seconds, 3),
            "after_playbook_seconds": round(ready_seconds - playbook_seconds, 3),
            "to_domain_running_seconds": round(to_running, 3),
            "domain_running_to_ssh_seconds": round(ready_seconds - to_running, 3),
            "poll_tries": seen.get("tries"),
            "banner": seen.get("banner"),
        }

    def ssh_login(self, side: Side, address: str, name: str) -> int:
        """Untimed: `ssh -i KEY USER@IP true` inside the netns; the number of tries it took."""
        options = [
            "BatchMode=yes",
            "IdentitiesOnly=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "ConnectTimeout=10",
        ]
        argv = self.in_netns("ssh", "-i", str(self.key), *(f"-o{o}" for o in options), "-oLogLevel=ERROR")
        argv += [f"{self.args.user}@{address}", "true"]
        errors = []
        for attempt in range(1, SSH_LOGIN_TRIES + 1):
            try:
                res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
            except subprocess.TimeoutExpired:
                errors.append("timed out after 60 s")
            else:
                if res.returncode == 0:
                    return attempt
                errors.append(f"rc {res.returncode}: {res.stderr.strip()}")
            if attempt < SSH_LOGIN_TRIES:
                time.sleep(5)
        raise BenchError(f"{side.label}: ssh {self.args.user}@{address} ({name}) with the bench key failed: {errors}")

    def measure(self, side: Side, index: int, tag: str) -> dict:
        run = self.boot(side, index, tag)
        run["ssh_login_tries"] = self.ssh_login(side, run["address"], run["name"])
        self.delete(side, index, tag)
        return run

    def check_leftovers(self) -> None:
        left = self.dhcp_hosts() - self.dhcp_hosts_before
        if left:
            raise BenchError(f"DHCP host entries left on {self.args.network}: {sorted(left)}")
        leases = set(self.dhcp_leases()) - self.dhcp_leases_before
        if leases:
            raise BenchError(f"DHCP leases left on {self.args.network}: {sorted(leases)}")
        if "peer" in self.sides:
            files = sorted(p.name for p in self.args.peer_dir.iterdir() if p.name != "_base.qcow2")
            if files:
                raise BenchError(f"peer files left in {self.args.peer_dir}: {files}")

    # ------------------------------------------------------------------ the benchmark

    def execute(self) -> dict:
        """Preflight, warm-up if asked, the pairs, the leftover check: the result."""
        self.preflight()
        return self.run()

    def run(self) -> dict:
        loads = [os.getloadavg()[0]]
        warmup, runs = {}, []
        if self.args.warmup:
            for key, side in self.sides.items():
                warmup[key] = self.measure(side, 0, "warmup-ssh")
                print(f"warm-up {side.label:<28} {warmup[key]['seconds']:7.3f} s (not counted)", flush=True)
        for pair in range(1, self.args.pairs + 1):
            for pos, (key, side) in enumerate(self.sides.items()):
                run = {"pair": pair, "position": pos, **self.measure(side, pair, "run-ssh")}
                runs.append(run)
                print(
                    f"pair {pair:2d}  {self.sides[key].label:<28} SSH-ready {run['seconds']:7.3f} s  "
                    f"(playbook {run['playbook_seconds']:.3f} s)",
                    flush=True,
                )
        loads.append(os.getloadavg()[0])
        self.check_leftovers()
        return self.summarize(runs, warmup, loads)

    def summarize(self, runs: list[dict], warmup: dict, loads: list[float]) -> dict:
        def stats(values: list[float]) -> dict:
            return {
                "runs": values,
                "median": round(statistics.median(values), 3),
                "min": min(values),
                "max": max(values),
            }

        sides = {}
        for key, side in self.sides.items():
            mine = [r for r in runs if r["side"] == key]
            sides[key] = {
                "label": side.label,
                **stats([r["seconds"] for r in mine]),
                "playbook": stats([r["playbook_seconds"] for r in mine]),
                "to_domain_running": stats([r["to_domain_running_seconds"] for r in mine]),
                "domain_running_to_ssh": stats([r["domain_running_to_ssh_seconds"] for r in mine]),
                "warmup": warmup.get(key),
            }
        both = "ours" in sides and "peer" in sides
        ratio = round(sides["ours"]["median"] / sides["peer"]["median"], 3) if both else None
        playbook_ratio = (
            round(sides["ours"]["playbook"]["median"] / sides["peer"]["playbook"]["median"], 3) if both else None
        )
        result = {
            "benchmark": "cloud_ssh_ready",
            "measure": "seconds from spawning ansible-playbook until the harness reads the guest's SSH banner "
            "(SSH-2.0-) on port 22 from inside the guests' netns, polled once a second after the playbook exits; "
            "playbook_seconds is the playbook's own wall time",
            "pairs": self.args.pairs,
            "order": "alternate (A then B in every pair)",
            "warmup": "one uncounted pair first" if self.args.warmup else "none (--warmup adds one)",
            "ratio": ratio,
            "median_ours": sides.get("ours", {}).get("median"),
            "median_peer": sides.get("peer", {}).get("median"),
            "playbook_ratio": playbook_ratio,
            "sides": sides,
            "runs": runs,
            "setup": {
                "image": self.args.image,
                "peer_base_image": str(self.base_source) if "peer" in self.sides else None,
                "flavor": {"name": self.args.flavor, **self.flavor},
                "virt_type": "qemu (TCG)",
                "network": self.args.network,
                "netns": self.args.netns,
                "user": self.args.user,
                "ssh_timeout": self.args.ssh_timeout,
                "inventory": str(self.args.inventory),
                "peer_inventory": str(self.args.peer_inventory),
                "libvirt_uri": self.args.uri,
                "env": {k: v for k, v in self.env.items() if k.startswith(("ANSIBLE_", "NIMBUS_"))},
            },
            "machine": machine_info(loads),
        }
        self.print_table(runs, sides, ratio, playbook_ratio, loads)
        return result

    def print_table(
        self, runs: list[dict], sides: dict, ratio: float | None, pb_ratio: float | None, loads: list
    ) -> None:
        print(f"\n{'pair':>4}  {'side':<28} {'SSH-ready':>9} {'playbook':>9} {'running':>8} {'boot':>7}  address")
        for r in runs:
            print(
                f"{r['pair']:>4}  {self.sides[r['side']].label:<28} {r['seconds']:9.3f} {r['playbook_seconds']:9.3f} "
                f"{r['to_domain_running_seconds']:8.3f} {r['domain_running_to_ssh_seconds']:7.3f}  {r['address']}"
            )
        print("  (running: spawn to domain running; boot: domain running to the harness seeing the banner)\n")
        for s in sides.values():
            print(
                f"median {s['label']:<28} SSH-ready {s['median']:7.3f} s (min {s['min']:.3f}, max {s['max']:.3f}), "
                f"playbook {s['playbook']['median']:.3f} s, boot {s['domain_running_to_ssh']['median']:.3f} s"
            )
        if ratio is not None:
            print(f"ratio ours/peer, create to SSH-ready: {ratio:.3f}   (playbook wall alone: {pb_ratio:.3f})")
        print(f"load average (1 min) at start/end: {loads[0]:.2f} / {loads[1]:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=3, help="timed A/B pairs (default 3; each boot takes about a minute)")
    p.add_argument("--warmup", action="store_true", help="one uncounted pair before the timed ones (default: none)")
    p.add_argument("--only", choices=["both", "ours", "peer"], default="both", help="measure one side (no ratio)")
    p.add_argument("--inventory", type=Path, default=REPO / "inventories/local")
    p.add_argument("--peer-inventory", type=Path, default=None, help="inventory for the peer (default: --inventory)")
    p.add_argument("--image", default=OURS_IMAGE, help=f"ours: the inventory's image (default {OURS_IMAGE})")
    p.add_argument("--flavor", default="m1.small", help="ours: the flavor; the peer gets its size (default m1.small)")
    p.add_argument("--base-image", type=Path, default=CLOUD_IMAGE, help="the peer's base qcow2 (the same image)")
    p.add_argument("--user", default="debian", help="the image's default user (default debian)")
    p.add_argument("--network", default="nimbus-private", help="the peer's libvirt network (default nimbus-private)")
    p.add_argument("--netns", default="nimbus", help="network namespace of the guests' networks (default nimbus)")
    p.add_argument("--ssh-timeout", type=int, default=300, help="seconds to wait for the banner (default 300)")
    p.add_argument("--peer-dir", type=Path, default=Path("/var/lib/nimbus-bench/peer"))
    p.add_argument("--uri", default="qemu:///system")
    p.add_argument("--output", type=Path, default=BENCH / "results/cloud_ssh_ready.json")
    args = p.parse_args(argv)
    if not 1 <= args.pairs <= MAX_INDEX - 1:
        p.error(f"--pairs must be 1 to {MAX_INDEX - 1}")
    if args.peer_inventory is None:
        args.peer_inventory = args.inventory
    args.output = args.output.resolve()
    args.peer_dir = args.peer_dir.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = CloudBench(args)
    result = None
    try:
        result = bench.execute()
    except BenchError as exc:
        print(f"\ncloud SSH benchmark FAILED: {exc}", file=sys.stderr)
    finally:
        if result is None:
            bench.cleanup_after_failure()
        bench.close()
    if result is None:
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
