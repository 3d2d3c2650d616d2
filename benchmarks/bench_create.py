#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create-instance benchmark: nimbus.compute against a community.libvirt peer.

Measures, in one run, the wall time from spawning ``ansible-playbook`` to its
exit for

  A  ours  playbooks/create_instance.yml -e instance_name=bench-a-N   (ends at ACTIVE)
  B  peer  benchmarks/peers/community_libvirt_create.yml     (ends when the
           domain is running)

alternating A and B over ``--pairs`` pairs (default 5, at least 5) after one
uncounted warm-up of each. After every run, untimed: the domain must exist
and be running (``virsh domstate``), then the instance is deleted again
(ours: playbooks/delete_instance.yml, peer: community_libvirt_delete.yml) and
must be gone. Prints a table, the medians and the ratio ours/peer, and writes
them as JSON. Any failed run, failed check or failed cleanup ends the script
with a non-zero status.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
PEERS = BENCH / "peers"
TEST_NET = ipaddress.ip_network("198.18.0.0/15")
MAX_INDEX = 50  # the peer's IPs are <prefix>.200 + index, .200-.250
TARGET_RATIO = 1.0
PROFILE_LINE = re.compile(r"^(?P<task>.+?) -{2,} (?P<seconds>\d+\.\d+)s\s*$")


class BenchError(Exception):
    """A run, a check or a cleanup failed: the benchmark is not valid."""


# --------------------------------------------------------------------------- helpers


