# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing the store backend from ``nimbus_store_path``."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import Store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore


def open_store(path: str) -> Store:
    """The store at ``path``: a JSON file for now; a URL scheme will select other backends."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("nimbus_store_path", "must be the path of the JSON store file on the controller")
    if "://" in path:
        scheme = path.split("://", 1)[0]
        raise InvalidInput("nimbus_store_path", f"store backend {scheme!r} is not supported yet; use a file path")
    return JSONStore(path)
