# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Floating IPs on a compute host as NAT, the way nova-network's linux_net did it.

Each floating IP associated with an instance on this host is bound to the
pool's external interface (an address /32: the host answers ARP for it), and
iptables rules in chains of our own translate it: DNAT to the fixed IP
(``nimbus-floating-dnat``, from PREROUTING and OUTPUT), SNAT of the instance's
own connections out of that interface (``nimbus-floating-snat``, from
POSTROUTING), and the forwarding of that traffic (``nimbus-floating-fwd``,
first in FORWARD, ahead of libvirt's rules that reject routing into an
isolated network). Routed traffic does not pass the guest's nwfilter port
filter (its rules match bridged frames), so the forward chain applies the
instance's security group rules to it itself: ingress rules from an address
prefix (a remote group's members are fixed IPs, never outside clients),
egress rules, replies, and nothing else.

The chains are rewritten whole (iptables-restore --noflush touches only the
chains it names) and carry a digest of what they hold, so a run that would
write the same rules writes nothing. Only our chains, our jumps and /32
addresses inside the pools' ranges (which the store owns) are ever changed.
Nothing but the standard library and the import-free protocol table: this runs on the compute host.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.objects.ip_protocols import (
    PORT_PROTOCOLS,
    PROTOCOL_NAMES,
    PROTOCOL_NUMBERS,
)

DNAT_CHAIN = "nimbus-floating-dnat"
SNAT_CHAIN = "nimbus-floating-snat"
FORWARD_CHAIN = "nimbus-floating-fwd"
# (table, built-in chain, our chain): each jump is the built-in chain's first rule.
JUMPS = (
    ("nat", "PREROUTING", DNAT_CHAIN),
    ("nat", "OUTPUT", DNAT_CHAIN),
    ("nat", "POSTROUTING", SNAT_CHAIN),
    ("filter", "FORWARD", FORWARD_CHAIN),
)
DIGEST_PREFIX = "nimbus digest "
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
REPLIES = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"

# Runs a command (argv, standard input) and returns its CompletedProcess.
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class NatError(Exception):
    """A command failed, or the host lacks what a pool names; the message says which."""


def run_command(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)


def _protocol_match(rule: dict[str, Any]) -> str:
    """The iptables match of a security group rule's protocol, ports or ICMP type ("" for any protocol)."""
    protocol = rule.get("protocol")
    if protocol in (None, "any"):
        return ""
    number = int(PROTOCOL_NUMBERS.get(protocol, protocol))
    name = PROTOCOL_NAMES.get(number)
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if name in PORT_PROTOCOLS:
        if low is None:
            return f"-p {name}"
        ports = str(low) if high in (None, low) else f"{low}:{high}"
        return f"-p {name} -m {name} --dport {ports}"
    if name == "icmp":
        if low is None:
            return "-p icmp"
        return f"-p icmp -m icmp --icmp-type {low}" + ("" if high is None else f"/{high}")
    return f"-p {number}"


def _accepted(rules: list[dict[str, Any]], direction: str, match: str, side: str) -> list[str]:
    """An ACCEPT for each IPv4 rule of ``direction`` that can match an outside address (no remote group)."""
    lines = []
    for rule in rules:
        if rule["direction"] != direction or rule.get("ethertype", "IPv4") != "IPv4" or rule.get("remote_group_id"):
            continue
        prefix = rule.get("remote_ip_prefix")
        parts = [match, "" if prefix is None else f"{side} {prefix}", _protocol_match(rule), "-j ACCEPT"]
        lines.append(" ".join(part for part in parts if part))
    return lines


def _forward_rules(fixed: str, interface: str, rules: list[dict[str, Any]] | None) -> list[str]:
    """The forward chain's rules for one fixed IP reached through ``interface``: what its security groups let
    in (and replies), the rest dropped; then what they let out."""
    inbound, outbound = f"-d {fixed}/32 -i {interface}", f"-s {fixed}/32 -o {interface}"
    if rules is None:
        return [f"{inbound} -j ACCEPT", f"{outbound} -j ACCEPT"]
    return [
        f"{inbound} {REPLIES}",
        *_accepted(rules, "ingress", inbound, "-s"),
        f"{inbound} -j DROP",
        f"{outbound} {REPLIES}",
        *_accepted(rules, "egress", outbound, "-d"),
        f"{outbound} -j DROP",
    ]


def floating_forward_rules(bindings: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """The rules of our three chains, by table and chain, for ``bindings``
    ({floating_ip_address, fixed_ip_address, interface, rules})."""
    dnat, snat, forward = [], [], []
    for binding in sorted(bindings, key=lambda item: ipaddress.IPv4Address(item["floating_ip_address"])):
        floating, fixed, interface = binding["floating_ip_address"], binding["fixed_ip_address"], binding["interface"]
        dnat.append(f"-d {floating}/32 -j DNAT --to-destination {fixed}")
        snat.append(f"-s {fixed}/32 -o {interface} -j SNAT --to-source {floating}")
        forward += _forward_rules(fixed, interface, binding.get("rules"))
    return {"nat": {DNAT_CHAIN: dnat, SNAT_CHAIN: snat}, "filter": {FORWARD_CHAIN: forward}}


def rules_digest(rules: dict[str, dict[str, list[str]]]) -> str:
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]


def restore_input(rules: dict[str, dict[str, list[str]]]) -> str:
    """iptables-restore --noflush input that rewrites our chains whole (a declared chain is flushed), the forward
    chain's first rule a comment with the digest of them all."""
    digest = rules_digest(rules)
    lines = []
    for table in ("nat", "filter"):
        lines.append(f"*{table}")
        lines += [f":{chain} - [0:0]" for chain in rules[table]]
        if table == "filter":
            lines.append(f'-A {FORWARD_CHAIN} -m comment --comment "{DIGEST_PREFIX}{digest}"')
        lines += [f"-A {chain} {rule}" for chain, chain_rules in rules[table].items() for rule in chain_rules]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _chain_lines(run: Runner, table: str, chain: str) -> list[str] | None:
    done = run(["iptables", "-w", "-t", table, "-S", chain])
    return done.stdout.splitlines() if done.returncode == 0 else None


def rules_stale(run: Runner, rules: dict[str, dict[str, list[str]]]) -> bool:
    """Whether our chains hold other rules than ``rules``: a chain missing (a rebooted host), another number of
    rules in one (flushed or edited by hand), or another digest."""
    digest = None
    for table, chains in rules.items():
        for chain, chain_rules in chains.items():
            lines = _chain_lines(run, table, chain)
            if lines is None:
                return True
            written = [line for line in lines if line.startswith(f"-A {chain} ")]
            marks = [line for line in written if DIGEST_PREFIX in line]
            if len(written) - len(marks) != len(chain_rules):
                return True
            for line in marks:
                digest = line.split(DIGEST_PREFIX, 1)[1].strip('" ')
    return digest != rules_digest(rules)


def misplaced_jumps(run: Runner) -> list[tuple[str, str, str]]:
    """The jumps that are not their built-in chain's first rule (or missing)."""
    misplaced = []
    for table, builtin, chain in JUMPS:
        lines = [line for line in _chain_lines(run, table, builtin) or [] if line.startswith("-A ")]
        if not lines or lines[0] != f"-A {builtin} -j {chain}":
            misplaced.append((table, builtin, chain))
    return misplaced


def place_jump(run: Runner, table: str, builtin: str, chain: str) -> None:
    while run(["iptables", "-w", "-t", table, "-D", builtin, "-j", chain]).returncode == 0:
        pass  # a jump further down (after someone inserted before it) goes, then comes back first
    _checked(run, ["iptables", "-w", "-t", table, "-I", builtin, "1", "-j", chain])


def _checked(run: Runner, argv: list[str], stdin: str | None = None) -> str:
    done = run(argv, stdin)
    if done.returncode != 0:
        raise NatError(f"{' '.join(argv[:4])} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def interface_addresses(run: Runner, interface: str) -> set[str] | None:
    """The IPv4 /32 addresses on ``interface``; None when there is no such interface."""
    done = run(["ip", "-4", "-o", "addr", "show", "dev", interface])
    if done.returncode != 0:
        return None
    return set(re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/32\b", done.stdout))


def _in_ranges(address: str, ranges: list[list[str]]) -> bool:
    value = ipaddress.IPv4Address(address)
    return any(ipaddress.IPv4Address(first) <= value <= ipaddress.IPv4Address(last) for first, last in ranges)


def address_changes(
    run: Runner, bindings: list[dict[str, Any]], pools: list[dict[str, Any]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(to add, to remove): (address, interface) pairs. Only /32s inside a pool's ranges are ever removed."""
    adding, removing = [], []
    for interface in sorted({pool["interface"] for pool in pools}):
        present = interface_addresses(run, interface)
        if present is None:
            names = ", ".join(pool["name"] for pool in pools if pool["interface"] == interface)
            raise NatError(f"pools.{names}.interface: this host has no interface {interface}")
        wanted = {binding["floating_ip_address"] for binding in bindings if binding["interface"] == interface}
        ranges = [pair for pool in pools if pool["interface"] == interface for pair in pool["ranges"]]
        adding += [(address, interface) for address in sorted(wanted - present)]
        removing += [(address, interface) for address in sorted(present - wanted) if _in_ranges(address, ranges)]
    return adding, removing


def _ip_forward_off() -> bool:
    with open(IP_FORWARD, encoding="ascii") as current:
        return current.read().strip() != "1"


def ensure_floating_forwards(
    bindings: list[dict[str, Any]], pools: list[dict[str, Any]], check_mode: bool, run: Runner = run_command
) -> dict[str, Any]:
    """The host's NAT is exactly ``bindings``: chains, jumps, addresses and IP forwarding; what changed."""
    rules = floating_forward_rules(bindings)
    # A host that never had a floating IP gets no chains of ours (empty ones would be left behind).
    ours = bool(bindings) or any(_chain_lines(run, table, chain) is not None for table, _builtin, chain in JUMPS)
    stale = ours and rules_stale(run, rules)
    jumps = misplaced_jumps(run) if ours else []
    adding, removing = address_changes(run, bindings, pools)
    forwarding = bool(bindings) and _ip_forward_off()
    if not check_mode:
        if stale:
            _checked(run, ["iptables-restore", "-w", "--noflush"], restore_input(rules))
        for jump in jumps:
            place_jump(run, *jump)
        for address, interface in adding:
            _checked(run, ["ip", "addr", "add", f"{address}/32", "dev", interface])
        for address, interface in removing:
            _checked(run, ["ip", "addr", "del", f"{address}/32", "dev", interface])
        if forwarding:
            with open(IP_FORWARD, "w", encoding="ascii") as setting:
                setting.write("1\n")
    return {
        "changed": bool(stale or jumps or adding or removing or forwarding),
        "rules_changed": stale,
        "jumps_placed": [f"{table} {builtin} -> {chain}" for table, builtin, chain in jumps],
        "addresses_added": [address for address, _interface in adding],
        "addresses_removed": [address for address, _interface in removing],
        "ip_forward_enabled": forwarding,
        "rules": rules,
    }
