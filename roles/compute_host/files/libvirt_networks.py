# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Define, start and autostart the isolated libvirt networks of nimbus_networks.

Run by the compute_host role on the host with ``ansible.builtin.script``
(roles inside a collection cannot carry their own modules).  For every entry
of nimbus_networks that names a ``libvirt_network`` it makes sure libvirt has
an isolated network (no ``<forward>``) of that name, defined, active and
autostarted: a bridge named ``--bridge-prefix`` plus the nimbus network name
cut to the 15 characters Linux allows, the gateway with the prefix of
``cidr``, the MTU, and when ``dhcp`` is true a dynamic DHCP range: the
entry's ``dhcp_range`` (for VMs nimbus does not make; keep it apart from the
allocation pools), else, as before it existed, the first allocation pool (no
``<dhcp>`` element at all without DHCP: such a guest configures itself from
network_data.json).  Nimbus's own guests get reservations, never dynamic
leases.  An allocation pool that overlaps the network's dynamic range is
reported as a warning (a failure with ``--fail-on-pool-overlap``): VMs made
by hand, kcli or Terraform take dynamic leases from there.  An ``ipv6`` subnet is left out on
purpose: its addresses reach guests through network_data.json only, and test
traffic stays in 198.18.0.0/15.  A network defined with other settings is redefined; an
active one is restarted only with ``--restart``.  Only a network nimbus made is
ever defined again, started, restarted or autostarted: the definitions it
writes carry ``<metadata><nimbus:network>``, and a network of an older nimbus
(no metadata, the bridge nimbus names, no ``<forward>``) counts as its own.
A libvirt network of that name that somebody else made is used as it is; a
difference from the entry, or its being inactive, is reported as a warning.  Talks to libvirt through
``virsh`` only, so a fresh host needs no Python bindings.

Prints one JSON object: ``changed``, ``networks`` (name, libvirt_network,
bridge, actions), ``warnings``, or ``failed`` and ``msg``; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from typing import Any

IFNAMSIZ = 15  # usable characters of a Linux interface name


class NetworkSpecError(ValueError):
    """A nimbus_networks entry that cannot become a libvirt network."""


def bridge_name(prefix: str, network_name: str) -> str:
    """Return the bridge device name for a nimbus network."""
    return (prefix + network_name)[:IFNAMSIZ]


