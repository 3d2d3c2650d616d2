"""Bad input: every invalid request is refused with a message naming its field, never a traceback.

The table is the integration target bad_input's (vars/request_cases.yml): the
same cases run here through validate_request and host_select's body, and
there through the real modules and playbooks.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import pathlib
import re
import types

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.module_utils.testing import patch_module_args

from ansible_collections.nimbus.compute.plugins.filter import delete_names
from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    argspecs,
    controller,
    option_rules,
    option_shapes,
    reschedule,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import field_rules, instance
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import URL_FORM

REPO = pathlib.Path(__file__).resolve().parents[4]
TARGET = REPO / "tests" / "integration" / "targets" / "bad_input"
CASES = yaml.safe_load((TARGET / "vars" / "request_cases.yml").read_text())["bad_request_cases"]
# The inventory's definitions (inventories/local/group_vars/all.yml), without its templates.
FLAVORS = {
    "m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1, "ephemeral_gb": 0, "swap_mb": 0, "extra_specs": {}},
}
IMAGES = {
    "nimbus-tiny": {"source": "/srv/nimbus-tiny.qcow2", "sha256": "a" * 64, "disk_format": "qcow2", "min_disk": 1}
}
NETWORKS = {
    "private": {
        "cidr": "198.18.0.0/24",
        "gateway": "198.18.0.1",
        "dns": ["198.18.0.1"],
        "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.250"}],
        "libvirt_network": "nimbus-private",
        "dhcp": True,
        "mtu": 1500,
    },
    "static": {"cidr": "198.18.1.0/24", "gateway": "198.18.1.1", "dhcp": False},
}
BASE_REQUEST = {"name": "bad-input", "flavor": "m1.tiny", "image": "nimbus-tiny", "networks": [{"network": "private"}]}


def merged(base: dict, change: dict) -> dict:
    """Ansible's combine(recursive=True): nested mappings merge, anything else replaces."""
    result = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def case_args(case: dict) -> tuple[dict, dict, dict, dict]:
    """(request, flavors, images, networks) of a table entry, as the target builds them."""
    request = merged(BASE_REQUEST, case.get("change", {}))
    if case.get("oversized_user_data"):
        request["user_data"] = "x" * (field_rules.MAX_USER_DATA_BYTES + 1)
    if case.get("long_metadata"):
        request["metadata"] = {"role": "r" * (instance.MAX_METADATA_LEN + 1)}
    return (
        request,
        merged(FLAVORS, case.get("flavors", {})),
        merged(IMAGES, case.get("images", {})),
        merged(NETWORKS, case.get("networks", {})),
    )


def test_the_table_has_at_least_100_distinct_cases():
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


def test_the_base_request_is_valid():
    assert instance.validate_request(BASE_REQUEST, FLAVORS, IMAGES, NETWORKS)["name"] == "bad-input"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_validate_request_names_the_field(case):
    with pytest.raises(exceptions.InvalidInput) as caught:
        instance.validate_request(*case_args(case))
    assert caught.value.field == case["field"]
    assert caught.value.message.startswith(f"{case['field']}: ")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_host_select_refuses_and_leaves_the_store_alone(case, tmp_path):
    store_path = tmp_path / "store.json"
    controller.server_group(
        {"store_path": str(store_path), "state": "present", "name": "g", "policy": "affinity", "rules": None}, False
    )
    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    files_before = sorted(path.name for path in tmp_path.iterdir())
    request, flavors, images, networks = case_args(case)
    params = {
        "store_path": str(store_path),
        "state": "present",
        "request": request,
        "flavors": flavors,
        "images": images,
        "networks": networks,
        "hosts": {"localhost": {"up": True, "vcpus": 2, "memory_mb": 4096, "disk_gb": 20}},
        "scheduler": {},
    }
    # As the action plugin runs it: Ansible's validation of the argument spec first, then the module's body.
    args, refusal = option_rules.validate_arguments(
        "host_select", argspecs.HOST_SELECT, params, required_if=argspecs.HOST_SELECT_REQUIRED_IF
    )
    if refusal is not None:
        assert case.get("module_says", case["field"]) in refusal
    else:
        assert "module_says" not in case
        if case.get("module_converts"):
            # Ansible hands the body the value as a string; given as it is, the body refuses it.
            assert all(isinstance(args["request"][key], str) for key in case["change"])
            args = params
        with pytest.raises(exceptions.InvalidInput, match=f"^{re.escape(case['field'])}: "):
            controller.host_select(args, False)
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == files_before


