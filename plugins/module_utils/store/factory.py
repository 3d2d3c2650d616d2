# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing the store backend: a PostgreSQL URL (``store_url``, or ``NIMBUS_STORE_URL`` in the
controller's environment) or the JSON file ``store_path``."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import Store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.pg_store import PostgresStore

URL_ENV = "NIMBUS_STORE_URL"
URL_SCHEMES = ("postgresql", "postgres")
URL_FORM = "postgresql://user@host:port/dbname"


def store_url(params: dict[str, Any]) -> str | None:
    """The URL the task gives (``store_url``) or, failing that, the controller's ``NIMBUS_STORE_URL``.

    An empty value is no URL: an inventory variable set to ``""`` leaves the choice to the environment.
    """
    return params.get("store_url") or os.environ.get(URL_ENV) or None


def uses_store(params: dict[str, Any]) -> bool:
    """Whether the task records its step in a store (a URL, or a JSON file path)."""
    return bool(store_url(params) or params.get("store_path"))


def check_url(url: Any, field: str = "store_url") -> str:
    """``url`` as a PostgreSQL URL, or InvalidInput naming ``field`` and what is wrong (never the password)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(field, f"must be a PostgreSQL URL, {URL_FORM}")
    if "://" not in url:
        raise InvalidInput(
            field, f"must be a PostgreSQL URL ({URL_FORM}), not a file path; a JSON store file goes in store_path"
        )
    scheme = url.split("://", 1)[0]
    if scheme not in URL_SCHEMES:
        raise InvalidInput(field, f"has the scheme {scheme!r}; the store takes {URL_FORM}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise InvalidInput(field, f"is not a valid URL ({exc}); the store takes {URL_FORM}") from None
    if not parts.path.strip("/"):
        raise InvalidInput(field, f"names no database; the store takes {URL_FORM}")
    return url


def check_url_option(field: str, value: Any) -> Any:
    """The option rule of ``store_url``: empty, or a PostgreSQL URL."""
    return value if value == "" else check_url(value, field)


def check_path(path: Any, field: str = "store_path") -> str:
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(field, "must be the path of the JSON store file on the controller")
    if "://" in path:
        raise InvalidInput(
            field,
            f"is the path of the JSON store file, not a URL; a PostgreSQL store is given as store_url "
            f"(nimbus_store_url, or {URL_ENV} in the controller's environment)",
        )
    return path


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
