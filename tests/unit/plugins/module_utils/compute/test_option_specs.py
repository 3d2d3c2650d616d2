"""Module argument specs come from their documentation; Ansible enforces them, nested fields too."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, option_rules, option_specs
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import config

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
