"""Throw-away PostgreSQL clusters for the tests: Debian's server binaries, a directory of their own.

``start(base_dir)`` runs initdb in ``base_dir/data`` and starts a postmaster that listens on
127.0.0.1 (a free port) and on a Unix socket in ``base_dir``, with a database ``nimbus``.  Local
connections are trusted (``postgresql://postgres@127.0.0.1:PORT/nimbus``); ``create_role()`` adds
a role whose TCP logins check a scram-sha-256 password.  Durability stays on (fsync,
synchronous_commit, full_page_writes): crash tests rely on it.

initdb and postgres refuse to run as root: as root, they run as the ``postgres`` user of Debian's
package, so ``base_dir`` must be reachable by that user (somewhere under /tmp, not pytest's
tmp_path, which is private to root).  Only the standard library is used, so shell runners can call
the CLI with any python3:

    python tests/pg_cluster.py start DIR   # prints the URL, leaves the server running
    python tests/pg_cluster.py url DIR     # prints the URL again
    python tests/pg_cluster.py createdb DIR NAME   # a new empty database NAME; prints its URL
    python tests/pg_cluster.py halt DIR    # stops the server, keeps its data (an outage)
    python tests/pg_cluster.py resume DIR  # starts it again on the same port
    python tests/pg_cluster.py stop DIR    # stops that server (by its pid) and removes DIR
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

PG_LIB = Path("/usr/lib/postgresql")
OS_USER = "postgres"
SUPERUSER = "postgres"
DATABASE = "nimbus"
HOST = "127.0.0.1"
STATE_FILE = "pg_cluster.json"
LOG_FILE = "postgres.log"
# Settings of our own, in a file that postgresql.conf includes last.
SETTINGS_FILE = "nimbus_test.conf"
# Linux's limit on a Unix socket's path (sun_path) is 108 bytes with its NUL.
SOCKET_PATH_MAX = 107
# How postgres reads each signal: smart waits for clients, fast disconnects them (pg_ctl's
# default), immediate quits without a checkpoint, as a crash would.
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
PORT_ATTEMPTS = 3
# postmaster.pid's 8th line is the server's status (LOCK_FILE_LINE_PM_STATUS in pidfile.h).
PID_FILE_STATUS_LINE = 7


class ClusterError(RuntimeError):
    """A cluster could not be made, started or stopped; the message carries the server log's tail."""


