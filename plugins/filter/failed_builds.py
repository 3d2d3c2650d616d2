# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: failed_builds
short_description: The instances of the given names whose build failed, or whose build's run is gone
description:
  - Picks, from instance records as M(nimbus.compute.instance_info) returns them, those named in O(names) that are
    in vm_state C(error), or still in a build step while the C(ansible-playbook) process that built them on this
    controller has ended (a run killed, or stopped by a store outage), in the order of O(names).
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: Instance records.
    type: list
    elements: dict
    required: true
  names:
    description: The names to look for, usually a request's (P(nimbus.compute.request_names#filter)).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The failed builds of web-1 .. web-3
  ansible.builtin.debug:
    msg: "{{ info.instances | nimbus.compute.failed_builds(['web-1', 'web-2', 'web-3']) }}"
"""

RETURN = r"""
_value:
  description: The instance records in vm_state error, and the orphaned builds.
  type: list
  elements: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute.schedule import failed_builds


class FilterModule:
    def filters(self):
        return {"failed_builds": failed_builds}
