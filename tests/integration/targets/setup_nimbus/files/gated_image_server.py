# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A loopback HTTP server that holds a build in its image download until told to go on.

Usage: gated_image_server.py FILE STATE_DIR

Serves FILE on 127.0.0.1 (any path). A GET sends the headers and the first
half of the file, creates STATE_DIR/started, then waits until
STATE_DIR/release exists (at most 600 s) before it sends the rest. A test so
knows that a build is in its block_device_mapping step, does what it means
to race with it (a delete, a libvirtd restart), then lets the build go on.
Writes STATE_DIR/port and STATE_DIR/pid once listening; every GET appends
its path to STATE_DIR/requests.
"""

from __future__ import annotations

import http.server
import os
import sys
import time

RELEASE_TIMEOUT_SECONDS = 600


class GatedHandler(http.server.BaseHTTPRequestHandler):
    image_path = ""
    state_dir = ""

    def _state(self, name: str) -> str:
        return os.path.join(self.state_dir, name)

    def do_GET(self) -> None:
        with open(self._state("requests"), "a", encoding="utf-8") as log:
            log.write(self.path + "\n")
        with open(self.image_path, "rb") as image:
            body = image.read()
        half = len(body) // 2
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:half])
        self.wfile.flush()
        with open(self._state("started"), "w", encoding="utf-8") as started:
            started.write(self.path + "\n")
        deadline = time.monotonic() + RELEASE_TIMEOUT_SECONDS
        while not os.path.exists(self._state("release")) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.wfile.write(body[half:])


def main() -> None:
    GatedHandler.image_path, GatedHandler.state_dir = sys.argv[1], sys.argv[2]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GatedHandler)
    for name, value in (("pid", os.getpid()), ("port", server.server_address[1])):
        with open(os.path.join(GatedHandler.state_dir, f"{name}.tmp"), "w", encoding="utf-8") as handle:
            handle.write(f"{value}\n")
        os.replace(os.path.join(GatedHandler.state_dir, f"{name}.tmp"), os.path.join(GatedHandler.state_dir, name))
    server.serve_forever()


if __name__ == "__main__":
    main()