@pytest.mark.parametrize(
    ("flavors", "images", "networks", "field"),
    [
        (None, IMAGES, NETWORKS, "flavors"),
        ([], IMAGES, NETWORKS, "flavors"),
        (FLAVORS, "nimbus-tiny", NETWORKS, "images"),
        (FLAVORS, IMAGES, 5, "networks"),
        (FLAVORS, IMAGES, [{"network": "private"}], "networks"),
    ],
)
def test_definitions_of_the_wrong_type_are_named_not_a_traceback(flavors, images, networks, field):
    with pytest.raises(exceptions.InvalidInput, match=f"^{field}: must be a mapping"):
        instance.validate_request(BASE_REQUEST, flavors, images, networks)


def test_unknown_name_lists_definitions_whose_keys_are_not_strings():
    with pytest.raises(exceptions.InvalidInput, match=r"^flavor: unknown flavor 'm1.tiny'; known flavors: 1, 2$"):
        instance.validate_request(BASE_REQUEST, {1: {}, 2: {}}, IMAGES, NETWORKS)


# Bad module arguments (issue 19): each row runs through the real module (main(), as AnsibleModule
# reads its arguments) and through its action plugin (as the controller runs it), and must give
# exactly ``message`` in both, leaving the store's bytes as they were and running nothing on a host.
# ``{store}`` is the store file, ``{uuid}`` its instance (scheduled, its network allocated).
HOSTS = {"localhost": {"up": True, "vcpus": 2, "memory_mb": 4096, "disk_gb": 20}}
URI_RULE = option_rules.LIBVIRT_URI_RULE
SAFE_NAME_RULE = (
    "must be a non-empty string of at most 255 characters without whitespace, '/', '\\', '..' or any of < > & ' \""
)
LONG_ZONE = "z" * 200_000
NAME_RULE = instance.INSTANCE_NAME_RULE
NOT_A_STORE = "cannot read store {store}: not a valid store"
GROUP = {"name": "g", "policy": "affinity"}
HOST_NOT_A_MAPPING = {
    "action": "hosts.localhost: must be a mapping of its fields, got 5",
    # Ansible's own words for an element of a list of dicts that is not a mapping.
    "module": "Value '5' in the sub parameter field 'hosts' must be a list, not 'int'",
}
MODULE_CASES = [
    # 1. A store that is not a JSON object is refused, never taken as an empty store and overwritten.
    ("store-null", "server_group", GROUP, b"null\n", f"{NOT_A_STORE}: it holds null, not a JSON object"),
    ("store-false", "server_group", GROUP, b"false", f"{NOT_A_STORE}: it holds a boolean, not a JSON object"),
    ("store-zero", "server_group", GROUP, b"0", f"{NOT_A_STORE}: it holds a number, not a JSON object"),
    ("store-string", "server_group", GROUP, b'""', f"{NOT_A_STORE}: it holds a string, not a JSON object"),
    ("store-array", "store_check", {}, b"[]", f"{NOT_A_STORE}: it holds an array, not a JSON object"),
    ("store-null-check", "store_check", {"repair": True}, b"null", f"{NOT_A_STORE}: it holds null, not a JSON object"),
    # 2. Nesting too deep for the parser.
    ("store-deep", "server_group", GROUP, b"[" * 100_000, f"{NOT_A_STORE}: its JSON is nested too deeply to read"),
    (
        "store-deep-check",
        "store_check",
        {},
        b'{"schema": 1, "instances": ' + b"[" * 100_000,
        f"{NOT_A_STORE}: its JSON is nested too deeply to read",
    ),
    # 3. NaN and Infinity are not JSON: refused when read, so store_check never calls such a store consistent.
    (
        "store-nan-check",
        "store_check",
        {},
        b'{"schema": 1, "host_facts": {"h": {"vcpus": NaN}}}',
        f"{NOT_A_STORE}: NaN is not a JSON number (JSON has no NaN or Infinity)",
    ),
    (
        "store-nan-repair",
        "store_check",
        {"repair": True},
        b'{"schema": 1, "host_facts": {"h": {"vcpus": NaN}}}',
        f"{NOT_A_STORE}: NaN is not a JSON number (JSON has no NaN or Infinity)",
    ),
    (
        "store-infinity",
        "server_group",
        GROUP,
        b'{"schema": 1, "x": Infinity}',
        f"{NOT_A_STORE}: Infinity is not a JSON number (JSON has no NaN or Infinity)",
    ),
    (
        "store-minus-infinity",
        "instance_info",
        {},
        b'{"schema": 1, "x": [-Infinity]}',
        f"{NOT_A_STORE}: -Infinity is not a JSON number (JSON has no NaN or Infinity)",
    ),
    # 4. A count that is not an integer is named with the value given, not turned into 0.
    (
        "min-count-abc",
        "host_select",
        {"request": {**BASE_REQUEST, "min_count": "abc"}},
        None,
        # Ansible's validation of the request's suboptions, before the body's own rule.
        "argument 'min_count' is of type str found in 'request'. and we were unable to convert to int: "
        "\"'abc'\" cannot be converted to an int",
    ),
    (
        "max-count-float-string",
        "host_select",
        {"request": {**BASE_REQUEST, "max_count": "2.5"}},
        None,
        "argument 'max_count' is of type str found in 'request'. and we were unable to convert to int: "
        "\"'2.5'\" cannot be converted to an int",
    ),
    # 7. One spec of host reports for host_select and reschedule. The action plugin takes the inventory's mapping by
    # name and names the entry; the module itself takes the documented list, where Ansible names the option.
    (
        "reschedule-host-not-facts",
        "reschedule",
        {"instance": "{uuid}", "hosts": {"localhost": 5}},
        None,
        HOST_NOT_A_MAPPING,
    ),
    (
        "host-select-host-not-facts",
        "host_select",
        {"request": BASE_REQUEST, "hosts": {"localhost": 5}},
        None,
        HOST_NOT_A_MAPPING,
    ),
    (
        "host-select-host-vcpus-string",
        "host_select",
        {"request": BASE_REQUEST, "hosts": {"localhost": {"up": True, "vcpus": "many"}}},
        None,
        {
            "action": "argument 'vcpus' is of type str found in 'hosts.localhost'. and we were unable to convert to "
            "int: \"'many'\" cannot be converted to an int",
            "module": "argument 'vcpus' is of type str found in 'hosts'. and we were unable to convert to int: "
            "\"'many'\" cannot be converted to an int",
        },
    ),
    # 8. One user_data limit for host_select's request and block_device_map.
    (
        "bdm-user-data-70k",
        "block_device_map",
        {"instance": {"uuid": "{uuid}"}, "user_data": "u" * 70_000},
        None,
        "user_data: must be at most 65535 bytes, got 70000",
    ),
    (
        "host-select-user-data-70k",
        "host_select",
        {"request": {**BASE_REQUEST, "user_data": "u" * 70_000}},
        None,
        "user_data: must be at most 65535 bytes, got 70000",
    ),
    # 9. Options of the compute host's modules, refused before any transition and before the module runs.
    (
        "ld-wait-timeout-negative",
        "libvirt_domain",
        {"instance": {"uuid": "{uuid}"}, "wait_timeout": -5},
        None,
        "wait_timeout: must be an integer from 0 to 3600 (seconds), got -5",
    ),
    (
        "ld-wait-timeout-huge",
        "libvirt_domain",
        {"instance": {"uuid": "{uuid}"}, "wait_timeout": 10**9},
        None,
        "wait_timeout: must be an integer from 0 to 3600 (seconds), got 1000000000",
    ),
    (
        "ld-uri-unknown-driver",
        "libvirt_domain",
        {"instance": {"uuid": "{uuid}"}, "uri": "nope:///x"},
        None,
        f"uri: {URI_RULE}, got 'nope:///x'",
    ),
    (
        "ld-uri-unknown-transport",
        "libvirt_domain",
        {"instance": {"uuid": "{uuid}"}, "uri": "qemu+pigeon:///system"},
        None,
        f"uri: {URI_RULE}, got 'qemu+pigeon:///system'",
    ),
    (
        "ld-uri-absent",
        "libvirt_domain",
        {"instance": {"uuid": "{uuid}"}, "uri": "nope:///x", "state": "absent"},
        None,
        f"uri: {URI_RULE}, got 'nope:///x'",
    ),
    (
        "bdm-uri-unknown-driver",
        "block_device_map",
        {"instance": {"uuid": "{uuid}"}, "uri": "nope:///x"},
        None,
        f"uri: {URI_RULE}, got 'nope:///x'",
    ),
    (
        "bdm-uri-no-path",
        "block_device_map",
        {"instance": {"uuid": "{uuid}"}, "uri": "qemu://host"},
        None,
        f"uri: {URI_RULE}, got 'qemu://host'",
    ),
    ("hf-uri-not-a-uri", "host_facts", {"uri": "system"}, None, f"uri: {URI_RULE}, got 'system'"),
    # Also without a limit before.
    (
        "sg-max-server-per-host-huge",
        "server_group",
        {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 10**30}},
        None,
        "rules.max_server_per_host: must be an integer from 1 to 1000, got 1000000000000000000000000000000",
    ),
    (
        "sg-max-server-per-host-1001",
        "server_group",
        {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 1001}},
        None,
        "rules.max_server_per_host: must be an integer from 1 to 1000, got 1001",
    ),
    (
        "hf-zone-dotdot",
        "host_facts",
        {"availability_zone": "../../../../etc/passwd"},
        None,
        f"availability_zone: {SAFE_NAME_RULE}, got '../../../../etc/passwd'",
    ),
    (
        "hf-zone-200k",
        "host_facts",
        {"availability_zone": LONG_ZONE},
        None,
        f"availability_zone: {SAFE_NAME_RULE}, got '{LONG_ZONE[:79]}... (200000 characters)",
    ),
    (
        "ii-name-and-names",
        "instance_info",
        {"name": "a", "names": ["b"]},
        None,
        "parameters are mutually exclusive: name|names",
    ),
    (
        "ii-name-dotdot",
        "instance_info",
        {"name": "../../etc/passwd"},
        None,
        f"name: {NAME_RULE}, got '../../etc/passwd'",
    ),
    # 4. The store's URL (issue 12): a bad one, or a URL and a file path swapped, names the option.
    (
        "url-malformed",
        "instance_info",
        {"store_url": "postgresql://db:port/nimbus"},
        None,
        "store_url: is not a valid URL (Port could not be cast to integer value as 'port'); "
        f"the store takes {URL_FORM}",
    ),
    (
        "url-scheme",
        "server_group",
        {**GROUP, "store_url": "mysql://db/nimbus"},
        None,
        f"store_url: has the scheme 'mysql'; the store takes {URL_FORM}",
    ),
    (
        "url-is-a-path",
        "store_check",
        {"store_url": "/var/lib/nimbus/store.json"},
        None,
        f"store_url: must be a PostgreSQL URL ({URL_FORM}), not a file path; a JSON store file goes in store_path",
    ),
    (
        "path-is-a-url",
        "instance_info",
        {"store_path": "postgresql://db/nimbus"},
        None,
        "store_path: is the path of the JSON store file, not a URL; a PostgreSQL store is given as store_url "
        "(nimbus_store_url, or NIMBUS_STORE_URL in the controller's environment)",
    ),
    (
        "ii-names-shell",
        "instance_info",
        {"names": ["web-1", "web;reboot"]},
        None,
        f"names[1]: {NAME_RULE}, got 'web;reboot'",
    ),
]
MODULE_CASE_IDS = [case[0] for case in MODULE_CASES]


