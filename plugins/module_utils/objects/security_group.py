# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security groups and their rules in Neutron's model, checked whole before anything is applied.

A rule lets traffic through a port (every other packet is dropped): its
``direction`` (ingress to the instance, egress from it), ``ethertype`` (IPv4 or
IPv6), ``protocol`` (tcp, udp, icmp, icmpv6, any, or an IP protocol number),
a port range (for icmp, ``port_range_min`` is the ICMP type and
``port_range_max`` its code) and at most one remote: ``remote_ip_prefix`` (a
CIDR of the rule's ethertype) or ``remote_group`` (the ports of that group's
members, in the same project). A rule set is checked as a whole: one bad rule,
a rule given twice, or two port ranges of the same traffic that overlap refuse
the set, naming the rule, and nothing of it is applied.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown
from ansible_collections.nimbus.compute.plugins.module_utils.network.ipam import require_netaddr
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_choice, check_safe_name
from ansible_collections.nimbus.compute.plugins.module_utils.objects.ip_protocols import (
    ICMP_PROTOCOLS,
    MATCHABLE_PROTOCOL_NUMBERS,
    PORT_PROTOCOLS,
    PROTOCOL_NAMES,
    PROTOCOL_NUMBERS,
)

try:
    import netaddr
except ImportError:  # require_netaddr() says so before netaddr is used
    netaddr = None

DEFAULT_GROUP = "default"
DIRECTIONS = ("ingress", "egress")
ETHERTYPES = ("IPv4", "IPv6")
RULE_KEYS = frozenset(
    {
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group",
        "description",
    }
)
MAX_DESCRIPTION_LEN = 255


def _field(index: int, key: str | None = None) -> str:
    return f"rules[{index}]" + (f".{key}" if key else "")


def _protocol(field: str, value: Any, ethertype: str) -> str | int | None:
    """A protocol name (a number that has one becomes it, as 6 is tcp), another IP protocol number, or None."""
    if value in (None, "any"):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = PROTOCOL_NAMES.get(value, value)
        if isinstance(value, int) and value not in MATCHABLE_PROTOCOL_NUMBERS:
            numbers = ", ".join(map(str, sorted(MATCHABLE_PROTOCOL_NUMBERS)))
            raise InvalidInput(
                field, f"must be tcp, udp, icmp, icmpv6, any or one of the numbers {numbers}, got {value}"
            )
        if isinstance(value, int):
            return value
    if value not in PROTOCOL_NUMBERS:
        raise InvalidInput(field, f"must be tcp, udp, icmp, icmpv6, any or an IP protocol number, got {shown(value)}")
    if value in ICMP_PROTOCOLS and (value == "icmpv6") != (ethertype == "IPv6"):
        raise InvalidInput(field, f"{value} does not go with ethertype {ethertype} (icmp is IPv4's, icmpv6 IPv6's)")
    return value


def _port(field: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field, f"must be an integer from {low} to {high}, got {shown(value)}")
    return value


def _port_range(index: int, rule: dict[str, Any], protocol: str | int | None) -> tuple[int | None, int | None]:
    """Neutron's port range: both ends for tcp and udp (min <= max), type and code for icmp, none otherwise."""
    given = [key for key in ("port_range_min", "port_range_max") if rule.get(key) is not None]
    if not given:
        return None, None
    if protocol in PORT_PROTOCOLS:
        low = _port(_field(index, "port_range_min"), rule.get("port_range_min"), 1, 65535)
        high = _port(_field(index, "port_range_max"), rule.get("port_range_max"), 1, 65535)
        if low is None or high is None:
            missing = "port_range_min" if low is None else "port_range_max"
            raise InvalidInput(_field(index, missing), f"is required with the other end of a {protocol} port range")
        if low > high:
            raise InvalidInput(_field(index, "port_range_min"), f"{low} is greater than port_range_max {high}")
        return low, high
    if protocol in ICMP_PROTOCOLS:
        icmp_type = _port(_field(index, "port_range_min"), rule.get("port_range_min"), 0, 255)
        code = _port(_field(index, "port_range_max"), rule.get("port_range_max"), 0, 255)
        if icmp_type is None:
            raise InvalidInput(_field(index, "port_range_min"), "is required (the ICMP type) when a code is given")
        return icmp_type, code
    raise InvalidInput(_field(index, given[0]), f"is for tcp, udp, icmp and icmpv6 rules only, not {protocol or 'any'}")


def _remote_ip_prefix(field: str, value: Any, ethertype: str) -> str | None:
    if value is None:
        return None
    require_netaddr()
    try:
        network = netaddr.IPNetwork(value) if isinstance(value, str) else None
    except (netaddr.AddrFormatError, ValueError, TypeError):
        network = None
    if network is None or "/" not in value:
        raise InvalidInput(field, f"must be a CIDR such as 198.18.0.0/24 or 2001:db8::/64, got {shown(value)}")
    if (network.version == 6) != (ethertype == "IPv6"):
        raise InvalidInput(field, f"{value} is not an {ethertype} CIDR (the rule's ethertype)")
    # Neutron keeps the network, without host bits.
    return str(network.cidr)


