"""Our config drives and NoCloud seeds, read by cloud-init's own code (Debian 12's 22.4, in build/cloud-init).

Each drive is made the way create_instance.yml makes it: the request as
playbooks/vars/build_request.yml passes it, scheduled and given ports through
the controller's module bodies, the compute host's view of the record turned
into the drive's files by the same functions block_device_map calls, written
as an ISO and read back through Rock Ridge.  cloud-init's datasource then
reads that directory exactly as it reads a mounted drive in a guest.
"""

from __future__ import annotations

import base64
import importlib
import io
import os
import pathlib
import sys

import pycdlib
import pytest
import yaml

from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, host_disks
from ansible_collections.nimbus.compute.plugins.module_utils.virt import configdrive

REPO = pathlib.Path(__file__).resolve().parents[5]
CLOUD_INIT = REPO / "build" / "cloud-init" / "usr" / "lib" / "python3" / "dist-packages"
LOCAL_VARS = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all.yml").read_text())
FLAVORS = {"m1.small": LOCAL_VARS["nimbus_flavors"]["m1.small"]}
IMAGES = {"debian": {"source": "/images/debian.qcow2", "disk_format": "qcow2", "min_disk": 2, "properties": {}}}
NETWORKS = LOCAL_VARS["nimbus_networks"]
HOST = {"up": True, "vcpus": 8, "memory_mb": 8192, "disk_gb": 100, "cpu_arch": "x86_64"}
OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@example"
DEV_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDev dev@example"
USER_DATA = "#cloud-config\nruncmd:\n  - [touch, /run/nimbus-ran]\n"


@pytest.fixture(scope="module")
def cloudinit():
    """cloud-init's package, importable; `make deps` unpacks it."""
    if not (CLOUD_INIT / "cloudinit").is_dir():
        pytest.fail(f"cloud-init's code is not in {CLOUD_INIT}: run `make deps` (tools/install_deps.sh)")
    sys.path.insert(0, str(CLOUD_INIT))
    for name in ("helpers", "net.network_state", "sources.DataSourceConfigDrive", "sources.DataSourceNoCloud"):
        importlib.import_module(f"cloudinit.{name}")
    yield sys.modules["cloudinit"]
    sys.path.remove(str(CLOUD_INIT))


def build_request(name, **extra_vars):
    """nimbus_build_request as playbooks/vars/build_request.yml renders it from these extra vars."""
    return {
        "name": name,
        "flavor": "m1.small",
        "image": "debian",
        "networks": extra_vars.get("networks", [{"network": "private"}, {"network": "static"}]),
        "metadata": extra_vars.get("metadata", {}),
        "key_name": extra_vars.get("key_name"),
        "public_keys": extra_vars.get("public_keys", {}),
        "availability_zone": None,
        "scheduler_hints": {},
        "block_device_mapping_v2": [],
        "config_drive_format": extra_vars.get("config_drive_format"),
        "min_count": 1,
        "max_count": 1,
        "user_data": extra_vars.get("user_data"),
        "admin_pass": extra_vars.get("admin_pass"),
    }


@pytest.fixture
def drive_files(schedule_and_allocate):
    """The drive's files for a request, as the block_device_map step of a real build would write them."""

    def make(tmp_path, request, files=None):
        store_path = str(tmp_path / "store.json")
        allocated = schedule_and_allocate(store_path, request, FLAVORS, IMAGES, NETWORKS, {"compute1": HOST})
        instance = flow.compute_view(allocated["instance"])
        spec = host_disks.block_device_spec(instance, str(tmp_path), request["user_data"], request["admin_pass"], files)
        return allocated["instance"], configdrive.with_random_seed(configdrive.drive_files(spec["config_drive"]))

    return make


def mounted(tmp_path, files):
    """The drive written as an ISO, then copied out through Rock Ridge: what a guest's mount shows."""
    iso_path = tmp_path / "disk.config"
    configdrive.write_iso(str(iso_path), files)
    root = tmp_path / "mnt"
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        for folder, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                rr_path = f"{folder.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=rr_path)
                target = root / rr_path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(out.getvalue())
    finally:
        iso.close()
    return label, root


def datasource(cloudinit, tmp_path, module, seed_name, drive_root, instance_uuid):
    """cloud-init's datasource ``module`` reading ``drive_root`` as its seed, on a guest that already saw
    this instance (so ConfigDrive's first-boot writer, which writes injected files to /, stays idle)."""
    cloud_dir = tmp_path / "cloud"
    (cloud_dir / "data").mkdir(parents=True)
    (cloud_dir / "data" / "instance-id").write_text(instance_uuid + "\n")
    (cloud_dir / "seed").mkdir()
    os.symlink(drive_root, cloud_dir / "seed" / seed_name)
    paths = cloudinit.helpers.Paths({"cloud_dir": str(cloud_dir), "run_dir": str(tmp_path / "run")})
    source_class = {
        "config_drive": cloudinit.sources.DataSourceConfigDrive.DataSourceConfigDrive,
        "nocloud": cloudinit.sources.DataSourceNoCloud.DataSourceNoCloud,
    }[seed_name]
    source = source_class({"datasource_list": [module]}, None, paths)
    assert source.get_data() is True, f"cloud-init's {module} did not take the drive"
    return source


def read_config_drive(cloudinit, drive_files, tmp_path, request, files=None):
    instance, drive = drive_files(tmp_path, request, files)
    label, root = mounted(tmp_path, drive)
    assert label == "config-2"
    return instance, datasource(cloudinit, tmp_path, "ConfigDrive", "config_drive", root, instance["uuid"])


