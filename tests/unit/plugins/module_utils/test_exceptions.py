from ansible_collections.nimbus.compute.plugins.module_utils import exceptions


def test_invalid_input_names_field_and_rule():
    error = exceptions.InvalidInput("flavor.vcpus", "must be a positive integer")
    assert error.message == "flavor.vcpus: must be a positive integer"
    assert error.to_fault("host1") == {
        "code": 400,
        "message": "flavor.vcpus: must be a positive integer",
        "details": {"field": "flavor.vcpus"},
        "host": "host1",
        "reschedulable": False,
    }


def test_virt_errors_are_reschedulable_image_errors_are_not():
    assert exceptions.VirtError("boom").reschedulable
    assert not exceptions.ImageError("bad checksum").reschedulable


def test_instance_deleted_during_build_names_instance_step_and_host_and_is_final():
    error = exceptions.InstanceDeletedDuringBuild({"uuid": "u-1", "name": "web1"}, "spawning", "c1")
    assert (
        error.message
        == "Instance web1 (u-1) was deleted while it was being built: the build stops in step spawning on c1"
    )
    assert not error.reschedulable and error.code == 409
    assert error.to_fault("c1")["details"]["deleted_during_build"] is True
