"""Lists in, lists out: a compute-host step over several instances (per_instance.each_instance)."""

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import host_domains, per_instance


def test_one_failure_does_not_stop_the_others_and_the_step_names_it():
    seen = []

    def work(record):
        seen.append(record["uuid"])
        if record["uuid"] == "b":
            raise exceptions.VirtError("domain b is not nimbus's")
        if record["uuid"] == "c":
            raise PermissionError(13, "Permission denied", "/var/lib/nimbus/instances/c")
        return {"changed": record["uuid"] == "a"}

    result = per_instance.each_instance(["a", {"uuid": "b"}, "c", "d"], work)
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
    result = per_instance.each_instance(["a"], lambda record: {"changed": False})
    assert result == {"changed": False, "instances": [{"uuid": "a", "failed": False, "changed": False}]}


def test_a_list_spawns_each_instance_and_one_bad_record_fails_alone():
    # libvirt's test driver defines and starts the domain; the second record lacks its disks.
    good = {
        "uuid": "0e1b6f5c-9d37-4c64-9f43-333333333333",
        "name": "list-good",
        "flavor": {"name": "m1.tiny", "vcpus": 1, "memory_mb": 256, "root_gb": 1},
        "image": {"name": "tiny", "sha256": "a" * 64},
        "block_device_info": {
            "instance_dir": "/nonexistent/list-good",
            "disks": [
                {
                    "device_name": "vda",
                    "bus": "virtio",
                    "type": "disk",
                    "format": "qcow2",
                    "boot_index": 0,
                    "path": "/nonexistent/list-good/disk",
                }
            ],
        },
    }
    bad = {**good, "uuid": "0e1b6f5c-9d37-4c64-9f43-444444444444", "name": "list-bad", "block_device_info": None}
    params = {
        "instances": [good, bad],
        "state": "present",
        "uri": "test:///default",
        "virt_type": "qemu",
        "wait_timeout": 5,
    }
    result = host_domains.libvirt_domain(params, False)
    assert [(entry["uuid"], entry["failed"]) for entry in result["instances"]] == [
        (good["uuid"], False),
        (bad["uuid"], True),
    ]
    assert result["instances"][0]["power_state"] == 1
    assert result["instances"][1]["msg"] == "instance: must contain block_device_info for libvirt_domain"
    assert result["failed"] and result["msg"].startswith(f"instance {bad['uuid']}: instance: must contain")


def test_domains_of_a_list_go_on_one_connection_each_missing_one_unchanged():
    # libvirt's test driver: no domain of these uuids exists, so each is already gone.
    params = {"instances": ["0e1b6f5c-9d37-4c64-9f43-111111111111", {"uuid": "0e1b6f5c-9d37-4c64-9f43-222222222222"}]}
    result = host_domains.libvirt_domain({**params, "state": "absent", "uri": "test:///default"}, False)
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
