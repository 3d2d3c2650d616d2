#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domain
short_description: Plug an instance's VIFs, define and start its libvirt domain, as Nova's driver.spawn does
description:
  - Reserves each VIF's MAC and IP on its libvirt network's DHCP server (live and persistent), builds the domain
    XML with lxml (uuid, name, memory, vcpus, disks, interfaces with their MACs, a serial console logged to
    C(console.log) in the instance directory, and a metadata element with the instance's uuid, flavor and image),
    defines and starts the domain, and waits until it is running.
  - A domain already defined from the same instance is left alone (started if it is not running).
    A failure removes the domain and DHCP entries this run made.
  - A domain is nimbus's when its metadata names the instance's uuid. A domain with the instance's uuid that
    nimbus did not define for it is never redefined, destroyed or undefined; the module fails naming it, in
    check mode too, and the build is not rescheduled (it is most likely the instance, redefined by hand). A domain
    of the instance's name with another uuid fails the module before anything is plugged, naming it, and the
    build may go to another host.
  - With O(state=absent), destroys and undefines the domain and removes its DHCP entries. A domain with the
    instance's uuid that nimbus did not define for it fails the delete with nothing removed, naming it.
  - With a store (O(store_path) or O(store_url)), the controller records the step (task_state C(spawning), then
    vm_state C(active)); with O(state=absent) it starts the instance's delete (task_state C(deleting)).
  - O(instance) is the instance, as M(nimbus.compute.block_device_map) returns it. Needs C(uuid), C(name), C(flavor) and
    C(block_device_info); C(network_info) gives the NICs. With a store (O(store_path) or O(store_url)), only C(uuid) is
    needed.
  - O(instances) takes several instances of one compute host in one call, as the build and delete playbooks run; one
    instance's failure does not stop the others, and up to eight domains are started or destroyed at once.
  - With a store, the uuids of the run's instances. With O(state=present), a build round's spawn step - the
    instances claimed on this host that wait for it are spawned (the active ones converge), each by its own
    compare-and-swap; one that fails is rolled back on the host at once (its domain and disks) and left for the
    round's end, M(nimbus.compute.reschedule). With O(state=absent), a delete's first host step - each outcome is
    recorded as the event C(shutdown_instance) of the instance's delete, where
    M(nimbus.compute.instance_delete) reads it. Each record gives the libvirt URI and virt type.
  - Without a store, records (with C(uuid), and C(libvirt_uri)) or, with O(state=absent), plain uuids.
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
    description: Decides C(changed) exactly as a real run would; defines, starts and plugs nothing.
  diff_mode:
    support: full
    description: Shows the domain XML before and after.
  idempotent:
    support: full
    description: A second run with the same instance changes nothing.
options:
  state:
    description: V(present) defines and starts the domain; V(absent) destroys and undefines it.
    type: str
    default: present
    choices: [present, absent]
  virt_type:
    description:
      - Domain type. V(kvm) in production; V(qemu) (TCG emulation) where KVM is unavailable.
    type: str
    default: kvm
    choices: [kvm, qemu]
  wait_timeout:
    description:
      - Seconds to wait for the domain to be running, from V(0) (look once) to V(3600).
    type: int
    default: 60
  firewall_driver:
    description:
      - The compute host's firewall driver, as Nova's C(firewall_driver) option. V(nwfilter) gives each port of an
        instance with security groups a libvirt network filter made of their rules (with a store, the action adds
        the instance's C(firewall) from it). V(noop) applies none (Nova's NoopFirewallDriver) - a domain starts
        about a second sooner here, but its guest is open to everything on its networks and can spoof addresses.
      - The playbooks take it from the compute host's variable C(nimbus_firewall_driver).
    type: str
    default: nwfilter
    choices: [nwfilter, noop]
requirements:
  - lxml
"""

EXAMPLES = r"""
- name: Spawn the instance on its host
  nimbus.compute.libvirt_domain:
    store_path: "{{ nimbus_store_path }}"
    instance: "{{ mapped.instance }}"
    virt_type: qemu
  delegate_to: "{{ mapped.instance.host }}"

- name: Remove the domain
  nimbus.compute.libvirt_domain:
    instance:
      uuid: 2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11
    state: absent
"""

RETURN = r"""
power_state:
  description: Nova's power_state of the domain (1 running, 4 shutdown, 0 no state).
  returned: with O(state=present)
  type: int
  sample: 1
domain_xml:
  description: The domain XML that was (or would be) defined.
  returned: with O(state=present)
  type: str
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
      description: Whether its domain was started, defined or removed.
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

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, host_domains
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import HAS_LXML, LXML_IMPORT_ERROR


def main() -> None:
    run_module(
        argspecs.LIBVIRT_DOMAIN,
        host_domains.libvirt_domain,
        [("libvirt-python", HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR), ("lxml", HAS_LXML, LXML_IMPORT_ERROR)],
        **argspecs.ONE_OR_MORE_INSTANCES,
    )


if __name__ == "__main__":
    main()
