# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The libvirt domain XML of an instance (Nova's nova/virt/libvirt/config.py + driver._get_guest_config).

Built with lxml from a plain spec. The domain carries, in its metadata, the
sha256 of the canonical spec it was built from, so that a later run can tell
"same instance definition" without comparing libvirt's normalised XML.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree

NIMBUS_NS = "https://nimbus.compute/xmlns/instance/1"
NIMBUS = f"{{{NIMBUS_NS}}}"
# 'test' is libvirt's test driver (test:///default), which the unit tests use;
# the modules offer only kvm and qemu.
VIRT_TYPES = ("kvm", "qemu", "test")
DISK_FIELDS = ("device_name", "path", "bus", "type", "format", "boot_index")


def _interface(interface: dict[str, Any]) -> dict[str, Any]:
    """A NIC on a libvirt ``network`` or, when it names one instead, a host ``bridge``."""
    canonical = {
        "mac": interface["mac"].lower(),
        "network": interface.get("network"),
        "model": interface.get("model") or "virtio",
        "mtu": interface.get("mtu"),
    }
    if interface.get("bridge"):
        # Only bridged NICs carry the key: a domain on libvirt networks keeps its digest.
        canonical["bridge"] = interface["bridge"]
    elif not canonical["network"]:
        raise InvalidInput("interfaces.network", "a NIC needs a libvirt network or a bridge")
    if interface.get("filter"):
        # Only NICs behind the firewall carry the key: a domain without security groups keeps its digest.
        canonical["filter"] = {"name": interface["filter"]["name"], "parameters": interface["filter"]["parameters"]}
    return canonical


