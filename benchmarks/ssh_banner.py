#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until an SSH server answers with its banner (``SSH-2.0-...``); the poller of bench_cloud_ssh.py.

Run inside the guests' network namespace:

  ip netns exec nimbus .venv/bin/python benchmarks/ssh_banner.py 198.18.0.201 --timeout 300

Tries once a second (a try: connect, read the first line; 2 s for each) until
the banner comes or ``--timeout`` seconds have passed since it started.
Prints one JSON line (address, ready, seconds since start, tries, banner) and
exits 0 when the banner came, 1 when it did not. Only addresses in
198.18.0.0/15 are polled.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import time

TEST_NET = ipaddress.ip_network("198.18.0.0/15")
BANNER_PREFIX = b"SSH-2.0-"


def first_line(address: str, port: int, timeout: float) -> bytes:
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            return conn.recv(256).split(b"\n", 1)[0]
    except OSError:
        return b""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("address")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds in all (default 300)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds from one try to the next (default 1)")
    p.add_argument("--connect-timeout", type=float, default=2.0, help="seconds for one try (default 2)")
    args = p.parse_args(argv)
    if ipaddress.ip_address(args.address) not in TEST_NET:
        p.error(f"{args.address} is not in {TEST_NET}")
    start = time.monotonic()
    tries, banner = 0, b""
    while True:
        tried = time.monotonic()
        tries += 1
        banner = first_line(args.address, args.port, args.connect_timeout)
        if banner.startswith(BANNER_PREFIX) or time.monotonic() - start >= args.timeout:
            break
        time.sleep(max(0.0, args.interval - (time.monotonic() - tried)))
    ready = banner.startswith(BANNER_PREFIX)
    result = {
        "address": args.address,
        "ready": ready,
        "seconds": round(time.monotonic() - start, 3),
        "tries": tries,
        "banner": banner.decode("ascii", "replace").strip() if ready else None,
    }
    print(json.dumps(result), flush=True)
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
