# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: delete_names
short_description: The instances a delete asks for, checked
description:
  - The names (or uuids) of the instances C(playbooks/delete_instance.yml) is asked to delete, from its extra vars
    C(instance_name) (one) or C(instance_names) (a list).
  - Fails naming the variable and the rule when neither or both are given, when C(instance_names) is not a
    non-empty list, or when a name breaks the rule create applies to instance names (1-63 letters, digits and
    C(-), starting with a letter or digit), so a name with C(../) or shell metacharacters is refused, never
    looked up.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: A mapping with C(instance_name) and C(instance_names); a missing or null one is not given.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The instances to delete
  ansible.builtin.set_fact:
    doomed: >-
      {{ {'instance_name': instance_name | default(none), 'instance_names': instance_names | default(none)}
         | nimbus.compute.delete_names }}
"""

RETURN = r"""
_value:
  description: The names or uuids, duplicates dropped, in the order given.
  type: list
  elements: str
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import delete_request_names


def delete_names(given: dict[str, Any]) -> list[str]:
    try:
        return delete_request_names(given.get("instance_name"), given.get("instance_names"))
    except InvalidInput as error:
        raise AnsibleFilterError(error.message) from None


class FilterModule:
    def filters(self):
        return {"delete_names": delete_names}
