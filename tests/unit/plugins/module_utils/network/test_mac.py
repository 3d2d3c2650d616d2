"""MAC generation: Neutron's prefix, unique, bounded retries."""

from __future__ import annotations

import random
import re

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.network import mac


def test_mac_has_neutron_prefix():
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", mac.generate_mac(set(), random.Random(1)))


def test_mac_avoids_those_in_use():
    taken = mac.generate_mac(set(), random.Random(7))
    # The same seed would give the same MAC again; in_use makes it retry.
    assert mac.generate_mac({taken}, random.Random(7)) != taken


def test_many_macs_are_unique():
    rng = random.Random(3)
    used: set[str] = set()
    for _round in range(500):
        used.add(mac.generate_mac(used, rng))
    assert len(used) == 500


def test_gives_up_after_the_retries():
    class Stuck(random.Random):
        def randrange(self, *args):
            return 0

    with pytest.raises(mac.MacAddressGenerationFailure, match="3 attempts"):
        mac.generate_mac({"fa:16:3e:00:00:00"}, Stuck(), retries=3)