def check_description(field: str, description: Any) -> Any:
    """A group's or a rule's description: a string of at most 255 characters (Neutron's limit)."""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LEN:
        raise InvalidInput(field, f"must be a string of at most {MAX_DESCRIPTION_LEN} characters")
    return description


def validate_rule(index: int, rule: Any) -> dict[str, Any]:
    """One rule in its full form; InvalidInput names ``rules[index].field``."""
    if not isinstance(rule, dict):
        raise InvalidInput(
            _field(index), f"must be a mapping with direction and optionally {', '.join(sorted(RULE_KEYS))}"
        )
    unknown = sorted(set(rule) - RULE_KEYS)
    if unknown:
        raise InvalidInput(_field(index, unknown[0]), f"unknown key; known keys: {', '.join(sorted(RULE_KEYS))}")
    direction = check_choice(_field(index, "direction"), rule.get("direction"), DIRECTIONS)
    if direction is None:
        raise InvalidInput(_field(index, "direction"), f"is required and must be one of {', '.join(DIRECTIONS)}")
    ethertype = check_choice(_field(index, "ethertype"), rule.get("ethertype"), ETHERTYPES, "IPv4")
    protocol = _protocol(_field(index, "protocol"), rule.get("protocol"), ethertype)
    low, high = _port_range(index, rule, protocol)
    prefix = _remote_ip_prefix(_field(index, "remote_ip_prefix"), rule.get("remote_ip_prefix"), ethertype)
    remote_group = rule.get("remote_group")
    if remote_group is not None:
        check_safe_name(_field(index, "remote_group"), remote_group)
        if prefix is not None:
            raise InvalidInput(_field(index, "remote_group"), "and remote_ip_prefix exclude each other")
    description = check_description(_field(index, "description"), rule.get("description") or "")
    return {
        "direction": direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "port_range_min": low,
        "port_range_max": high,
        "remote_ip_prefix": prefix,
        "remote_group": remote_group,
        "description": description,
    }


def _traffic(rule: dict[str, Any]) -> tuple[Any, ...]:
    """What a rule lets through, but its ports: two rules of one traffic must not overlap."""
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["remote_ip_prefix"], rule["remote_group"])


def validate_rules(rules: Any) -> list[dict[str, Any]]:
    """The whole rule set, each rule in its full form; a bad, repeated or overlapping rule refuses all of it."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise InvalidInput("rules", f"must be a list of rules, got {shown(rules)}")
    checked = [validate_rule(index, rule) for index, rule in enumerate(rules)]
    for index, rule in enumerate(checked):
        for earlier_index, earlier in enumerate(checked[:index]):
            if {**rule, "description": ""} == {**earlier, "description": ""}:
                raise InvalidInput(
                    _field(index), f"is rules[{earlier_index}] again (Security group rule already exists)"
                )
            if _traffic(rule) == _traffic(earlier) and _ports_overlap(rule, earlier):
                raise InvalidInput(
                    _field(index),
                    f"ports {_ports(rule)} overlap ports {_ports(earlier)} of rules[{earlier_index}] "
                    "for the same traffic",
                )
    return checked


def _ports(rule: dict[str, Any]) -> str:
    if rule["port_range_min"] is None:
        return "all"
    return f"{rule['port_range_min']}-{rule['port_range_max']}"


def _ports_overlap(one: dict[str, Any], other: dict[str, Any]) -> bool:
    if one["protocol"] in ICMP_PROTOCOLS:
        # An ICMP type (and code) is one value, not a range: they overlap when equal, or when one is all.
        if None in (one["port_range_min"], other["port_range_min"]):
            return True
        if one["port_range_min"] != other["port_range_min"]:
            return False
        codes = (one["port_range_max"], other["port_range_max"])
        return None in codes or codes[0] == codes[1]
    low_one, high_one = one["port_range_min"] or 1, one["port_range_max"] or 65535
    low_other, high_other = other["port_range_min"] or 1, other["port_range_max"] or 65535
    return low_one <= high_other and low_other <= high_one


def default_group_rules() -> list[dict[str, Any]]:
    """Neutron's default group: all egress, and ingress from the members of the same group."""
    return validate_rules(
        [
            {"direction": "egress", "ethertype": "IPv4"},
            {"direction": "egress", "ethertype": "IPv6"},
            {"direction": "ingress", "ethertype": "IPv4", "remote_group": DEFAULT_GROUP},
            {"direction": "ingress", "ethertype": "IPv6", "remote_group": DEFAULT_GROUP},
        ]
    )
