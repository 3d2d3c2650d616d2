# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The libvirt connection and libvirt's errors in nimbus' vocabulary (Nova's virt/libvirt/host.py)."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import VirtError

try:
    import libvirt

    HAS_LIBVIRT = True
    LIBVIRT_IMPORT_ERROR: str | None = None
except ImportError:
    libvirt = None
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()


class HypervisorUnavailable(VirtError):
    """The libvirt daemon at ``uri`` cannot be reached (Nova's HypervisorUnavailable)."""

    code = 503


def _ignore_libvirt_error(_ctx: Any, _err: Any) -> None:
    # libvirt prints every error to stderr unless a handler is registered;
    # the error still reaches us as a libvirtError (Nova does the same).
    return None


def virt_error(exc: Any, action: str) -> VirtError:
    """Turn a ``libvirt.libvirtError`` into a VirtError naming what was being done."""
    message = exc.get_error_message() if hasattr(exc, "get_error_message") else str(exc)
    code = exc.get_error_code() if hasattr(exc, "get_error_code") else None
    return VirtError(f"{action}: {message}", action=action, libvirt_code=code)


def open_connection(uri: str) -> Any:
    """Open a read-write connection to ``uri``; HypervisorUnavailable if that fails."""
    if not HAS_LIBVIRT:
        raise HypervisorUnavailable(
            f"cannot connect to {uri}: the libvirt Python bindings are not installed",
            uri=uri,
            traceback=LIBVIRT_IMPORT_ERROR,
        )
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise HypervisorUnavailable(
            f"cannot connect to {uri}: {exc.get_error_message()}",
            uri=uri,
            libvirt_code=exc.get_error_code(),
        ) from exc


def lookup_or_none(lookup: Callable[[], Any], missing_code: int, action: str) -> Any | None:
    """What ``lookup`` finds, or None when libvirt answers ``missing_code`` (no such object)."""
    try:
        return lookup()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == missing_code:
            return None
        raise virt_error(exc, action) from exc
