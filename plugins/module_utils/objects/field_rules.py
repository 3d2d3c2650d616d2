# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of single fields that module options share with the build request (names, user data).

Apart from the Instance record (objects/instance.py) so that a module checking
its options carries none of the request's validation with it.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown

# Characters that would break XML, paths or log lines if a name were pasted into them.
UNSAFE_NAME_CHARS = frozenset("<>&'\"/\\")
MAX_NAME_LEN = 255
MAX_USER_DATA_BYTES = 65535


def check_safe_name(field: str, value: Any) -> str:
    """A name that is safe to put into XML, paths and logs: InvalidInput otherwise."""
    rule = (
        f"must be a non-empty string of at most {MAX_NAME_LEN} characters without whitespace, "
        "'/', '\\', '..' or any of < > & ' \""
    )
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_NAME_LEN
        or ".." in value
        or any(c.isspace() or c in UNSAFE_NAME_CHARS or not c.isprintable() for c in value)
    ):
        raise InvalidInput(field, f"{rule}, got {shown(value)}")
    return value


def check_choice(field: str, value: Any, choices: tuple[str, ...], default: str | None = None) -> str | None:
    """One of ``choices``, or ``default`` when not given (None); InvalidInput naming the field otherwise."""
    if value is None:
        return default
    if value not in choices:
        raise InvalidInput(field, f"must be one of {', '.join(choices)}, got {shown(value)}")
    return value


def check_user_data(field: str, value: Any) -> str | None:
    """User data as Nova takes it (at most 65535 bytes); host_select's request and block_device_map share it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    size = len(value.encode("utf-8"))
    if size > MAX_USER_DATA_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_USER_DATA_BYTES} bytes, got {size}")
    return value
