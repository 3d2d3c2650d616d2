# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing the store backend: a PostgreSQL URL (``store_url``, or ``NIMBUS_STORE_URL`` in the
controller's environment) or the JSON file ``store_path``."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.store.base import Store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.pg_store import PostgresStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import URL_ENV, check_path, check_url


def store_url(params: dict[str, Any]) -> str | None:
    """The URL the task gives (``store_url``) or, failing that, the controller's ``NIMBUS_STORE_URL``.

    An empty value is no URL: an inventory variable set to ``""`` leaves the choice to the environment.
    """
    return params.get("store_url") or os.environ.get(URL_ENV) or None


def uses_store(params: dict[str, Any]) -> bool:
    """Whether the task records its step in a store (a URL, or a JSON file path)."""
    return bool(store_url(params) or params.get("store_path"))


def url_field(params: dict[str, Any]) -> str:
    """Where the task's URL comes from, as errors name it: the option, or the environment variable."""
    return "store_url" if params.get("store_url") else URL_ENV


def open_store(
    path: str | None = None, url: str | None = None, password: str | None = None, field: str = "store_url"
) -> Store:
    """The store at ``url`` (PostgreSQL) when one is given, else the JSON file at ``path``; ``field`` is
    where the URL came from, for the messages."""
    if url is not None:
        return PostgresStore(check_url(url, field), password, field)
    return JSONStore(check_path(path))
