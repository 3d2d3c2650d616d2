# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  scheduler:
    description:
      - Scheduler options in Nova's names, usually the inventory variable C(nimbus_scheduler). A host's report may
        carry its own allocation ratios, which win over these.
    type: dict
    default: {}
    suboptions:
      enabled_filters:
        description: The filters that run, in this order (Nova's C([filter_scheduler] enabled_filters)), each once.
        type: list
        elements: str
        choices: &filters
          - ComputeFilter
          - AvailabilityZoneFilter
          - CoreFilter
          - RamFilter
          - DiskFilter
          - ComputeCapabilitiesFilter
          - ImagePropertiesFilter
          - ServerGroupAntiAffinityFilter
          - ServerGroupAffinityFilter
          - SameHostFilter
          - DifferentHostFilter
        default: *filters
      weight_classes:
        description: The weighers, in this order (Nova's C([filter_scheduler] weight_classes)), each once.
        type: list
        elements: str
        choices: &weighers
          - RAMWeigher
          - CPUWeigher
          - DiskWeigher
          - NumInstancesWeigher
          - ServerGroupSoftAffinityWeigher
          - ServerGroupSoftAntiAffinityWeigher
        default: *weighers
      cpu_allocation_ratio:
        description: Virtual CPUs a host offers per physical CPU (greater than 0).
        type: float
        default: 4.0
      ram_allocation_ratio:
        description: Memory a host offers per MB it has (greater than 0).
        type: float
        default: 1.0
      disk_allocation_ratio:
        description: Disk a host offers per GB it has (greater than 0).
        type: float
        default: 1.0
      reserved_host_memory_mb:
        description: Memory (MB) of each host kept for the host itself (0 or more).
        type: int
        default: 512
      reserved_host_disk_mb:
        description: Disk (MB) of each host kept for the host itself (0 or more).
        type: int
        default: 0
      ram_weight_multiplier:
        description: Weight of free memory; negative packs hosts instead of spreading.
        type: float
        default: 1.0
      cpu_weight_multiplier:
        description: Weight of free virtual CPUs; negative packs.
        type: float
        default: 1.0
      disk_weight_multiplier:
        description: Weight of free disk; negative packs.
        type: float
        default: 1.0
      num_instances_weight_multiplier:
        description: Weight of the number of instances on a host; positive prefers busy hosts.
        type: float
        default: 0.0
      soft_affinity_weight_multiplier:
        description: Weight of a soft-affinity group's members on a host (0 or more).
        type: float
        default: 1.0
      soft_anti_affinity_weight_multiplier:
        description: Weight against a soft-anti-affinity group's members on a host (0 or more).
        type: float
        default: 1.0
      host_subset_size:
        description: The host is chosen at random among this many of the best (1 or more).
        type: int
        default: 1
      max_attempts:
        description: Builds of an instance before it fails (1 or more); the scheduler keeps max_attempts - 1 alternates.
        type: int
        default: 3
      default_availability_zone:
        description: The zone of hosts whose report names none, and of requests that ask for none.
        type: str
        default: nova
"""