def desired_settings(name: str, spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Return the comparable settings the libvirt network of one nimbus network must have."""
    try:
        cidr = ipaddress.ip_network(spec["cidr"], strict=True)
        gateway = ipaddress.ip_address(spec["gateway"])
    except (KeyError, ValueError) as exc:
        raise NetworkSpecError(f"network {name}: cidr and gateway must be valid: {exc}") from exc
    if gateway not in cidr:
        raise NetworkSpecError(f"network {name}: gateway {gateway} is outside {cidr}")
    dhcp_range = None
    if spec.get("dhcp", True):
        pools = spec.get("allocation_pools") or [{"start": cidr[2], "end": cidr[-2]}]
        dynamic = spec.get("dhcp_range") or pools[0]
        dhcp_range = (str(dynamic["start"]), str(dynamic["end"]))
    mtu = spec.get("mtu")
    return {
        "forward": False,
        "bridge": bridge_name(prefix, name),
        "address": str(gateway),
        "prefix": cidr.prefixlen,
        "dhcp_range": dhcp_range,
        "mtu": int(mtu) if mtu else None,
    }


def current_settings(root: ET.Element) -> dict[str, Any]:
    """Return the comparable settings of a libvirt network definition."""
    bridge = root.find("bridge")
    ip = root.find("ip")
    settings: dict[str, Any] = {
        "forward": root.find("forward") is not None,
        "bridge": bridge.get("name") if bridge is not None else None,
        "address": None,
        "prefix": None,
        "dhcp_range": None,
        "mtu": None,
    }
    if ip is not None:
        settings["address"] = ip.get("address")
        if ip.get("prefix"):
            settings["prefix"] = int(ip.get("prefix"))
        elif ip.get("netmask"):
            settings["prefix"] = ipaddress.ip_network(f"0.0.0.0/{ip.get('netmask')}").prefixlen
        dhcp_range = ip.find("dhcp/range")
        if dhcp_range is not None:
            settings["dhcp_range"] = (dhcp_range.get("start"), dhcp_range.get("end"))
    mtu = root.find("mtu")
    if mtu is not None and mtu.get("size"):
        settings["mtu"] = int(mtu.get("size"))
    return settings


METADATA_NS = "https://nimbus.compute/xmlns/network/1"  # beside domain_xml.py's instance/1
OWNER_TAG = f"{{{METADATA_NS}}}network"
NIMBUS = "nimbus"
OLDER_NIMBUS = "an older nimbus"


def made_by(current: ET.Element | None, name: str, prefix: str) -> str | None:
    """NIMBUS, OLDER_NIMBUS (its bridge and no metadata) or None (somebody else) for an existing definition."""
    if current is None:
        return None
    if current.find(f"metadata/{OWNER_TAG}") is not None:
        return NIMBUS
    bridge = current.find("bridge")
    if (
        current.find("metadata") is None
        and current.find("forward") is None
        and bridge is not None
        and bridge.get("name") == bridge_name(prefix, name)
    ):
        return OLDER_NIMBUS
    return None


def network_xml(libvirt_name: str, settings: dict[str, Any], current: ET.Element | None, name: str = "") -> str:
    """Return the definition of an isolated network, keeping the uuid and MAC libvirt gave it."""
    ET.register_namespace(NIMBUS, METADATA_NS)
    root = ET.Element("network")
    ET.SubElement(root, "name").text = libvirt_name
    for keep in ("uuid", "mac"):
        element = current.find(keep) if current is not None else None
        if element is not None:
            root.append(element)
    ET.SubElement(ET.SubElement(root, "metadata"), OWNER_TAG).text = name or libvirt_name
    ET.SubElement(root, "bridge", {"name": settings["bridge"], "stp": "on", "delay": "0"})
    if settings["mtu"]:
        ET.SubElement(root, "mtu", {"size": str(settings["mtu"])})
    ip = ET.SubElement(root, "ip", {"address": settings["address"], "prefix": str(settings["prefix"])})
    if settings["dhcp_range"]:
        dhcp = ET.SubElement(ip, "dhcp")
        start, end = settings["dhcp_range"]
        ET.SubElement(dhcp, "range", {"start": start, "end": end})
        # Reservations added per port (virsh net-update ... ip-dhcp-host) survive a redefinition.
        for host in current.findall("ip/dhcp/host") if current is not None else []:
            dhcp.append(host)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def pool_overlaps(name: str, spec: dict[str, Any], definition: ET.Element | None) -> list[str]:
    """Where the allocation pools of nimbus network ``name`` overlap its libvirt network's dynamic DHCP ranges."""
    if definition is None:
        return []
    cidr = ipaddress.ip_network(spec["cidr"], strict=True)
    pools = spec.get("allocation_pools") or [{"start": cidr[2], "end": cidr[-2]}]
    found = []
    for dynamic in definition.findall("ip/dhcp/range"):
        low, high = ipaddress.ip_address(dynamic.get("start")), ipaddress.ip_address(dynamic.get("end"))
        for pool in pools:
            start, end = ipaddress.ip_address(str(pool["start"])), ipaddress.ip_address(str(pool["end"]))
            if start <= high and low <= end:
                found.append(
                    f"network {name}: allocation pool {start}-{end} overlaps the dynamic DHCP range {low}-{high} "
                    f"of libvirt network {spec['libvirt_network']}: VMs nimbus does not make take leases there; "
                    "give the network a dhcp_range outside its allocation_pools"
                )
    return found


def parse_net_info(text: str) -> dict[str, bool]:
    """Return Active and Autostart from ``virsh net-info`` output."""
    state = {"active": False, "autostart": False}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        key = key.strip().lower()
        if key in state:
            state[key] = value.strip().lower() == "yes"
    return state


class VirshError(RuntimeError):
    """A virsh call that failed."""


class Virsh:
    """The few virsh calls this script needs."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def run(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        proc = subprocess.run(
            ["virsh", "-q", "-c", self.uri, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
        if check and proc.returncode != 0:
            raise VirshError(f"virsh {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.returncode, proc.stdout, proc.stderr

    def definition(self, name: str) -> ET.Element | None:
        rc, out, err = self.run("net-dumpxml", "--inactive", name, check=False)
        if rc != 0:
            if "no network with matching name" in err:
                return None
            raise VirshError(f"virsh net-dumpxml {name} failed: {err.strip()}")
        return ET.fromstring(out)

    def state(self, name: str) -> dict[str, bool]:
        return parse_net_info(self.run("net-info", name)[1])

    def define(self, xml: str) -> None:
        fd, path = tempfile.mkstemp(prefix="nimbus-net-", suffix=".xml")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(xml)
            self.run("net-define", path)
        finally:
            os.unlink(path)


def ensure_network(virsh: Virsh, name: str, spec: dict[str, Any], options: argparse.Namespace) -> dict[str, Any]:
    """Bring one libvirt network to its settings; return what was (or would be) done."""
    libvirt_name = spec["libvirt_network"]
    want = desired_settings(name, spec, options.bridge_prefix)
    current = virsh.definition(libvirt_name)
    state = virsh.state(libvirt_name) if current is not None else {"active": False, "autostart": False}
    if current is not None and made_by(current, name, options.bridge_prefix) is None:
        return {
            "name": name,
            "libvirt_network": libvirt_name,
            "bridge": (current.find("bridge").get("name") if current.find("bridge") is not None else None),
            "actions": [],
            "overlaps": pool_overlaps(name, spec, current),
            "foreign": foreign_network_notes(name, libvirt_name, want, current_settings(current), state),
        }
    actions = []
    xml = None
    if current is None or current_settings(current) != want:
        xml = network_xml(libvirt_name, want, current, name)
        actions.append("define")
        if state["active"] and options.restart:
            actions.append("restart")
    if not state["active"] or "restart" in actions:
        actions.append("start")
    if not state["autostart"]:
        actions.append("autostart")
    if not options.check:
        if xml is not None:
            virsh.define(xml)
        if "restart" in actions:
            virsh.run("net-destroy", libvirt_name)
        if "start" in actions:
            virsh.run("net-start", libvirt_name)
        if "autostart" in actions:
            virsh.run("net-autostart", libvirt_name)
    # The definition in force after this run: the new one, or the one kept.
    in_force = ET.fromstring(xml) if xml is not None else current
    return {
        "name": name,
        "libvirt_network": libvirt_name,
        "bridge": want["bridge"],
        "actions": actions,
        "overlaps": pool_overlaps(name, spec, in_force),
        "foreign": [],
    }


def foreign_network_notes(
    name: str, libvirt_name: str, want: dict[str, Any], have: dict[str, Any], state: dict[str, bool]
) -> list[str]:
    """Warnings about a libvirt network somebody else made that a nimbus network rides on: used as it is."""
    notes = []
    differing = sorted(key for key in want if want[key] != have.get(key))
    if differing:
        shown = ", ".join(f"{key} {have.get(key)!r} (nimbus_networks wants {want[key]!r})" for key in differing)
        notes.append(
            f"libvirt network {libvirt_name} (network {name}) was not made by nimbus: it is used as it is, never "
            f"redefined; it differs in {shown}"
        )
    if not state["active"]:
        notes.append(
            f"libvirt network {libvirt_name} (network {name}) was not made by nimbus and is not active: nimbus does "
            "not start it; guests on it cannot start until its owner does"
        )
    return notes


def libvirt_networks(networks: dict[str, dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    """Return the entries that name a libvirt network, sorted, after checking their bridges differ."""
    wanted = {name: spec for name, spec in sorted(networks.items()) if spec.get("libvirt_network")}
    bridges: dict[str, str] = {}
    for name in wanted:
        bridge = bridge_name(prefix, name)
        if bridge in bridges:
            raise NetworkSpecError(f"networks {bridges[bridge]} and {name} would share the bridge {bridge}")
        bridges[bridge] = name
    return wanted


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks-json", required=True, help="nimbus_networks as JSON")
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--bridge-prefix", default="nbr-")
    parser.add_argument("--restart", action="store_true", help="restart active networks whose definition changed")
    parser.add_argument("--check", action="store_true", help="report what would change, change nothing")
    parser.add_argument(
        "--fail-on-pool-overlap",
        action="store_true",
        help="fail when an allocation pool overlaps its libvirt network's dynamic DHCP range",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    results = []
    warnings = []
    try:
        for name, spec in libvirt_networks(json.loads(options.networks_json), options.bridge_prefix).items():
            result = ensure_network(Virsh(options.uri), name, spec, options)
            results.append(result)
            if "define" in result["actions"] and "start" not in result["actions"]:
                warnings.append(
                    f"libvirt network {result['libvirt_network']} is active:"
                    " its new definition applies when it restarts"
                )
            warnings.extend(result["overlaps"])
            warnings.extend(result["foreign"])
        overlaps = [overlap for result in results for overlap in result["overlaps"]]
        if overlaps and options.fail_on_pool_overlap:
            raise NetworkSpecError("; ".join(overlaps))
    except (NetworkSpecError, VirshError, ValueError) as exc:
        print(json.dumps({"failed": True, "msg": str(exc), "networks": results}))
        return 1
    changed = any(result["actions"] for result in results)
    print(json.dumps({"changed": changed, "networks": results, "warnings": warnings}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