def read_nocloud(cloudinit, drive_files, tmp_path, request):
    instance, seed = drive_files(tmp_path, {**request, "config_drive_format": "nocloud"})
    label, root = mounted(tmp_path, seed)
    assert label == "cidata"
    return instance, datasource(cloudinit, tmp_path, "NoCloud", "nocloud", root, instance["uuid"])


# Every way create_instance.yml documents to pass a key: public_keys alone
# (each key reaches the guest), and key_name picking one of public_keys.
KEY_CASES = [
    pytest.param({"public_keys": {"ops": OPS_KEY}}, [OPS_KEY], id="public_keys"),
    pytest.param({"public_keys": {"ops": OPS_KEY, "dev": DEV_KEY}}, sorted([DEV_KEY, OPS_KEY]), id="two_public_keys"),
    pytest.param({"key_name": "ops", "public_keys": {"ops": OPS_KEY}}, [OPS_KEY], id="key_name"),
    pytest.param({"key_name": "dev", "public_keys": {"ops": OPS_KEY, "dev": DEV_KEY}}, [DEV_KEY], id="key_name_of_two"),
    pytest.param({}, [], id="no_key"),
]


@pytest.mark.parametrize(("extra_vars", "expected_keys"), KEY_CASES)
@pytest.mark.parametrize("reader", [read_config_drive, read_nocloud], ids=["config-2", "nocloud"])
def test_the_keys_reach_cloud_init(cloudinit, drive_files, tmp_path, reader, extra_vars, expected_keys):
    _instance, source = reader(cloudinit, drive_files, tmp_path, build_request("web1", **extra_vars))
    assert sorted(source.get_public_ssh_keys()) == expected_keys


def test_config_drive_as_cloud_init_reads_it(cloudinit, drive_files, tmp_path):
    files = {"/etc/nimbus/injected": "from the drive\n"}
    request = build_request(
        "web1", key_name="ops", public_keys={"ops": OPS_KEY}, metadata={"role": "web"}, user_data=USER_DATA
    )
    instance, source = read_config_drive(cloudinit, drive_files, tmp_path, request, files)

    assert source.get_instance_id() == instance["uuid"]
    assert source.metadata["local-hostname"] == "web1"
    assert source.metadata["meta"] == {"role": "web"}
    assert source.metadata["project_id"] == "default"
    # ConfigDrive hands the seed to cloud-init's seed_random module decoded.
    assert len(source.metadata["random_seed"]) == configdrive.RANDOM_SEED_BYTES
    assert source.userdata_raw == USER_DATA.encode()
    assert source.files == {"/etc/nimbus/injected": b"from the drive\n"}


def test_config_drive_network_as_cloud_init_renders_it(cloudinit, drive_files, tmp_path):
    instance, source = read_config_drive(cloudinit, drive_files, tmp_path, build_request("web1"))
    dhcp_port, static_port = instance["network_info"]
    static_ip = static_port["network"]["subnets"][0]["ips"][0]["address"]
    # The NICs the guest's kernel finds, by MAC (cloud-init asks the system for them).
    source.known_macs = {dhcp_port["address"]: "eth0", static_port["address"]: "eth1"}
    config = source.network_config
    physical = {item["mac_address"]: item for item in config["config"] if item["type"] == "physical"}

    # The DHCP NIC gets a lease and nothing else: no static address or default route beside it.
    assert physical[dhcp_port["address"]]["subnets"] == [{"type": "dhcp4"}]
    # The static NIC: its address, the network's gateway as default route, the DNS server.
    (static,) = physical[static_port["address"]]["subnets"]
    assert (static["type"], static["address"], static["netmask"]) == ("static", static_ip, "255.255.255.0")
    assert static["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.18.1.1"}]
    nameservers = [item["address"] for item in config["config"] if item["type"] == "nameserver"]
    assert nameservers == ["198.18.0.1", "198.18.1.1"]
    state = cloudinit.net.network_state.parse_net_config_data(config, skip_broken=False)
    assert sorted(item["name"] for item in state.iter_interfaces()) == ["eth0", "eth1"]


def test_nocloud_as_cloud_init_reads_it(cloudinit, drive_files, tmp_path):
    request = build_request("web1", public_keys={"ops": OPS_KEY}, metadata={"role": "web"}, user_data=USER_DATA)
    instance, source = read_nocloud(cloudinit, drive_files, tmp_path, request)
    dhcp_port, static_port = instance["network_info"]
    static_ip = static_port["network"]["subnets"][0]["ips"][0]["address"]

    assert source.get_instance_id() == instance["uuid"]
    assert source.metadata["local-hostname"] == "web1"
    assert source.userdata_raw == USER_DATA.encode()
    state = cloudinit.net.network_state.parse_net_config_data(source.network_config, skip_broken=False)
    interfaces = {item["mac_address"]: item for item in state.iter_interfaces()}
    assert [subnet["type"] for subnet in interfaces[dhcp_port["address"]]["subnets"]] == ["dhcp4"]
    (static,) = interfaces[static_port["address"]]["subnets"]
    assert (static["type"], static["address"], static.get("prefix") or static.get("netmask")) in {
        ("static", static_ip, 24),
        ("static", static_ip, "255.255.255.0"),
    }, static
    assert [(route["network"], route["gateway"]) for route in static["routes"]] == [("0.0.0.0", "198.18.1.1")]


def test_each_drive_written_has_a_seed_of_its_own(drive_files, tmp_path):
    seeds = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        _instance, drive = drive_files(tmp_path / run, build_request("web1"))
        seeds.append(yaml.safe_load(drive["openstack/latest/meta_data.json"])["random_seed"])
    assert [len(base64.b64decode(seed)) for seed in seeds] == [512, 512]
    assert seeds[0] != seeds[1]
