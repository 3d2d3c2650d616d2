"""Lists in, lists out: a compute-host step over several instances (compute_host.each_instance)."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import compute_host


def test_one_failure_does_not_stop_the_others_and_the_step_names_it():
    seen = []

    def work(record):
        seen.append(record["uuid"])
        if record["uuid"] == "b":
            raise exceptions.VirtError("domain b is not nimbus's")
        if record["uuid"] == "c":
            raise PermissionError(13, "Permission denied", "/var/lib/nimbus/instances/c")
        return {"changed": record["uuid"] == "a"}

    result = compute_host.each_instance(["a", {"uuid": "b"}, "c", "d"], work)
    assert seen == ["a", "b", "c", "d"]
    assert [(entry["uuid"], entry["failed"], entry["changed"]) for entry in result["instances"]] == [
        ("a", False, True),
        ("b", True, False),
        ("c", True, False),
        ("d", False, False),
    ]
    assert result["changed"] and result["failed"]
    assert result["msg"] == (
        "instance b: domain b is not nimbus's; instance c: [Errno 13] Permission denied: '/var/lib/nimbus/instances/c'"
    )
    # The fault travels with its kind, as a single step's does (module_runner).
    assert result["instances"][1]["fault"]["reschedulable"] is True


def test_all_well_is_no_failure():
    result = compute_host.each_instance(["a"], lambda record: {"changed": False})
    assert result == {"changed": False, "instances": [{"uuid": "a", "failed": False, "changed": False}]}


@pytest.mark.parametrize("module", ["libvirt_domain", "block_device_map"])
def test_a_list_is_for_state_absent_only(module):
    body = getattr(compute_host, module)
    with pytest.raises(exceptions.InvalidInput, match=r"^instances: is for state=absent only"):
        body({"instances": ["a"], "state": "present", "uri": "test:///default", "instances_path": "/tmp"}, False)


def test_domains_of_a_list_go_on_one_connection_each_missing_one_unchanged():
    # libvirt's test driver: no domain of these uuids exists, so each is already gone.
    params = {"instances": ["0e1b6f5c-9d37-4c64-9f43-111111111111", {"uuid": "0e1b6f5c-9d37-4c64-9f43-222222222222"}]}
    result = compute_host.libvirt_domain({**params, "state": "absent", "uri": "test:///default"}, False)
    assert result == {
        "changed": False,
        "instances": [
            {
                "uuid": "0e1b6f5c-9d37-4c64-9f43-111111111111",
                "failed": False,
                "changed": False,
                "diff": {"before": "", "after": ""},
            },
            {
                "uuid": "0e1b6f5c-9d37-4c64-9f43-222222222222",
                "failed": False,
                "changed": False,
                "diff": {"before": "", "after": ""},
            },
        ],
    }
