# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI on the compute host, for example C(qemu:///system).
      - Must be C(driver[+transport]://[host]/path), optionally with C(?query), where C(driver) is C(qemu) (or
        C(test), libvirt's mock driver) and C(transport) one of C(unix), C(ssh), C(libssh), C(libssh2), C(tcp),
        C(tls), C(ext); anything else is refused before the module changes anything.
    type: str
    default: qemu:///system
requirements:
  - libvirt-python
"""