def sh(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


class Virsh:
    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh(["virsh", "-q", "-c", self.uri, *args], check=check)

    def domstate(self, dom: str) -> str | None:
        res = self("domstate", dom, check=False)
        return res.stdout.strip() if res.returncode == 0 else None

    def domains(self) -> set[str]:
        return {n for n in self("list", "--all", "--name").stdout.split() if n}

    def network_prefix(self, network: str) -> str:
        """First three octets of the network's IPv4 /24, checked to be in 198.18.0.0/15."""
        if self("net-info", network, check=False).returncode != 0:
            raise BenchError(
                f"libvirt network {network!r} does not exist on {self.uri} "
                "(make hosts creates nimbus-private; or pass --network)"
            )
        root = ET.fromstring(self("net-dumpxml", network).stdout)
        for ip in root.findall("ip"):
            if ip.get("family", "ipv4") != "ipv4":
                continue
            prefix = ip.get("prefix") or ipaddress.ip_network(f"0.0.0.0/{ip.get('netmask')}").prefixlen
            net = ipaddress.ip_network(f"{ip.get('address')}/{prefix}", strict=False)
            if not net.subnet_of(TEST_NET) or net.prefixlen > 24:
                raise BenchError(f"network {network} is {net}: the peer needs a /24 (or larger) in {TEST_NET}")
            return ".".join(str(ip.get("address")).split(".")[:3])
        raise BenchError(f"network {network} has no IPv4 address")


# --------------------------------------------------------------------------- the two sides


class Side:
    """One way of creating an instance: a timed create and an untimed delete."""

    key = ""
    label = ""

    def __init__(self, bench: Bench) -> None:
        self.b = bench

    def name(self, index: int) -> str:
        raise NotImplementedError

    def create_argv(self, index: int) -> list[str]:
        raise NotImplementedError

    def delete_argv(self, index: int) -> list[str]:
        raise NotImplementedError

    def domain_candidates(self, index: int) -> list[str]:
        return [self.name(index)]


class Ours(Side):
    key = "ours"
    label = "A ours (nimbus.compute)"

    def name(self, index: int) -> str:
        return f"bench-a-{index}"

    def create_argv(self, index: int) -> list[str]:
        return [
            *self.b.playbook,
            str(REPO / "playbooks/create_instance.yml"),
            "-e",
            f"instance_name={self.name(index)}",
        ]

    def delete_argv(self, index: int) -> list[str]:
        return [
            *self.b.playbook,
            str(REPO / "playbooks/delete_instance.yml"),
            "-e",
            f"instance_name={self.name(index)}",
        ]

    def domain_candidates(self, index: int) -> list[str]:
        # The domain may be named after the instance or (like Nova) not: also
        # try the instance's uuid and any domain name the store recorded.
        out = [self.name(index)]
        for uuid, inst in self.b.store_instances(self.name(index)):
            out.append(uuid)
            for key in ("domain_name", "libvirt_name", "instance_name"):
                if isinstance(inst.get(key), str):
                    out.append(inst[key])
        return list(dict.fromkeys(out))


class Peer(Side):
    key = "peer"
    label = "B peer (community.libvirt)"

    def name(self, index: int) -> str:
        return f"bench-b-{index}"

    def _vars(self, index: int) -> str:
        return json.dumps(
            {
                "peer_name": self.name(index),
                "peer_index": index,
                "peer_network": self.b.args.network,
                "peer_ip_prefix": self.b.ip_prefix,
                "peer_base_image": str(self.b.base_image),
                "peer_instances_path": str(self.b.args.peer_dir),
                "peer_libvirt_uri": self.b.args.uri,
            }
        )

    def create_argv(self, index: int) -> list[str]:
        return [*self.b.peer_playbook, str(PEERS / "community_libvirt_create.yml"), "-e", self._vars(index)]

    def delete_argv(self, index: int) -> list[str]:
        return [*self.b.peer_playbook, str(PEERS / "community_libvirt_delete.yml"), "-e", self._vars(index)]


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.virsh = Virsh(args.uri)
        self.tmp = Path(tempfile.mkdtemp(prefix="nimbus-bench-"))
        self.store_path = self.tmp / "store.json"
        self.logs = args.output.parent / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.playbook = [str(REPO / ".venv/bin/ansible-playbook"), "-i", str(args.inventory)]
        self.peer_playbook = [str(REPO / ".venv/bin/ansible-playbook"), "-i", str(args.peer_inventory)]
        self.env = self._env()
        self.ip_prefix = ""
        self.base_image = Path()
        self.base_source = Path()
        self.sides: dict[str, Side] = {}
        if args.only in ("both", "ours"):
            self.sides["ours"] = Ours(self)
        if args.only in ("both", "peer"):
            self.sides["peer"] = Peer(self)
        self.live: list[tuple[Side, int]] = []  # created and not yet deleted

    def _env(self) -> dict[str, str]:
        # Inherited ANSIBLE_* settings (a profiling callback, say) would tilt
        # the measurement; both sides get the same, minimal environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / "build/collections")
        cfg = REPO / "ansible.cfg"
        if cfg.is_file():
            env["ANSIBLE_CONFIG"] = str(cfg)
        elif os.environ.get("ANSIBLE_CONFIG"):
            env["ANSIBLE_CONFIG"] = os.environ["ANSIBLE_CONFIG"]
        env["NIMBUS_STORE_PATH"] = str(self.store_path)
        env["PATH"] = f"{REPO / '.venv/bin'}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def store_instances(self, name: str) -> list[tuple[str, dict]]:
        try:
            data = json.loads(self.store_path.read_text())
        except (OSError, ValueError):
            return []
        insts = data.get("instances", {}) if isinstance(data, dict) else {}
        return [(u, i) for u, i in insts.items() if isinstance(i, dict) and i.get("name") == name]

    # ------------------------------------------------------------------ setup

    def preflight(self) -> None:
        link = REPO / "build/collections/ansible_collections/nimbus/compute"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("../../../..")
        if not (REPO / ".venv/bin/ansible-playbook").exists():
            raise BenchError("no .venv/bin/ansible-playbook: run benchmarks/run.sh (or make bench)")
        if "ours" in self.sides:
            for pb in ("create_instance.yml", "delete_instance.yml"):
                if not (REPO / "playbooks" / pb).is_file():
                    raise BenchError(f"playbooks/{pb} does not exist (use --only peer to measure the peer alone)")
        if "peer" in self.sides:
            self.ip_prefix = self.virsh.network_prefix(self.args.network)
            self.args.peer_dir.mkdir(parents=True, exist_ok=True)
            # A private copy (untimed): the shared build/images may be rebuilt
            # while the benchmark runs, and an overlay needs its base.
            self.base_source = self._base_image()
            self.base_image = self.args.peer_dir / "_base.qcow2"
            shutil.copyfile(self.base_source, self.base_image)
        if self.args.pairs + 1 > MAX_INDEX + 1:
            raise BenchError(f"--pairs is at most {MAX_INDEX}")
        existing = self.virsh.domains()
        clash = sorted(
            s.name(i) for s in self.sides.values() for i in range(self.args.pairs + 1) if s.name(i) in existing
        )
        if clash:
            raise BenchError(f"domains from an earlier run still exist: {clash}; delete them first")

    def _base_image(self) -> Path:
        if self.args.base_image:
            img = self.args.base_image.resolve()
            if not img.is_file():
                raise BenchError(f"base image {img} does not exist")
            return img
        tiny = REPO / "build/images/nimbus-tiny.qcow2"
        if tiny.is_file():
            return tiny
        # Booting is not measured: any small qcow2 does for the peer's base.
        blank = REPO / "build/bench-base.qcow2"
        if not blank.is_file():
            blank.parent.mkdir(parents=True, exist_ok=True)
            sh(["qemu-img", "create", "-q", "-f", "qcow2", str(blank), "64M"])
        return blank

    # ------------------------------------------------------------------ runs

    def _spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[int, float]:
        with log.open("w") as out:
            out.write("$ " + " ".join(argv) + "\n")
            out.flush()
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                argv, cwd=REPO, env=env or self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
            rc = proc.wait()
            t1 = time.perf_counter()
        return rc, t1 - t0

    def create(self, side: Side, index: int, tag: str, env: dict[str, str] | None = None) -> float:
        log = self.logs / f"{tag}-{side.name(index)}-create.log"
        self.live.append((side, index))
        rc, seconds = self._spawn(side.create_argv(index), log, env)
        if rc != 0:
            raise BenchError(f"{side.label}: create of {side.name(index)} failed (rc {rc}), log {log}:\n{tail(log)}")
        self.verify_running(side, index, log)
        return seconds

    def verify_running(self, side: Side, index: int, log: Path) -> None:
        tried = {}
        for dom in side.domain_candidates(index):
            state = self.virsh.domstate(dom)
            tried[dom] = state
            if state == "running":
                return
        raise BenchError(
            f"{side.label}: after create, no running domain for {side.name(index)} (domstate: {tried}); log {log}"
        )

    def delete(self, side: Side, index: int, tag: str) -> None:
        candidates = side.domain_candidates(index)
        log = self.logs / f"{tag}-{side.name(index)}-delete.log"
        rc, _elapsed = self._spawn(side.delete_argv(index), log)
        if rc != 0:
            raise BenchError(f"{side.label}: delete of {side.name(index)} failed (rc {rc}), log {log}:\n{tail(log)}")
        left = {d: s for d in candidates if (s := self.virsh.domstate(d)) is not None}
        if left:
            raise BenchError(f"{side.label}: domain still there after delete: {left}; log {log}")
        self.live.remove((side, index))

    def cleanup_after_failure(self) -> None:
        for side, index in list(self.live):
            with contextlib.suppress(BenchError):
                print(f"cleanup: deleting {side.name(index)}", file=sys.stderr)
                self.delete(side, index, "cleanup")
        for side, index in self.live:
            print(f"cleanup FAILED for {side.name(index)}: remove it by hand", file=sys.stderr)

    def profile(self, side: Side, index: int) -> dict:
        """One extra, untimed run with profile_tasks, for the per-task breakdown."""
        env = dict(
            self.env, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all"
        )
        seconds = self.create(side, index, "profile", env)
        log = self.logs / f"profile-{side.name(index)}-create.log"
        tasks, in_recap = [], False
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("TASKS RECAP"):
                in_recap = True
            elif in_recap and (m := PROFILE_LINE.match(line)):
                tasks.append({"task": m["task"].strip(), "seconds": float(m["seconds"])})
        self.delete(side, index, "profile")
        return {
            "wall_seconds": round(seconds, 3),
            "tasks": tasks,
            "task_seconds_sum": round(sum(t["seconds"] for t in tasks), 3),
        }

    # ------------------------------------------------------------------ main

    def run(self) -> dict:
        args = self.args
        rng = random.Random(args.seed)
        order_used: list[str] = []
        runs: list[dict] = []
        warmup: dict[str, float] = {}
        keys = list(self.sides)
        loads = [os.getloadavg()[0]]
        for key in keys:  # uncounted warm-up: page cache, .pyc, libvirt connections
            side = self.sides[key]
            warmup[key] = round(self.create(side, 0, "warmup"), 3)
            self.delete(side, 0, "warmup")
            print(f"warm-up {side.label:<28} {warmup[key]:7.3f} s (not counted)")
        for pair in range(1, args.pairs + 1):
            order = list(keys)
            if args.order == "random":
                rng.shuffle(order)
            order_used.append("".join("A" if k == "ours" else "B" for k in order))
            for pos, key in enumerate(order):
                side = self.sides[key]
                seconds = self.create(side, pair, "run")
                self.delete(side, pair, "run")
                runs.append(
                    {"pair": pair, "position": pos, "side": key, "name": side.name(pair), "seconds": round(seconds, 3)}
                )
                print(f"pair {pair:2d}  {side.label:<28} {seconds:7.3f} s")
        loads.append(os.getloadavg()[0])
        profiles = {}
        if args.profile:
            for key in keys:
                profiles[key] = self.profile(self.sides[key], args.pairs + 1 if args.pairs < MAX_INDEX else 0)
        return self.report(runs, warmup, order_used, profiles, loads)

    def report(self, runs: list[dict], warmup: dict, order_used: list[str], profiles: dict, loads: list[float]) -> dict:
        sides = {}
        for key, side in self.sides.items():
            secs = [r["seconds"] for r in runs if r["side"] == key]
            sides[key] = {
                "label": side.label,
                "runs": secs,
                "median": round(statistics.median(secs), 3),
                "min": min(secs),
                "max": max(secs),
                "warmup": warmup[key],
            }
        ratio = None
        if "ours" in sides and "peer" in sides:
            ratio = round(sides["ours"]["median"] / sides["peer"]["median"], 3)
        result = {
            "benchmark": "create_instance",
            "measure": "wall seconds from spawning ansible-playbook to its exit; both playbooks end when the "
            "domain is running (ours: ACTIVE), not when the guest has booted",
            "pairs": self.args.pairs,
            "order": self.args.order,
            "order_per_pair": order_used,
            "seed": self.args.seed if self.args.order == "random" else None,
            "warmup": "one create+delete of each side before the pairs, not counted",
            "runs": runs,
            "sides": sides,
            "median_ours": sides.get("ours", {}).get("median"),
            "median_peer": sides.get("peer", {}).get("median"),
            "ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "meets_target": None if ratio is None else ratio <= TARGET_RATIO,
            "profiles": profiles,
            "setup": {
                "inventory": str(self.args.inventory),
                "peer_inventory": str(self.args.peer_inventory),
                "network": self.args.network if "peer" in self.sides else None,
                "peer_base_image": str(self.base_source) if "peer" in self.sides else None,
                "libvirt_uri": self.args.uri,
                "env": {k: v for k, v in self.env.items() if k.startswith(("ANSIBLE_", "NIMBUS_"))},
            },
            "machine": machine_info(loads),
        }
        print()
        print(f"{'pair':>4}  {'side':<28} {'seconds':>8}")
        for r in runs:
            print(f"{r['pair']:>4}  {self.sides[r['side']].label:<28} {r['seconds']:8.3f}")
        print()
        for s in sides.values():
            spread = f"min {s['min']:.3f}, max {s['max']:.3f}, n={len(s['runs'])}"
            print(f"median {s['label']:<28} {s['median']:7.3f} s   ({spread})")
        if ratio is not None:
            verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
            print(f"ratio ours/peer {ratio:.3f}  ({verdict} the target <= {TARGET_RATIO})")
        for key, p in profiles.items():
            print(f"\nprofile_tasks, {self.sides[key].label} (one extra untimed run, wall {p['wall_seconds']:.3f} s):")
            for t in p["tasks"]:
                print(f"  {t['seconds']:6.2f} s  {t['task']}")
        print(f"\nload average (1 min) at start/end: {loads[0]:.2f} / {loads[1]:.2f}")
        return result

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.base_image.name == "_base.qcow2":
            self.base_image.unlink(missing_ok=True)
        for d in (self.args.peer_dir, self.args.peer_dir.parent):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty


def machine_info(loads: list[float]) -> dict:
    def first_line(argv: list[str]) -> str | None:
        try:
            res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        except OSError:
            return None
        return res.stdout.strip().splitlines()[0] if res.returncode == 0 and res.stdout.strip() else None

    py = str(REPO / ".venv/bin/python")
    core = first_line([py, "-c", "import ansible.release as r; print(r.__version__)"])
    pkg = first_line([py, "-c", "import importlib.metadata as m; print(m.version('ansible'))"])
    libvirt_coll = first_line(
        [
            py,
            "-c",
            "import json, ansible_collections.community.libvirt as c, pathlib; "
            "print(json.load(open(pathlib.Path(list(c.__path__)[0]) / 'MANIFEST.json'))['collection_info']['version'])",
        ]
    )
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible_core": core,
        "ansible_package": pkg,
        "community_libvirt": libvirt_coll,
        "libvirt": first_line(["virsh", "--version"]),
        "qemu": first_line(["qemu-system-x86_64", "--version"]),
        "loadavg_1min_start_end": [round(x, 2) for x in loads],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=5, help="timed A/B pairs, at least 5 (default 5)")
    p.add_argument(
        "--order",
        choices=["alternate", "random"],
        default="alternate",
        help="alternate: A then B in every pair (ABAB...); random: shuffled per pair (default alternate)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed for --order random")
    p.add_argument(
        "--only",
        choices=["both", "ours", "peer"],
        default="both",
        help="measure one side alone (no ratio); the default measures both",
    )
    p.add_argument("--inventory", type=Path, default=REPO / "inventories/local")
    p.add_argument(
        "--peer-inventory",
        type=Path,
        default=None,
        help="inventory for the peer (default: --inventory if it exists, else benchmarks/peers/inventory.yml)",
    )
    p.add_argument("--network", default="nimbus-private", help="libvirt network for the peer (default nimbus-private)")
    p.add_argument(
        "--base-image",
        type=Path,
        default=None,
        help="peer's base qcow2 (default build/images/nimbus-tiny.qcow2, else a blank 64M qcow2)",
    )
    p.add_argument(
        "--peer-dir", type=Path, default=Path("/var/lib/nimbus-bench/peer"), help="peer's disk/seed directory"
    )
    p.add_argument("--uri", default="qemu:///system")
    p.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the extra untimed profile_tasks run of each side",
    )
    p.add_argument("--output", type=Path, default=BENCH / "results/create_instance.json")
    args = p.parse_args(argv)
    if args.pairs < 5:
        p.error("--pairs must be at least 5")
    if args.order == "random" and args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    if args.peer_inventory is None:
        args.peer_inventory = args.inventory if args.inventory.exists() else PEERS / "inventory.yml"
    args.output = args.output.resolve()
    args.peer_dir = args.peer_dir.resolve()
    return args


def run_bench(bench, output: Path, failures: tuple[type[BaseException], ...] = (BenchError,)) -> int:
    """Preflight, run and close ``bench``; its figures as JSON in ``output``. 1 when a run or check failed
    (``failures``), after cleaning up what the runs made."""
    try:
        bench.preflight()
        result = bench.run()
    except failures as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        bench.cleanup_after_failure()
        bench.close()
        return 1
    except BaseException:
        bench.cleanup_after_failure()
        bench.close()
        raise
    bench.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(output)
    print(f"wrote {output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(Bench(args), args.output)


if __name__ == "__main__":
    sys.exit(main())