@pytest.fixture
def built_store(tmp_path) -> tuple[pathlib.Path, str]:
    """A store with one instance, scheduled and its network allocated (task_state networking)."""
    store_path = tmp_path / "store.json"
    scheduled = controller.host_select(
        {
            "store_path": str(store_path),
            "state": "present",
            "request": BASE_REQUEST,
            "flavors": FLAVORS,
            "images": IMAGES,
            "networks": NETWORKS,
            "hosts": HOSTS,
            "scheduler": {},
        },
        False,
    )
    uuid = scheduled["instance"]["uuid"]
    controller.network_allocate(
        {"store_path": str(store_path), "state": "present", "instance": uuid, "networks": NETWORKS}, False
    )
    return store_path, uuid


def filled(value, **names):
    """``value`` with ``{store}`` and ``{uuid}`` filled in wherever a string holds them."""
    if isinstance(value, str):
        return value.format(**names) if "{" in value else value
    if isinstance(value, dict):
        return {key: filled(item, **names) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, **names) for item in value]
    return value


def module_args(module: str, args: dict, store_path: pathlib.Path) -> dict:
    """The row's arguments with what the module's task would also give it."""
    defaults = {
        "host_select": {"flavors": FLAVORS, "images": IMAGES, "networks": NETWORKS, "hosts": HOSTS},
        "reschedule": {"hosts": HOSTS},
    }.get(module, {})
    store = {} if module == "host_facts" else {"store_path": str(store_path)}
    return {**store, **defaults, **args}


