# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating and deleting server groups in the store (Nova's os-server-groups API)."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas as quotas_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import server_group as group_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import DEFAULT_PROJECT, project_of
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict


def record_diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    return {"before": before or {}, "after": after or {}}


@retry_on_conflict
def ensure(
    store,
    name: str,
    policy: str | None,
    rules: dict[str, Any] | None,
    now: str,
    check_mode: bool,
    project_id: str = DEFAULT_PROJECT,
    quotas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The group exists with this policy and rules in ``project_id``; a group's policy never changes (as in Nova).

    A new group must fit the project's server_groups quota, counted in the transaction that adds it.
    """
    check_safe_name("name", name)
    check_safe_name("project_id", project_id)
    limits = quotas_obj.project_limits(quotas)
    with store.transaction() as state:
        existing = state.find_server_group(name)
        if existing is not None and project_of(existing) != project_id:
            raise exceptions.Conflict(
                f"server group {existing['name']} ({existing['uuid']}) belongs to project {project_of(existing)}, "
                f"not {project_id}",
                server_group=existing["uuid"],
            )
        if existing is not None:
            same_policy = policy in (None, existing["policy"])
            if same_policy and rules is not None:
                same_rules = group_obj.validate_rules(existing["policy"], rules) == existing["rules"]
            else:
                same_rules = True
            if not (same_policy and same_rules):
                raise exceptions.Conflict(
                    f"server group {existing['name']} ({existing['uuid']}) has policy {existing['policy']} and "
                    f"rules {existing['rules']}; a server group's policy and rules cannot change: delete the "
                    "group and create it again",
                    server_group=existing["uuid"],
                )
            return {"changed": False, "server_group": existing, "diff": record_diff(existing, existing)}
        if policy is None:
            raise exceptions.InvalidInput("policy", f"is required to create server group {name}")
        group = group_obj.new_server_group(name, policy, group_obj.validate_rules(policy, rules), now)
        group["project_id"] = project_id
        quotas_obj.check_room(limits, "server_groups", state.project_usage(project_id)["server_groups"])
        if not check_mode:
            state.add_server_group(group)
        return {"changed": True, "server_group": group, "diff": record_diff(None, group)}


@retry_on_conflict
def delete(store, name: str, check_mode: bool) -> dict[str, Any]:
    """No group is left by that name; its members stay, outside any group (as in Nova)."""
    with store.transaction() as state:
        existing = state.find_server_group(name)
        if existing is None:
            return {"changed": False, "server_group": None, "diff": record_diff(None, None)}
        if not check_mode:
            state.delete_server_group(existing["uuid"])
        return {"changed": True, "server_group": existing, "diff": record_diff(existing, None)}
