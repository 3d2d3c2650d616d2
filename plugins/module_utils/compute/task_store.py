# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store a task's options name, for every controller-side step."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import notifications
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import (
    open_store,
    store_url,
    url_field,
)
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import URL_ENV


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
