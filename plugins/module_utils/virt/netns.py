# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entering the network namespace a compute host's libvirtd runs in (``ip netns`` names it).

A host whose libvirtd runs inside a namespace (the local inventory's
``nimbus_netns``) has its guests' bridges there: a step that talks to a
guest from the host joins that namespace first.
"""

from __future__ import annotations

import ctypes
import os

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, VirtError

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000


def netns_path(name: str, netns_dir: str = NETNS_DIR) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise InvalidInput("netns", f"must be the name of a network namespace (ip netns list), got {name!r}")
    return os.path.join(netns_dir, name)


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12 and later
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def enter(name: str, netns_dir: str = NETNS_DIR) -> None:
    """Move this (single-threaded) process into the network namespace ``name``; sockets opened later live there."""
    path = netns_path(name, netns_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise InvalidInput("netns", f"no network namespace {name} on this host ({path} does not exist)") from None
    try:
        _setns(fd)
    except OSError as error:
        raise VirtError(f"cannot enter network namespace {name}: {error.strerror}", netns=name) from None
    finally:
        os.close(fd)
