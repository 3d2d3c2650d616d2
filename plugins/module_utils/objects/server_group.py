# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server groups (Nova's InstanceGroup): a policy over where their members may land.

``affinity`` keeps members on one host, ``anti-affinity`` on different hosts
(at most ``rules.max_server_per_host`` per host, default 1), and the ``soft-``
variants only weigh hosts, so a build never fails for them.
"""

from __future__ import annotations

import uuid
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
# Nova (microversion 2.64) knows one rule, and only for anti-affinity.
RULES = {"anti-affinity": ("max_server_per_host",)}
DEFAULT_MAX_SERVER_PER_HOST = 1
# As many as one request may ask for (request_spec.MAX_COUNT): more per host means no limit at all.
MAX_SERVER_PER_HOST = 1000


def validate_rules(policy: str, rules: Any) -> dict[str, int]:
    """The group's rules, checked against its policy; InvalidInput names the rule."""
    if policy not in POLICIES:
        raise InvalidInput("policy", f"must be one of {', '.join(POLICIES)}, got {policy!r}")
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise InvalidInput("rules", "must be a mapping")
    allowed = RULES.get(policy, ())
    for key, value in rules.items():
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise InvalidInput(f"rules.{key}", f"is not a rule of policy {policy}; its rules: {known}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SERVER_PER_HOST:
            raise InvalidInput(
                f"rules.{key}", f"must be an integer from 1 to {MAX_SERVER_PER_HOST}, got {shown(value)}"
            )
    return dict(rules)


def new_server_group(name: str, policy: str, rules: dict[str, int], now: str) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "policy": policy,
        "rules": dict(rules),
        "members": [],
        "created_at": now,
    }


def max_server_per_host(group: dict[str, Any]) -> int:
    return int((group.get("rules") or {}).get("max_server_per_host", DEFAULT_MAX_SERVER_PER_HOST))