def run_module_main(module: str, args: dict, capsys) -> dict:
    """The module's main() with ``args``, as Ansible runs it: the result it prints."""
    main = importlib.import_module(f"ansible_collections.nimbus.compute.plugins.modules.{module}").main
    # The module's own interface takes a list of named entries where the action plugin also takes the inventory's
    # mapping by name (option_shapes.named_entry_options).
    for option in option_shapes.named_entry_options(getattr(argspecs, module.upper())):
        if isinstance(args.get(option), dict):
            entries = args[option].items()
            args = {
                **args,
                option: [{**entry, "name": name} if isinstance(entry, dict) else entry for name, entry in entries],
            }
    capsys.readouterr()
    with patch_module_args(args), pytest.raises(SystemExit):
        main()
    return json.loads(capsys.readouterr().out)


def run_action(module: str, args: dict) -> tuple[dict, list]:
    """The module's action plugin on the controller: its result, and the modules it ran on a host."""
    plugin = importlib.import_module(f"ansible_collections.nimbus.compute.plugins.action.{module}")
    task = types.SimpleNamespace(
        args=args, async_val=0, check_mode=False, delegate_to=None, action=f"nimbus.compute.{module}"
    )
    connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir="/nonexistent"))
    action = plugin.ActionModule(task, connection, None, None, None)
    action._load_name = f"nimbus.compute.{module}"
    ran = []

    def execute_module(**kwargs):
        ran.append(kwargs["module_name"])
        return {"failed": True, "msg": "a module ran on the host"}

    action._execute_module = execute_module
    try:
        return action.run(task_vars={"inventory_hostname": "localhost"}), ran
    except AnsibleActionFail as error:
        return {"failed": True, "msg": error.message}, ran


