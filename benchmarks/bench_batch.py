#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several instances at once, create and delete: nimbus.compute against kcli and a bare virsh loop (issue 20).

For each count of --counts (default 1,10,20), alternating the sides over
--pairs pairs (default 3), times the wall time of

  ours          ansible-playbook playbooks/create_instance.yml -e instance_name=bench-n-a-P
                -e min_count=N -e max_count=N (every domain running), then
                playbooks/delete_instance.yml -e instance_names=[NAME-1..NAME-N]
  kcli          kcli create plan -f PLAN bench-n-b-P   (N vms of the same image, sizes,
                network and domain type as bench_kcli.py's), then kcli delete plan -y
  kcli-threaded kcli create plan -t ...                (kcli's threaded plan)
  virsh         a shell loop of qemu-img create (overlay) + virsh create (transient
                domain of the same sizes, disk and network), then virsh destroy + rm:
                the floor, no state, no checks
  community.libvirt
                ansible-playbook peers/community_libvirt_create_many.yml: the six jobs of
                bench_create.py's peer (overlay, seed files, seed ISO, DHCP entry, define,
                start), each task looping over the names as users write it; then
                peers/community_libvirt_delete_many.yml

after one uncounted warm-up of each side at the smallest count. After every
create, untimed: all N domains are running; after every delete: none is left
(and the DHCP leases the guests took are released). For ours, the store's
events split the create per step (schedule, allocate_network,
block_device_mapping, spawn: medians over the instances) and the rest is
ansible-playbook's own. Prints the medians and the ratios against issue 20's
goals (1: create <= 2x kcli, delete <= 1.5x; 10: create <= 1x the threaded
plan, delete <= 0.5x the plan's delete; 20: create <= 1.2x the virsh loop;
reported, not enforced) and writes the same as JSON. kcli is set up as
bench_kcli.py sets it up. A peer whose run fails is reported (FAILED, and
under "errors" in the JSON; its leftovers deleted) and the benchmark goes on:
kcli's threaded plan of twenty fails here at times ("pool has asynchronous
jobs running"). Exits non-zero only when a run or a check of ours fails, or
the benchmark itself does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bench_create import BENCH, REPO, BenchError, machine_info, run_bench, tail
from bench_kcli import KCLI_HOME, KCLI_VENV, TINY_IMAGE, KcliBench
from bench_kcli import parse_args as kcli_args

# Issue 20's goals: (count, operation) -> (the side ours is compared with, the ratio ours/that side).
GOALS = {
    (1, "create"): ("kcli", 2.0),
    (1, "delete"): ("kcli", 1.5),
    (10, "create"): ("kcli-threaded", 1.0),
    (10, "delete"): ("kcli", 0.5),
    (20, "create"): ("virsh", 1.2),
}
STEPS = ("schedule", "allocate_network", "block_device_mapping", "spawn")


class BatchSide:
    key = ""

    def __init__(self, bench: BatchBench, letter: str) -> None:
        self.b = bench
        self.letter = letter

    def prefix(self, count: int, pair: int) -> str:
        return f"bench-n{count}-{self.letter}-{pair}"

    def names(self, count: int, pair: int) -> list[str]:
        """The domain names the create must leave running."""
        prefix = self.prefix(count, pair)
        return [f"{prefix}-{i}" for i in range(1, count + 1)]

    def create_argv(self, count: int, pair: int) -> list[str]:
        raise NotImplementedError

    def delete_argv(self, count: int, pair: int) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return self.b.env


class OursBatch(BatchSide):
    key = "ours"

    def create_argv(self, count: int, pair: int) -> list[str]:
        extra = {"instance_name": self.prefix(count, pair), "min_count": count, "max_count": count}
        # The tiny flavor's one vCPU twenty times on this machine's cores, as the issue measured.
        extra["nimbus_scheduler"] = {"cpu_allocation_ratio": 16}
        # Twenty at once are over Nova's default quotas (10 instances, 20 cores): the peers have none.
        extra["nimbus_quotas"] = {"default": {"instances": -1, "cores": -1, "ram": -1}}
        return [*self.b.playbook, str(REPO / "playbooks/create_instance.yml"), "-e", json.dumps(extra)]

    def delete_argv(self, count: int, pair: int) -> list[str]:
        extra = {"instance_names": self.names(count, pair)}
        return [*self.b.playbook, str(REPO / "playbooks/delete_instance.yml"), "-e", json.dumps(extra)]

    def names(self, count: int, pair: int) -> list[str]:
        # Ours names a multi-create's instances NAME-1..NAME-N, a single one NAME.
        prefix = self.prefix(count, pair)
        return [prefix] if count == 1 else [f"{prefix}-{i}" for i in range(1, count + 1)]


class KcliPlan(BatchSide):
    key = "kcli"
    threaded = False

    def plan_file(self, count: int, pair: int) -> Path:
        path = self.b.tmp / f"{self.prefix(count, pair)}.yml"
        flavor = self.b.flavor
        vm = {
            "image": self.b.image_volume,
            "pool": self.b.args.pool,
            "numcpus": flavor["vcpus"],
            "memory": flavor["memory_mb"],
            "disks": [flavor["root_gb"]],
            "nets": [self.b.args.network],
            "virttype": "qemu",
            "cpumodel": "qemu64",
            "nested": False,
            "cloudinit": bool(self.b.args.cloudinit),
        }
        path.write_text(json.dumps({name: vm for name in self.names(count, pair)}, indent=2) + "\n")
        return path

    def create_argv(self, count: int, pair: int) -> list[str]:
        threaded = ["-t"] if self.threaded else []
        plan = str(self.plan_file(count, pair))
        return [str(KCLI_VENV / "bin/kcli"), "create", "plan", *threaded, "-f", plan, self.prefix(count, pair)]

    def delete_argv(self, count: int, pair: int) -> list[str]:
        return [str(KCLI_VENV / "bin/kcli"), "delete", "plan", "-y", self.prefix(count, pair)]

    def env(self) -> dict[str, str]:
        return self.b.kcli_env


class KcliThreaded(KcliPlan):
    key = "kcli-threaded"
    threaded = True


class VirshLoop(BatchSide):
    key = "virsh"

    def domain_xml(self, name: str, disk: Path) -> str:
        flavor = self.b.flavor
        return (
            f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>{flavor['memory_mb']}</memory>"
            f"<vcpu>{flavor['vcpus']}</vcpu><os><type arch='x86_64'>hvm</type></os>"
            "<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
            f"<interface type='network'><source network='{self.b.args.network}'/><model type='virtio'/></interface>"
            "<serial type='pty'/></devices></domain>"
        )

    def script(self, count: int, pair: int, delete: bool) -> Path:
        lines = ["set -eu"]
        for name in self.names(count, pair):
            disk = self.b.pool_path / f"{name}.qcow2"
            xml = self.b.tmp / f"{name}.xml"
            if delete:
                lines += [f"virsh -q -c {self.b.args.uri} destroy {name} >/dev/null", f"rm -f {disk}"]
                continue
            xml.write_text(self.domain_xml(name, disk))
            base = self.b.pool_path / self.b.image_volume
            lines += [
                f"qemu-img create -q -f qcow2 -F qcow2 -b {base} {disk} {self.b.flavor['root_gb']}G",
                f"virsh -q -c {self.b.args.uri} create {xml} >/dev/null",
            ]
        path = self.b.tmp / f"{self.prefix(count, pair)}-{'delete' if delete else 'create'}.sh"
        path.write_text("\n".join(lines) + "\n")
        return path

    def create_argv(self, count: int, pair: int) -> list[str]:
        return ["sh", str(self.script(count, pair, delete=False))]

    def delete_argv(self, count: int, pair: int) -> list[str]:
        return ["sh", str(self.script(count, pair, delete=True))]


class CommunityLibvirtLoop(BatchSide):
    """The equal-work community.libvirt playbook (peers/community_libvirt_create_many.yml), each task looping."""

    key = "community.libvirt"

    def extra_vars(self, count: int, pair: int) -> str:
        prefix = self.b.ip_prefix
        vms = [{"name": name, "index": index} for index, name in enumerate(self.names(count, pair), start=1)]
        return json.dumps(
            {
                "peer_vms": vms,
                "peer_network": self.b.args.network,
                "peer_ip_prefix": prefix,
                "peer_base_image": str(self.b.pool_path / self.b.image_volume),
                "peer_instances_path": str(self.b.pool_path),
                "peer_libvirt_uri": self.b.args.uri,
                "peer_memory_mb": self.b.flavor["memory_mb"],
                "peer_vcpus": self.b.flavor["vcpus"],
                "peer_disk_size": f"{self.b.flavor['root_gb']}G",
            }
        )

    def create_argv(self, count: int, pair: int) -> list[str]:
        playbook = str(BENCH / "peers/community_libvirt_create_many.yml")
        return [*self.b.playbook, playbook, "-e", self.extra_vars(count, pair)]

    def delete_argv(self, count: int, pair: int) -> list[str]:
        playbook = str(BENCH / "peers/community_libvirt_delete_many.yml")
        return [*self.b.playbook, playbook, "-e", self.extra_vars(count, pair)]


class BatchBench(KcliBench):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.batch_sides = [
            OursBatch(self, "a"),
            KcliPlan(self, "b"),
            KcliThreaded(self, "c"),
            VirshLoop(self, "d"),
            CommunityLibvirtLoop(self, "e"),
        ]
        self.batch_live: list[tuple[BatchSide, int, int]] = []

    def preflight(self) -> None:
        super().preflight()
        existing = self.virsh.domains()
        clash = sorted(name for name in existing if name.startswith("bench-n"))
        if clash:
            raise BenchError(f"domains from an earlier run still exist: {clash}; delete them first")
        self.ip_prefix = self.virsh.network_prefix(self.args.network)

    def timed(self, side: BatchSide, argv: list[str], log: Path) -> float:
        rc, seconds = self._spawn(argv, log, side.env())
        if rc != 0:
            raise BenchError(f"{side.key}: {' '.join(argv[:4])} failed (rc {rc}), log {log}:\n{tail(log)}")
        return seconds

    def create_batch(self, side: BatchSide, count: int, pair: int, tag: str) -> dict:
        log = self.logs / f"{tag}-{side.prefix(count, pair)}-create.log"
        self.batch_live.append((side, count, pair))
        seconds = self.timed(side, side.create_argv(count, pair), log)
        names = side.names(count, pair)
        states = {name: self.virsh.domstate(domain) for name in names for domain in self.domains_of(side, name)}
        not_running = {name: state for name, state in states.items() if state != "running"}
        if len(states) != count or not_running:
            raise BenchError(f"{side.key}: after the create of {count}, not running: {not_running or states}; {log}")
        result = {"create": round(seconds, 3)}
        if side.key == "ours":
            result["steps"] = self.step_split(names)
        return result

    def delete_batch(self, side: BatchSide, count: int, pair: int, tag: str) -> float:
        names = side.names(count, pair)
        domains = [domain for name in names for domain in self.domains_of(side, name)]
        macs = [] if side.key == "ours" else [mac for name in names for mac in self.domain_macs(name)]
        log = self.logs / f"{tag}-{side.prefix(count, pair)}-delete.log"
        seconds = self.timed(side, side.delete_argv(count, pair), log)
        left = [name for name in domains if self.virsh.domstate(name) is not None]
        if left:
            raise BenchError(f"{side.key}: domains left after the delete: {left}; {log}")
        self.release_leases(macs)
        self.batch_live.remove((side, count, pair))
        return round(seconds, 3)

    def domains_of(self, side: BatchSide, name: str) -> list[str]:
        """The libvirt domains of one name: the peers name them so; ours by the uuids its store records."""
        if side.key != "ours":
            return [name]
        return [uuid for uuid, _record in self.store_instances(name)]

    def domain_macs(self, name: str) -> list[str]:
        out = self.virsh("domiflist", name).stdout
        return [fields[4].lower() for line in out.splitlines() if len(fields := line.split()) >= 5]

    def step_split(self, names: list[str]) -> dict:
        """Per step of ours, the median over the instances of its event's seconds (the create action's)."""
        per_step: dict[str, list[float]] = {step: [] for step in STEPS}
        for name in names:
            for _uuid, record in self.store_instances(name):
                if record.get("vm_state") != "active":
                    continue
                create = [a for a in record.get("actions") or [] if a["action"] == "create"][-1]
                for event in create["events"]:
                    if event["event"] in per_step and event.get("finish_time"):
                        per_step[event["event"]].append(seconds_between(event["start_time"], event["finish_time"]))
        return {step: round(statistics.median(values), 3) for step, values in per_step.items() if values}

    def run(self) -> dict:
        loads = [os.getloadavg()[0]]
        smallest = min(self.args.counts)
        warmup: dict[str, float | None] = {}
        for side in self.batch_sides:  # uncounted: page cache, .pyc, libvirt connections
            outcome = self.lifecycle(side, smallest, 0, "warmup-batch")
            warmup[side.key] = outcome.get("create")
            shown = f"{outcome['create']:7.3f} s" if "create" in outcome else f"FAILED: {outcome['error']}"
            print(f"warm-up {side.key:<17} create of {smallest}: {shown} (not counted)", flush=True)
        runs = []
        for count in self.args.counts:
            for pair in range(1, self.args.pairs + 1):
                for side in self.batch_sides:
                    run = {"count": count, "pair": pair, "side": side.key, **self.lifecycle(side, count, pair, "run")}
                    runs.append(run)
                    if "error" in run:
                        print(f"{count:3d} x  pair {pair}  {side.key:<17} FAILED: {run['error']}", flush=True)
                        continue
                    steps = "  ".join(f"{k} {v:.2f}" for k, v in run.get("steps", {}).items())
                    print(
                        f"{count:3d} x  pair {pair}  {side.key:<17} create {run['create']:7.3f} s  "
                        f"delete {run['delete']:7.3f} s  {steps}",
                        flush=True,
                    )
        loads.append(os.getloadavg()[0])
        return self.summarize_batches(runs, warmup, loads)

    def lifecycle(self, side: BatchSide, count: int, pair: int, tag: str) -> dict:
        """One timed create and delete of a side. A peer that fails is reported (its leftovers deleted, untimed)
        and the benchmark goes on; ours failing stops it."""
        try:
            run = self.create_batch(side, count, pair, tag)
            run["delete"] = self.delete_batch(side, count, pair, tag)
            return run
        except BenchError as error:
            if side.key == "ours":
                raise
            self.remove_leftovers(side, count, pair)
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            # What failed, and the last line of its log: the reason.
            return {"error": lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"}

    def remove_leftovers(self, side: BatchSide, count: int, pair: int) -> None:
        subprocess.run(side.delete_argv(count, pair), env=side.env(), cwd=REPO, check=False, capture_output=True)
        for name in side.names(count, pair):
            for domain in self.domains_of(side, name):
                if self.virsh.domstate(domain) is not None:
                    subprocess.run(["virsh", "-q", "-c", self.args.uri, "destroy", domain], check=False)
                    subprocess.run(["virsh", "-q", "-c", self.args.uri, "undefine", domain], check=False)
        if (side, count, pair) in self.batch_live:
            self.batch_live.remove((side, count, pair))

    def summarize_batches(self, runs: list[dict], warmup: dict, loads: list[float]) -> dict:
        medians: dict[str, dict] = {}
        for count in self.args.counts:
            for side in self.batch_sides:
                mine = [r for r in runs if r["count"] == count and r["side"] == side.key and "error" not in r]
                failed = [r["error"] for r in runs if r["count"] == count and r["side"] == side.key and "error" in r]
                entry: dict = {"failed_runs": len(failed), "errors": failed} if failed else {}
                if mine:
                    entry.update({op: round(statistics.median(r[op] for r in mine), 3) for op in ("create", "delete")})
                if side.key == "ours":
                    entry["steps"] = {
                        step: round(statistics.median(r["steps"][step] for r in mine if step in r["steps"]), 3)
                        for step in STEPS
                        if any(step in r["steps"] for r in mine)
                    }
                medians.setdefault(str(count), {})[side.key] = entry
        goals = []
        for (count, op), (peer, target) in GOALS.items():
            if str(count) not in medians:
                continue
            theirs = medians[str(count)][peer].get(op)
            ratio = round(medians[str(count)]["ours"][op] / theirs, 3) if theirs else None
            goals.append({"count": count, "operation": op, "against": peer, "ratio": ratio, "goal": target})
        print()
        for count, sides in medians.items():
            for key, entry in sides.items():
                if "create" not in entry:
                    print(f"median {count:>3} x  {key:<17} no figure: failed in every run ({entry['errors'][0]})")
                    continue
                steps = "  ".join(f"{k} {v:.2f}" for k, v in entry.get("steps", {}).items())
                failures = f"  ({entry['failed_runs']} run(s) failed)" if entry.get("failed_runs") else ""
                print(
                    f"median {count:>3} x  {key:<17} create {entry['create']:7.3f} s  "
                    f"delete {entry['delete']:7.3f} s  {steps}{failures}"
                )
        for goal in goals:
            if goal["ratio"] is None:
                print(f"{goal['count']:3d} x  {goal['operation']:<6} ours/{goal['against']:<17} no figure (it failed)")
                continue
            verdict = "meets" if goal["ratio"] <= goal["goal"] else "MISSES"
            print(
                f"{goal['count']:3d} x  {goal['operation']:<6} ours/{goal['against']:<17} {goal['ratio']:6.3f}  "
                f"({verdict} issue 20's goal <= {goal['goal']})"
            )
        print(f"load average (1 min) at start/end: {loads[0]:.2f} / {loads[1]:.2f}")
        machine = machine_info(loads)
        machine["kcli"] = self.kcli_version
        return {
            "benchmark": "batch_lifecycle",
            "measure": "wall seconds from spawning the command to its exit; every create ends with all its domains "
            "running, not with the guests booted; every delete with none left",
            "counts": self.args.counts,
            "pairs": self.args.pairs,
            "order": "for each count, every pair runs the sides in the order "
            + ", ".join(side.key for side in self.batch_sides),
            "warmup": warmup,
            "runs": runs,
            "medians": medians,
            "goals": goals,
            "setup": {
                "flavor": {self.args.flavor: self.flavor},
                "network": self.args.network,
                "libvirt_uri": self.args.uri,
                "kcli_pool": {"name": self.args.pool, "path": str(self.pool_path)},
                "kcli_home": str(KCLI_HOME),
                "image": str(TINY_IMAGE),
            },
            "machine": machine,
        }

    def cleanup_after_failure(self) -> None:
        for side, count, pair in list(self.batch_live):
            print(f"cleanup: deleting {side.prefix(count, pair)}", file=sys.stderr)
            subprocess.run(side.delete_argv(count, pair), env=side.env(), cwd=REPO, check=False, capture_output=True)


def seconds_between(start: str, finish: str) -> float:
    return (parse_time(finish) - parse_time(start)).total_seconds()


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    counts_parser = argparse.ArgumentParser(add_help=False)
    counts_parser.add_argument("--counts", default="1,10,20", help="instances per run, comma-separated (1,10,20)")
    known, rest = counts_parser.parse_known_args(argv)
    if "--pairs" not in rest:
        rest = ["--pairs", "3", *rest]
    if "--output" not in rest:
        rest = [*rest, "--output", str(BENCH / "results/batch_lifecycle.json")]
    args = kcli_args(rest)
    try:
        args.counts = sorted({int(count) for count in known.counts.split(",")})
    except ValueError:
        sys.exit(f"--counts must be comma-separated integers, got {known.counts!r}")
    if not args.counts or args.counts[0] < 1 or args.counts[-1] > 40:
        sys.exit("--counts must be from 1 to 40")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(BatchBench(args), args.output, (BenchError, subprocess.CalledProcessError))


if __name__ == "__main__":
    sys.exit(main())
