#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: reschedule
short_description: Reschedule a failed build attempt to an alternate host, or give up
description:
  - The step after a failed and rolled back build attempt, as Nova's conductor reschedules a build with the
    alternates the scheduler returned. The role C(nimbus.compute.build_instance) runs it in its rescue.
  - When the recorded fault is reschedulable (the hypervisor or the host's filesystem failed) and fewer than
    C(max_attempts) hosts were tried, the claim moves to the best alternate host that still passes the scheduler's
    filters against the current claims (the hosts already tried are ignored), the host joins C(attempts), a
    C(reschedule) event records the fault, and the instance goes back to vm_state C(building), task_state
    C(scheduling).
  - Otherwise (a fault no other host can fix such as a bad image checksum, the attempts spent, or no alternate
    fits) the instance stays in vm_state C(error) with its fault and task_state none, and its claim is dropped.
  - An instance a delete took while it was being built (task_state C(deleting), or vm_state C(deleted)) is not
    rescheduled and is left to the delete, which owns its record, ports and claim; the result says C(deleted).
  - Runs on the controller (in the action plugin's process); no compute host is contacted.
version_added: 0.2.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.host_reports
  - nimbus.compute.scheduler
attributes:
  check_mode:
    support: partial
    description: Reports the instance as it is.
    details: Check mode reschedules nothing and reports no change, even when a run would reschedule.
  diff_mode:
    support: none
    description: Reports no diff.
  idempotent:
    support: full
    description: An instance already rescheduled, active, being deleted or deleted is returned unchanged.
options:
  instance:
    description:
      - Name or uuid of the instance whose build attempt failed. Exactly one of O(instance) and O(instances).
    type: str
  instances:
    description:
      - The end of a build round (playbook C(nimbus.compute.create_instance)) for the uuids of the run's instances;
        every failed attempt the round's steps rolled back on their hosts is rescheduled or given up, as for
        O(instance), and RV(pending) says whether another round is needed. RV(instances) and RV(failed_builds) report
        the run.
    type: list
    elements: str
  failure:
    description:
      - Why the attempt failed, recorded as the fault when no build step recorded one (the failure happened between
        steps); such a failure is not rescheduled.
      - A text over 65536 bytes (UTF-8) is cut to its first 65536 bytes, with a note of its full size. It is the
        failed task's message, which this module must record rather than refuse.
    type: str
  cleanup_failure:
    description:
      - Why the rollback on the failed host did not finish (its libvirtd unreachable, say). Then nothing is
        rescheduled, as Nova does not reschedule a build it could not clean up; the instance stays in vm_state
        C(error) and keeps its claim and ports until it is deleted.
      - Cut to 65536 bytes as O(failure) is.
    type: str
"""

EXAMPLES = r"""
- name: Reschedule the build of web1 after its rollback
  nimbus.compute.reschedule:
    store_path: "{{ nimbus_store_path }}"
    instance: web1
    compute_hosts: "{{ groups['compute'] }}"
    scheduler: "{{ nimbus_scheduler }}"
  register: nimbus_rescheduled
"""

RETURN = r"""
rescheduled:
  description:
    - Whether the build goes on, on C(host). With O(instances), the instances rescheduled in this round, by name, with
      the host each goes on.
  returned: always
  type: raw
  sample: {web-7: c2}
pending:
  description: Whether an instance of the run still waits for a build step, so another round is needed.
  returned: with O(instances)
  type: bool
instances:
  description: The run's instances that are active, as the store has them.
  returned: with O(instances)
  type: list
  elements: dict
failed_builds:
  description:
    - One message per instance of the run that is not active, for example C(Build of web-7 failed on c1 ... (attempts
      c1, c2; not rescheduled)).
  returned: with O(instances)
  type: list
  elements: str
firewall_refresh:
  description:
    - After the run's last round, the other instances whose rules name a group of the built ones as their remote
      group (their filters must list the new members). One entry per compute host; run
      M(nimbus.compute.instance_firewall) there with its instances.
  returned: with O(instances)
  type: list
  elements: dict
  contains:
    host:
      description: The compute host.
      type: str
    instances:
      description: The uuids of its instances whose filters change.
      type: list
      elements: str
deleted:
  description:
    - Whether a delete took the instance while it was being built (task_state C(deleting) or vm_state C(deleted)).
      Then nothing is rescheduled or released; the delete owns the record, the ports and the claim.
  returned: with O(instance)
  type: bool
host:
  description: The alternate host the build goes on; null when it is not rescheduled.
  returned: with O(instance)
  type: str
  sample: c2
instance:
  description: The instance record after the decision (C(attempts), C(alternates), C(fault), states).
  returned: with O(instance)
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(
        argspecs.RESCHEDULE,
        controller.reschedule,
        mutually_exclusive=argspecs.RESCHEDULE_MUTUALLY_EXCLUSIVE,
        required_one_of=argspecs.ONE_OR_MORE_INSTANCES["required_one_of"],
    )


if __name__ == "__main__":
    main()
