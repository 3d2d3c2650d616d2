"""Lists in, lists out: a compute-host step over several instances (per_instance.each_instance)."""

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import host_domains, per_instance
from ansible_collections.nimbus.compute.plugins.module_utils.virt import vif
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import open_connection


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
    good = _record("0e1b6f5c-9d37-4c64-9f43-333333333333", "list-good")
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


def test_prepare_runs_for_every_instance_first_and_a_failed_one_is_not_worked_on():
    order = []

    def prepare(record):
        order.append(("prepare", record["uuid"]))
        if record["uuid"] == "b":
            raise exceptions.VirtError("libvirt network n1 does not exist on this host", network="n1")

    def work(record):
        order.append(("work", record["uuid"]))
        return {"changed": True}

    result = per_instance.each_instance(["a", "b", "c"], work, workers=2, prepare=prepare)
    assert order[:3] == [("prepare", "a"), ("prepare", "b"), ("prepare", "c")]
    assert sorted(order[3:]) == [("work", "a"), ("work", "c")]
    assert [(entry["uuid"], entry["failed"]) for entry in result["instances"]] == [
        ("a", False),
        ("b", True),
        ("c", False),
    ]
    assert result["msg"] == "instance b: libvirt network n1 does not exist on this host"


def _dhcp_hosts(conn):
    return vif.dhcp_hosts(conn.networkLookupByName("default").XMLDesc(0))


def test_a_list_reserves_dhcp_first_and_a_refused_spawn_gives_its_entry_back():
    # test:///default keeps its state while a connection is open: the step's own connection shares it.
    conn = open_connection("test:///default")
    try:
        good = {
            **_record("0e1b6f5c-9d37-4c64-9f43-555555555555", "list-dhcp"),
            "network_info": [_vif("fa:16:3e:00:00:51", "192.168.122.51")],
        }
        # "test" is the test driver's own domain: the spawn of an instance of that name is refused.
        refused = {
            **_record("0e1b6f5c-9d37-4c64-9f43-666666666666", "test"),
            "network_info": [_vif("fa:16:3e:00:00:52", "192.168.122.52")],
        }
        params = {"state": "present", "uri": "test:///default", "virt_type": "qemu", "wait_timeout": 5}
        result = host_domains.libvirt_domain({**params, "instances": [good, refused]}, False)
        assert [(entry["uuid"], entry["failed"]) for entry in result["instances"]] == [
            (good["uuid"], False),
            (refused["uuid"], True),
        ]
        assert "test" in result["instances"][1]["msg"]
        assert [entry["mac"] for entry in _dhcp_hosts(conn)] == ["fa:16:3e:00:00:51"]
        assert conn.lookupByUUIDString(good["uuid"]).isActive()
        host_domains.libvirt_domain({**params, "state": "absent", "instances": [good["uuid"]]}, False)
        assert _dhcp_hosts(conn) == []
    finally:
        conn.close()


def _record(uuid, name):
    return {
        "uuid": uuid,
        "name": name,
        "flavor": {"name": "m1.tiny", "vcpus": 1, "memory_mb": 256, "root_gb": 1},
        "image": {"name": "tiny", "sha256": "a" * 64},
        "block_device_info": {
            "instance_dir": f"/nonexistent/{name}",
            "disks": [
                {
                    "device_name": "vda",
                    "bus": "virtio",
                    "type": "disk",
                    "format": "qcow2",
                    "boot_index": 0,
                    "path": f"/nonexistent/{name}/disk",
                }
            ],
        },
    }


def _vif(mac, ip):
    return {
        "id": f"port-{mac[-2:]}",
        "address": mac,
        "type": "bridge",
        "network": {
            "id": "default",
            "label": "default",
            "bridge": "virbr0",
            "meta": {"mtu": 1500, "dhcp": True, "libvirt_network": "default"},
            "subnets": [
                {"cidr": "192.168.122.0/24", "version": 4, "ips": [{"address": ip, "type": "fixed", "version": 4}]}
            ],
        },
    }
