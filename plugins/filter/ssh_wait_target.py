# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: ssh_wait_target
short_description: What nimbus.compute.instance_ssh_wait needs of a built instance
description:
  - The instance's name, uuid, first fixed IP and serial console log, from its record.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: The instance record, as the build steps return it.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Wait for a guest
  nimbus.compute.instance_ssh_wait:
    guests: ["{{ instance | nimbus.compute.ssh_wait_target }}"]
"""

RETURN = r"""
_value:
  description: C({name, uuid, address, console_log}).
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute.guest_access import wait_target


class FilterModule:
    def filters(self):
        return {"ssh_wait_target": wait_target}
