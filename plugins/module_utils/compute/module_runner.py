# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place a nimbus.compute module is built, run and failed."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import option_rules, option_shapes

# (library name, whether it imported, the import traceback)
Requirement = tuple[str, bool, "str | None"]


def run_module(
    argument_spec: dict[str, Any],
    body: Callable[[dict[str, Any], bool], dict[str, Any]],
    requirements: Iterable[Requirement] = (),
    required_if: list | None = None,
    mutually_exclusive: list | None = None,
    required_one_of: list | None = None,
) -> None:
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=required_if,
        mutually_exclusive=mutually_exclusive,
        required_one_of=required_one_of,
    )
    for library, present, import_error in requirements:
        if not present:
            module.fail_json(msg=missing_required_lib(library), exception=import_error)
    try:
        # The rules beyond Ansible's types, as the action plugin checked them on the controller.
        params = option_shapes.entries_by_name(
            argument_spec, option_rules.without_unset_fields(argument_spec, module.params)
        )
        # A record's fields as given, each as Ansible converted it (option_shapes.record_options).
        given = _load_params()
        for option in option_shapes.record_options(argument_spec):
            params[option] = option_shapes.as_given(given.get(option), module.params[option])
        option_rules.check_options(argument_spec, params)
        result = body(params, module.check_mode)
    except exceptions.NimbusError as error:
        module.fail_json(msg=error.message, fault=error.to_fault(platform.node()))
    except OSError as error:
        # The host's own filesystem failed (read-only, full, no permission):
        # another host may do better, as Nova reschedules any build error.
        host_error = exceptions.VirtError(str(error), errno=error.errno, filename=error.filename)
        module.fail_json(msg=host_error.message, fault=host_error.to_fault(platform.node()))
    module.exit_json(**result)
