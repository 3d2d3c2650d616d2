# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""BaseHostFilter (nova/scheduler/filters/__init__.py): the contract every filter keeps."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState


class BaseHostFilter:
    """One scheduling rule; subclasses implement ``host_passes`` and ``reason``.

    ``host_passes`` must depend only on the host state and the request, not on
    other hosts, so that the manager can keep a host's verdict across the picks
    of a multi-create until that host takes an instance.  A filter whose answer
    changes when an instance lands elsewhere (affinity: the group's hosts grow)
    sets ``depends_on_other_hosts`` and is asked again about every host at each pick.
    """

    depends_on_other_hosts = False

    def __init__(self) -> None:
        self._spec: dict[str, Any] | None = None
        self._wanted: Any = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def read_request(self, spec: dict[str, Any]) -> Any:
        """What the request asks of this filter, parsed from the spec (None: nothing to parse)."""
        return None

    def wanted(self, spec: dict[str, Any]) -> Any:
        """``read_request(spec)``, parsed once per request rather than once per host: the manager
        asks every host with the same spec object, and a scheduling call builds its own filters."""
        if spec is not self._spec:
            self._spec, self._wanted = spec, self.read_request(spec)
        return self._wanted

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        raise NotImplementedError

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        """Why the host did not pass, in words an operator can act on."""
        return f"{self.name} did not pass"
