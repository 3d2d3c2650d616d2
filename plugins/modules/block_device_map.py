#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: block_device_map
short_description: Prepare an instance's disks and config drive on its compute host, as Nova's block device mapping does
description:
  - Fetches the image into C(<instances_path>/_base), keyed and verified by its sha256, creates the root disk as a
    qcow2 overlay of the flavor's C(root_gb), and builds the config drive (ISO 9660, label C(config-2)) with
    C(openstack/latest/meta_data.json), C(network_data.json), C(vendor_data.json) and C(user_data), the same under
    Nova's dated version folders, and injected files under C(openstack/content).
  - With the instance's C(config_drive_format=nocloud), the drive is a cloud-init NoCloud seed instead (label
    C(cidata), C(meta-data), C(user-data), C(network-config) in netplan version 2).
  - Follows the instance's C(block_device_mapping) (Nova's block device mapping v2, validated by
    M(nimbus.compute.host_select) from the request's C(block_device_mapping_v2)); an instance without one gets the
    root disk and the flavor's ephemeral and swap disks.
  - Ephemeral disks are raw files formatted without mounting (C(mkfs.ext4) by default, or the mapping's
    C(guest_format)); the swap disk is made with C(mkswap).
  - Mappings with C(destination_type=volume) are qcow2 volumes in the libvirt storage pool C(nimbus-volumes), a dir
    pool at C(<instances_path>/_volumes) defined when missing, created blank or from the image, or an existing volume
    attached by name (C(source_type=volume), C(uuid)). A volume as boot disk (boot from volume) replaces the root disk.
  - Returns C(block_device_info) with Nova's device names in Nova's order (root, ephemerals, swap, volumes, config
    drive), which M(nimbus.compute.libvirt_domain) uses.
  - Files already in place are left alone; the config drive is rebuilt only when its content would change.
    A failure removes what this run created.
  - A new instance directory gets C(nimbus-instance.json), naming the instance, before anything else. An existing
    C(<instances_path>/<uuid>) is used or removed only when that file names the instance or, for directories made
    before it existed, when it holds nothing but files of the names nimbus writes. Anything else there (and a file
    or symbolic link at that path) fails the module, in check mode too, naming the path and what is not nimbus's,
    with nothing written or removed, and the build is not rescheduled.
  - With O(state=absent), removes the instance's directory and everything in it (cached base images stay), and the
    volumes it mapped with C(delete_on_termination); the other volumes stay and are listed in RV(kept_volumes).
  - With a store (O(store_path) or O(store_url)), the controller records the step (task_state
    C(block_device_mapping)) in the store.
  - O(instance) is the instance, as M(nimbus.compute.host_select) and M(nimbus.compute.network_allocate) return it.
    Needs C(uuid), C(name), C(hostname), C(flavor) and C(image); C(network_info), C(metadata) and C(public_keys) go to
    the config drive. With a store, only C(uuid) is needed; the record is read from the store.
  - O(instances) takes several instances of one compute host in one call, as the build and delete playbooks run; one
    instance's failure does not stop the others.
  - With a store, the uuids of the run's instances. With O(state=present), a build round's block device mapping
    step - the instances claimed on this host that wait for it get their disks and config drive (the active ones
    converge), each by its own compare-and-swap; one that fails is rolled back on the host at once and left for
    the round's end, M(nimbus.compute.reschedule). With O(state=absent), a delete's second host step - an
    instance whose domain is not yet gone (event C(shutdown_instance) of its delete) is refused, its disks kept;
    each outcome is recorded as the event C(cleanup_instance), where M(nimbus.compute.instance_delete) reads it.
    Each record gives its C(instances_path) and libvirt URI.
  - Without a store, records (with C(uuid), and C(instances_path)) or, with O(state=absent), plain uuids.
  - The module fails naming each instance that failed (a host that cannot be reached fails them all), and
    RV(instances) reports every one; the playbooks ignore that failure and let the lifecycle's owner report.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.instance_record
  - nimbus.compute.libvirt
  - nimbus.compute.store
  - nimbus.compute.notifications
