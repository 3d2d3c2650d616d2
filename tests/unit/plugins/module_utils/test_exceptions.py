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
