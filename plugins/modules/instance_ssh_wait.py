#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: instance_ssh_wait
short_description: Wait until built guests answer on SSH, naming each that does not with its console
description:
  - Runs on the compute host that built the guests, so it reaches their network as the host does (inside
    O(netns) when libvirtd runs in a network namespace), for all the guests of that host in one call.
  - A guest is ready when its SSH server sends its banner. With a cloud-init image, the instance's SSH keys are in
    place by then (cloud-init's init stage runs before sshd starts).
  - A guest that does not answer within O(timeout) fails the task with a message naming the instance and its
    address, followed by the last O(console_lines) lines of its serial console. The instance is left as it is
    (active, recorded) for the user to look at; delete it with C(delete_instance.yml).
  - C(create_instance.yml) calls it for the instances whose image has the C(os_admin_user) property, or for all
    with C(-e wait_for_ssh=true).
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
attributes:
  check_mode:
    support: full
    description: Checks the options only; there may be no guest yet to wait for.
  diff_mode:
    support: none
    description: Changes nothing.
  idempotent:
    support: full
    description: Waiting changes nothing.
options:
  console_lines:
    description: How many of the last lines of a guest's serial console the failure message shows (0 to 200).
    type: int
    default: 20
  guests:
    description:
      - The guests to wait for, usually C(instance | nimbus.compute.ssh_wait_target) of each instance built on this
        host.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description: The address to reach the guest's SSH server on.
        type: str
        required: true
      console_log:
        description: The guest's serial console log on this host (C(<instance dir>/console.log)).
        type: path
      name:
        description: The instance's name, for messages.
        type: str
        required: true
      uuid:
        description: The instance's uuid.
        type: str
        required: true
  netns:
    description:
      - The network namespace of this host that the guests' networks live in (C(nimbus_netns)), when libvirtd runs
        inside one. The module joins it before it connects.
    type: str
  port:
    description: The guests' SSH port.
    type: int
    default: 22
  timeout:
    description: Seconds to wait for all the guests together, 1 to 86400.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Wait for the guests of one compute host
  nimbus.compute.instance_ssh_wait:
    guests: "{{ instances | map('nimbus.compute.ssh_wait_target') }}"
    netns: "{{ nimbus_netns | default(omit) }}"
    timeout: 300
"""

RETURN = r"""
guests:
  description: Each guest as given, with whether it answered, after how many seconds, and its SSH banner.
  returned: always
  type: list
  elements: dict
  contains:
    ready:
      description: Whether the guest answered (null in check mode).
      type: bool
    seconds:
      description: Seconds from the start of the wait to the guest's banner.
      type: float
    banner:
      description: The SSH server's banner line.
      type: str
      sample: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, compute_host
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.INSTANCE_SSH_WAIT, compute_host.instance_ssh_wait)


if __name__ == "__main__":
    main()