attributes:
  check_mode:
    support: full
    description: Computes whether files would be created or removed; touches nothing.
  diff_mode:
    support: none
    description: The change is RV(block_device_info).
  idempotent:
    support: full
    description: A second run with the same instance changes nothing.
options:
  admin_pass:
    description: Administrator password written to the config drive's C(meta_data.json); never logged or stored.
    type: str
  files:
    description:
      - Nova's injected files, written to the config drive under C(openstack/content/NNNN) and listed in
        C(meta_data.json); never logged or stored.
      - Nova's list of C(path) and C(contents) (base64); a mapping of absolute path to text is also taken, each file
        as that text.
      - At most 5 files of at most 10240 bytes each, paths of at most 255 bytes (Nova's quota defaults).
      - Only a C(config-2) drive carries them; the instance's C(config_drive_format) picks the format.
    type: list
    elements: dict
    suboptions:
      path:
        description: The file's absolute path in the guest, at most 255 bytes, without C(.) or C(..) components.
        type: str
        required: true
      contents:
        description: The file's contents, base64.
        type: str
        required: true
  instances_path:
    description: Directory holding instance directories and the C(_base) image cache on the compute host.
    type: path
    default: /var/lib/nimbus/instances
  state:
    description: V(present) prepares the disks; V(absent) removes them.
    type: str
    default: present
    choices: [present, absent]
  user_data:
    description: User data for the guest (at most 65535 bytes), written to the config drive; never logged or stored.
    type: str
requirements:
  - pycdlib
  - qemu-img
  - mkfs.ext4 and mkswap, for ephemeral and swap disks
  - libvirt-python, for volumes
"""

EXAMPLES = r"""
- name: Prepare the disks on the chosen host
  nimbus.compute.block_device_map:
    store_path: "{{ nimbus_store_path }}"
    instance: "{{ scheduled.instance }}"
    user_data: "{{ lookup('ansible.builtin.file', 'cloud-config.yml') }}"
  delegate_to: "{{ scheduled.host }}"
"""

RETURN = r"""
block_device_info:
  description: The instance's disks with Nova's device names, boot first.
  returned: with O(state=present)
  type: dict
  sample:
    root_device_name: /dev/vda
    instance_dir: /var/lib/nimbus/instances/2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11
    disks:
      - {device_name: vda, bus: virtio, type: disk, format: qcow2, boot_index: 0}
      - {device_name: hdd, bus: ide, type: cdrom, format: raw, boot_index: null}
deleted_volumes:
  description: Names of the volumes removed with the instance (C(delete_on_termination)).
  returned: with O(state=absent)
  type: list
  elements: str
kept_volumes:
  description: Names of the volumes the instance used that stay in their pool.
  returned: with O(state=absent)
  type: list
  elements: str
  sample: [volume-2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11-1]
instances:
  description: With O(instances), one entry per instance in the order given.
  returned: with O(instances)
  type: list
  elements: dict
  contains:
    uuid:
      description: The instance's uuid.
      type: str
    changed:
      description: Whether its files or volumes were made or removed.
      type: bool
    failed:
      description: Whether the step failed for it.
      type: bool
    msg:
      description: Why it failed.
      type: str
      returned: when it failed
instance:
  description: The instance record after the step.
  returned: when run through the action plugin with a store (O(store_path) or O(store_url))
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, host_disks
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module
from ansible_collections.nimbus.compute.plugins.module_utils.virt.configdrive import HAS_PYCDLIB, PYCDLIB_IMPORT_ERROR


def main() -> None:
    requirements = [("pycdlib", HAS_PYCDLIB, PYCDLIB_IMPORT_ERROR)]
    run_module(argspecs.BLOCK_DEVICE_MAP, host_disks.block_device_map, requirements, **argspecs.ONE_OR_MORE_INSTANCES)


if __name__ == "__main__":
    main()
