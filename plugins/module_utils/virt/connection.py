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


# The URI a step uses when neither the instance's record nor the task names one.
DEFAULT_URI = "qemu:///system"


class HypervisorUnavailable(VirtError):
    """The libvirt daemon at ``uri`` cannot be reached (Nova's HypervisorUnavailable)."""

    code = 503


# URIs opened in this process, the latest last: a module run talks to one
# libvirtd, and a libvirtError does not say which connection it came from.
_OPENED_URIS: list[str] = []


def _is_unreachable(exc: Any) -> bool:
    """Whether a libvirtError says libvirtd is out of reach: its socket refuses, or the connection broke."""
    if not hasattr(exc, "get_error_domain"):
        return False
    # RPC and remote-driver errors are the client's transport (a missing
    # socket, "End of file while reading data" after a daemon restart); an
    # invalid connection is one libvirt already gave up on.
    transport_domains = (libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE)
    lost_codes = (libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_NO_CONNECT)
    return exc.get_error_domain() in transport_domains or exc.get_error_code() in lost_codes


def unreachable_message(uri: str | None, message: str) -> str:
    """What a step says when it cannot reach libvirtd: the URI, and what libvirt said."""
    where = f" at {uri}" if uri else ""
    return f"libvirtd is not reachable{where}: {message}"


def _ignore_libvirt_error(_ctx: Any, _err: Any) -> None:
    # libvirt prints every error to stderr unless a handler is registered;
    # the error still reaches us as a libvirtError (Nova does the same).
    return None


def virt_error(exc: Any, action: str) -> VirtError:
    """Turn a ``libvirt.libvirtError`` into a VirtError naming what was being done.

    A lost connection is HypervisorUnavailable naming the URI: the daemon went
    away, which another host (or a later attempt) may not see.
    """
    message = exc.get_error_message() if hasattr(exc, "get_error_message") else str(exc)
    code = exc.get_error_code() if hasattr(exc, "get_error_code") else None
    if _is_unreachable(exc):
        uri = _OPENED_URIS[-1] if _OPENED_URIS else None
        return HypervisorUnavailable(
            f"{action}: {unreachable_message(uri, message)}", action=action, uri=uri, libvirt_code=code
        )
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
        conn = libvirt.open(uri)
    except libvirt.libvirtError as exc:
        message = exc.get_error_message()
        if _is_unreachable(exc):
            message = unreachable_message(None, message)
        raise HypervisorUnavailable(
            f"cannot connect to {uri}: {message}",
            uri=uri,
            libvirt_code=exc.get_error_code(),
        ) from exc
    _OPENED_URIS.append(uri)
    return conn


def lookup_or_none(lookup: Callable[[], Any], missing_code: int, action: str) -> Any | None:
    """What ``lookup`` finds, or None when libvirt answers ``missing_code`` (no such object)."""
    try:
        return lookup()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == missing_code:
            return None
        raise virt_error(exc, action) from exc
