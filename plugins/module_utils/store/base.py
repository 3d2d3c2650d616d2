# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store API every backend implements.

A transaction yields a state object with the store's operations (read an
instance by uuid or name, compare-and-swap its task_state, claim, allocate and
release ports, record actions and events, list what a scheduler or a report
needs); callers use only those operations, never a backend's data.  The JSON
backend (``StoreState`` over the schema-1 data, flock, one atomic rewrite) and
the PostgreSQL backend (``pg_state.PgState``: row locks, only the rows an
operation needs) each implement them.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError, StoreRetry

SCHEMA_VERSION = 1
COLLECTIONS = ("instances", "claims", "ports", "host_facts", "server_groups", "security_groups", "floating_ips")


def empty_data() -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, **{name: {} for name in COLLECTIONS}}


def check_data(data: Any, where: str) -> dict[str, Any]:
    """Schema-1 data with every collection present; StoreError naming ``where`` otherwise."""
    if not isinstance(data, dict):
        raise StoreError(f"store {where} is not a JSON object", path=where, reason="not an object")
    if data.get("schema") != SCHEMA_VERSION:
        reason = f"schema {data.get('schema')!r}, expected {SCHEMA_VERSION}"
        raise StoreError(f"store {where} has {reason}", path=where, reason=reason)
    for name in COLLECTIONS:
        data.setdefault(name, {})
        if not isinstance(data[name], dict):
            reason = f"{name!r} is not an object"
            raise StoreError(f"store {where}: {reason}", path=where, reason=reason)
    return data


# A transaction another writer got in the way of runs again this many times, after a short random pause.
RETRIES = 20
RETRY_PAUSE = (0.005, 0.05)

Result = TypeVar("Result")


def retry_on_conflict(operation: Callable[..., Result]) -> Callable[..., Result]:
    """Run ``operation`` (whose store transactions start afresh on each call) again on StoreRetry.

    The JSON backend never raises StoreRetry (its flock serialises writers); the PostgreSQL backend does
    when a row another transaction changed, or a unique address, MAC or name, made this one roll back.
    """

    @functools.wraps(operation)
    def run(*args: Any, **kwargs: Any) -> Result:
        for attempt in range(RETRIES):
            try:
                return operation(*args, **kwargs)
            except StoreRetry:
                time.sleep(random.uniform(*RETRY_PAUSE) * (1 + attempt))
        try:
            return operation(*args, **kwargs)
        except StoreRetry as conflict:
            raise StoreError(f"{conflict.message}; gave up after {RETRIES} retries", **conflict.details) from None

    return run


def run_on_commit(state: Any) -> None:
    """Run what the transaction asked to run once it was saved, in the order it asked."""
    callbacks, state.on_commit = state.on_commit, []
    for callback in callbacks:
        callback()


class Store(abc.ABC):
    """A place the controller keeps instances, claims, ports, host facts and server groups."""

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Any]:
        """Exclusive read-modify-write: yields a StoreState, saves it on normal exit iff it changed."""

    @abc.abstractmethod
    def snapshot(self) -> Any:
        """A consistent read: a StoreState whose changes are never saved."""

    @contextlib.contextmanager
    def _nested_guard(self) -> Iterator[None]:
        # flock is per open file: a nested transaction in one process would deadlock on itself.
        if getattr(self, "_in_transaction", False):
            raise StoreError("a store transaction is already open in this process; nest the work instead")
        self._in_transaction = True
        try:
            yield
        finally:
            self._in_transaction = False
