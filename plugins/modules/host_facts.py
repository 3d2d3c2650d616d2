#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_facts
short_description: Report a compute host's resources from libvirt, as Nova's resource tracker does
description:
  - Reads the host's CPUs, memory, free disk of the instances path, CPU architecture, the virt types it can run,
    and the libvirt and QEMU versions, and returns them as the fact C(nimbus_host).
  - A host whose libvirt cannot be reached is reported with C(up=false) and a reason, so the scheduler filters it
    out instead of the play failing.
  - With a store (O(store_path) or O(store_url)), the controller caches the report in the store and serves it from
    there while it is younger than O(max_age) seconds, which saves a module round trip per host. Capacity in use
    comes from the store's claims, never from the cache.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.libvirt
  - nimbus.compute.store
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Reading the host twice changes nothing.
options:
  availability_zone:
    description:
      - Availability zone of the host, as the scheduler's AvailabilityZoneFilter sees it.
      - At most 255 characters, without whitespace, C(/), C(\), C(..) or any of C(< > & ' "), as every name.
    type: str
    default: nova
  enabled:
    description: Whether the scheduler may place new instances on the host (Nova's service enabled flag).
    type: bool
    default: true
  instances_path:
    description:
      - Directory holding instance disks on the host; its filesystem's free space is reported.
      - Instances claimed on the host record it (and O(uri)), and their steps and their delete use the recorded values.
    type: path
    default: /var/lib/nimbus/instances
  max_age:
    description:
      - Seconds a cached report in the store stays fresh. V(0) always asks the host.
      - Only used with a store (O(store_path) or O(store_url)).
    type: int
    default: 300
  traits:
    description: Traits of the host (for example C(CUSTOM_SSD)) that flavor extra specs can require.
    type: list
    elements: str
    default: []
  virt_type:
    description:
      - The domain type instances get on this host (V(kvm), or V(qemu) where KVM is unavailable), reported with the
        O(uri) and O(instances_path). An instance claimed on the host records all three, and its build and delete
        steps use them from the record.
    type: str
    choices: [kvm, qemu]
"""

EXAMPLES = r"""
- name: Report every compute host, cached for five minutes
  nimbus.compute.host_facts:
    uri: qemu:///system
    store_path: "{{ nimbus_store_path }}"
    max_age: 300

- name: Always ask libvirt
  nimbus.compute.host_facts:
    max_age: 0
"""

RETURN = r"""
ansible_facts:
  description: Facts of the host.
  returned: always
  type: dict
  contains:
    nimbus_host:
      description: The host's resources, or C(up=false) with a reason.
      type: dict
      returned: always
      sample:
        up: true
        hostname: compute1
        vcpus: 2
        memory_mb: 24000
        free_memory_mb: 23000
        disk_gb: 250
        free_disk_gb: 80
        cpu_arch: x86_64
        virt_types: [qemu, kvm]
        libvirt_version: 9.0.0
        qemu_version: 7.2.0
        availability_zone: nova
        enabled: true
        traits: []
cached:
  description: Whether the report came from the store's cache.
  returned: when run through the action plugin
  type: bool
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, compute_host
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR


def main() -> None:
    run_module(argspecs.HOST_FACTS, compute_host.host_facts, [("libvirt-python", HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)])


if __name__ == "__main__":
    main()
