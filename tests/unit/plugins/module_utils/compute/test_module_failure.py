"""A compute-host module's failed result, turned into the controller's NimbusError."""

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import (
    error_from_result,
    unreachable_error,
)


def test_a_fault_keeps_its_code_message_details_and_reschedulable():
    result = {
        "failed": True,
        "msg": "image checksum mismatch",
        "fault": {
            "code": 400,
            "message": "image checksum mismatch",
            "details": {"image": "tiny"},
            "reschedulable": False,
        },
    }
    error = error_from_result("block_device_map", result)
    assert (error.message, error.code, error.details, error.reschedulable) == (
        "image checksum mismatch",
        400,
        {"image": "tiny"},
        False,
    )
    assert error.module_result is result


def test_a_reschedulable_fault_stays_reschedulable():
    result = {"failed": True, "msg": "qemu died", "fault": {"code": 500, "reschedulable": True}}
    assert error_from_result("libvirt_domain", result).reschedulable


def test_a_failure_without_a_fault_is_unexpected_and_reschedulable():
    # A module that crashed (MODULE FAILURE), or whose library is missing on that host.
    result = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "exception": "Traceback"}
    error = error_from_result("libvirt_domain", result)
    assert error.reschedulable
    assert error.code == 500
    assert error.message.startswith(
        "libvirt_domain failed on its host without a fault (an unexpected error): MODULE FAILURE"
    )
    assert error.module_result["exception"] == "Traceback"


def test_a_failure_without_a_message_still_says_which_module():
    error = error_from_result("block_device_map", {"failed": True})
    assert error.message == "block_device_map failed on its host without a fault (an unexpected error): no message"


def test_an_unreachable_host_is_a_reschedulable_virt_error_naming_the_host():
    error = unreachable_error("libvirt_domain", "c1", "ssh: connect to host c1 port 22: Connection refused")
    assert isinstance(error, exceptions.VirtError)
    assert error.reschedulable
    assert error.message == (
        "libvirt_domain: compute host c1 could not be reached: ssh: connect to host c1 port 22: Connection refused"
    )
    assert error.to_fault("c1")["details"] == {"host": "c1"}
