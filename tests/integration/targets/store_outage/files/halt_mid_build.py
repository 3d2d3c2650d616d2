"""Stop the PostgreSQL store's server once instance NAME's build has reached STEP.

Usage: python halt_mid_build.py URL CLUSTER_DIR NAME STEP [TIMEOUT]

Polls the store every 10 ms for NAME's task_state; when it is STEP (networking,
block_device_mapping or spawning), stops the server (tests/pg_cluster.py halt,
by its pid, data kept) and prints that task_state. Exits 1 when the build ends
(or the timeout passes) before that.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg

PG_CLUSTER = Path(__file__).resolve().parents[4] / "pg_cluster.py"


def task_state(conn: psycopg.Connection, name: str) -> tuple[str, str | None] | None:
    row = conn.execute(
        "SELECT vm_state, task_state FROM nimbus.instances WHERE name = %s AND vm_state <> 'deleted'", (name,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def main() -> int:
    url, cluster_dir, name, step = sys.argv[1:5]
    deadline = time.monotonic() + float(sys.argv[5] if len(sys.argv) > 5 else 240)
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = conn.execute("SELECT to_regclass('nimbus.instances') IS NOT NULL").fetchone()[0]
            state = task_state(conn, name) if found else None
            if state is not None and state[1] == step:
                break
            if state is not None and state[0] != "building":
                print(f"the build of {name} ended ({state[0]}) before the outage", file=sys.stderr)
                return 1
            time.sleep(0.01)
        else:
            print(f"no build of {name} reached a host step in time", file=sys.stderr)
            return 1
    subprocess.run([sys.executable, str(PG_CLUSTER), "halt", cluster_dir], check=True)
    print(state[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
