"""Module argument specs come from their documentation; Ansible enforces them, nested fields too."""

from __future__ import annotations

import base64
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    argspecs,
    option_rules,
    option_shapes,
    option_specs,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import config_drive
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import config
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction

REPO = pathlib.Path(__file__).resolve().parents[5]
REQUEST = {"name": "web1", "flavor": "m1.tiny", "image": "nimbus-tiny", "networks": [{"network": "private"}]}


def host_select(**params):
    return option_rules.validate_arguments(
        "host_select", argspecs.HOST_SELECT, params, required_if=argspecs.HOST_SELECT_REQUIRED_IF
    )


def test_option_specs_py_is_what_the_documentation_gives():
    # Fails when a module's DOCUMENTATION changes and tools/option_specs.py was not run.
    run = subprocess.run(
        [sys.executable, str(REPO / "tools/option_specs.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_scheduler_suboptions_default_to_the_schedulers_own_defaults():
    documented = {name: spec["default"] for name, spec in argspecs.HOST_SELECT["scheduler"]["options"].items()}
    assert documented == config.DEFAULTS
    assert argspecs.RESCHEDULE["scheduler"] == argspecs.HOST_SELECT["scheduler"]


def test_secret_fields_are_no_log_at_every_depth():
    request = option_specs.HOST_SELECT["request"]["options"]
    assert request["user_data"]["no_log"] and request["admin_pass"]["no_log"] and request["files"]["no_log"]
    assert option_specs.BLOCK_DEVICE_MAP["user_data"]["no_log"]


@pytest.mark.parametrize(
    ("request_change", "says"),
    [
        ({"colour": "blue"}, "Unsupported parameters for (host_select) module: request.colour."),
        ({"networks": [{"network": "private", "port": 1}]}, "request.networks.port."),
        (
            {"scheduler_hints": {"group": "g", "near": "web2"}},
            "request.scheduler_hints.near. Supported parameters include: different_host, group, same_host",
        ),
        ({"block_device_mapping_v2": [{"source_type": "blank", "size": 1}]}, "request.block_device_mapping_v2.size."),
        (
            {"networks": [{"fixed_ip": "198.18.0.20"}]},
            "missing required arguments: network found in request -> networks",
        ),
        ({"min_count": "three"}, "argument 'min_count' is of type str found in 'request'"),
        ({"config_drive_format": "iso"}, "config_drive_format must be one of: config-2, nocloud, got: iso"),
        ({"networks": ["private"]}, "Elements value for option 'networks' found in 'request' is of type str"),
    ],
)
def test_a_wrong_nested_field_is_refused_by_its_path(request_change, says):
    _params, refusal = host_select(request={**REQUEST, **request_change})
    assert refusal is not None and says in refusal
    # Each error once: not the bare conversion error beside the one naming the option.
    assert not refusal.startswith("dictionary requested")


def test_a_wrong_scheduler_option_is_refused_by_its_path():
    _params, refusal = host_select(request=REQUEST, scheduler={"enabled_filters": ["RamFilter", "GpuFilter"]})
    assert "value of enabled_filters must be one or more of" in refusal and "GpuFilter found in scheduler" in refusal
    _params, refusal = host_select(request=REQUEST, scheduler={"cpu_ratio": 2})
    assert "scheduler.cpu_ratio" in refusal


def test_an_unset_or_null_field_is_absent_not_none_or_empty():
    params, refusal = host_select(request={**REQUEST, "key_name": None, "networks": [{"network": "private"}]})
    assert refusal is None
    # Ansible fills unset suboptions with None and turns a null str into '': both are taken out again.
    assert params["request"] == {**REQUEST, "project_id": "default"}
    assert params["scheduler"] == config.DEFAULTS
    # Top-level options keep their None: the modules read them as not given.
    assert params["name"] is None and params["store_path"] is None


def test_values_are_converted_as_ansible_converts_them():
    params, refusal = host_select(request={**REQUEST, "min_count": "2", "max_count": 3.0})
    assert refusal is None
    assert (params["request"]["min_count"], params["request"]["max_count"]) == (2, 3)


def test_server_group_rules_take_only_their_documented_rule():
    _params, refusal = option_rules.validate_arguments(
        "server_group", argspecs.SERVER_GROUP, {"name": "g", "policy": "anti-affinity", "rules": {"max_per_host": 2}}
    )
    assert "Unsupported parameters for (server_group) module: rules.max_per_host." in refusal
    params, refusal = option_rules.validate_arguments(
        "server_group", argspecs.SERVER_GROUP, {"name": "g", "policy": "anti-affinity", "rules": {}}
    )
    assert refusal is None and params["rules"] == {}


TINY = {"vcpus": 1, "memory_mb": 64, "root_gb": 1}


def test_named_entries_are_the_same_as_a_list_or_as_the_inventorys_mapping():
    as_list, refusal = host_select(request=REQUEST, flavors=[{"name": "m1.tiny", **TINY}], networks=[])
    assert refusal is None
    as_mapping, refusal = host_select(request=REQUEST, flavors={"m1.tiny": TINY}, networks={})
    assert refusal is None
    # Either way the modules' code gets the mapping by name, with the fields given, as Ansible converted them.
    assert as_list["flavors"] == as_mapping["flavors"] == {"m1.tiny": {"name": "m1.tiny", **TINY}}
    converted, refusal = host_select(request=REQUEST, flavors={"m1.tiny": {**TINY, "vcpus": "2"}})
    assert refusal is None and converted["flavors"]["m1.tiny"]["vcpus"] == 2
    # A field given as null stays null: a network without a gateway, not one with the default gateway.
    isolated = {
        "cidr": "198.18.0.0/24",
        "gateway": None,
        "allocation_pools": [{"start": "198.18.0.9", "end": "198.18.0.20"}],
    }
    params, refusal = host_select(request=REQUEST, networks={"isolated": isolated})
    assert refusal is None and params["networks"] == {"isolated": {"name": "isolated", **isolated}}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"flavors": {"m1.tiny": {**TINY, "gpus": 1}}}, "module: flavors.m1.tiny.gpus. Supported parameters include"),
        (
            {"flavors": {"m1.tiny": {"vcpus": 1}}},
            "missing required arguments: memory_mb, root_gb found in flavors.m1.tiny",
        ),
        ({"images": {"cirros": {"source": "/i", "disk_format": "vmdk"}}}, "got: vmdk found in images.cirros"),
        ({"networks": {"private": {"cidr": "198.18.0.0/24", "ipv6": {"prefix": 64}}}}, "networks.private.ipv6.prefix"),
        (
            {"networks": {"private": {"cidr": "198.18.0.0/24", "allocation_pools": [{"start": "198.18.0.9"}]}}},
            "missing required arguments: end found in networks.private -> allocation_pools",
        ),
        (
            {"flavors": [{"name": "m1.tiny", **TINY}, {"name": "m1.tiny", **TINY, "vcpus": 2}]},
            "flavors.m1.tiny: the name is given more than once",
        ),
        ({"flavors": [TINY]}, "missing required arguments: name found in flavors[0]"),
        ({"flavors": {"m1.tiny": "small"}}, "flavors.m1.tiny: must be a mapping of its fields, got 'small'"),
    ],
)
def test_a_wrong_field_of_a_named_entry_is_refused_with_the_entrys_name(options, says):
    _params, refusal = host_select(request=REQUEST, **options)
    assert refusal is not None and says in refusal


