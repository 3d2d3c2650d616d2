# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Body of the store_check module: report the store's consistency, repair its orphans.

Check mode repairs a copy of the data, so what it predicts (``repaired``,
``remaining``, ``changed``) is computed exactly as a real repair computes it.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute.controller import store_for
from ansible_collections.nimbus.compute.plugins.module_utils.store import consistency


def check_data(data: dict[str, Any], repair: bool) -> dict[str, Any]:
    """Violations of ``data``, the ones repaired in place (when ``repair``), and the ones left."""
    violations = consistency.find_violations(data)
    repaired = consistency.repair_orphans(data, violations) if repair else []
    remaining = consistency.find_violations(data) if repaired else violations
    return {
        "changed": bool(repaired),
        "consistent": not remaining,
        "violations": violations,
        "repaired": repaired,
        "remaining": remaining,
    }


def store_check(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if not params["repair"]:
        return check_data(store.snapshot().data, repair=False)
    if check_mode:
        return check_data(copy.deepcopy(store.snapshot().data), repair=True)
    # One transaction: the orphans found are the ones removed, with no writer in between.
    with store.transaction() as state:
        return check_data(state.data, repair=True)