def canonical_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The part of ``spec`` that shapes the domain, normalised (defaults filled, sizes dropped)."""
    for field in ("uuid", "name", "memory_mb", "vcpus", "virt_type", "console_log"):
        if spec.get(field) in (None, ""):
            raise InvalidInput(field, "is required")
    if spec["virt_type"] not in VIRT_TYPES:
        raise InvalidInput("virt_type", f"must be one of {', '.join(VIRT_TYPES)}", value=spec["virt_type"])
    for field in ("memory_mb", "vcpus"):
        if not isinstance(spec[field], int) or spec[field] < 1:
            raise InvalidInput(field, "must be a positive integer", value=spec[field])
    metadata = spec.get("metadata") or {}
    return {
        "uuid": spec["uuid"].lower(),
        "name": spec["name"],
        "memory_mb": spec["memory_mb"],
        "vcpus": spec["vcpus"],
        "virt_type": spec["virt_type"],
        # The config drive's size changes with its content: not a domain change.
        "disks": [{field: disk.get(field) for field in DISK_FIELDS} for disk in spec.get("disks") or []],
        "interfaces": [_interface(interface) for interface in spec.get("interfaces") or []],
        "console_log": spec["console_log"],
        "metadata": {"flavor": dict(metadata.get("flavor") or {}), "image": dict(metadata.get("image") or {})},
    }


def domain_spec_digest(spec: dict[str, Any]) -> str:
    """sha256 of the canonical spec: equal digests build equal domains."""
    canonical = json.dumps(canonical_spec(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _sub(parent: Any, tag: str, text: Any = None, **attributes: Any) -> Any:
    element = etree.SubElement(parent, tag, {key: str(value) for key, value in attributes.items() if value is not None})
    if text is not None:
        element.text = str(text)
    return element


def _metadata(parent: Any, spec: dict[str, Any], digest: str) -> None:
    instance = etree.SubElement(etree.SubElement(parent, "metadata"), f"{NIMBUS}instance", nsmap={"nimbus": NIMBUS_NS})
    _sub(instance, f"{NIMBUS}uuid", spec["uuid"])
    flavor = spec["metadata"]["flavor"]
    flavor_element = _sub(instance, f"{NIMBUS}flavor", name=flavor.get("name"))
    for field in ("vcpus", "memory_mb", "root_gb"):
        if flavor.get(field) is not None:
            _sub(flavor_element, f"{NIMBUS}{field}", flavor[field])
    image = spec["metadata"]["image"]
    _sub(instance, f"{NIMBUS}image", name=image.get("name"), sha256=image.get("sha256"))
    _sub(instance, f"{NIMBUS}spec-sha256", digest)


def _disk(devices: Any, disk: dict[str, Any]) -> None:
    element = _sub(devices, "disk", type="file", device=disk["type"])
    _sub(element, "driver", name="qemu", type=disk["format"])
    _sub(element, "source", file=disk["path"])
    _sub(element, "target", dev=disk["device_name"], bus=disk["bus"])
    if disk["type"] == "cdrom":
        _sub(element, "readonly")
    if disk["boot_index"] is not None:
        _sub(element, "boot", order=disk["boot_index"] + 1)


def _interface_element(devices: Any, interface: dict[str, Any]) -> None:
    if interface.get("bridge"):
        element = _sub(devices, "interface", type="bridge")
        _sub(element, "mac", address=interface["mac"])
        _sub(element, "source", bridge=interface["bridge"])
    else:
        element = _sub(devices, "interface", type="network")
        _sub(element, "mac", address=interface["mac"])
        _sub(element, "source", network=interface["network"])
    _sub(element, "model", type=interface["model"])
    if interface["mtu"]:
        _sub(element, "mtu", size=interface["mtu"])
    if interface.get("filter"):
        ref = _sub(element, "filterref", filter=interface["filter"]["name"])
        for name, value in interface["filter"]["parameters"].items():
            _sub(ref, "parameter", name=name, value=value)


def build_domain(spec: dict[str, Any]) -> Any:
    """The domain as an lxml element."""
    canonical = canonical_spec(spec)
    domain = etree.Element("domain", type=canonical["virt_type"])
    _sub(domain, "name", canonical["name"])
    _sub(domain, "uuid", canonical["uuid"])
    _metadata(domain, canonical, domain_spec_digest(spec))
    _sub(domain, "memory", canonical["memory_mb"], unit="MiB")
    _sub(domain, "vcpu", canonical["vcpus"])
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm", arch="x86_64", machine="pc")
    if not any(disk["boot_index"] is not None for disk in canonical["disks"]):
        _sub(os_element, "boot", dev="hd")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    if canonical["virt_type"] == "kvm":
        # Under TCG the host CPU model means nothing and QEMU may refuse it.
        _sub(domain, "cpu", mode="host-model")
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    for disk in canonical["disks"]:
        _disk(devices, disk)
    for interface in canonical["interfaces"]:
        _interface_element(devices, interface)
    serial = _sub(devices, "serial", type="pty")
    # virtlogd writes what the guest prints; append='off' starts a fresh log per boot.
    _sub(serial, "log", file=canonical["console_log"], append="off")
    _sub(devices, "console", type="pty")
    _sub(devices, "memballoon", model="virtio")
    return domain


def build_domain_xml(spec: dict[str, Any]) -> str:
    """The domain XML for ``spec`` (see module docstring for the fields)."""
    return etree.tostring(build_domain(spec), pretty_print=True, encoding="unicode")


def _parse(xml: str) -> Any:
    return etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))


def recorded_spec_digest(xml: str) -> str | None:
    """The spec-sha256 a domain XML carries in its nimbus metadata, None without one."""
    return _parse(xml).findtext(f"metadata/{NIMBUS}instance/{NIMBUS}spec-sha256")


def recorded_instance_uuid(xml: str) -> str | None:
    """The instance uuid in a domain XML's nimbus metadata, None without one: what tells nimbus's domains apart."""
    recorded = _parse(xml).findtext(f"metadata/{NIMBUS}instance/{NIMBUS}uuid")
    return recorded.strip().lower() if recorded else None


def network_interfaces(xml: str) -> list[tuple[str, str]]:
    """(MAC, libvirt network) of each ``type='network'`` interface of a domain XML."""
    return [
        (element.get("address", "").lower(), element.getparent().find("source").get("network"))
        for element in _parse(xml).iterfind("devices/interface[@type='network']/mac")
        if element.getparent().find("source") is not None
    ]


def interface_filters(xml: str) -> list[str]:
    """The network filters a domain XML's interfaces reference."""
    return [element.get("filter") for element in _parse(xml).iterfind("devices/interface/filterref")]


def has_nvram(xml: str) -> bool:
    """Whether a domain XML has UEFI variables (undefine must then remove them too)."""
    return _parse(xml).find("os/nvram") is not None


def pretty_xml(xml: str | None) -> str:
    if not xml:
        return ""
    return etree.tostring(_parse(xml), pretty_print=True, encoding="unicode")


def diff_xml(before: str | None, after: str) -> dict[str, str]:
    """before/after for Ansible's --diff, both pretty-printed the same way."""
    return {"before": pretty_xml(before), "after": pretty_xml(after)}
