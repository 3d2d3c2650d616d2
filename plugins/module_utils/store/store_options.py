# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store options' rules (``store_url``, ``store_path``), apart from the stores themselves: every
module checks them, and a module that runs on a compute host carries no store code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput

URL_ENV = "NIMBUS_STORE_URL"
URL_SCHEMES = ("postgresql", "postgres")
URL_FORM = "postgresql://user@host:port/dbname"


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
