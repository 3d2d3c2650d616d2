"""Fixtures for the virt tests: libvirt's own test driver and real qemu-img."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import open_connection


@pytest.fixture
def conn():
    """A fresh test:///default: its state lives until the last connection to it closes."""
    connection = open_connection("test:///default")
    yield connection
    connection.close()


@pytest.fixture
def make_qcow2(tmp_path):
    def make(name: str = "image.qcow2", size: str = "64M") -> str:
        path = str(tmp_path / name)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, size], check=True)
        return path

    return make


class _LoggingFileHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, requests, **kwargs):
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        return None


@pytest.fixture
def http_files():
    """serve(directory) -> (base URL, list of requested paths): a loopback HTTP server for image downloads."""
    servers = []

    def serve(directory: str) -> tuple[str, list[str]]:
        requests: list[str] = []
        handler = functools.partial(_LoggingFileHandler, directory=directory, requests=requests)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}", requests

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()
