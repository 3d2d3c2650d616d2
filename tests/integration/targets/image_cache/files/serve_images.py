# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A loopback HTTP server for the image_cache target: serves DIRECTORY on 127.0.0.1.

Usage: serve_images.py DIRECTORY STATE_DIR
Writes STATE_DIR/port and STATE_DIR/pid once listening, and appends one line
per GET (the path) to STATE_DIR/requests, so the test can count fetches.
"""

from __future__ import annotations

import functools
import http.server
import os
import sys


class LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files and notes each GET's path in ``requests_log``."""

    requests_log = ""

    def do_GET(self) -> None:
        with open(self.requests_log, "a", encoding="utf-8") as log:
            log.write(self.path + "\n")
        super().do_GET()


def main() -> None:
    directory, state_dir = sys.argv[1], sys.argv[2]
    LoggingHandler.requests_log = os.path.join(state_dir, "requests")
    handler = functools.partial(LoggingHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in (("pid", os.getpid()), ("port", server.server_address[1])):
        with open(os.path.join(state_dir, f"{name}.tmp"), "w", encoding="utf-8") as handle:
            handle.write(f"{value}\n")
        os.replace(os.path.join(state_dir, f"{name}.tmp"), os.path.join(state_dir, name))
    server.serve_forever()


if __name__ == "__main__":
    main()
