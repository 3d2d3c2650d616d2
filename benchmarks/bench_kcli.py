#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One instance, create and delete: nimbus.compute against kcli (issue 20, "Speed").

Times, alternating the sides over --pairs pairs (default 5) after one
uncounted warm-up of each, the wall time of

  A  ours  ansible-playbook -i inventories/local playbooks/create_instance.yml
           -e instance_name=bench-k-a-N          (ends at ACTIVE: domain running)
           then playbooks/delete_instance.yml -e instance_name=bench-k-a-N
  B  kcli  kcli create vm bench-k-b-N -i nimbus-tiny.qcow2 -P ...
           (returns with the domain running), then kcli delete vm -y bench-k-b-N

both with the tiny image, flavor m1.tiny's sizes (read from the inventory),
the network nimbus-private and domain type qemu (TCG). kcli comes from PyPI
into a virtualenv of its own (build/kcli-venv, made when missing, pinned in
benchmarks/peers/kcli/requirements.txt) and runs with HOME=build/kcli-home,
where this script writes its config: client local, the libvirt URI, and a dir
pool of its own (nimbus-kcli-bench) holding a copy of the image, made and
removed by this script.

After every create, untimed: `virsh domstate` says running; after every
delete: the domain is gone (and, for kcli, its disk and seed ISO with it; the
DHCP lease its guest may have taken is released, as bench_cloud_ssh.py does
for its peer). Prints the runs, the medians, the ratios ours/kcli against
issue 20's goals (create <= 2x, delete <= 1.5x; reported, not enforced) and
writes the same as JSON. Exits non-zero only when a run or a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from bench_cloud_ssh import CloudBench, flavor_of
from bench_create import BENCH, REPO, Bench, BenchError, Ours, Side, machine_info, run_bench, sh, tail

KCLI_REQUIREMENTS = BENCH / "peers/kcli/requirements.txt"
KCLI_VENV = REPO / "build/kcli-venv"
KCLI_HOME = REPO / "build/kcli-home"
TINY_IMAGE = REPO / "build/images/nimbus-tiny.qcow2"
# Issue 20's goals for one instance: ours/kcli medians.
TARGETS = {"create": 2.0, "delete": 1.5}


class KcliOurs(Ours):
    def name(self, index: int) -> str:
        return f"bench-k-a-{index}"


class Kcli(Side):
    key = "kcli"
    label = "B kcli"

    def name(self, index: int) -> str:
        return f"bench-k-b-{index}"

    def create_argv(self, index: int) -> list[str]:
        b = self.b
        flavor = b.flavor
        return [
            str(KCLI_VENV / "bin/kcli"),
            "create",
            "vm",
            self.name(index),
            "-i",
            b.image_volume,
            "-P",
            f"pool={b.args.pool}",
            "-P",
            f"numcpus={flavor['vcpus']}",
            "-P",
            f"memory={flavor['memory_mb']}",
            "-P",
            f"disks=[{flavor['root_gb']}]",
            "-P",
            f"nets=[{b.args.network}]",
            # KVM guests do not boot here (PLATFORM.md): TCG and a plain CPU
            # model, like ours with the local inventory (no <cpu>: qemu64).
            "-P",
            "virttype=qemu",
            "-P",
            "cpumodel=qemu64",
            # nested would require the vmx feature of that CPU model.
            "-P",
            "nested=false",
            "-P",
            f"cloudinit={str(b.args.cloudinit).lower()}",
        ]

    def delete_argv(self, index: int) -> list[str]:
        return [str(KCLI_VENV / "bin/kcli"), "delete", "vm", "-y", self.name(index)]


