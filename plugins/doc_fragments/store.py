# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  store_path:
    description:
      - Path of the JSON state store on the controller, for example the inventory variable C(nimbus_store_path).
      - The controller reads and writes it under a file lock with atomic replacement; it is created with mode C(0600).
      - Compute hosts never read it; the module's action plugin records the step's transitions in it.
      - A file that is not a store (not JSON, not a JSON object, with C(NaN) or C(Infinity), nested too deeply to
        read, or not of schema 1) makes the module fail naming it; it is never taken as an empty store or replaced.
    type: path
"""
