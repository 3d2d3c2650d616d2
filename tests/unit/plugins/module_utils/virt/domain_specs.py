"""The domain spec the virt tests build on (what compute.steps.domain_spec returns)."""

UUID = "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6"


def domain_spec(**overrides):
    spec = {
        "uuid": UUID,
        "name": "instance-1",
        "memory_mb": 256,
        "vcpus": 2,
        "virt_type": "qemu",
        "disks": [
            {
                "device_name": "vda",
                "path": "/i/disk",
                "bus": "virtio",
                "type": "disk",
                "format": "qcow2",
                "boot_index": 0,
                "size_bytes": 1 << 30,
            },
            {
                "device_name": "hdd",
                "path": "/i/disk.config",
                "bus": "ide",
                "type": "cdrom",
                "format": "raw",
                "boot_index": None,
                "size_bytes": 366592,
            },
        ],
        "interfaces": [{"mac": "FA:16:3E:00:00:01", "network": "net1", "mtu": 1400}],
        "console_log": "/i/console.log",
        "metadata": {
            "flavor": {"name": "m1.tiny", "vcpus": 2, "memory_mb": 256, "root_gb": 1},
            "image": {"name": "cirros", "sha256": "ab" * 32},
        },
    }
    spec.update(overrides)
    return spec
