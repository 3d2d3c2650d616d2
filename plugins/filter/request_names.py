# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: request_names
short_description: The instance names a build request asks for
description:
  - C(NAME) for one instance, C(NAME-1) .. C(NAME-N) for a multi-create of C(max_count) N, as
    M(nimbus.compute.host_select) names them.
  - A request too broken to name its instances (no name, bad counts) gives an empty list;
    M(nimbus.compute.host_select) then refuses it, naming the bad field.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: The build request, with C(name) and optionally C(min_count) and C(max_count).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Names of a multi-create (web-1, web-2, web-3)
  ansible.builtin.debug:
    msg: "{{ {'name': 'web', 'max_count': 3} | nimbus.compute.request_names }}"
"""

RETURN = r"""
_value:
  description: The names, in launch order.
  type: list
  elements: str
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute.schedule import request_names


class FilterModule:
    def filters(self):
        return {"request_names": request_names}