def pg_bindir() -> Path:
    """The newest PostgreSQL server's bin directory under /usr/lib/postgresql (Debian's layout)."""
    found = [d / "bin" for d in PG_LIB.glob("*") if d.name.isdigit() and (d / "bin" / "postgres").is_file()]
    if not found:
        raise ClusterError(f"no PostgreSQL server in {PG_LIB}/<major>/bin: install Debian's postgresql (make deps)")
    return max(found, key=lambda b: int(b.parent.name))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _run_as() -> dict:
    """subprocess arguments that run a server binary as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(OS_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _write_owned(path: Path, text: str) -> None:
    path.write_text(text)
    _chown_to_server_user(path)
    path.chmod(0o600)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def process_exists(pid: int) -> bool:
    """Whether pid is a process that has not exited (a zombie waiting for its parent has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may hold anything.
    return stat[stat.rindex(")") + 2] not in "ZX"


def accepts_connections(data_dir: Path) -> bool:
    """Whether the postmaster of data_dir says it is ready (postmaster.pid's status line, as pg_ctl -w reads it)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) > PID_FILE_STATUS_LINE and lines[PID_FILE_STATUS_LINE].strip() == "ready"


def _settings(port: int, socket_dir: Path) -> str:
    return "\n".join(
        [
            "# Written by tests/pg_cluster.py: a throw-away cluster for the tests.",
            f"listen_addresses = '{HOST}'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            "max_connections = 100",
            "shared_buffers = 16MB",
            "password_encryption = 'scram-sha-256'",
            # Crash tests need what was committed to survive a kill: never fsync = off.
            "fsync = on",
            "synchronous_commit = on",
            "full_page_writes = on",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] '",
            "",
        ]
    )


HBA_HEADER = """\
# Written by tests/pg_cluster.py.  The first matching line wins: create_role() puts a
# scram-sha-256 line for its role above the trust lines.
"""
HBA_TRUST = f"""\
local all all trust
host all all {HOST}/32 trust
"""


class Cluster:
    """One throw-away cluster in base_dir: data/, the server's socket, postgres.log and our state file."""

    def __init__(self, base_dir: Path, port: int, bindir: Path) -> None:
        self.base_dir = base_dir
        self.port = port
        self.bindir = bindir
        self._server: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_file(self) -> Path:
        return self.base_dir / LOG_FILE

    @property
    def url(self) -> str:
        """The superuser's URL of the database nimbus, over TCP (trusted, no password)."""
        return self.url_for(DATABASE)

    def url_for(self, database: str, user: str = SUPERUSER, password: str | None = None) -> str:
        credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        return f"postgresql://{credentials}@{HOST}:{self.port}/{quote(database, safe='')}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid from data/postmaster.pid, or None when this cluster's server is not running.

        The pid counts only while that process runs in this data directory (postgres works in its
        data directory), so a stale file or a reused pid never names somebody else's process.
        """
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            running_here = Path(os.readlink(f"/proc/{pid}/cwd")) == self.data_dir.resolve()
        except OSError:
            return None
        return pid if running_here and process_exists(pid) else None

    def _env(self) -> dict[str, str]:
        # PG* variables of the caller (PGDATA, PGPORT, ...) must not steer our programs elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(HOME=str(self.base_dir), LC_ALL="C.UTF-8")
        return env

    def _pg(self, program: str, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        """Run a PostgreSQL program as the server's user; its output, or ClusterError with that output."""
        proc = subprocess.run(
            [str(self.bindir / program), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.base_dir,
            env=self._env(),
            timeout=timeout,
            check=False,
            **_run_as(),
        )
        if proc.returncode != 0:
            raise ClusterError(f"{program} {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc.stdout

    def psql(self, sql: str, database: str = "postgres", **variables: str) -> str:
        """Run SQL as the superuser over the socket; ``:"name"`` and ``:'name'`` quote variables safely."""
        args = ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port)]
        args += ["-U", SUPERUSER, "-d", database]
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        return self._pg("psql", *args, stdin=sql)

    def create_database(self, name: str) -> str:
        """A new empty database; its superuser URL."""
        self.psql('CREATE DATABASE :"name";', name=name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop it, disconnecting whoever is still connected."""
        self.psql('DROP DATABASE IF EXISTS :"name" WITH (FORCE);', name=name)

    def create_role(self, name: str, password: str) -> str:
        """A LOGIN role whose TCP logins must give this password (scram-sha-256); its URL of nimbus."""
        self.psql("CREATE ROLE :\"name\" LOGIN PASSWORD :'password';", name=name, password=password)
        hba = self.data_dir / "pg_hba.conf"
        text = hba.read_text()
        if HBA_TRUST not in text:
            raise ClusterError(f"{hba} no longer holds the trust lines that start() wrote")
        quoted = '"' + name.replace('"', '""') + '"'
        _write_owned(hba, text.replace(HBA_TRUST, f"host all {quoted} {HOST}/32 scram-sha-256\n{HBA_TRUST}"))
        # The postmaster rereads pg_hba.conf on this SIGHUP before it accepts our next connection.
        self.psql("SELECT pg_reload_conf();")
        return self.url_for(DATABASE, name, password)

    def start_again(self, timeout: float = 60) -> None:
        """Start the server again on its data directory and port, after stop() or a crash."""
        if self.pid is not None:
            raise ClusterError(f"the cluster in {self.base_dir} is already running (pid {self.pid})")
        self._start_server(timeout)

    def _start_server(self, timeout: float) -> None:
        """Start the postmaster as our child and wait until it accepts connections.

        Not through pg_ctl: pg_ctl leaves the postmaster to init, and an init that reaps late
        (this machine's) shows a stopped server as a defunct postgres for a while.  Our child we
        reap ourselves in stop().  It gets a session of its own, so a Ctrl-C for the tests is
        not a shutdown request for it.
        """
        self._reap()
        with self.log_file.open("a") as log:
            _chown_to_server_user(self.log_file)
            self._server = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                env=self._env(),
                start_new_session=True,
                **_run_as(),
            )
        deadline = time.monotonic() + timeout
        while not accepts_connections(self.data_dir):
            exited = self._server.poll() is not None
            if exited or time.monotonic() > deadline:
                why = "exited" if exited else f"did not accept connections within {timeout:g} s"
                self.stop(mode="immediate")
                raise ClusterError(
                    f"PostgreSQL in {self.data_dir} (port {self.port}) {why}\n"
                    f"--- {self.log_file} (tail) ---\n{_tail(self.log_file)}"
                )
            time.sleep(0.02)

    def _reap(self) -> None:
        """Collect our postmaster's exit status, so no defunct process stays behind."""
        if self._server is not None and self._server.poll() is not None:
            self._server = None

    def _exited(self, pid: int) -> bool:
        if self._server is not None and self._server.pid == pid:
            return self._server.poll() is not None
        return not process_exists(pid)

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        """Stop the postmaster by its pid (as ``pg_ctl stop -m MODE``) and wait until it has exited.

        mode "immediate" quits without a checkpoint, as a crash would.  A postmaster still there
        after timeout is told to quit at once, then killed.  No-op when the server is not running.
        """
        pid = self.pid
        if pid is None and self._server is not None and self._server.poll() is None:
            pid = self._server.pid  # started, postmaster.pid not written yet
        if pid is not None:
            self._signal_until_exited(pid, STOP_SIGNALS[mode], timeout)
        self._reap()

    def _signal_until_exited(self, pid: int, first: signal.Signals, timeout: float) -> None:
        for sig, wait in ((first, timeout), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self._exited(pid):
                    return
                time.sleep(0.02)
        raise ClusterError(f"postmaster {pid} of {self.data_dir} survived SIGKILL")

    def destroy(self) -> None:
        """Stop the server and remove base_dir with everything in it."""
        self.stop()
        shutil.rmtree(self.base_dir)


def start(base_dir: str | os.PathLike, timeout: float = 60) -> Cluster:
    """A new cluster in base_dir (absent or empty), running, with the database nimbus."""
    base = Path(base_dir).absolute()
    bindir = pg_bindir()
    longest = SOCKET_PATH_MAX - len("/.s.PGSQL.65535")
    if len(str(base)) > longest:
        raise ClusterError(f"{base} is too long a path for the server's Unix socket (at most {longest} characters)")
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(base.iterdir()):
        raise ClusterError(f"{base} is not empty: a new cluster needs a directory of its own")
    _chown_to_server_user(base)
    base.chmod(0o700)
    cluster = Cluster(base, free_port(), bindir)
    try:
        cluster._pg(
            "initdb", "-D", str(cluster.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "-N"
        )
    except ClusterError as exc:
        raise ClusterError(f"{exc}\n(the {OS_USER} user must be able to reach and write {base})") from exc
    with (cluster.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(f"\ninclude '{SETTINGS_FILE}'\n")
    _write_owned(cluster.data_dir / "pg_hba.conf", HBA_HEADER + HBA_TRUST)
    # The free port may be taken before the server binds it: then try another one.
    for attempt in range(1, PORT_ATTEMPTS + 1):
        _write_owned(cluster.data_dir / SETTINGS_FILE, _settings(cluster.port, cluster.socket_dir))
        _write_owned(base / STATE_FILE, json.dumps({"port": cluster.port, "bindir": str(bindir)}) + "\n")
        try:
            cluster._start_server(timeout)
            break
        except ClusterError:
            if attempt == PORT_ATTEMPTS or "could not bind" not in _tail(cluster.log_file, 10):
                raise
            cluster.port = free_port()
    cluster.psql('CREATE DATABASE :"name";', name=DATABASE)
    return cluster


def attach(base_dir: str | os.PathLike) -> Cluster:
    """The cluster that start() made in base_dir (running or not), from its state file."""
    base = Path(base_dir).absolute()
    try:
        state = json.loads((base / STATE_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ClusterError(f"{base} holds no cluster made by tests/pg_cluster.py ({exc})") from exc
    return Cluster(base, int(state["port"]), Path(state["bindir"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Throw-away PostgreSQL clusters for the tests.")
    parser.add_argument("command", choices=["start", "stop", "url", "createdb", "halt", "resume"])
    parser.add_argument("dir", help="the cluster's directory (start: absent or empty, reachable by postgres)")
    parser.add_argument("database", nargs="?", help="createdb: the name of a new empty database; prints its URL")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the server (start)")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(start(args.dir, args.timeout).url)
        elif args.command == "url":
            print(attach(args.dir).url)
        elif args.command == "halt":
            attach(args.dir).stop()
        elif args.command == "resume":
            attach(args.dir).start_again(args.timeout)
        elif args.command == "createdb":
            if not args.database:
                parser.error("createdb needs the name of the database")
            print(attach(args.dir).create_database(args.database))
        elif Path(args.dir).exists():
            attach(args.dir).destroy()
    except ClusterError as exc:
        print(f"pg_cluster: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
