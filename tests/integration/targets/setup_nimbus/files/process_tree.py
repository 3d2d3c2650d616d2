# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start a command with a pid file, or kill -9 it with every process it started, as a crashed controller dies.

Usage:
  process_tree.py start PIDFILE COMMAND [ARG...]   exec COMMAND, its pid in PIDFILE
  process_tree.py kill PIDFILE                     SIGKILL that process and all its descendants

ansible-playbook's workers start sessions of their own (setsid), so a kill
of its process group would miss them and the modules they run: the tree is
found through /proc instead, from the pid in PIDFILE only. ``kill`` prints
how many processes it killed and returns once none of them is left.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root: int) -> list[int]:
    children = _children_by_parent()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        # It exited on its own meanwhile: nothing left to stop or kill.
        return


def kill_tree(root: int, timeout: float = 30.0) -> int:
    """SIGKILL ``root`` and its descendants; how many there were.

    The whole tree is stopped first (SIGSTOP, again until no new descendant
    appears), so no process forks away or is reparented before the kill.
    """
    stopped: set[int] = set()
    while True:
        tree = [pid for pid in _tree(root) if pid not in stopped]
        if not tree:
            break
        for pid in tree:
            _signal(pid, signal.SIGSTOP)
        stopped.update(tree)
    for pid in stopped:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in stopped):
        if time.monotonic() > deadline:
            raise SystemExit(f"processes still alive after SIGKILL: {sorted(p for p in stopped if _alive(p))}")
        time.sleep(0.05)
    return len(stopped)


def main() -> None:
    action, pidfile = sys.argv[1], sys.argv[2]
    if action == "start":
        with open(f"{pidfile}.tmp", "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        os.replace(f"{pidfile}.tmp", pidfile)
        os.execvp(sys.argv[3], sys.argv[3:])
    with open(pidfile, encoding="utf-8") as handle:
        root = int(handle.read())
    print(f"killed {kill_tree(root)} processes" if _alive(root) else "killed 0 processes")


if __name__ == "__main__":
    main()