@pytest.mark.parametrize("driver", ["module", "action"])
@pytest.mark.parametrize(("case_id", "module", "args", "store_bytes", "message"), MODULE_CASES, ids=MODULE_CASE_IDS)
def test_bad_module_arguments_give_the_message_and_change_nothing(
    built_store, capsys, driver, case_id, module, args, store_bytes, message
):
    del case_id
    store_path, uuid = built_store
    if store_bytes is not None:
        store_path.write_bytes(store_bytes)
    before = store_path.read_bytes()
    files_before = sorted(path.name for path in store_path.parent.iterdir())
    params = module_args(module, filled(args, uuid=uuid), store_path)
    if driver == "module":
        result, ran = run_module_main(module, params, capsys), []
    else:
        result, ran = run_action(module, params)
    assert result.get("failed") is True
    if isinstance(message, dict):
        message = message[driver]
    assert result["msg"] == message.format(store=store_path, uuid=uuid)
    assert "Traceback" not in json.dumps(result)
    assert ran == []
    assert store_path.read_bytes() == before
    assert sorted(path.name for path in store_path.parent.iterdir()) == files_before


def test_the_same_step_with_good_options_does_reach_its_host(built_store):
    """The harness is sound: block_device_map with good options records its transition and runs its module."""
    store_path, uuid = built_store
    before = store_path.read_bytes()
    result, ran = run_action(
        "block_device_map", module_args("block_device_map", {"instance": {"uuid": uuid}}, store_path)
    )
    assert ran == ["nimbus.compute.block_device_map"]
    assert result["failed"] is True and "a module ran on the host" in result["msg"]
    assert store_path.read_bytes() != before


@pytest.mark.parametrize(
    ("uri"),
    [
        "qemu:///system",
        "qemu:///session",
        "test:///default",
        "test:///srv/nodes.xml",
        "qemu+ssh://root@compute1/system",
        "qemu+tls://compute1:16514/system",
        "qemu+unix:///system?socket=/run/libvirt/virtqemud-sock",
    ],
)
def test_libvirt_uris_nimbus_can_use_are_taken(uri):
    assert option_rules.check_libvirt_uri("uri", uri) == uri


