# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's argument spec, as its documentation gives it.

Written by tools/option_specs.py from the modules' DOCUMENTATION: do not edit,
change the documentation and run the tool (make lint checks the two agree).
"""

from __future__ import annotations

INSTANCE = {
    "type": "dict",
    "options": {
        "availability_zone": {"type": "str"},
        "block_device_info": {
            "type": "dict",
            "options": {
                "boot_from_volume": {"type": "bool"},
                "disks": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "boot_index": {"type": "int"},
                        "bus": {"type": "str"},
                        "delete_on_termination": {"type": "bool"},
                        "destination_type": {"type": "str"},
                        "device_name": {"type": "str"},
                        "format": {"type": "str"},
                        "guest_format": {"type": "str"},
                        "path": {"type": "str"},
                        "pool": {"type": "str"},
                        "size_bytes": {"type": "int"},
                        "source_type": {"type": "str"},
                        "type": {"type": "str"},
                        "volume_name": {"type": "str"},
                    },
                },
                "instance_dir": {"type": "str"},
                "root_device_name": {"type": "str"},
            },
        },
        "block_device_mapping": {
            "type": "list",
            "elements": "dict",
            "options": {
                "boot_index": {"type": "int"},
                "delete_on_termination": {"type": "bool"},
                "destination_type": {"type": "str"},
                "device_name": {"type": "str"},
                "device_type": {"type": "str"},
                "disk_bus": {"type": "str"},
                "guest_format": {"type": "str"},
                "source_type": {"type": "str"},
                "uuid": {"type": "str"},
                "volume_size": {"type": "int"},
            },
        },
        "config_drive_format": {"type": "str"},
        "firewall": {
            "type": "dict",
            "options": {
                "remote_groups": {
                    "type": "list",
                    "elements": "dict",
                    "options": {"addresses": {"type": "list", "elements": "str"}, "id": {"type": "str"}},
                },
                "rules": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "direction": {"type": "str"},
                        "ethertype": {"type": "str"},
                        "port_range_max": {"type": "int"},
                        "port_range_min": {"type": "int"},
                        "protocol": {"type": "raw"},
                        "remote_group_id": {"type": "str"},
                        "remote_ip_prefix": {"type": "str"},
                    },
                },
            },
        },
        "flavor": {
            "type": "dict",
            "options": {
                "ephemeral_gb": {"type": "int"},
                "extra_specs": {"type": "dict"},
                "memory_mb": {"type": "int"},
                "name": {"type": "str"},
                "root_gb": {"type": "int"},
                "swap_mb": {"type": "int"},
                "vcpus": {"type": "int"},
            },
        },
        "hostname": {"type": "str"},
        "image": {
            "type": "dict",
            "options": {
                "disk_format": {"type": "str", "choices": ["qcow2", "raw"]},
                "min_disk": {"type": "int"},
                "name": {"type": "str"},
                "properties": {"type": "dict"},
                "sha256": {"type": "str"},
                "source": {"type": "str"},
            },
        },
        "instances_path": {"type": "str"},
        "key_name": {"type": "str"},
        "launch_index": {"type": "int"},
        "libvirt_uri": {"type": "str"},
        "metadata": {"type": "dict"},
        "name": {"type": "str"},
        "network_info": {
            "type": "list",
            "elements": "dict",
            "options": {
                "active": {"type": "bool"},
                "address": {"type": "str", "required": True},
                "devname": {"type": "str"},
                "id": {"type": "str", "required": True},
                "network": {
                    "type": "dict",
                    "options": {
                        "bridge": {"type": "str"},
                        "id": {"type": "str"},
                        "label": {"type": "str"},
                        "meta": {
                            "type": "dict",
                            "options": {
                                "dhcp": {"type": "bool"},
                                "libvirt_network": {"type": "str"},
                                "mtu": {"type": "int"},
                            },
                        },
                        "subnets": {
                            "type": "list",
                            "elements": "dict",
                            "options": {
                                "cidr": {"type": "str"},
                                "dns": {"type": "list", "elements": "dict", "options": {"address": {"type": "str"}}},
                                "gateway": {"type": "dict", "options": {"address": {"type": "str"}}},
                                "ips": {
                                    "type": "list",
                                    "elements": "dict",
                                    "options": {
                                        "address": {"type": "str"},
                                        "type": {"type": "str"},
                                        "version": {"type": "int"},
                                    },
                                },
                                "routes": {
                                    "type": "list",
                                    "elements": "dict",
                                    "options": {
                                        "cidr": {"type": "str"},
                                        "gateway": {"type": "dict", "options": {"address": {"type": "str"}}},
                                    },
                                },
                                "version": {"type": "int"},
                            },
                        },
                    },
                },
                "type": {"type": "str"},
                "vnic_type": {"type": "str"},
            },
        },
        "public_keys": {"type": "dict"},
        "uuid": {"type": "str"},
        "virt_type": {"type": "str"},
    },
}

INSTANCES = {"type": "list", "elements": "dict", "options": INSTANCE["options"]}

POOLS = {
    "type": "list",
    "elements": "dict",
    "default": [],
    "options": {
        "allocation_pools": {
            "type": "list",
            "elements": "dict",
            "options": {"end": {"type": "str", "required": True}, "start": {"type": "str", "required": True}},
        },
        "cidr": {"type": "str", "required": True},
        "interface": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
    },
}

QUOTAS = {
    "type": "dict",
    "default": {},
    "options": {
        "cores": {"type": "int", "default": 20},
        "floating_ips": {"type": "int", "default": 50},
        "instances": {"type": "int", "default": 10},
        "ram": {"type": "int", "default": 51200},
        "security_group_rules": {"type": "int", "default": 100},
        "security_groups": {"type": "int", "default": 10},
        "server_group_members": {"type": "int", "default": 10},
        "server_groups": {"type": "int", "default": 10},
    },
}

HOSTS = {
    "type": "list",
    "elements": "dict",
    "default": [],
    "options": {
        "availability_zone": {"type": "str"},
        "cpu_allocation_ratio": {"type": "float"},
        "cpu_arch": {"type": "str"},
        "disk_allocation_ratio": {"type": "float"},
        "disk_gb": {"type": "int"},
        "enabled": {"type": "bool", "default": True},
        "free_disk_gb": {"type": "int"},
        "free_memory_mb": {"type": "int"},
        "hostname": {"type": "str"},
        "instances_path": {"type": "path"},
        "libvirt_version": {"type": "str"},
        "memory_mb": {"type": "int"},
        "name": {"type": "str", "required": True},
        "networks": {"type": "dict"},
        "qemu_version": {"type": "str"},
        "ram_allocation_ratio": {"type": "float"},
        "reason": {"type": "str"},
        "reserved_host_disk_mb": {"type": "int"},
        "reserved_host_memory_mb": {"type": "int"},
        "traits": {"type": "list", "elements": "str", "default": []},
        "up": {"type": "bool", "default": False},
        "updated_at": {"type": "str"},
        "uri": {"type": "str"},
        "vcpus": {"type": "int"},
        "virt_type": {"type": "str"},
        "virt_types": {"type": "list", "elements": "str"},
    },
}

NETWORKS = {
    "type": "list",
    "elements": "dict",
    "default": [],
    "options": {
        "allocation_pools": {
            "type": "list",
            "elements": "dict",
            "options": {"end": {"type": "str", "required": True}, "start": {"type": "str", "required": True}},
        },
        "bridge": {"type": "str"},
        "cidr": {"type": "str", "required": True},
        "dhcp": {"type": "bool", "default": True},
        "dhcp_range": {
            "type": "dict",
            "options": {"end": {"type": "str", "required": True}, "start": {"type": "str", "required": True}},
        },
        "dns": {"type": "list", "elements": "str", "default": []},
        "gateway": {"type": "str"},
        "ipv6": {
            "type": "dict",
            "options": {
                "allocation_pools": {
                    "type": "list",
                    "elements": "dict",
                    "options": {"end": {"type": "str", "required": True}, "start": {"type": "str", "required": True}},
                },
                "cidr": {"type": "str", "required": True},
                "dns": {"type": "list", "elements": "str", "default": []},
                "gateway": {"type": "str"},
            },
        },
        "libvirt_network": {"type": "str"},
        "mtu": {"type": "int", "default": 1500},
        "name": {"type": "str", "required": True},
    },
}

SCHEDULER = {
    "type": "dict",
    "default": {},
    "options": {
        "cpu_allocation_ratio": {"type": "float", "default": 4.0},
        "cpu_weight_multiplier": {"type": "float", "default": 1.0},
        "default_availability_zone": {"type": "str", "default": "nova"},
        "disk_allocation_ratio": {"type": "float", "default": 1.0},
        "disk_weight_multiplier": {"type": "float", "default": 1.0},
        "enabled_filters": {
            "type": "list",
            "elements": "str",
            "choices": [
                "ComputeFilter",
                "AvailabilityZoneFilter",
                "CoreFilter",
                "RamFilter",
                "DiskFilter",
                "ComputeCapabilitiesFilter",
                "ImagePropertiesFilter",
                "ServerGroupAntiAffinityFilter",
                "ServerGroupAffinityFilter",
                "SameHostFilter",
                "DifferentHostFilter",
            ],
            "default": [
                "ComputeFilter",
                "AvailabilityZoneFilter",
                "CoreFilter",
                "RamFilter",
                "DiskFilter",
                "ComputeCapabilitiesFilter",
                "ImagePropertiesFilter",
                "ServerGroupAntiAffinityFilter",
                "ServerGroupAffinityFilter",
                "SameHostFilter",
                "DifferentHostFilter",
            ],
        },
        "host_subset_size": {"type": "int", "default": 1},
        "max_attempts": {"type": "int", "default": 3},
        "num_instances_weight_multiplier": {"type": "float", "default": 0.0},
        "ram_allocation_ratio": {"type": "float", "default": 1.0},
        "ram_weight_multiplier": {"type": "float", "default": 1.0},
        "reserved_host_disk_mb": {"type": "int", "default": 0},
        "reserved_host_memory_mb": {"type": "int", "default": 512},
        "soft_affinity_weight_multiplier": {"type": "float", "default": 1.0},
        "soft_anti_affinity_weight_multiplier": {"type": "float", "default": 1.0},
        "weight_classes": {
            "type": "list",
            "elements": "str",
            "choices": [
                "RAMWeigher",
                "CPUWeigher",
                "DiskWeigher",
                "NumInstancesWeigher",
                "ServerGroupSoftAffinityWeigher",
                "ServerGroupSoftAntiAffinityWeigher",
            ],
            "default": [
                "RAMWeigher",
                "CPUWeigher",
                "DiskWeigher",
                "NumInstancesWeigher",
                "ServerGroupSoftAffinityWeigher",
                "ServerGroupSoftAntiAffinityWeigher",
            ],
        },
    },
}

BLOCK_DEVICE_MAP = {
    "admin_pass": {"type": "str", "no_log": True},
    "files": {
        "type": "list",
        "elements": "dict",
        "no_log": True,
        "options": {"contents": {"type": "str", "required": True}, "path": {"type": "str", "required": True}},
    },
    "instance": INSTANCE,
    "instances": INSTANCES,
    "instances_path": {"type": "path", "default": "/var/lib/nimbus/instances"},
    "notifications_path": {"type": "path"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
    "uri": {"type": "str", "default": "qemu:///system"},
    "user_data": {"type": "str", "no_log": True},
}

FLOATING_IP = {
    "fixed_address": {"type": "str"},
    "floating_ip_address": {"type": "str"},
    "instance": {"type": "str"},
    "pool": {"type": "str"},
    "pools": POOLS,
    "project_id": {"type": "str", "default": "default"},
    "purge": {"type": "bool", "default": False},
    "quotas": QUOTAS,
    "reuse": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

FLOATING_IP_NAT = {
    "floating_ips": {
        "type": "list",
        "elements": "dict",
        "options": {
            "fixed_ip_address": {"type": "str", "required": True},
            "floating_ip_address": {"type": "str", "required": True},
            "pool": {"type": "str", "required": True},
            "rules": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "direction": {"type": "str", "choices": ["ingress", "egress"], "required": True},
                    "ethertype": {"type": "str", "default": "IPv4"},
                    "port_range_max": {"type": "int"},
                    "port_range_min": {"type": "int"},
                    "protocol": {"type": "str"},
                    "remote_group_id": {"type": "str"},
                    "remote_ip_prefix": {"type": "str"},
                },
            },
        },
    },
    "host": {"type": "str"},
    "netns": {"type": "str"},
    "pools": POOLS,
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

HOST_FACTS = {
    "availability_zone": {"type": "str", "default": "nova"},
    "enabled": {"type": "bool", "default": True},
    "instances_path": {"type": "path", "default": "/var/lib/nimbus/instances"},
    "max_age": {"type": "int", "default": 300},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
    "traits": {"type": "list", "elements": "str", "default": []},
    "uri": {"type": "str", "default": "qemu:///system"},
    "virt_type": {"type": "str", "choices": ["kvm", "qemu"]},
}

HOST_SELECT = {
    "compute_hosts": {"type": "list", "elements": "str"},
    "flavors": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "ephemeral_gb": {"type": "int", "default": 0},
            "extra_specs": {"type": "dict", "default": {}},
            "memory_mb": {"type": "int", "required": True},
            "name": {"type": "str", "required": True},
            "root_gb": {"type": "int", "required": True},
            "swap_mb": {"type": "int", "default": 0},
            "vcpus": {"type": "int", "required": True},
        },
    },
    "host_facts_max_age": {"type": "int", "default": 300},
    "hosts": HOSTS,
    "images": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "disk_format": {"type": "str", "choices": ["qcow2", "raw"], "default": "qcow2"},
            "min_disk": {"type": "int", "default": 0},
            "name": {"type": "str", "required": True},
            "properties": {"type": "dict", "default": {}},
            "sha256": {"type": "str"},
            "source": {"type": "str", "required": True},
        },
    },
    "name": {"type": "str"},
    "networks": NETWORKS,
    "notifications_path": {"type": "path"},
    "quotas": QUOTAS,
    "replace_failed": {"type": "bool", "default": False},
    "request": {
        "type": "dict",
        "options": {
            "admin_pass": {"type": "str", "no_log": True},
            "availability_zone": {"type": "str"},
            "block_device_mapping_v2": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "boot_index": {"type": "int"},
                    "delete_on_termination": {"type": "bool", "default": False},
                    "destination_type": {"type": "str", "choices": ["local", "volume"]},
                    "device_name": {"type": "str"},
                    "device_type": {"type": "str", "choices": ["disk", "cdrom"]},
                    "disk_bus": {"type": "str", "choices": ["virtio", "ide", "sata", "scsi", "usb"]},
                    "guest_format": {"type": "str", "choices": ["ext2", "ext3", "ext4", "swap"]},
                    "source_type": {"type": "str", "required": True},
                    "uuid": {"type": "str"},
                    "volume_size": {"type": "int"},
                },
            },
            "config_drive_format": {"type": "str", "choices": ["config-2", "nocloud"]},
            "files": {
                "type": "list",
                "elements": "dict",
                "no_log": True,
                "options": {"contents": {"type": "str", "required": True}, "path": {"type": "str", "required": True}},
            },
            "flavor": {"type": "str", "required": True},
            "image": {"type": "str", "required": True},
            "key_name": {"type": "str"},
            "max_count": {"type": "int"},
            "metadata": {"type": "dict"},
            "min_count": {"type": "int"},
            "name": {"type": "str", "required": True},
            "networks": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {"fixed_ip": {"type": "str"}, "network": {"type": "str", "required": True}},
            },
            "project_id": {"type": "str", "default": "default"},
            "public_keys": {"type": "dict"},
            "scheduler_hints": {
                "type": "dict",
                "options": {"different_host": {"type": "raw"}, "group": {"type": "str"}, "same_host": {"type": "raw"}},
            },
            "security_groups": {"type": "list", "elements": "str"},
            "user_data": {"type": "str", "no_log": True},
        },
    },
    "scheduler": SCHEDULER,
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

IMAGE_CACHE = {
    "instances_path": {"type": "path", "default": "/var/lib/nimbus/instances"},
    "remove_unused_original_minimum_age_seconds": {"type": "int", "default": 86400},
}

INSTANCE_DELETE = {
    "instances": {"type": "list", "elements": "str", "required": True},
    "notifications_path": {"type": "path"},
    "phase": {"type": "str", "choices": ["begin", "complete"], "required": True},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

INSTANCE_FIREWALL = {
    "instance": INSTANCE,
    "instances": INSTANCES,
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
    "uri": {"type": "str", "default": "qemu:///system"},
}

INSTANCE_INFO = {
    "include_deleted": {"type": "bool", "default": False},
    "name": {"type": "str"},
    "names": {"type": "list", "elements": "str"},
    "project_id": {"type": "str"},
    "quotas": QUOTAS,
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

INSTANCE_SSH_WAIT = {
    "console_lines": {"type": "int", "default": 20},
    "guests": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "address": {"type": "str", "required": True},
            "console_log": {"type": "path"},
            "name": {"type": "str", "required": True},
            "uuid": {"type": "str", "required": True},
        },
    },
    "netns": {"type": "str"},
    "port": {"type": "int", "default": 22},
    "timeout": {"type": "int", "default": 300},
}

LIBVIRT_DOMAIN = {
    "firewall_driver": {"type": "str", "choices": ["nwfilter", "noop"], "default": "nwfilter"},
    "instance": INSTANCE,
    "instances": INSTANCES,
    "notifications_path": {"type": "path"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
    "uri": {"type": "str", "default": "qemu:///system"},
    "virt_type": {"type": "str", "choices": ["kvm", "qemu"], "default": "kvm"},
    "wait_timeout": {"type": "int", "default": 60},
}

NETWORK_ALLOCATE = {
    "instance": {"type": "str"},
    "instances": {"type": "list", "elements": "str"},
    "networks": NETWORKS,
    "notifications_path": {"type": "path"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

RESCHEDULE = {
    "cleanup_failure": {"type": "str"},
    "compute_hosts": {"type": "list", "elements": "str"},
    "failure": {"type": "str"},
    "host_facts_max_age": {"type": "int", "default": 300},
    "hosts": HOSTS,
    "instance": {"type": "str"},
    "instances": {"type": "list", "elements": "str"},
    "scheduler": SCHEDULER,
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

SECURITY_GROUP = {
    "description": {"type": "str"},
    "name": {"type": "str", "required": True},
    "project_id": {"type": "str", "default": "default"},
    "quotas": QUOTAS,
    "rules": {
        "type": "list",
        "elements": "dict",
        "options": {
            "description": {"type": "str"},
            "direction": {"type": "str", "choices": ["ingress", "egress"], "required": True},
            "ethertype": {"type": "str", "choices": ["IPv4", "IPv6"], "default": "IPv4"},
            "port_range_max": {"type": "int"},
            "port_range_min": {"type": "int"},
            "protocol": {"type": "str"},
            "remote_group": {"type": "str"},
            "remote_ip_prefix": {"type": "str"},
        },
    },
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

SERVER_GROUP = {
    "name": {"type": "str", "required": True},
    "policy": {"type": "str", "choices": ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]},
    "project_id": {"type": "str", "default": "default"},
    "quotas": QUOTAS,
    "rules": {"type": "dict", "options": {"max_server_per_host": {"type": "int"}}},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

STORE_CHECK = {
    "repair": {"type": "bool", "default": False},
    "store_password": {"type": "str", "no_log": True},
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
}

STORE_MIGRATE = {
    "source_path": {"type": "path"},
    "store_password": {"type": "str", "no_log": True},
    "store_url": {"type": "str"},
}
