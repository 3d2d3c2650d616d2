# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  notifications_path:
    description:
      - Path of a file on the controller to which the store transitions of this step append Nova's versioned
        notifications, one JSON object per line, for example the inventory variable C(nimbus_notifications_path).
      - The event types are C(instance.create.start) (scheduling begins), C(instance.create.end) (the instance is
        active), C(instance.create.error) (the build ended in error, with the fault), C(instance.delete.start) and
        C(instance.delete.end).
      - Each line has C(message_id), C(publisher_id), C(event_type), C(priority), C(timestamp) and C(payload), a
        Nova payload object whose C(nova_object.data) holds the instance's uuid, display_name, host, flavor,
        image, states, ip_addresses, block_devices and fault; user data, admin password and injected files never
        appear.
      - The file is created with mode C(0600) and appended to under an exclusive file lock, so runs at once never
        interleave lines.
      - Without it no notification is written. It takes effect only together with O(store_path).
    type: path
    version_added: 0.2.0
"""
