"""Waiting for guests' SSH: real sockets on the loopback, a console log on disk, and a clock the test moves."""

from __future__ import annotations

import socket
import threading

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    argspecs,
    compute_host,
    guest_wait,
    option_rules,
)


@pytest.fixture
def server():
    """A loopback server that sends ``greeting`` to each client: (port, set greeting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    greeting = {"bytes": b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"}
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(greeting["bytes"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], greeting
    stop.set()
    thread.join()
    listener.close()


def closed_port():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def guest(name="web1", address="127.0.0.1", console_log=None):
    return {"name": name, "uuid": f"uuid-{name}", "address": address, "console_log": console_log}


@pytest.mark.parametrize(
    ("data", "ready"),
    [(b"SSH-2.0-OpenSSH_9.2p1", True), (b"SSH-1.99-x", True), (b"", False), (b"HTTP/1.1 400", False)],
)
def test_is_ssh_banner(data, ready):
    assert guest_wait.is_ssh_banner(data) is ready


def test_read_banner_from_a_real_server_and_nothing_from_a_closed_port(server):
    port, _greeting = server
    assert guest_wait.read_banner("127.0.0.1", port) == b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r"
    assert guest_wait.read_banner("127.0.0.1", closed_port()) == b""


def test_all_ready_returns_each_guest_with_its_banner(server):
    port, _greeting = server
    ready = guest_wait.wait_for_ssh([guest("a"), guest("b")], port, 5, 20)
    assert [(item["name"], item["ready"], item["banner"]) for item in ready] == [
        ("a", True, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"),
        ("b", True, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"),
    ]


def test_a_guest_that_answers_later_is_waited_for():
    answers = iter([b"", b"", b"SSH-2.0-x"])
    clock = Clock()
    ready = guest_wait.wait_for_ssh(
        [guest()], 22, 30, 5, read=lambda _a, _p: next(answers), clock=clock, sleep=clock.sleep
    )
    assert (ready[0]["ready"], ready[0]["seconds"]) == (True, 2.0)


def test_timeout_names_the_instance_and_shows_the_console_tail(tmp_path):
    console = tmp_path / "console.log"
    console.write_bytes(
        b"".join(f"boot line {n}\r\n".encode() for n in range(30)) + b"\x1b[0;32m  OK  \x1b[0m] Reached target\r\n\n"
    )
    clock = Clock()
    with pytest.raises(guest_wait.GuestNotReady) as raised:
        guest_wait.wait_for_ssh(
            [guest("web1", "198.18.0.12", str(console)), guest("ok")],
            22,
            20,
            3,
            read=lambda address, _p: b"" if address == "198.18.0.12" else b"SSH-2.0-x",
            clock=clock,
            sleep=clock.sleep,
        )
    message = raised.value.message
    assert message.startswith("instance web1 (198.18.0.12) did not answer on SSH port 22 within 20 s;")
    assert message.endswith("  | boot line 28\n  | boot line 29\n  |   OK  ] Reached target")
    assert "boot line 27" not in message
    assert raised.value.details == {"instances": ["web1"], "ready": ["ok"]}
    assert clock.now == pytest.approx(120.0)


def test_console_tail_of_a_missing_log_says_so(tmp_path):
    assert guest_wait.console_tail(str(tmp_path / "none.log"), 5) == [
        f"(console log {tmp_path / 'none.log'} unreadable: No such file or directory)"
    ]
    assert guest_wait.console_tail(None, 5) == []


@pytest.mark.parametrize(
    ("timeout", "port", "lines", "message"),
    [
        (0, 22, 20, "timeout: must be 1 to 86400 seconds, got 0"),
        (-5, 22, 20, "timeout: must be 1 to 86400 seconds, got -5"),
        (10, 0, 20, "port: must be a TCP port, 1 to 65535, got 0"),
        (10, 70000, 20, "port: must be a TCP port, 1 to 65535, got 70000"),
        (10, 22, 201, "console_lines: must be 0 to 200, got 201"),
    ],
)
def test_bad_settings_name_the_option(timeout, port, lines, message):
    params = {"guests": [guest()], "port": port, "timeout": timeout, "console_lines": lines, "netns": None}
    with pytest.raises(exceptions.InvalidInput) as raised:
        option_rules.check_options(argspecs.INSTANCE_SSH_WAIT, params)
    assert raised.value.message == message


def test_module_body_in_check_mode_waits_for_nothing_and_the_options_are_checked():
    params = {"guests": [guest()], "port": 22, "timeout": 5, "console_lines": 20, "netns": "no-such-netns"}
    result = compute_host.instance_ssh_wait(params, check_mode=True)
    assert result == {"changed": False, "guests": [{**guest(), "ready": None, "seconds": None, "banner": None}]}
    with pytest.raises(exceptions.InvalidInput, match="timeout: must be 1 to 86400"):
        option_rules.check_options(argspecs.INSTANCE_SSH_WAIT, {**params, "timeout": 0})


def test_module_body_refuses_a_netns_that_does_not_exist():
    params = {"guests": [guest()], "port": 22, "timeout": 5, "console_lines": 20, "netns": "nimbus-no-such-netns"}
    with pytest.raises(exceptions.InvalidInput, match="netns: no network namespace nimbus-no-such-netns on this host"):
        compute_host.instance_ssh_wait(params, check_mode=False)
