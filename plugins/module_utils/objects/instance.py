# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Instance record: validating a build request and creating the record Nova would.

A request is checked completely before anything is scheduled, and every
failure is an ``InvalidInput`` naming the field.  The record never holds
``user_data`` or ``admin_pass``: they travel to the config drive only.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
import uuid
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown
from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam
from ansible_collections.nimbus.compute.plugins.module_utils.objects import config_drive, request_spec, states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.block_device import validate_block_device_mapping
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name, check_user_data
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import DEFAULT_PROJECT, project_of

REQUEST_KEYS = frozenset(
    {
        "name",
        "flavor",
        "image",
        "networks",
        "key_name",
        "public_keys",
        "user_data",
        "metadata",
        "admin_pass",
        "availability_zone",
        "min_count",
        "max_count",
        "scheduler_hints",
        "block_device_mapping_v2",
        "files",
        "config_drive_format",
        "project_id",
        "security_groups",
    }
)
SECRET_KEYS = frozenset({"user_data", "admin_pass", "files"})
INSTANCE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")
INSTANCE_NAME_RULE = "must be 1-63 characters of letters, digits and '-', starting with a letter or digit"
MAX_METADATA_LEN = 255
DISK_FORMATS = ("qcow2", "raw")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

# Flavor fields: (minimum, default or None when required).
FLAVOR_INTS = {
    "vcpus": (1, None),
    "memory_mb": (64, None),
    "root_gb": (1, None),
    "ephemeral_gb": (0, 0),
    "swap_mb": (0, 0),
}
FLAVOR_KEYS = frozenset(FLAVOR_INTS) | {"extra_specs", "name"}
IMAGE_KEYS = frozenset({"source", "sha256", "disk_format", "min_disk", "properties", "name"})


def utcnow() -> str:
    """Now as ISO 8601 UTC with a 'Z', to the millisecond: steps take well under a second."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return now.isoformat(timespec="milliseconds") + "Z"


def check_instance_name(field: str, value: Any) -> str:
    """An instance's name as create takes it (a uuid has the same form): InvalidInput otherwise."""
    # fullmatch: INSTANCE_NAME_RE's '$' would let a trailing newline through.
    if not isinstance(value, str) or not INSTANCE_NAME_RE.fullmatch(value):
        raise InvalidInput(field, f"{INSTANCE_NAME_RULE}, got {shown(value)}")
    return value


