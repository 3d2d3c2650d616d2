# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes in a libvirt storage pool: what Cinder gives Nova, made by hand.

A mapping with ``destination_type: volume`` lives in a storage pool (a
``dir`` pool by default) rather than in the instance directory, so it can
outlive the instance. Volumes are qcow2; one made from an image gets the
image's content written into it (``qemu-img convert -n``).
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import Conflict, NotFound
from ansible_collections.nimbus.compute.plugins.module_utils.virt import imagecache
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, lookup_or_none, virt_error
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree

DEFAULT_POOL = "nimbus-volumes"
POOL_DIR = "_volumes"
VOLUME_FORMAT = "qcow2"


class VolumeNotFound(NotFound):
    """An existing volume was asked for by name and the pool has none of that name."""


def default_pool_path(instances_path: str) -> str:
    return os.path.join(os.path.abspath(instances_path), POOL_DIR)


def created_volume_name(instance_uuid: str, bdm_index: int) -> str:
    """The name of a volume this instance's mapping creates (Cinder would give it an id)."""
    return f"volume-{instance_uuid}-{bdm_index}"


def pool_xml(name: str, path: str) -> str:
    pool = etree.Element("pool", type="dir")
    etree.SubElement(pool, "name").text = name
    target = etree.SubElement(pool, "target")
    etree.SubElement(target, "path").text = path
    return etree.tostring(pool, encoding="unicode")


def volume_xml(name: str, size_bytes: int, fmt: str = VOLUME_FORMAT) -> str:
    volume = etree.Element("volume")
    etree.SubElement(volume, "name").text = name
    etree.SubElement(volume, "capacity", unit="bytes").text = str(size_bytes)
    # Sparse: allocation 0, the pool's filesystem fills in what is written.
    etree.SubElement(volume, "allocation", unit="bytes").text = "0"
    target = etree.SubElement(volume, "target")
    etree.SubElement(target, "format", type=fmt)
    return etree.tostring(volume, encoding="unicode")


def _run(action: str, call: Any) -> Any:
    try:
        return call()
    except libvirt.libvirtError as exc:
        raise virt_error(exc, action) from exc


def lookup_pool(conn: Any, name: str) -> Any | None:
    return lookup_or_none(
        lambda: conn.storagePoolLookupByName(name), libvirt.VIR_ERR_NO_STORAGE_POOL, f"look up pool {name}"
    )


def ensure_pool(conn: Any, name: str, path: str) -> Any:
    """The running storage pool ``name``; a dir pool at ``path`` is defined, built and started if missing."""
    pool = lookup_pool(conn, name)
    if pool is None:
        os.makedirs(path, mode=0o711, exist_ok=True)
        pool = _run(f"define pool {name}", lambda: conn.storagePoolDefineXML(pool_xml(name, path), 0))
        _run(f"autostart pool {name}", lambda: pool.setAutostart(1))
    if not pool.isActive():
        _run(f"start pool {name}", lambda: pool.create(0))
    _run(f"refresh pool {name}", lambda: pool.refresh(0))
    return pool


def lookup_volume(pool: Any, name: str) -> Any | None:
    return lookup_or_none(
        lambda: pool.storageVolLookupByName(name), libvirt.VIR_ERR_NO_STORAGE_VOL, f"look up volume {name}"
    )


def volume_info(volume: Any) -> dict[str, Any]:
    """{name, path, size_bytes} of a pool volume."""
    _kind, capacity, _allocation = _run("read volume info", volume.info)
    return {"name": volume.name(), "path": volume.path(), "size_bytes": capacity}


def existing_volume(pool: Any, name: str) -> dict[str, Any]:
    """An existing volume to attach; VolumeNotFound names it and the pool."""
    volume = lookup_volume(pool, name)
    if volume is None:
        raise VolumeNotFound(f"volume {name} does not exist in storage pool {pool.name()}", volume=name)
    return volume_info(volume)


def create_volume(pool: Any, name: str, size_bytes: int, image_path: str | None = None) -> dict[str, Any]:
    """A new qcow2 volume, blank or holding the image at ``image_path``; refuses a name in use."""
    if lookup_volume(pool, name) is not None:
        raise Conflict(f"volume {name} already exists in storage pool {pool.name()}", volume=name)
    volume = _run(f"create volume {name}", lambda: pool.createXML(volume_xml(name, size_bytes), 0))
    if image_path is not None:
        try:
            source_format = imagecache.image_info(image_path)["format"]
            imagecache.run_qemu_img(
                ["qemu-img", "convert", "-q", "-n", "-f", source_format, "-O", VOLUME_FORMAT, image_path, volume.path()]
            )
        except BaseException:
            _run(f"delete volume {name}", lambda: volume.delete(0))
            raise
    return volume_info(volume)


def delete_volume(pool: Any, name: str) -> bool:
    """Delete the volume; False if it was not there."""
    volume = lookup_volume(pool, name)
    if volume is None:
        return False
    _run(f"delete volume {name}", lambda: volume.delete(0))
    return True
