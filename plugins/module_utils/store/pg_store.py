# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared store: PostgreSQL through psycopg 3, for many controllers and AWX.

One connection per store object, in autocommit mode: a transaction is an
explicit ``BEGIN ... COMMIT`` (READ COMMITTED, with row and per-host locks in
PgState), a snapshot reads row by row (its ``export`` in one REPEATABLE READ
transaction). The password never comes from the URL in any output: libpq
finds it (``PGPASSWORD``, ``~/.pgpass``, a service file) or ``store_password``
gives it; messages name the store by its URL without one.

A database without our schema gets it on first use, as the JSON store creates
its file; a database of another schema version is refused, naming
store_migrate.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError, StoreRetry
from ansible_collections.nimbus.compute.plugins.module_utils.store import pg_schema
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import Store, run_on_commit
from ansible_collections.nimbus.compute.plugins.module_utils.store.pg_state import PgState

CONNECT_TIMEOUT = 10
# SQLSTATEs of a transaction another writer got in the way of: serialization_failure, deadlock_detected,
# unique_violation (an address, MAC or name taken meanwhile), exclusion_violation, lock_not_available.
RETRY_SQLSTATES = frozenset(("40001", "40P01", "23505", "23P01", "55P03"))


def redact(url: str) -> str:
    """``url`` without its password (in the user part or as a parameter): the form every message shows."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.rsplit("@", 1)[1]
            netloc = f"{parts.username}@{netloc}" if parts.username else netloc
        query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if key != "password"])
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return f"{url.split('://', 1)[0]}://<unparsable URL>"


def import_psycopg() -> Any:
    try:
        # Imported only when a URL is used: the JSON store needs no psycopg.
        psycopg = importlib.import_module("psycopg")
    except ImportError as exc:
        raise StoreError(
            f"store_url needs the Python package psycopg on the controller (pip install 'psycopg[binary]'): {exc}",
            reason="psycopg missing",
        ) from None
    return psycopg


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class PostgresStore(Store):
    def __init__(self, url: str, password: str | None = None, field: str = "store_url") -> None:
        self.url = url
        self.password = password
        self.where = redact(url)
        # Where the URL came from (the option, or the environment variable), for the errors that need a fix there.
        self.named = f"{self.where} ({field})"
        self.psycopg = import_psycopg()
        self._conn: Any = None

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    def translate(self, error: BaseException) -> StoreError:
        """A psycopg error as the store's: StoreRetry for a conflict with another writer, else StoreError."""
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate in RETRY_SQLSTATES:
            return StoreRetry(f"store {self.where}: {first_line(error)}", path=self.where, sqlstate=sqlstate)
        if isinstance(error, self.psycopg.OperationalError) or (self._conn is not None and self._conn.broken):
            self.close()
            return StoreError(
                f"store {self.named} is unreachable: {first_line(error)}", path=self.where, reason=first_line(error)
            )
        return StoreError(f"store {self.where}: {first_line(error)}", path=self.where, reason=first_line(error))

    def _open(self) -> Any:
        extra = {"password": self.password} if self.password else {}
        try:
            return self.psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="nimbus.compute", **extra
            )
        except self.psycopg.Error as exc:
            reason = first_line(exc)
            raise StoreError(
                f"cannot connect to store {self.named}: {reason}", path=self.where, reason=reason
            ) from None

    def _connect(self) -> Any:
        conn = self._open()
        try:
            with conn.transaction():
                version = pg_schema.current_version(conn)
                if version == 0:
                    pg_schema.migrate(conn, self.where)
                elif version != pg_schema.SCHEMA_VERSION:
                    raise pg_schema.version_error(self.named, version)
        except self.psycopg.Error as exc:
            conn.close()
            raise self.translate(exc) from None
        except StoreError:
            conn.close()
            raise
        return conn

    def connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            # Closing a connection the server already dropped may fail too; there is nothing left to release.
            with contextlib.suppress(self.psycopg.Error, OSError):
                self._conn.close()
            self._conn = None

    def _state(self, writable: bool) -> PgState:
        return PgState(self.connection(), self.where, self.psycopg.Error, self.translate, writable=writable)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgState]:
        with self._nested_guard():
            state = self._state(writable=True)
            try:
                with state.conn.transaction():
                    yield state
                    state.flush()
            except self.psycopg.Error as exc:
                raise self.translate(exc) from None
        run_on_commit(state)

    def snapshot(self) -> PgState:
        if getattr(self, "_in_transaction", False):
            raise StoreError(
                "a snapshot inside a transaction of the same store would not see its changes; use its state"
            )
        return self._state(writable=False)

    @contextlib.contextmanager
    def migration(self, commit: bool = True) -> Iterator[Any]:
        """A transaction on a connection of its own, for store_migrate: no schema check, no state.

        Without ``commit`` it is rolled back at the end (check mode: everything done, nothing kept)."""
        conn = self._open()
        try:
            with conn.transaction() as transaction:
                yield conn
                if not commit:
                    raise self.psycopg.Rollback(transaction)
        except self.psycopg.Error as exc:
            raise self.translate(exc) from None
        finally:
            conn.close()

    def state_on(self, conn: Any) -> PgState:
        """The store's operations on ``conn``'s open transaction (a migration's)."""
        return PgState(conn, self.where, self.psycopg.Error, self.translate)
