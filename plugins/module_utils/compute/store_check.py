# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Body of the store_check module: report the store's consistency, repair its orphans.

Check mode repairs an in-memory copy of the store's data, so what it predicts (``repaired``,
``remaining``, ``changed``) is computed exactly as a real repair computes it.
Stale temp files (writes killed before their rename) are reported apart from
the violations: they break no record, they are litter; a repair removes them.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute.task_store import store_for
from ansible_collections.nimbus.compute.plugins.module_utils.store import consistency
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState


def check_state(state: Any, repair: bool) -> dict[str, Any]:
    """Violations of the store ``state`` reads, the ones repaired through it (when ``repair``), and the ones left."""
    data = state.export()
    violations = consistency.find_violations(data)
    repaired = consistency.repair_orphans(state, violations) if repair else []
    if repaired:
        data = state.export()
    remaining = consistency.find_violations(data) if repaired else violations
    return {
        "counts": consistency.record_counts(data),
        "changed": bool(repaired),
        "consistent": not remaining,
        "violations": violations,
        "repaired": repaired,
        "remaining": remaining,
    }


def with_temp_files(result: dict[str, Any], stale: list[str], removed: list[str]) -> dict[str, Any]:
    """``result`` with the stale temp files found and the ones removed (or to remove, in check mode)."""
    return {
        **result,
        "changed": result["changed"] or bool(removed),
        "stale_temp_files": stale,
        "removed_temp_files": removed,
    }


def _stale_temp_files(store: Any) -> list[str]:
    # Only a backend that writes through temp files (the JSON store) can leave them.
    find = getattr(store, "stale_temp_files", None)
    return find() if find is not None else []


def _remove_stale_temp_files(store: Any) -> list[str]:
    remove = getattr(store, "remove_stale_temp_files", None)
    return remove() if remove is not None else []


def store_check(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    return {"store": store.where, **_check(store, params["repair"], check_mode)}


def _check(store: Any, repair: bool, check_mode: bool) -> dict[str, Any]:
    if not repair:
        return with_temp_files(check_state(store.snapshot(), repair=False), _stale_temp_files(store), [])
    if check_mode:
        stale = _stale_temp_files(store)
        in_memory = StoreState(copy.deepcopy(store.snapshot().export()))
        return with_temp_files(check_state(in_memory, repair=True), stale, stale)
    # One transaction: the orphans found are the ones removed, with no writer in between; its
    # exclusive lock also means no temp file left is a live writer's.
    with store.transaction() as state:
        stale = _stale_temp_files(store)
        result = check_state(state, repair=True)
        return with_temp_files(result, stale, _remove_stale_temp_files(store))