def check_instance_names(field: str, value: Any) -> list[str]:
    """A non-empty list of instance names or uuids, each by the name rule; duplicates dropped, order kept."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(field, f"must be a non-empty list of instance names or uuids, got {shown(value)}")
    return list(dict.fromkeys(check_instance_name(f"{field}[{index}]", name) for index, name in enumerate(value)))


def delete_request_names(instance_name: Any = None, instance_names: Any = None) -> list[str]:
    """The instances a delete asks for (playbooks/delete_instance.yml's extra vars): one of the two, checked."""
    if instance_name is None and instance_names is None:
        raise InvalidInput(
            "instance_name or instance_names",
            "is required: the name or uuid of the instance to delete (-e instance_name=web1), "
            """or a list of them (-e '{"instance_names": ["web-1", "web-2"]}')""",
        )
    if instance_name is not None and instance_names is not None:
        raise InvalidInput("instance_names", "is mutually exclusive with instance_name: give one of them")
    if instance_name is not None:
        return [check_instance_name("instance_name", instance_name)]
    return check_instance_names("instance_names", instance_names)


def _lookup(field: str, name: Any, known: dict[str, Any], kind: str) -> str:
    check_safe_name(field, name)
    if not isinstance(known, dict):
        # The inventory's definitions, not the request, are wrong: name them.
        raise InvalidInput(f"{kind}s", f"must be a mapping of {kind} names to definitions, got {type(known).__name__}")
    if name not in known:
        listed = ", ".join(sorted(map(str, known))) or "none defined"
        raise InvalidInput(field, f"unknown {kind} {name!r}; known {kind}s: {listed}")
    return name


def _unknown_key(field: str, conf: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(conf) - allowed)
    if unknown:
        raise InvalidInput(f"{field}.{unknown[0]}", f"unknown key; known keys: {', '.join(sorted(allowed))}")


def _int_at_least(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(field, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _string_map(field: str, value: Any, max_len: int | None = None) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be a mapping of strings to strings")
    for key, item in value.items():
        if not isinstance(key, str) or not key or (max_len is not None and len(key) > max_len):
            raise InvalidInput(field, f"keys must be non-empty strings of at most {max_len or 'any'} characters")
        if not isinstance(item, str) or (max_len is not None and len(item) > max_len):
            limit = f" of at most {max_len} characters" if max_len else ""
            raise InvalidInput(f"{field}.{key}", f"must be a string{limit}, got {item!r}")
    return dict(value)


def normalise_flavor(name: str, conf: Any) -> dict[str, Any]:
    field = f"flavors.{name}"
    if not isinstance(conf, dict):
        raise InvalidInput(field, "must be a mapping with vcpus, memory_mb and root_gb")
    _unknown_key(field, conf, FLAVOR_KEYS)
    flavor: dict[str, Any] = {"name": name}
    for key, (minimum, default) in FLAVOR_INTS.items():
        if key not in conf and default is None:
            raise InvalidInput(f"{field}.{key}", "is required")
        flavor[key] = _int_at_least(f"{field}.{key}", conf.get(key, default), minimum)
    flavor["extra_specs"] = _string_map(f"{field}.extra_specs", conf.get("extra_specs", {}))
    return flavor


def _redact_url(source: str) -> str:
    """The source without user:password@, which must not land in the store."""
    parts = urllib.parse.urlsplit(source)
    if not parts.username and not parts.password:
        return source
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def normalise_image(name: str, conf: Any) -> dict[str, Any]:
    field = f"images.{name}"
    if not isinstance(conf, dict):
        raise InvalidInput(field, "must be a mapping with at least source")
    _unknown_key(field, conf, IMAGE_KEYS)
    source = conf.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput(f"{field}.source", "is required: a path on the compute host or an http(s) URL")
    sha256 = conf.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not SHA256_RE.match(sha256.lower())):
        raise InvalidInput(f"{field}.sha256", "must be 64 hexadecimal digits")
    disk_format = conf.get("disk_format", "qcow2")
    if disk_format not in DISK_FORMATS:
        raise InvalidInput(f"{field}.disk_format", f"must be one of {', '.join(DISK_FORMATS)}, got {disk_format!r}")
    properties = conf.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidInput(f"{field}.properties", "must be a mapping")
    return {
        "name": name,
        "source": source.strip(),
        "sha256": sha256.lower() if sha256 else None,
        "disk_format": disk_format,
        "min_disk": _int_at_least(f"{field}.min_disk", conf.get("min_disk", 0), 0),
        "properties": dict(properties),
    }


def _normalise_requested_networks(value: Any, networks: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("networks", "must be a non-empty list of {network, fixed_ip}")
    requested = []
    fixed_ips: set[str] = set()
    for index, item in enumerate(value):
        field = f"networks[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput(field, "must be a mapping with network and optionally fixed_ip")
        _unknown_key(field, item, frozenset({"network", "fixed_ip"}))
        name = _lookup(f"{field}.network", item.get("network"), networks, "network")
        network = ipam.normalise_network(name, networks[name])
        fixed_ip = item.get("fixed_ip")
        if fixed_ip is not None:
            fixed_ip = ipam.check_fixed_ip(network, fixed_ip, networks)
            if fixed_ip in fixed_ips:
                raise InvalidInput(f"{field}.fixed_ip", f"{fixed_ip} is requested twice")
            fixed_ips.add(fixed_ip)
        requested.append({"network": name, "fixed_ip": fixed_ip})
    return requested


def _normalise_public_keys(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    keys = _string_map("public_keys", value)
    for name, key in keys.items():
        check_safe_name("public_keys", name)
        if not key.strip() or "\n" in key.strip() or "\r" in key:
            raise InvalidInput(f"public_keys.{name}", "must be one line of an OpenSSH public key")
    return {name: key.strip() for name, key in keys.items()}


def _optional_string(field: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    return value


def _requested_security_groups(value: Any) -> list[str]:
    """The request's security groups by name (Nova's ``security_groups``), by default the project's default one."""
    if value is None:
        return ["default"]
    if not isinstance(value, list) or not value:
        raise InvalidInput("security_groups", f"must be a non-empty list of security group names, got {shown(value)}")
    for index, name in enumerate(value):
        check_safe_name(f"security_groups[{index}]", name)
        if name in value[:index]:
            raise InvalidInput(f"security_groups[{index}]", f"{name} is given twice")
    return list(value)


def validate_request(
    request: dict[str, Any], flavors: dict[str, Any], images: dict[str, Any], networks: dict[str, Any]
) -> dict[str, Any]:
    """The normalised build request, with flavor and image as full dicts; InvalidInput names the bad field."""
    if not isinstance(request, dict):
        raise InvalidInput("request", "must be a mapping")
    _unknown_key("request", request, REQUEST_KEYS)
    name = check_instance_name("name", request.get("name"))
    flavor_name = _lookup("flavor", request.get("flavor"), flavors, "flavor")
    flavor = normalise_flavor(flavor_name, flavors[flavor_name])
    image_name = _lookup("image", request.get("image"), images, "image")
    image = normalise_image(image_name, images[image_name])
    if flavor["root_gb"] < image["min_disk"]:
        raise InvalidInput(
            "flavor",
            f"flavor {flavor_name} has root_gb {flavor['root_gb']}, smaller than min_disk {image['min_disk']} "
            f"of image {image_name}",
        )
    public_keys = _normalise_public_keys(request.get("public_keys"))
    key_name = request.get("key_name")
    if key_name is not None:
        _lookup("key_name", key_name, public_keys, "key")
    availability_zone, force_host = request_spec.parse_availability_zone(request.get("availability_zone"))
    for field, value in (("availability_zone", availability_zone), ("availability_zone", force_host)):
        if value is not None:
            check_safe_name(field, value)
    min_count, max_count = request_spec.normalise_counts(request)
    project_id = request.get("project_id", DEFAULT_PROJECT)
    check_safe_name("project_id", project_id)
    return {
        "name": name,
        "project_id": project_id,
        "flavor": flavor,
        "image": image,
        "networks": _normalise_requested_networks(request.get("networks"), networks),
        "key_name": key_name,
        "public_keys": public_keys,
        "user_data": check_user_data("user_data", request.get("user_data")),
        "metadata": _string_map("metadata", request.get("metadata") or {}, MAX_METADATA_LEN),
        "admin_pass": _optional_string("admin_pass", request.get("admin_pass")),
        "availability_zone": availability_zone,
        "force_host": force_host,
        "min_count": min_count,
        "max_count": max_count,
        "names": request_spec.instance_names(name, max_count),
        "scheduler_hints": request_spec.normalise_hints(request.get("scheduler_hints")),
        "security_groups": _requested_security_groups(request.get("security_groups")),
        "block_device_mapping": validate_block_device_mapping(request.get("block_device_mapping_v2"), flavor, image),
        **config_drive.normalise_request(request, image),
    }


def sanitize_hostname(hostname: str, default_name: str | None = None) -> str:
    """nova.utils.sanitize_hostname: a valid lowercase hostname of at most 63 characters."""
    hostname = hostname.encode("latin-1", "ignore").decode("latin-1")[:63]
    hostname = re.sub(r"[ _\.]", "-", hostname)
    hostname = re.sub(r"[^\w.-]+", "", hostname)
    hostname = hostname.lower().strip(".-")
    if not hostname and default_name is not None:
        return default_name[:63]
    return hostname


def public_image(image: dict[str, Any]) -> dict[str, Any]:
    """The image as the instance record keeps it: known keys only, no credentials in the source."""
    kept = {key: image[key] for key in sorted(IMAGE_KEYS) if key in image}
    if isinstance(kept.get("source"), str):
        kept["source"] = _redact_url(kept["source"])
    return kept


def new_instance(request: dict[str, Any], now: str, name: str | None = None, launch_index: int = 0) -> dict[str, Any]:
    """A Nova-shaped instance record for a validated request, about to be scheduled.

    ``name`` and ``launch_index`` tell the instances of one multi-create apart.
    """
    name = name or request["name"]
    return {
        "uuid": str(uuid.uuid4()),
        "name": name,
        "project_id": project_of(request),
        "hostname": sanitize_hostname(name, default_name="server"),
        "flavor": dict(request["flavor"]),
        "image": public_image(request["image"]),
        "requested_networks": [dict(item) for item in request["networks"]],
        "block_device_mapping": [dict(bdm) for bdm in request.get("block_device_mapping") or []],
        "metadata": dict(request.get("metadata") or {}),
        "public_keys": dict(request.get("public_keys") or {}),
        "key_name": request.get("key_name"),
        "availability_zone": request.get("availability_zone"),
        "launch_index": launch_index,
        **config_drive.record_fields(request),
        "vm_state": states.BUILDING,
        "task_state": states.SCHEDULING,
        "power_state": states.NOSTATE,
        "host": None,
        "node": None,
        "network_info": [],
        "block_device_info": {},
        "fault": None,
        "attempts": [],
        "actions": [],
        "created_at": now,
        "updated_at": now,
        "launched_at": None,
        "deleted_at": None,
    }
