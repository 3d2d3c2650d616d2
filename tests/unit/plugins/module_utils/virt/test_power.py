from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.virt.power import wait_for


class FakeClock:
    """A clock that advances only when slept on (time itself, not libvirt, is what is faked)."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_true_at_once_does_not_sleep():
    clock = FakeClock()
    assert wait_for(lambda: True, 5, clock=clock, sleep=clock.sleep) is True
    assert clock.sleeps == []


def test_becomes_true_after_some_polls():
    clock = FakeClock()
    answers = iter([False, False, True])
    assert wait_for(lambda: next(answers), 5, interval=1, clock=clock, sleep=clock.sleep) is True
    assert clock.sleeps == [1, 1]


def test_times_out_without_oversleeping():
    clock = FakeClock()
    assert wait_for(lambda: False, 2.5, interval=1, clock=clock, sleep=clock.sleep) is False
    assert clock.sleeps == [1, 1, 0.5]


def test_zero_timeout_asks_once():
    calls = []
    assert wait_for(lambda: calls.append(1) or False, 0, sleep=lambda s: None) is False
    assert calls == [1]
