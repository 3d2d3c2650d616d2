# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bodies of the controller-side modules.

The action plugins call these in-process (no module round trip); the
modules' ``main()`` call them too, so each also works as a plain module.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    flow,
    notifications,
    schedule,
    server_groups,
    terminate,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import (
    check_instance_name,
    check_instance_names,
    utcnow,
    validate_request,
)
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import (
    URL_ENV,
    open_store,
    store_url,
    url_field,
)


def store_for(params: dict[str, Any]):
    """The task's store: ``store_url`` (or NIMBUS_STORE_URL) for PostgreSQL, else the JSON file ``store_path``."""
    url = store_url(params)
    if url is None and not params.get("store_path"):
        raise exceptions.InvalidInput(
            "store_path",
            f"is required (or store_url, or {URL_ENV} in the controller's environment): "
            "the controller keeps instance state in the store",
        )
    store = open_store(params.get("store_path"), url, params.get("store_password"), url_field(params))
    return notifications.set_path(store, params.get("notifications_path"))


def host_select(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        instance, changed = flow.release_claim(store, params["name"], utcnow(), check_mode)
        return {"changed": changed, "instance": instance}
    # params["hosts"] passed option_rules (check_host_reports) before the body runs, as reschedule's do.
    request = validate_request(params["request"], params["flavors"], params["images"], params["networks"])
    instances, changed = schedule.schedule_instances(
        store,
        request,
        params["hosts"],
        params["scheduler"],
        utcnow(),
        check_mode,
        replace_failed=params.get("replace_failed", False),
    )
    first = instances[0]
    return {
        "changed": changed,
        "instances": instances,
        # Check mode writes nothing: instances it would create have no record
        # for the build steps to run on (it returns existing ones unchanged).
        "recorded": not (check_mode and changed),
        "instance": first,
        "host": first.get("host"),
        "alternates": first.get("alternates", []),
        "ansible_facts": {"nimbus_instance": first},
    }


def server_group(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        return server_groups.delete(store, params["name"], check_mode)
    return server_groups.ensure(store, params["name"], params["policy"], params["rules"], utcnow(), check_mode)


def network_allocate(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        instance, changed = flow.deallocate_network(store, params["instance"], check_mode)
    else:
        instance, changed = flow.allocate_network(store, params["instance"], params["networks"], utcnow(), check_mode)
    result = {"changed": changed, "instance": instance, "network_info": (instance or {}).get("network_info", [])}
    if instance:
        result["ansible_facts"] = {"nimbus_instance": instance}
    return result


def instance_delete(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Both controller ends of a delete (compute/terminate.py); the end fails naming what its hosts kept."""
    names = check_instance_names("instances", params["instances"])
    store = store_for(params)
    if params["phase"] == "begin":
        started = terminate.begin_terminate(store, names, utcnow(), check_mode)
        return {"changed": bool(started["instances"]) and not check_mode, **started}
    result = terminate.complete_terminate(store, names, utcnow(), check_mode)
    if result["unfinished"]:
        result.update(failed=True, msg=terminate.unfinished_message(result))
    return result


def _with_deleted(state, name: str | None, names: list[str] | None) -> list[dict[str, Any]]:
    """Nova's ``--deleted``: the instances of ``name`` (or uuid) or ``names``, or every one, deleted ones too."""
    every = state.list_instances(include_deleted=True)
    if name is not None:
        return [instance for instance in every if name in (instance["uuid"], instance["name"])]
    if names is not None:
        return [instance for wanted in names for instance in every if instance["name"] == wanted]
    return every


def instance_info(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    del check_mode  # reading changes nothing
    # A name create would refuse names no instance: say so rather than find nothing.
    if params.get("name") is not None:
        check_instance_name("name", params["name"])
    for index, name in enumerate(params.get("names") or []):
        check_instance_name(f"names[{index}]", name)
    state = store_for(params).snapshot()
    if params.get("include_deleted"):
        return {"changed": False, "instances": _with_deleted(state, params.get("name"), params.get("names"))}
    if params.get("name") is not None:
        found = flow.find_instance(state, params["name"])
        instances = [found] if found else []
    elif params.get("names") is not None:
        by_name = state.live_instances_by_name(params["names"])
        instances = [by_name[name] for name in params["names"] if name in by_name]
    else:
        instances = state.list_instances()
    return {"changed": False, "instances": instances}