@pytest.mark.parametrize(
    ("request_change", "counts"),
    [({"min_count": "3"}, (3, 3)), ({"min_count": "2", "max_count": "4"}, (2, 4)), ({"max_count": 2}, (1, 2))],
)
def test_counts_given_as_strings_of_digits_still_work(request_change, counts):
    request = instance.validate_request({**BASE_REQUEST, **request_change}, FLAVORS, IMAGES, NETWORKS)
    assert (request["min_count"], request["max_count"]) == counts


# reschedule's failure text is the failed task's msg (roles/build_instance/tasks/attempt.yml): refusing a long one
# would fail the rescue itself and leave the build in its step without a fault, so it is cut to 64 KiB, with a note.
def test_a_200_kb_failure_is_kept_to_64_kib_with_a_note(built_store):
    store_path, uuid = built_store
    failure = "é" + "f" * 204_799
    result = reschedule.run(
        {
            "store_path": str(store_path),
            "instance": uuid,
            "hosts": HOSTS,
            "scheduler": {},
            "failure": failure,
            "cleanup_failure": None,
        },
        False,
    )
    message = result["instance"]["fault"]["message"]
    assert message == failure.encode()[: reschedule.MAX_FAILURE_BYTES].decode() + (
        " [truncated: 204801 bytes, the first 65536 kept]"
    )
    assert result["rescheduled"] is False


# 5, 6: playbooks/delete_instance.yml's extra vars, through the filter it checks them with.
NAMES_REQUIRED = (
    "instance_name or instance_names: is required: the name or uuid of the instance to delete "
    """(-e instance_name=web1), or a list of them (-e '{"instance_names": ["web-1", "web-2"]}')"""
)
DELETE_CASES = [
    ("no-name", {}, NAMES_REQUIRED),
    ("null-names", {"instance_names": None}, NAMES_REQUIRED),
    (
        "both",
        {"instance_name": "a", "instance_names": ["b"]},
        "instance_names: is mutually exclusive with instance_name: give one of them",
    ),
    (
        "names-string",
        {"instance_names": "abc"},
        "instance_names: must be a non-empty list of instance names or uuids, got 'abc'",
    ),
    (
        "names-empty",
        {"instance_names": []},
        "instance_names: must be a non-empty list of instance names or uuids, got []",
    ),
    ("names-ints", {"instance_names": [1, 2]}, f"instance_names[0]: {NAME_RULE}, got 1"),
    ("names-dotdot", {"instance_names": ["web-1", "../web-2"]}, f"instance_names[1]: {NAME_RULE}, got '../web-2'"),
    ("name-dotdot", {"instance_name": "../../etc/passwd"}, f"instance_name: {NAME_RULE}, got '../../etc/passwd'"),
    ("name-shell", {"instance_name": "web;rm -rf /"}, f"instance_name: {NAME_RULE}, got 'web;rm -rf /'"),
    ("name-subshell", {"instance_name": "$(reboot)"}, f"instance_name: {NAME_RULE}, got '$(reboot)'"),
    ("name-newline", {"instance_name": "web\n"}, f"instance_name: {NAME_RULE}, got 'web\\n'"),
    ("name-int", {"instance_name": 5}, f"instance_name: {NAME_RULE}, got 5"),
    ("name-empty", {"instance_name": ""}, f"instance_name: {NAME_RULE}, got ''"),
]


@pytest.mark.parametrize(("given", "message"), [case[1:] for case in DELETE_CASES], ids=[c[0] for c in DELETE_CASES])
def test_delete_instance_refuses_what_create_refuses(given, message):
    with pytest.raises(AnsibleFilterError) as caught:
        delete_names.delete_names(given)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ({"instance_name": "web1"}, ["web1"]),
        ({"instance_name": "0b6e1e0e-5c5f-4a43-9d7b-1d2f0f4e8c11"}, ["0b6e1e0e-5c5f-4a43-9d7b-1d2f0f4e8c11"]),
        ({"instance_names": ["web-2", "web-1", "web-2"]}, ["web-2", "web-1"]),
        ({"instance_name": None, "instance_names": ["web-1"]}, ["web-1"]),
    ],
)
def test_delete_instance_takes_names_and_uuids(given, names):
    assert delete_names.delete_names(given) == names
