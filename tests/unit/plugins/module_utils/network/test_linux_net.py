"""Floating IPs as NAT on a compute host (network/linux_net.py): the rules composed, and the commands run on a
fake host that keeps iptables chains and interface addresses (the real iptables is the integration target's)."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.network import linux_net
from ansible_collections.nimbus.compute.plugins.module_utils.network.linux_net import (
    DNAT_CHAIN,
    FORWARD_CHAIN,
    SNAT_CHAIN,
)

POOL = {"name": "public", "interface": "eth1", "ranges": [["198.19.0.10", "198.19.0.99"]]}
WEB = {"floating_ip_address": "198.19.0.10", "fixed_ip_address": "198.18.0.5", "interface": "eth1", "rules": None}


def rule(direction, protocol=None, low=None, high=None, prefix=None, ethertype="IPv4", remote_group_id=None):
    return {
        "direction": direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "port_range_min": low,
        "port_range_max": high,
        "remote_ip_prefix": prefix,
        "remote_group_id": remote_group_id,
    }


# -- the rules --------------------------------------------------------------------------------------------


def test_a_bindings_security_group_rules_filter_its_forwarded_traffic():
    rules = [
        rule("ingress", "tcp", 22, 22, prefix="203.0.113.0/24"),
        rule("ingress", "tcp", 8000, 8080),
        rule("ingress", "udp"),
        rule("ingress", "icmp", 8),
        rule("ingress", "icmp", 3, 4),
        rule("ingress", 132),
        rule("ingress", remote_group_id="g1"),  # a remote group's members are fixed IPs: never from outside
        rule("ingress", "tcp", 22, 22, ethertype="IPv6"),
        rule("egress"),
        rule("egress", "tcp", 443, 443, prefix="0.0.0.0/0"),
    ]
    inbound, outbound = "-d 198.18.0.5/32 -i eth1", "-s 198.18.0.5/32 -o eth1"
    assert linux_net.floating_forward_rules([{**WEB, "rules": rules}]) == {
        "nat": {
            DNAT_CHAIN: ["-d 198.19.0.10/32 -j DNAT --to-destination 198.18.0.5"],
            SNAT_CHAIN: ["-s 198.18.0.5/32 -o eth1 -j SNAT --to-source 198.19.0.10"],
        },
        "filter": {
            FORWARD_CHAIN: [
                f"{inbound} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                f"{inbound} -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j ACCEPT",
                f"{inbound} -p tcp -m tcp --dport 8000:8080 -j ACCEPT",
                f"{inbound} -p udp -j ACCEPT",
                f"{inbound} -p icmp -m icmp --icmp-type 8 -j ACCEPT",
                f"{inbound} -p icmp -m icmp --icmp-type 3/4 -j ACCEPT",
                f"{inbound} -p 132 -j ACCEPT",
                f"{inbound} -j DROP",
                f"{outbound} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                f"{outbound} -j ACCEPT",
                f"{outbound} -d 0.0.0.0/0 -p tcp -m tcp --dport 443 -j ACCEPT",
                f"{outbound} -j DROP",
            ]
        },
    }


def test_without_security_groups_everything_is_forwarded_and_bindings_go_in_address_order():
    other = {"floating_ip_address": "198.19.0.9", "fixed_ip_address": "198.18.0.6", "interface": "eth2"}
    assert linux_net.floating_forward_rules([WEB, other]) == {
        "nat": {
            DNAT_CHAIN: [
                "-d 198.19.0.9/32 -j DNAT --to-destination 198.18.0.6",
                "-d 198.19.0.10/32 -j DNAT --to-destination 198.18.0.5",
            ],
            SNAT_CHAIN: [
                "-s 198.18.0.6/32 -o eth2 -j SNAT --to-source 198.19.0.9",
                "-s 198.18.0.5/32 -o eth1 -j SNAT --to-source 198.19.0.10",
            ],
        },
        "filter": {
            FORWARD_CHAIN: [
                "-d 198.18.0.6/32 -i eth2 -j ACCEPT",
                "-s 198.18.0.6/32 -o eth2 -j ACCEPT",
                "-d 198.18.0.5/32 -i eth1 -j ACCEPT",
                "-s 198.18.0.5/32 -o eth1 -j ACCEPT",
            ]
        },
    }


def test_restore_input_declares_the_three_chains_and_carries_the_digest():
    rules = linux_net.floating_forward_rules([WEB])
    digest = linux_net.rules_digest(rules)
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert linux_net.restore_input(rules) == (
        "*nat\n"
        ":nimbus-floating-dnat - [0:0]\n"
        ":nimbus-floating-snat - [0:0]\n"
        "-A nimbus-floating-dnat -d 198.19.0.10/32 -j DNAT --to-destination 198.18.0.5\n"
        "-A nimbus-floating-snat -s 198.18.0.5/32 -o eth1 -j SNAT --to-source 198.19.0.10\n"
        "COMMIT\n"
        "*filter\n"
        ":nimbus-floating-fwd - [0:0]\n"
        f'-A nimbus-floating-fwd -m comment --comment "nimbus digest {digest}"\n'
        "-A nimbus-floating-fwd -d 198.18.0.5/32 -i eth1 -j ACCEPT\n"
        "-A nimbus-floating-fwd -s 198.18.0.5/32 -o eth1 -j ACCEPT\n"
        "COMMIT\n"
    )
    assert (
        linux_net.rules_digest(linux_net.floating_forward_rules([{**WEB, "fixed_ip_address": "198.18.0.7"}])) != digest
    )
    assert linux_net.rules_digest(linux_net.floating_forward_rules([dict(WEB)])) == digest


# -- the commands, on a fake host ---------------------------------------------------------------------------


class FakeHost:
    """A compute host as iptables -S/-D/-I, iptables-restore and ip addr see it; ``calls`` records each argv."""

    def __init__(self, addresses=("198.19.0.1/24",), interfaces=("eth1",)):
        self.chains = {
            ("nat", "PREROUTING"): [],
            ("nat", "OUTPUT"): [],
            ("nat", "POSTROUTING"): ["-A POSTROUTING -s 192.168.122.0/24 -j LIBVIRT_PRT"],
            ("filter", "FORWARD"): ["-A FORWARD -j LIBVIRT_FWI"],
        }
        self.addresses = {interface: list(addresses) for interface in interfaces}
        self.calls = []

    def __call__(self, argv, stdin=None):
        self.calls.append(argv)
        if argv[0] == "iptables-restore":
            return self.restore(stdin)
        if argv[0] == "iptables":
            return self.iptables(*argv[3:])
        return self.ip(argv[1:])

    def restore(self, text):
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":"):
                self.chains[(table, line[1:].split()[0])] = []
            elif line.startswith("-A "):
                self.chains[(table, line.split()[1])].append(line)
        return done()

    def iptables(self, table, action, chain, *rest):
        lines = self.chains.get((table, chain))
        if lines is None:
            return done(1, stderr="iptables: No chain/target/match by that name.")
        jump = f"-A {chain} {' '.join(rest)}"
        if action == "-S":
            head = f"-P {chain} ACCEPT" if chain.isupper() else f"-N {chain}"
            return done(stdout="".join(f"{line}\n" for line in [head, *lines]))
        if action == "-D" and jump in lines:
            lines.remove(jump)
            return done()
        if action == "-I":
            lines.insert(0, f"-A {chain} {' '.join(rest[1:])}")
            return done()
        return done(1, stderr="iptables: Bad rule (does a matching rule exist in that chain?).")

    def ip(self, argv):
        interface = argv[-1]
        if interface not in self.addresses:
            return done(1, stderr=f'Device "{interface}" does not exist.')
        if argv[:3] == ["-4", "-o", "addr"]:
            shown = [
                f"2: {interface}    inet {address} scope global {interface}\\" for address in self.addresses[interface]
            ]
            return done(stdout="".join(f"{line}\n" for line in shown))
        (self.addresses[interface].append if argv[1] == "add" else self.addresses[interface].remove)(argv[2])
        return done()

    def changing(self):
        """The calls that change the host (everything but iptables -S and ip addr show)."""
        return [argv for argv in self.calls if "-S" not in argv and "show" not in argv]


def done(returncode=0, stdout="", stderr=""):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


@pytest.fixture
def ip_forward(tmp_path, monkeypatch):
    path = tmp_path / "ip_forward"
    path.write_text("0\n", encoding="ascii")
    monkeypatch.setattr(linux_net, "IP_FORWARD", str(path))
    return path


JUMPS = [
    "nat PREROUTING -> nimbus-floating-dnat",
    "nat OUTPUT -> nimbus-floating-dnat",
    "nat POSTROUTING -> nimbus-floating-snat",
    "filter FORWARD -> nimbus-floating-fwd",
]


def ensure(host, bindings=(WEB,), check_mode=False):
    host.calls.clear()
    return linux_net.ensure_floating_forwards(list(bindings), [POOL], check_mode, run=host)


def test_a_bare_host_gets_the_chains_the_jumps_first_the_address_and_forwarding(ip_forward):
    host = FakeHost()
    result = ensure(host)
    rules = linux_net.floating_forward_rules([WEB])
    assert {key: value for key, value in result.items() if key != "rules"} == {
        "changed": True,
        "rules_changed": True,
        "jumps_placed": JUMPS,
        "addresses_added": ["198.19.0.10"],
        "addresses_removed": [],
        "ip_forward_enabled": True,
    }
    assert result["rules"] == rules
    inserts = [argv for argv in host.changing() if "-I" in argv]
    assert host.changing()[0] == ["iptables-restore", "-w", "--noflush"]
    assert inserts == [
        ["iptables", "-w", "-t", table, "-I", builtin, "1", "-j", chain] for table, builtin, chain in linux_net.JUMPS
    ]
    assert host.changing()[-1] == ["ip", "addr", "add", "198.19.0.10/32", "dev", "eth1"]
    assert host.chains[("filter", "FORWARD")] == ["-A FORWARD -j nimbus-floating-fwd", "-A FORWARD -j LIBVIRT_FWI"]
    assert host.chains[("nat", DNAT_CHAIN)] == [f"-A {DNAT_CHAIN} {line}" for line in rules["nat"][DNAT_CHAIN]]
    assert host.addresses["eth1"] == ["198.19.0.1/24", "198.19.0.10/32"]
    assert ip_forward.read_text(encoding="ascii") == "1\n"


def test_a_host_that_never_had_a_floating_ip_gets_no_chains(ip_forward):
    host = FakeHost()
    result = ensure(host, bindings=())
    assert (result["changed"], result["rules_changed"], result["jumps_placed"]) == (False, False, [])
    assert host.changing() == []
    assert ("nat", DNAT_CHAIN) not in host.chains
    # Once it had one, its (then empty) chains are kept in step.
    ensure(host)
    emptied = ensure(host, bindings=())
    assert (emptied["rules_changed"], host.chains[("nat", DNAT_CHAIN)]) == (True, [])


def test_a_host_that_matches_changes_nothing(ip_forward):
    host = FakeHost()
    ensure(host)
    again = ensure(host)
    assert (again["changed"], again["rules_changed"], again["jumps_placed"]) == (False, False, [])
    assert (again["addresses_added"], again["addresses_removed"], again["ip_forward_enabled"]) == ([], [], False)
    assert host.changing() == []


def flush_dnat(host):
    host.chains[("nat", DNAT_CHAIN)] = []


def drop_fwd(host):
    del host.chains[("filter", FORWARD_CHAIN)]


def add_snat_rule(host):
    host.chains[("nat", SNAT_CHAIN)].append(f"-A {SNAT_CHAIN} -j ACCEPT")


def edit_forward_rule(host):
    # As many rules, another digest: what another set of bindings wrote.
    host.chains[("filter", FORWARD_CHAIN)][0] = (
        f'-A {FORWARD_CHAIN} -m comment --comment "nimbus digest 0000000000000000"'
    )


@pytest.mark.parametrize("breakage", [flush_dnat, drop_fwd, add_snat_rule, edit_forward_rule])
def test_chains_someone_changed_are_rewritten_whole(ip_forward, breakage):
    host = FakeHost()
    ensure(host)
    written = {key: list(lines) for key, lines in host.chains.items()}
    breakage(host)
    result = ensure(host)
    assert (result["changed"], result["rules_changed"], result["jumps_placed"], result["addresses_added"]) == (
        True,
        True,
        [],
        [],
    )
    assert host.changing() == [["iptables-restore", "-w", "--noflush"]]
    assert host.chains == written


def test_a_jump_someone_put_behind_another_rule_goes_first_again_once(ip_forward):
    host = FakeHost()
    ensure(host)
    host.chains[("filter", "FORWARD")].insert(0, "-A FORWARD -j DOCKER-USER")
    result = ensure(host)
    assert (result["changed"], result["rules_changed"], result["jumps_placed"]) == (True, False, [JUMPS[3]])
    assert host.chains[("filter", "FORWARD")] == [
        "-A FORWARD -j nimbus-floating-fwd",
        "-A FORWARD -j DOCKER-USER",
        "-A FORWARD -j LIBVIRT_FWI",
    ]


def test_only_addresses_of_the_pools_ranges_are_removed(ip_forward):
    stale, foreign = "198.19.0.11/32", "198.19.0.200/32"
    host = FakeHost(addresses=("198.19.0.1/24", "198.19.0.10/32", stale, foreign))
    result = ensure(host)
    assert (result["addresses_added"], result["addresses_removed"]) == ([], ["198.19.0.11"])
    assert host.changing()[-1] == ["ip", "addr", "del", stale, "dev", "eth1"]
    assert host.addresses["eth1"] == ["198.19.0.1/24", "198.19.0.10/32", foreign]
    # No bindings at all: every address of the ranges goes, forwarding is left as it is.
    emptied = ensure(host, bindings=())
    assert (emptied["addresses_removed"], emptied["ip_forward_enabled"]) == (["198.19.0.10"], False)
    assert host.addresses["eth1"] == ["198.19.0.1/24", foreign]


def test_a_missing_interface_names_the_pool_and_changes_nothing(ip_forward):
    host = FakeHost(interfaces=("eth0",))
    with pytest.raises(linux_net.NatError, match=r"^pools\.public\.interface: this host has no interface eth1$"):
        ensure(host)
    assert host.changing() == []
    assert ip_forward.read_text(encoding="ascii") == "0\n"


def test_a_failing_command_is_named_with_its_message(ip_forward):
    host = FakeHost()
    host.restore = lambda text: done(1, stderr="iptables-restore: line 3 failed\n")
    with pytest.raises(
        linux_net.NatError, match=r"^iptables-restore -w --noflush failed: iptables-restore: line 3 failed$"
    ):
        ensure(host)


def test_check_mode_predicts_the_same_and_runs_no_changing_command(ip_forward):
    host = FakeHost(addresses=("198.19.0.1/24", "198.19.0.12/32"))
    before = {key: list(lines) for key, lines in host.chains.items()}
    predicted = ensure(host, check_mode=True)
    assert host.changing() == []
    assert host.chains == before and host.addresses["eth1"] == ["198.19.0.1/24", "198.19.0.12/32"]
    assert ip_forward.read_text(encoding="ascii") == "0\n"
    assert predicted == ensure(host)
    assert (predicted["jumps_placed"], predicted["addresses_removed"]) == (JUMPS, ["198.19.0.12"])
