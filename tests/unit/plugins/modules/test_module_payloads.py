"""What Ansible ships with each module that runs on a compute host (issue 20, speed).

Ansible sends a module with every module_utils file it imports, statically,
and the host compiles each of them on every run; the controller parses them
too. Ansible's own packer (module_common.recursive_finder) says which files go:
no store, scheduler, IPAM or request validation travels to a compute host, and
the domain step carries no disk or image code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / "build" / "collections"
MODULE_UTILS = "ansible_collections/nimbus/compute/plugins/module_utils/"

# Run apart: installing Ansible's collection finder would change imports for the other tests.
PAYLOAD = """
import datetime, io, json, sys, zipfile
from ansible._internal._ansiballz import _builder
from ansible.executor import module_common
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
fqn = "ansible_collections.nimbus.compute.plugins.modules." + sys.argv[2]
source = open(sys.argv[1] + "/" + fqn.replace(".", "/") + ".py", "rb").read()
payload = zipfile.ZipFile(io.BytesIO(), "w")
module_common.recursive_finder(
    sys.argv[2], fqn, source, payload, datetime.datetime.now(datetime.timezone.utc),
    _builder.ExtensionManager.create(task_vars={}),
)
print(json.dumps(payload.namelist()))
"""

# Code of the controller only: the store, the scheduler, IPAM and the build request.
CONTROLLER_ONLY = ("store/base.py", "store/json_store.py", "store/pg_store.py", "store/state.py", "scheduler/")
CONTROLLER_ONLY += ("network/ipam.py", "objects/instance.py", "objects/request_spec.py", "compute/flow.py")
DISK_CODE = ("virt/block_device.py", "virt/imagecache.py", "virt/volume.py", "virt/configdrive.py")


def module_utils_shipped(module: str) -> list[str]:
    """The module_utils files Ansible packs with ``module``, relative to the collection's module_utils."""
    done = subprocess.run(
        [sys.executable, "-c", PAYLOAD, str(COLLECTIONS), module], capture_output=True, text=True, check=True
    )
    names = json.loads(done.stdout)
    assert f"ansible_collections/nimbus/compute/plugins/modules/{module}.py" not in names  # added after the finder
    return [name[len(MODULE_UTILS) :] for name in names if name.startswith(MODULE_UTILS)]


@pytest.mark.parametrize("module", ["libvirt_domain", "block_device_map", "host_facts", "instance_ssh_wait"])
def test_a_compute_host_module_carries_no_controller_code(module):
    shipped = module_utils_shipped(module)
    assert "compute/module_runner.py" in shipped  # the finder did follow the module's imports
    assert [name for name in shipped if name.startswith(CONTROLLER_ONLY)] == []


def test_the_domain_step_carries_no_disk_code():
    shipped = module_utils_shipped("libvirt_domain")
    assert "virt/driver.py" in shipped
    assert [name for name in shipped if name in DISK_CODE] == []


def test_the_disk_step_carries_no_domain_code():
    shipped = module_utils_shipped("block_device_map")
    assert "virt/block_device.py" in shipped
    assert [name for name in shipped if name in ("virt/driver.py", "virt/domain_xml.py", "virt/vif.py")] == []
