"""Fixtures for the virt tests: libvirt's own test driver and real qemu-img."""

from __future__ import annotations

import subprocess

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
