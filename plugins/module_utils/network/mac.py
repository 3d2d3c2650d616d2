# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MAC addresses for ports, as Neutron makes them: base fa:16:3e, three random octets."""

from __future__ import annotations

import random
from collections.abc import Container

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NimbusError

MAC_PREFIX = "fa:16:3e"
MAC_GENERATION_RETRIES = 16


class MacAddressGenerationFailure(NimbusError):
    """Neutron's name: no unused MAC address was found within the retries."""


def random_mac(rng: random.Random) -> str:
    return MAC_PREFIX + "".join(
        f":{octet:02x}" for octet in (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    )


def generate_mac(
    in_use: Container[str], rng: random.Random | None = None, retries: int = MAC_GENERATION_RETRIES
) -> str:
    """A MAC address with Neutron's prefix that is not in ``in_use`` (MACs in lower case, as random_mac makes them)."""
    rng = rng or random.Random()
    for _attempt in range(retries):
        mac = random_mac(rng)
        if mac not in in_use:
            return mac
    raise MacAddressGenerationFailure(
        f"no unused MAC address with prefix {MAC_PREFIX} found in {retries} attempts", retries=retries
    )