def test_the_module_itself_refuses_a_name_given_twice():
    params = {"flavors": [{"name": "m1.tiny", **TINY}, {"name": "m1.tiny", **TINY}]}
    with pytest.raises(exceptions.InvalidInput, match=r"^flavors\.m1\.tiny: the name is given more than once"):
        option_shapes.entries_by_name(argspecs.HOST_SELECT, params)
    assert option_shapes.entries_by_name(argspecs.HOST_SELECT, {"flavors": params["flavors"][:1]})["flavors"] == {
        "m1.tiny": params["flavors"][0]
    }


def test_injected_files_are_the_typed_list_or_the_mapping_of_path_to_text():
    listed = [{"path": "/etc/motd", "contents": base64.b64encode(b"hello\n").decode()}]
    params, refusal = option_rules.validate_arguments(
        "block_device_map", argspecs.BLOCK_DEVICE_MAP, {"instance": {"uuid": "u-1"}, "files": listed}
    )
    assert refusal is None and params["files"] == listed
    _params, refusal = option_rules.validate_arguments(
        "block_device_map",
        argspecs.BLOCK_DEVICE_MAP,
        {"instance": {"uuid": "u-1"}, "files": [{"path": "/a", "content": "aGk="}]},
    )
    assert "Unsupported parameters for (block_device_map) module: files.content." in refusal
    # The mapping form is checked by the config drive's own rules, and reaches the host as the module's list.
    params, refusal = host_select(request={**REQUEST, "files": {"/etc/motd": "hello\n"}})
    assert refusal is None and params["request"]["files"] == {"/etc/motd": "hello\n"}
    sent = NimbusAction.host_args({"files": {"/etc/motd": "hello\n"}, "store_path": "/tmp/store.json"})
    assert sent == {"files": listed}
    assert config_drive.decode_files(sent["files"]) == config_drive.decode_files({"/etc/motd": "hello\n"})
