#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_select
short_description: Schedule an instance on a compute host and claim its resources, as Nova's scheduler does
description:
  - Validates the build request, creates the instance record in the store (vm_state C(building), task_state
    C(scheduling)), filters the compute hosts and weighs the ones that pass, as Nova's filter scheduler does, then
    claims the chosen host's vcpus, memory and disk for the instance in the same store transaction, so concurrent
    runs never over-commit a host.
  - Filters, in the order of C(enabled_filters) (all of them by default, in this order) -
    C(ComputeFilter) (host enabled and up), C(AvailabilityZoneFilter), C(CoreFilter), C(RamFilter) and
    C(DiskFilter) (capacity after allocation ratios, reserved memory and the store's claims),
    C(ComputeCapabilitiesFilter) (flavor C(extra_specs) C(trait:NAME) V(required) or V(forbidden) against the
    host's traits), C(ImagePropertiesFilter) (C(hw_architecture), C(img_hv_type), C(hw_vm_mode)),
    C(ServerGroupAntiAffinityFilter), C(ServerGroupAffinityFilter), C(SameHostFilter) and C(DifferentHostFilter).
  - Weighers, in C(weight_classes) (all by default) - C(RAMWeigher), C(CPUWeigher), C(DiskWeigher),
    C(NumInstancesWeigher), C(ServerGroupSoftAffinityWeigher), C(ServerGroupSoftAntiAffinityWeigher). Each
    weigher's raw values are normalised to [0, 1] over the hosts that passed and multiplied by its multiplier;
    the host is chosen at random among the best C(host_subset_size), and up to C(max_attempts) - 1 alternates
    are kept for a reschedule.
  - C(min_count) and C(max_count) schedule several instances in one call, named C(NAME-1) .. C(NAME-N), each
    claimed in the same transaction. If at least C(min_count) fit, that many (up to C(max_count)) are created;
    if fewer fit, none is placed and every requested instance is recorded in vm_state C(error) with the fault,
    as Nova does.
  - When no host fits, fails with C(No valid host was found), saying for each filter how many hosts it removed
    and why for each host, and records the fault on the instance (vm_state C(error)).
  - >-
    The request's project (O(request.project_id)) must have room for it under its quotas (O(quotas)), counted
    from the store in the transaction that claims the hosts. A request over a quota fails with Nova's message, for
    example C(Quota exceeded for cores: Requested 4, but already used 18 of 20 cores), and creates nothing; a
    multi-create gets as many instances as fit, at least C(min_count).
  - A request whose instances exist already changes nothing and returns them.
  - With O(state=absent), drops the instance's claim; when the instance is being deleted this completes the delete.
  - Runs on the controller, in the action plugin's process; no compute host is contacted.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.catalog
  - nimbus.compute.networks
  - nimbus.compute.host_reports
  - nimbus.compute.scheduler
  - nimbus.compute.quotas
  - nimbus.compute.notifications
attributes:
  check_mode:
    support: full
    description:
      - Runs the scheduler and reports the host it would choose, or fails with No valid host as the real run
        would; writes nothing.
  diff_mode:
    support: none
    description: The change is the instance record, returned as RV(instance).
  idempotent:
    support: full
    description: A second run for the same name returns the existing instance with C(changed=false).
options:
  name:
    description: Name or uuid of the instance whose claim to drop, with O(state=absent).
    type: str
  request:
    description:
      - The build request, required with O(state=present), in the fields of Nova's server create request.
      - Each field is checked completely before anything is scheduled; a refusal names the field.
    type: dict
    suboptions:
      name:
        description:
          - The instance's name (1-63 letters, digits and C(-), starting with a letter or digit), or with
            O(request.max_count) > 1 the prefix of C(NAME-1) .. C(NAME-N).
        type: str
        required: true
      project_id:
        description:
          - The project the instances belong to; its quotas (O(quotas)) limit the request.
        type: str
        default: default
        version_added: 0.3.0
      security_groups:
        description:
          - The security groups of the project whose rules apply to the instances' ports, by name (Nova's
            C(security_groups)); the project's C(default) group when not given, made on the project's first build
            as Neutron makes it. A name that is not a group of the project is refused.
          - The instance records the groups' uuids; a group an instance uses is not deleted.
        type: list
        elements: str
        version_added: 0.3.0
      flavor:
        description: Name of the flavor, one of O(flavors).
        type: str
        required: true
      image:
        description: Name of the image, one of O(images).
        type: str
        required: true
      networks:
        description: The instance's ports, one per entry, in order (Nova's C(networks)); at least one.
        type: list
        elements: dict
        required: true
        suboptions:
          network:
            description: Name of the network, one of O(networks).
            type: str
            required: true
          fixed_ip:
            description: The port's address, in the network's allocation pool and free; any free one when not given.
            type: str
      key_name:
        description:
          - Name of one of O(request.public_keys); only that key reaches the guest, as Nova's key_name picks one of the
            user's key pairs. Every key of O(request.public_keys) does when not given.
        type: str
      public_keys:
        description:
          - OpenSSH public keys (one line each) by key name; they reach the guest's default user through the config
            drive (Nova's C(public_keys) and C(keys)).
        type: dict
      metadata:
        description: Nova's server metadata, strings of at most 255 characters by key; written to the config drive.
        type: dict
      availability_zone:
        description:
          - A zone name, or Nova's C(zone:host) (or C(:host)) to force the instance onto that host; the filters still
            check the forced host, as Nova's placement checks its capacity.
        type: str
      min_count:
        description:
          - The fewest instances to build (1 to 1000); when fewer fit, none is built. A string of digits such as
            C("3"), as an extra var given as C(key=value) is, is taken too.
        type: int
      max_count:
        description: The most instances to build (1 to 1000, at least O(request.min_count)).
        type: int
      scheduler_hints:
        description: Nova's scheduler hints.
        type: dict
        suboptions:
          group:
            description: A server group's name or uuid (see M(nimbus.compute.server_group)).
            type: str
          same_host:
            description: An instance name or uuid, or a list of them, whose hosts the instance must share.
            type: raw
          different_host:
            description: An instance name or uuid, or a list of them, whose hosts the instance must avoid.
            type: raw
      block_device_mapping_v2:
        description:
          - Nova's block device mapping v2 (see M(nimbus.compute.block_device_map)); a boot volume (image to volume,
            boot_index 0) claims no root disk on the host. Without it, the root disk, ephemeral and swap disks come
            from the flavor.
        type: list
        elements: dict
        suboptions:
          source_type:
            description: Where the disk comes from (Nova's C(snapshot) is refused; there is no snapshot service).
            type: str
            required: true
          destination_type:
            description:
              - V(local) is a file in the instance's directory, V(volume) a volume of the C(nimbus-volumes) pool.
              - V(volume) when O(request.block_device_mapping_v2[].source_type=volume), else V(local), when not given.
            type: str
            choices: [local, volume]
          boot_index:
            description: The disk's boot order, 0 first; null or negative for a disk that is not booted.
            type: int
          device_name:
            description: C(/dev/vdX), C(/dev/sdX) or C(/dev/hdX), fitting O(request.block_device_mapping_v2[].disk_bus).
            type: str
          disk_bus:
            description: The disk's bus.
            type: str
            choices: [virtio, ide, sata, scsi, usb]
          device_type:
            description: V(disk) (the default) or V(cdrom), which cannot be on the V(virtio) bus.
            type: str
            choices: [disk, cdrom]
          guest_format:
            description: How a blank local disk is formatted (V(swap) for the swap disk).
            type: str
            choices: [ext2, ext3, ext4, swap]
          volume_size:
            description: Size in GB of a blank disk or a new volume.
            type: int
          delete_on_termination:
            description: Whether deleting the instance deletes the volume too.
            type: bool
            default: false
          uuid:
            description: The image's name for C(source_type=image), the volume's name for C(source_type=volume).
            type: str
      config_drive_format:
        description:
          - V(config-2) (Nova's config drive) or V(nocloud) (a cidata seed); the image's C(img_config_drive_format)
            property, else V(config-2), when not given.
        type: str
        choices: [config-2, nocloud]
      files:
        description:
          - Nova's injected files (a list of C(path) and base64 C(contents), or a mapping of absolute path to text),
            checked against Nova's limits; the record keeps their paths and sizes only, and their contents reach the
            guest through M(nimbus.compute.block_device_map).
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
      user_data:
        description:
          - User data for the guest (at most 65535 bytes); checked here and never recorded. It reaches the guest only
            through M(nimbus.compute.block_device_map), whose option for it is no_log.
        type: str
      admin_pass:
        description: The administrator password; checked here and never recorded, as O(request.user_data).
        type: str
  replace_failed:
    description:
      - Whether the caller deletes the request's failed builds (vm_state V(error)) before this runs, as the
        C(build_instance) role does with C(nimbus_replace_failed_builds). Check mode then predicts their replacement.
      - V(false) refuses a failed build of a requested name, in check mode too, as a real run does.
    type: bool
    default: false
  state:
    description: V(present) schedules and claims; V(absent) drops the claim.
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Schedule an instance on one of the compute hosts
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    request:
      name: web1
      flavor: m1.tiny
      image: nimbus-tiny
      networks:
        - network: private
    flavors: "{{ nimbus_flavors }}"
    images: "{{ nimbus_images }}"
    networks: "{{ nimbus_networks }}"
    hosts: "{{ dict(groups['compute'] | zip(groups['compute'] | map('extract', hostvars, 'nimbus_host'))) }}"
  register: scheduled

- name: Schedule three to five web servers in zone az1, at most two per host, packing hosts full first
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    request:
      name: web
      flavor: m1.tiny
      image: nimbus-tiny
      networks:
        - network: private
      availability_zone: az1
      min_count: 3
      max_count: 5
      scheduler_hints:
        group: web
    scheduler:
      ram_weight_multiplier: -1.0
    flavors: "{{ nimbus_flavors }}"
    images: "{{ nimbus_images }}"
    networks: "{{ nimbus_networks }}"
    compute_hosts: "{{ groups['compute'] }}"

- name: Force an instance onto host compute2
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    request:
      name: debug1
      flavor: m1.tiny
      image: nimbus-tiny
      networks:
        - network: private
      availability_zone: "az1:compute2"
    flavors: "{{ nimbus_flavors }}"
    images: "{{ nimbus_images }}"
    networks: "{{ nimbus_networks }}"
    compute_hosts: "{{ groups['compute'] }}"

- name: Drop the claim of a failed build
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    name: web1
    state: absent
"""

RETURN = r"""
instances:
  description: Every instance of the request as the store holds it (one unless C(max_count) > 1).
  returned: with O(state=present)
  type: list
  elements: dict
recorded:
  description:
    - Whether the store holds RV(instances). False only in check mode for instances it would create, which have no
      record for the build steps to run on.
  returned: with O(state=present)
  type: bool
  sample: true
instance:
  description: The (first) instance record as the store holds it.
  returned: always
  type: dict
  sample:
    uuid: 2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11
    name: web1
    host: compute1
    vm_state: building
    task_state: scheduling
host:
  description: The compute host chosen for the (first) instance.
  returned: with O(state=present)
  type: str
  sample: compute1
build_hosts:
  description:
    - The hosts that may build an instance of the request (chosen or alternate), sorted; the build's rounds run on
      them.
  returned: with O(state=present)
  type: list
  elements: str
max_attempts:
  description:
    - How many hosts an instance may be tried on (the scheduler's C(max_attempts)), the most rounds a build runs.
  returned: with O(state=present)
  type: int
alternates:
  description: Alternate hosts for a reschedule, best first.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [compute2, compute3]
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(
        argspecs.HOST_SELECT,
        controller.host_select,
        required_if=argspecs.HOST_SELECT_REQUIRED_IF,
        mutually_exclusive=argspecs.HOST_REPORTS_MUTUALLY_EXCLUSIVE,
    )


if __name__ == "__main__":
    main()
