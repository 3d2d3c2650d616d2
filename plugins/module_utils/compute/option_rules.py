# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules a module option keeps beyond its Ansible type, one per option name.

An option name means the same thing in every module that has it (argspecs.py
shares their definitions), so its rule is kept once, here, and checked for
every module whose spec has the option: by the action plugin before it changes
anything in the store (plugin_utils/nimbus_action.py), and by the module before
it touches its host (module_runner.py). No module can skip a rule another makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.nimbus.compute.plugins.module_utils.compute import guest_wait, option_shapes
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name, check_user_data
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import check_path, check_url_option

# The libvirt drivers nimbus can drive: QEMU/KVM, and libvirt's mock driver that the tests use.
LIBVIRT_DRIVERS = ("qemu", "test")
# libvirt's remote transports (https://libvirt.org/uri.html).
LIBVIRT_TRANSPORTS = ("unix", "ssh", "libssh", "libssh2", "tcp", "tls", "ext")
_LIBVIRT_URI_RE = re.compile(
    r"(?P<driver>[a-z][a-z0-9]*)(?:\+(?P<transport>[a-z0-9]+))?"
    r"://(?P<host>[^/?#\s]*)(?P<path>/[^?#\s]*)(?:\?[^#\s]*)?"
)
LIBVIRT_URI_RULE = (
    f"must be a libvirt URI driver[+transport]://[host]/path with driver {' or '.join(LIBVIRT_DRIVERS)} "
    f"and transport one of {', '.join(LIBVIRT_TRANSPORTS)} (for example qemu:///system or "
    "qemu+ssh://root@host/system)"
)
# Seconds libvirt_domain waits for a domain to run: 0 asks once; an hour is more than any boot takes.
MAX_WAIT_TIMEOUT = 3600


def check_libvirt_uri(field: str, value: Any) -> str:
    match = _LIBVIRT_URI_RE.fullmatch(value) if isinstance(value, str) else None
    if (
        match is None
        or match["driver"] not in LIBVIRT_DRIVERS
        or (match["transport"] is not None and match["transport"] not in LIBVIRT_TRANSPORTS)
    ):
        raise InvalidInput(field, f"{LIBVIRT_URI_RULE}, got {shown(value)}")
    return value


def check_wait_timeout(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WAIT_TIMEOUT:
        raise InvalidInput(field, f"must be an integer from 0 to {MAX_WAIT_TIMEOUT} (seconds), got {shown(value)}")
    return value


RULES: dict[str, Callable[[str, Any], Any]] = {
    # A zone is a name the scheduler compares and the store keeps: the rule of every name.
    "availability_zone": check_safe_name,
    # instance_ssh_wait's: seconds for all guests together, their SSH port, lines of console shown.
    "console_lines": guest_wait.check_console_lines,
    "port": guest_wait.check_port,
    "timeout": guest_wait.check_timeout,
    "uri": check_libvirt_uri,
    "store_path": lambda field, value: check_path(value, field),
    "store_url": check_url_option,
    "user_data": check_user_data,
    "wait_timeout": check_wait_timeout,
}


def validate_arguments(
    module: str, argument_spec: dict[str, Any], params: dict[str, Any], **rules: Any
) -> tuple[dict[str, Any], str | None]:
    """``params`` checked by Ansible's own validator against ``argument_spec``, suboptions included.

    Returns the validated parameters (unset fields left out, see without_unset_fields)
    and the refusal, every error in it: a wrong nested field is named by its path
    (``request.networks.port``), an element that is not a mapping by its option.
    The entries of an option named by their ``name`` (named_entry_options) are
    checked one by one, so a refusal names the entry (``flavors.m1.tiny.vcpus``),
    and come back as a mapping of names to entries.
    """
    params, text_files = option_shapes.text_files_set_aside(argument_spec, params)
    named = option_shapes.named_entry_options(argument_spec)
    records = option_shapes.record_options(argument_spec)
    given = {
        option: option_shapes.as_entries(value)
        if option in named
        else option_shapes.as_records(argument_spec, option, value)
        for option, value in params.items()
    }
    messages = [
        message for option in named for message in option_shapes.entries_not_mappings(option, params.get(option))
    ]
    outer_spec = {
        option: {key: value for key, value in spec.items() if key != "options"} if option in named else spec
        for option, spec in argument_spec.items()
    }
    result = ArgumentSpecValidator(outer_spec, **rules).validate(without_unset_fields(argument_spec, given))
    messages.extend(_error_messages(module, result.errors))
    validated = without_unset_fields(
        {option: spec for option, spec in argument_spec.items() if option not in records},
        {**given, **result.validated_parameters},
    )
    for option in records:
        validated[option] = option_shapes.as_given(given.get(option), validated.get(option))
    for (option, *field), files in text_files.items():
        if field:
            validated[option] = {**validated[option], field[0]: files}
        else:
            validated[option] = files
    for option in named:
        if isinstance(validated.get(option), list):
            # The entries as given (a null field kept), or the default list.
            entries = given[option] if isinstance(given.get(option), list) else validated[option]
            validated[option], refusals = _validate_entries(
                module,
                option,
                argument_spec[option]["options"],
                [entry for entry in entries if isinstance(entry, dict)],
            )
            messages.extend(refusals)
    # Ansible reports a list element it cannot convert twice: alone, then in the message naming its option.
    shown = [
        message
        for message in dict.fromkeys(messages)
        if not any(message in other for other in messages if other != message)
    ]
    return validated, "; ".join(shown) or None


def _validate_entries(
    module: str, option: str, suboptions: dict[str, Any], entries: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    by_name: dict[str, dict[str, Any]] = {}
    messages = []
    for index, entry in enumerate(entries):
        name = entry.get("name")
        path = f"{option}.{name}" if isinstance(name, str) and name else f"{option}[{index}]"
        if name in by_name:
            messages.append(f"{path}: the name is given more than once; each entry's name must be unique")
            continue
        result = ArgumentSpecValidator({path: {"type": "dict", "options": suboptions}}).validate({path: entry})
        messages.extend(_error_messages(module, result.errors))
        by_name[name] = option_shapes.as_given(entry, result.validated_parameters[path])
    return by_name, messages


def _error_messages(module: str, errors: Any) -> list[str]:
    return [
        f"Unsupported parameters for ({module}) module: {error.msg}"
        if isinstance(error, UnsupportedError)
        else str(error.msg)
        for error in errors
    ]


def without_unset_fields(argument_spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every null field of a dict option's suboptions taken out, at any depth.

    Ansible fills each suboption a task did not give with None (and turns a
    given null of a str suboption into ''): without them, a field given as null
    and one not given are both absent, as the request's own checks expect.
    """
    return {
        option: _without_unset(argument_spec[option].get("options"), value) if option in argument_spec else value
        for option, value in params.items()
    }


def _without_unset(suboptions: dict[str, Any] | None, value: Any) -> Any:
    if suboptions is None:
        return value
    if isinstance(value, list):
        return [_without_unset(suboptions, item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        field: _without_unset(suboptions[field].get("options"), item) if field in suboptions else item
        for field, item in value.items()
        if item is not None
    }


def check_options(argument_spec: dict[str, Any], params: dict[str, Any]) -> None:
    """InvalidInput naming the first option of ``argument_spec`` given in ``params`` that breaks its rule."""
    for option in sorted(argument_spec):
        rule = RULES.get(option)
        if rule is not None and params.get(option) is not None:
            rule(option, params[option])
