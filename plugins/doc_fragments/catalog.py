# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  flavors:
    description:
      - The flavors a request may name, each with its C(name), usually the inventory variable C(nimbus_flavors).
      - A mapping of names to flavors, as the inventory writes it (C(m1.tiny) with its fields), is taken as this
        list, each key its entry's C(name).
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
    suboptions:
      name:
        description: The flavor's name, as a request's C(flavor) gives it; unique in the list.
        type: str
        required: true
      vcpus:
        description: Virtual CPUs, at least 1.
        type: int
        required: true
      memory_mb:
        description: Memory in MB, at least 64.
        type: int
        required: true
      root_gb:
        description: Size of the root disk in GB, at least 1.
        type: int
        required: true
      ephemeral_gb:
        description: Size of the ephemeral disk in GB; V(0) for none.
        type: int
        default: 0
      swap_mb:
        description: Size of the swap disk in MB; V(0) for none.
        type: int
        default: 0
      extra_specs:
        description:
          - Nova's flavor extra specs, a free-form mapping of the operator's own keys to strings (for example
            C(hw:cpu_policy)), so it lists no fixed fields.
        type: dict
        default: {}
  images:
    description:
      - The images a request may name, each with its C(name), usually the inventory variable C(nimbus_images).
      - A mapping of names to images, as the inventory writes it, is taken as this list, each key its entry's
        C(name).
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
    suboptions:
      name:
        description: The image's name, as a request's C(image) gives it; unique in the list.
        type: str
        required: true
      source:
        description: A path on the compute host or an http(s) URL; a URL's user and password are not recorded.
        type: str
        required: true
      sha256:
        description: The image's SHA-256, 64 hexadecimal digits; a download that does not match is refused.
        type: str
      disk_format:
        description: The image's format.
        type: str
        default: qcow2
        choices: [qcow2, raw]
      min_disk:
        description: The smallest root disk in GB the image boots from (Glance's C(min_disk)).
        type: int
        default: 0
      properties:
        description:
          - Glance's image properties, a free-form mapping of the operator's own keys (for example
            C(img_config_drive)), so it lists no fixed fields.
        type: dict
        default: {}
"""
