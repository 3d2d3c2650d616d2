# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting until built guests answer on SSH: a pure predicate, a clock loop, and the console as the reason.

A guest is ready when its SSH server sends its banner (``SSH-2.0-...``):
cloud-init has then written the instance's keys (its init stage runs before
sshd starts).  A guest that does not answer in time fails the wait with the
last lines of its serial console, where its boot or cloud-init says why.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, NimbusError

BANNER_PREFIX = b"SSH-"
CONNECT_TIMEOUT = 2.0
POLL_INTERVAL = 1.0
MAX_TIMEOUT = 86400
MAX_CONSOLE_LINES = 200
# ANSI escapes and other control characters a console carries, but a message should not.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


class GuestNotReady(NimbusError):
    """The guest did not answer on SSH in time; it stays as it is for the user to look at."""

    code = 504


def is_ssh_banner(data: bytes) -> bool:
    return data.startswith(BANNER_PREFIX)


def read_banner(address: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bytes:
    """The first line the server at ``address:port`` sends, or b"" when nothing answers."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as connection:
            return connection.recv(256).split(b"\n", 1)[0]
    except OSError:
        return b""


def console_tail(path: str | None, lines: int) -> list[str]:
    """The last ``lines`` non-empty lines of a console log, control characters removed."""
    if not path or lines <= 0:
        return []
    try:
        with open(path, "rb") as console:
            console.seek(0, 2)
            console.seek(max(0, console.tell() - 64 * 1024))
            text = console.read().decode("utf-8", "replace")
    except OSError as error:
        return [f"(console log {path} unreadable: {error.strerror})"]
    cleaned = [_CONTROL.sub("", line).rstrip() for line in text.splitlines()]
    return [line for line in cleaned if line.strip()][-lines:]


def check_timeout(field: str, value: int) -> int:
    if not 1 <= value <= MAX_TIMEOUT:
        raise InvalidInput(field, f"must be 1 to {MAX_TIMEOUT} seconds, got {value}")
    return value


def check_port(field: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise InvalidInput(field, f"must be a TCP port, 1 to 65535, got {value}")
    return value


def check_console_lines(field: str, value: int) -> int:
    if not 0 <= value <= MAX_CONSOLE_LINES:
        raise InvalidInput(field, f"must be 0 to {MAX_CONSOLE_LINES}, got {value}")
    return value


def _not_ready_message(guest: dict[str, Any], port: int, timeout: int, console_lines: int) -> str:
    tail = console_tail(guest.get("console_log"), console_lines)
    console = "\n".join(f"  | {line}" for line in tail) if tail else "  (the console log is empty)"
    return (
        f"instance {guest['name']} ({guest['address']}) did not answer on SSH port {port} within {timeout} s; "
        f"it stays as it is (delete it with delete_instance.yml). Last lines of its console:\n{console}"
    )


def wait_for_ssh(
    guests: list[dict[str, Any]],
    port: int,
    timeout: int,
    console_lines: int,
    read: Callable[[str, int], bytes] = read_banner,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Each guest with ``ready``, ``seconds`` and ``banner`` once all answer; GuestNotReady names the others.

    The settings were checked with the module's options (compute/option_rules.py).
    """
    start = clock()
    results = {guest["uuid"]: {**guest, "ready": False, "seconds": None, "banner": None} for guest in guests}
    waiting = list(results)
    while waiting:
        for uuid in list(waiting):
            banner = read(results[uuid]["address"], port)
            if is_ssh_banner(banner):
                results[uuid].update(
                    ready=True, seconds=round(clock() - start, 1), banner=banner.decode("ascii", "replace").strip()
                )
                waiting.remove(uuid)
        if not waiting or clock() - start >= timeout:
            break
        sleep(POLL_INTERVAL)
    if waiting:
        messages = [_not_ready_message(results[uuid], port, timeout, console_lines) for uuid in waiting]
        raise GuestNotReady(
            "\n".join(messages),
            instances=[results[uuid]["name"] for uuid in waiting],
            ready=[results[uuid]["name"] for uuid in results if results[uuid]["ready"]],
        )
    return list(results.values())
