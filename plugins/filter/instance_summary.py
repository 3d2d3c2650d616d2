# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: instance_summary
short_description: Summarise an instance record for people and job artifacts
description:
  - Picks uuid, name, host, IP addresses, vm/task/power state, flavor, image, fault and the seconds each step of
    the latest action took from an instance record, as M(nimbus.compute.instance_info) returns it.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: The instance record.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show an instance
  ansible.builtin.debug:
    msg: "{{ info.instances[0] | nimbus.compute.instance_summary }}"
"""

RETURN = r"""
_value:
  description: The summary.
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute.summary import instance_summary


class FilterModule:
    def filters(self):
        return {"instance_summary": instance_summary}
