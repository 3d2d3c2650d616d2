# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shapes of options that Ansible's validation cannot take as they are given (option_rules.validate_arguments).

- Named entries (``flavors``, ``images``, ``networks``, ``hosts``): lists of
  entries with a required ``name``, also given as the inventory's mapping of
  names to entries; the modules' code looks them up in that mapping.
- Instance records (a compute-host step's ``instance`` and ``instances``): a
  whole record is taken with the fields the step reads, an entry of
  ``instances`` given as a string is its uuid, and a record's nulls are values.
- Injected ``files``: Nova's list of ``{path, contents}``, or a mapping of path
  to text that the config drive's own rules check.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown


def named_entry_options(argument_spec: dict[str, Any]) -> tuple[str, ...]:
    """The options that are lists of entries named by a required ``name`` (flavors, images, networks).

    Each may also be given as a mapping of names to entries, as the inventory
    writes it (``nimbus_flavors``); validate_arguments returns it as that
    mapping, the form the modules' own code looks entries up in.
    """
    return tuple(
        option
        for option, spec in argument_spec.items()
        if spec.get("elements") == "dict" and spec.get("options", {}).get("name", {}).get("required")
    )


def entries_by_name(argument_spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each named-entry option's list (as a module's own validation leaves it) as a mapping of
    names to entries; InvalidInput for a name given twice."""
    converted = dict(params)
    for option in named_entry_options(argument_spec):
        if isinstance(params.get(option), list):
            converted[option] = {}
            for entry in params[option]:
                if entry["name"] in converted[option]:
                    raise InvalidInput(
                        f"{option}.{entry['name']}",
                        "the name is given more than once; each entry's name must be unique",
                    )
                converted[option][entry["name"]] = entry
    return converted


def text_files_set_aside(
    argument_spec: dict[str, Any], params: dict[str, Any]
) -> tuple[dict[str, Any], dict[tuple[str, ...], dict[str, Any]]]:
    """``params`` without the injected ``files`` given as a mapping of path to text, and those mappings.

    ``files`` is Nova's list of ``{path, contents}`` (base64), which Ansible
    validates; the mapping form beside it is checked by the config drive's own
    rules (objects/config_drive.decode_files), as the list's contents are.
    """
    aside: dict[tuple[str, ...], dict[str, Any]] = {}
    params = dict(params)
    if "files" in argument_spec and isinstance(params.get("files"), dict):
        aside[("files",)] = params.pop("files")
    request = params.get("request")
    request_files = request.get("files") if isinstance(request, dict) else None
    if "files" in argument_spec.get("request", {}).get("options", {}) and isinstance(request_files, dict):
        aside[("request", "files")] = request_files
        params["request"] = {key: value for key, value in request.items() if key != "files"}
    return params, aside


def record_options(argument_spec: dict[str, Any]) -> tuple[str, ...]:
    """The options that carry instance records, a compute-host step's ``instance`` and ``instances``.

    Their fields are kept as given (as_given): a record's nulls are values
    (a disk's ``boot_index: null``), not fields left unset.
    """
    return tuple(option for option, spec in argument_spec.items() if "uuid" in spec.get("options", {}))


def as_records(argument_spec: dict[str, Any], option: str, value: Any) -> Any:
    """``value`` of a record option with the fields its step reads: a record's other fields (its states, actions,
    faults) are left out, and an entry of ``instances`` given as a string is its uuid."""
    fields = argument_spec.get(option, {}).get("options")
    if fields is None or "uuid" not in fields:
        return value
    if isinstance(value, list):
        return [{"uuid": item} if isinstance(item, str) else _record_fields(fields, item) for item in value]
    return _record_fields(fields, value)


def _record_fields(fields: dict[str, Any], value: Any) -> Any:
    return {key: item for key, item in value.items() if key in fields} if isinstance(value, dict) else value


def as_entries(value: Any) -> Any:
    """A mapping of names to entries as the list of named entries; an entry that is not a mapping is left out
    (validate_arguments refuses it by its name)."""
    if not isinstance(value, dict):
        return value
    return [{**entry, "name": name} for name, entry in value.items() if isinstance(entry, dict)]


def entries_not_mappings(option: str, value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [
        f"{option}.{name}: must be a mapping of its fields, got {shown(entry)}"
        for name, entry in value.items()
        if not isinstance(entry, dict)
    ]


def as_given(given: Any, validated: Any) -> Any:
    """The fields ``given`` has, each as Ansible converted it: a field given as null stays null (a network's
    ``gateway: null`` is a network without one), and a default Ansible filled in stays out, for the modules' own
    defaults."""
    if isinstance(given, dict) and isinstance(validated, dict):
        return {key: as_given(value, validated.get(key, value)) for key, value in given.items()}
    if isinstance(given, list) and isinstance(validated, list) and len(given) == len(validated):
        return [as_given(item, checked) for item, checked in zip(given, validated, strict=True)]
    return validated
