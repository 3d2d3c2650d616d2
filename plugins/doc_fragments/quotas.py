# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  quotas:
    description:
      - The quotas of the project, usually its entry of the inventory variable C(nimbus_quotas); Nova's and
        Neutron's defaults for the ones not given, V(-1) for unlimited.
      - The project's usage is counted from the store (as Nova counts it since Pike - its instances that are not
        deleted, in any state) in the transaction that changes it, so runs at the same time never exceed a quota
        together.
    type: dict
    default: {}
    version_added: 0.3.0
    suboptions:
      instances:
        description: Instances of the project.
        type: int
        default: 10
      cores:
        description: Virtual CPUs of the project's instances (their flavors' C(vcpus)).
        type: int
        default: 20
      ram:
        description: Memory of the project's instances in MB (their flavors' C(memory_mb)).
        type: int
        default: 51200
      server_groups:
        description: Server groups of the project (M(nimbus.compute.server_group)).
        type: int
        default: 10
      server_group_members:
        description: Instances in one server group.
        type: int
        default: 10
      floating_ips:
        description: Floating IPs allocated to the project (Neutron's quota).
        type: int
        default: 50
      security_groups:
        description: Security groups of the project (Neutron's quota).
        type: int
        default: 10
      security_group_rules:
        description: Rules of the project's security groups (Neutron's quota).
        type: int
        default: 100
"""