class KcliBench(Bench):
    # The network's DHCP leases and the namespace, as bench_cloud_ssh.py reads them.
    dhcp_leases = CloudBench.dhcp_leases
    in_netns = CloudBench.in_netns

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.sides = {"ours": KcliOurs(self), "kcli": Kcli(self)}
        self.kcli_env = dict(self.env, HOME=str(KCLI_HOME))
        self.flavor: dict = {}
        self.image_volume = TINY_IMAGE.name
        self.pool_path = Path()
        self.made_pool = False
        self.macs: dict[int, list[str]] = {}
        self.kcli_version = ""

    # ------------------------------------------------------------------ setup

    def preflight(self) -> None:
        super().preflight()  # playbooks, the collection link, leftovers of an earlier run
        self.virsh.network_prefix(self.args.network)  # exists, and is in 198.18.0.0/15
        if not Path("/run/netns", self.args.netns).exists():
            raise BenchError(f"no network namespace {self.args.netns!r} (make hosts creates it)")
        if not TINY_IMAGE.is_file():
            raise BenchError(f"{TINY_IMAGE} does not exist (make image builds it)")
        self.flavor = flavor_of(self.args.inventory, self.args.flavor)
        self.install_kcli()
        self.configure_kcli()
        self.make_pool()

    def install_kcli(self) -> None:
        """build/kcli-venv with the pinned kcli, (re)installed when missing or when the pins changed."""
        stamp = KCLI_VENV / "requirements.txt"
        wanted = KCLI_REQUIREMENTS.read_text()
        if not (KCLI_VENV / "bin/kcli").exists() or not stamp.is_file() or stamp.read_text() != wanted:
            print(f"installing kcli into {KCLI_VENV} ({KCLI_REQUIREMENTS.relative_to(REPO)})", flush=True)
            if not (KCLI_VENV / "bin/python").exists():
                sh([sys.executable, "-m", "venv", str(KCLI_VENV)])
            pip = [str(KCLI_VENV / "bin/pip"), "install", "--disable-pip-version-check", "-q"]
            sh([*pip, "-r", str(KCLI_REQUIREMENTS)])
            stamp.write_text(wanted)
        self.kcli_version = sh(
            [str(KCLI_VENV / "bin/python"), "-c", "import importlib.metadata as m; print(m.version('kcli'))"]
        ).stdout.strip()

    def configure_kcli(self) -> None:
        config = {
            "default": {"client": "local"},
            "local": {"type": "kvm", "host": "127.0.0.1", "url": self.args.uri, "pool": self.args.pool},
        }
        (KCLI_HOME / ".kcli").mkdir(parents=True, exist_ok=True)
        (KCLI_HOME / ".kcli/config.yml").write_text(json.dumps(config, indent=2) + "\n")  # JSON is YAML

    def make_pool(self) -> None:
        """A dir pool of kcli's own with a copy of the tiny image (untimed), unless one is left from before."""
        self.pool_path = self.args.pool_dir.resolve()
        if self.virsh("pool-info", self.args.pool, check=False).returncode != 0:
            self.pool_path.mkdir(parents=True, exist_ok=True)
            self.virsh("pool-define-as", self.args.pool, "dir", "--target", str(self.pool_path))
            self.made_pool = True
            self.virsh("pool-start", self.args.pool)
        else:
            self.made_pool = True  # left by an earlier run of this script: its name is ours
            path = ET.fromstring(self.virsh("pool-dumpxml", self.args.pool).stdout).findtext("target/path")
            if Path(path or "") != self.pool_path:
                raise BenchError(f"pool {self.args.pool} exists with path {path}, not {self.pool_path}")
            if "running" not in self.virsh("pool-info", self.args.pool).stdout:
                self.virsh("pool-start", self.args.pool)
        shutil.copyfile(TINY_IMAGE, self.pool_path / self.image_volume)
        self.virsh("pool-refresh", self.args.pool)

    # ------------------------------------------------------------------ runs

    def side_env(self, side: Side) -> dict[str, str]:
        return self.kcli_env if isinstance(side, Kcli) else self.env

    def create(self, side: Side, index: int, tag: str, env: dict[str, str] | None = None) -> float:
        seconds = super().create(side, index, tag, env or self.side_env(side))
        if isinstance(side, Kcli):
            out = self.virsh("domiflist", side.name(index)).stdout
            self.macs[index] = [f[4].lower() for line in out.splitlines() if len(f := line.split()) >= 5]
        return seconds

    def delete(self, side: Side, index: int, tag: str) -> float:
        """Timed, like the create; then the domain (and kcli's volumes) must be gone."""
        name = side.name(index)
        candidates = side.domain_candidates(index)
        log = self.logs / f"{tag}-{name}-delete.log"
        rc, seconds = self._spawn(side.delete_argv(index), log, self.side_env(side))
        if rc != 0:
            raise BenchError(f"{side.label}: delete of {name} failed (rc {rc}), log {log}:\n{tail(log)}")
        left = {d: s for d in candidates if (s := self.virsh.domstate(d)) is not None}
        if left:
            raise BenchError(f"{side.label}: domain still there after delete: {left}; log {log}")
        if isinstance(side, Kcli):
            files = sorted(p.name for p in self.pool_path.iterdir() if p.name.startswith(f"{name}_") or p.stem == name)
            if files:
                raise BenchError(f"{side.label}: files left in {self.pool_path} after delete: {files}; log {log}")
            self.release_leases(self.macs.pop(index, []))
        self.live.remove((side, index))
        return seconds

    def release_leases(self, macs: list[str]) -> None:
        # A destroyed guest never sent DHCPRELEASE: release its lease (untimed),
        # so repeated runs do not drain the network's dynamic range.
        bridge = ET.fromstring(self.virsh("net-dumpxml", self.args.network).stdout).find("bridge")
        for mac in macs:
            for lease_mac, ip in self.dhcp_leases(mac):
                if bridge is None or not bridge.get("name"):
                    raise BenchError(f"network {self.args.network} has no bridge to release {ip} on")
                sh(self.in_netns("dhcp_release", bridge.get("name"), ip, lease_mac))

    def measure(self, side: Side, index: int, tag: str) -> dict:
        create = self.create(side, index, tag)
        delete = self.delete(side, index, tag)
        return {"create": round(create, 3), "delete": round(delete, 3)}

    def run(self) -> dict:
        loads = [os.getloadavg()[0]]
        warmup, runs = {}, []
        for key, side in self.sides.items():  # uncounted: page cache, .pyc, libvirt connections, facts cache
            warmup[key] = self.measure(side, 0, "warmup-kcli")
            w = warmup[key]
            print(f"warm-up {side.label:<24} create {w['create']:7.3f} s  delete {w['delete']:7.3f} s (not counted)")
        for pair in range(1, self.args.pairs + 1):
            for pos, (key, side) in enumerate(self.sides.items()):
                run = {"pair": pair, "position": pos, "side": key, "name": side.name(pair)}
                run.update(self.measure(side, pair, "run-kcli"))
                runs.append(run)
                print(
                    f"pair {pair:2d}  {side.label:<24} create {run['create']:7.3f} s  delete {run['delete']:7.3f} s",
                    flush=True,
                )
        loads.append(os.getloadavg()[0])
        return self.summarize(runs, warmup, loads)

    def summarize(self, runs: list[dict], warmup: dict, loads: list[float]) -> dict:
        sides: dict[str, dict] = {}
        for key, side in self.sides.items():
            sides[key] = {"label": side.label, "warmup": warmup[key]}
            for op in TARGETS:
                values = [r[op] for r in runs if r["side"] == key]
                sides[key][op] = {
                    "runs": values,
                    "median": round(statistics.median(values), 3),
                    "min": min(values),
                    "max": max(values),
                }
        ratios = {}
        for op, target in TARGETS.items():
            ratio = round(sides["ours"][op]["median"] / sides["kcli"][op]["median"], 3)
            ratios[op] = {"ours_over_kcli": ratio, "target": target, "meets_target": ratio <= target}
        machine = machine_info(loads)
        machine["kcli"] = self.kcli_version
        result = {
            "benchmark": "lifecycle_kcli",
            "measure": "wall seconds from spawning the command to its exit; ours: ansible-playbook "
            "create_instance.yml / delete_instance.yml; kcli: kcli create vm / kcli delete vm -y. Both creates "
            "end when the domain is running, not when the guest has booted",
            "pairs": self.args.pairs,
            "order": "alternate: A then B in every pair",
            "warmup": "one create+delete of each side before the pairs, not counted",
            "runs": runs,
            "sides": sides,
            "ratios": ratios,
            "setup": {
                "inventory": str(self.args.inventory),
                "flavor": {self.args.flavor: self.flavor},
                "network": self.args.network,
                "libvirt_uri": self.args.uri,
                "kcli_create": Kcli(self).create_argv(1)[1:],
                "kcli_pool": {"name": self.args.pool, "path": str(self.pool_path)},
                "kcli_home": str(KCLI_HOME),
                "env": {k: v for k, v in self.env.items() if k.startswith(("ANSIBLE_", "NIMBUS_"))},
            },
            "machine": machine,
        }
        print()
        for s in sides.values():
            for op in TARGETS:
                m = s[op]
                spread = f"min {m['min']:.3f}, max {m['max']:.3f}, n={len(m['runs'])}"
                print(f"median {s['label']:<24} {op:<6} {m['median']:7.3f} s   ({spread})")
        for op, r in ratios.items():
            verdict = "meets" if r["meets_target"] else "MISSES"
            print(f"ratio ours/kcli {op:<6} {r['ours_over_kcli']:6.3f}  ({verdict} issue 20's goal <= {r['target']})")
        print(f"load average (1 min) at start/end: {loads[0]:.2f} / {loads[1]:.2f}")
        return result

    def close(self) -> None:
        # Not Bench.close: it would also try bench_create's peer directory.
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not self.made_pool:
            return
        with contextlib.suppress(BenchError):
            self.virsh("pool-destroy", self.args.pool, check=False)
            self.virsh("pool-undefine", self.args.pool)
        (self.pool_path / self.image_volume).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.pool_path.rmdir()  # only if empty: a failed delete's leftovers stay to be seen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=5, help="timed A/B pairs (default 5)")
    p.add_argument("--inventory", type=Path, default=REPO / "inventories/local")
    p.add_argument("--flavor", default="m1.tiny", help="the inventory's flavor whose sizes kcli gets (default m1.tiny)")
    p.add_argument("--network", default="nimbus-private", help="libvirt network (default nimbus-private)")
    p.add_argument("--netns", default="nimbus", help="libvirtd's network namespace, for dhcp_release")
    p.add_argument("--uri", default="qemu:///system")
    p.add_argument("--pool", default="nimbus-kcli-bench", help="kcli's libvirt dir pool, made and removed here")
    p.add_argument("--pool-dir", type=Path, default=Path("/var/lib/nimbus/kcli-bench"))
    p.add_argument(
        "--no-cloudinit",
        dest="cloudinit",
        action="store_false",
        help="kcli without its NoCloud seed ISO (default: with it, as ours makes a config drive)",
    )
    p.add_argument("--output", type=Path, default=BENCH / "results/lifecycle_kcli.json")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    args.output = args.output.resolve()
    # What Bench expects of bench_create.py's arguments.
    args.only, args.peer_inventory, args.profile = "both", args.inventory, False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(KcliBench(args), args.output, (BenchError, subprocess.CalledProcessError))


if __name__ == "__main__":
    sys.exit(main())
