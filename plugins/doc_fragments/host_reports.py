# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hosts:
    description:
      - Compute hosts by inventory name, each with its report (the C(nimbus_host) fact of
        M(nimbus.compute.host_facts)), given here instead of read from the store.
      - A host whose value is not such a mapping is refused, naming it. At most one of O(hosts) and O(compute_hosts).
    type: dict
    default: {}
  compute_hosts:
    description:
      - The compute hosts the scheduler may choose from, by inventory name; each one's report is read from the store,
        as this run's M(nimbus.compute.host_facts) wrote it there (or served it from there, then at most
        O(host_facts_max_age) seconds older than the run). A host without such a report, or one recorded down (its
        libvirtd or the host itself could not be reached), is down for the scheduler, with the reason.
      - In check mode, which writes no report to the store, the reports are this run's host_facts results, the
        C(nimbus_host) facts the play holds for those hosts.
    type: list
    elements: str
    version_added: 0.2.0
  host_facts_max_age:
    description: With O(compute_hosts), how much older than the run a report may be (host_facts' C(max_age)).
    type: int
    default: 300
    version_added: 0.2.0
"""
