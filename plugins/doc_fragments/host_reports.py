# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hosts:
    description:
      - The compute hosts, each with its C(name) (the inventory name) and its report (the C(nimbus_host) fact of
        M(nimbus.compute.host_facts)), given here instead of read from the store. At most one of O(hosts) and
        O(compute_hosts).
      - A mapping of inventory names to their C(nimbus_host) facts is taken as this list, each key its entry's
        C(name).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The host's inventory name; unique in the list.
        type: str
        required: true
      up:
        description: Whether the host's libvirtd answered; a host not up is never chosen.
        type: bool
        default: false
      reason:
        description: Why the host is down.
        type: str
      hostname:
        description: The host's own name, as libvirt reports it.
        type: str
      vcpus:
        description: The host's CPUs.
        type: int
      memory_mb:
        description: The host's memory in MB.
        type: int
      free_memory_mb:
        description: The memory free when the host reported, in MB.
        type: int
      disk_gb:
        description: Size of the filesystem of the instances path in GB.
        type: int
      free_disk_gb:
        description: Free space of that filesystem in GB.
        type: int
      cpu_arch:
        description: The host's CPU architecture, for example V(x86_64).
        type: str
      virt_types:
        description: The virtualisation types the host can run (V(kvm), V(qemu)).
        type: list
        elements: str
      virt_type:
        description: The virtualisation type the host's instances use.
        type: str
      libvirt_version:
        description: libvirt's version on the host.
        type: str
      qemu_version:
        description: QEMU's version on the host.
        type: str
      availability_zone:
        description: The host's availability zone; by default the scheduler's C(default_availability_zone).
        type: str
      enabled:
        description: Whether the scheduler may choose the host.
        type: bool
        default: true
      traits:
        description: The host's traits, for the scheduler's trait filters.
        type: list
        elements: str
        default: []
      uri:
        description: The libvirt URI the report was read from.
        type: str
      instances_path:
        description: Where the host keeps its instances' disks.
        type: path
      networks:
        description:
          - The host's active libvirt networks by their name (names of the host's own, so no fixed fields), each
            with its DHCP C(reservations), C(dhcp_ranges) and live C(leases), as M(nimbus.compute.host_facts)
            reports them.
        type: dict
      updated_at:
        description: When the store recorded the report (ISO 8601), for a report read back from the store.
        type: str
      cpu_allocation_ratio:
        description: The host's own CPU allocation ratio, instead of the scheduler's.
        type: float
      ram_allocation_ratio:
        description: The host's own RAM allocation ratio, instead of the scheduler's.
        type: float
      disk_allocation_ratio:
        description: The host's own disk allocation ratio, instead of the scheduler's.
        type: float
      reserved_host_memory_mb:
        description: Memory in MB the host keeps for itself, instead of the scheduler's.
        type: int
      reserved_host_disk_mb:
        description: Disk in MB the host keeps for itself, instead of the scheduler's.
        type: int
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
