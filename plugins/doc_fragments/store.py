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
      - Not used when O(store_url) is given or C(NIMBUS_STORE_URL) is set in the controller's environment.
    type: path
  store_url:
    description:
      - The PostgreSQL store shared by every controller and AWX job, as C(postgresql://user@host:port/dbname), for
        example the inventory variable C(nimbus_store_url).
      - When not given, the environment variable C(NIMBUS_STORE_URL) of the controller is used; either one takes
        precedence over O(store_path).
      - The password comes from libpq's own sources (C(PGPASSWORD), C(~/.pgpass), a service file) or O(store_password);
        messages show the URL without it. The user may also come from C(PGUSER).
      - An empty database gets the store's schema (C(nimbus)) on first use; a database of another schema version is
        refused until M(nimbus.compute.store_migrate) upgrades it.
      - Needs the Python package C(psycopg) (version 3) on the controller.
    type: str
  store_password:
    description:
      - The password for O(store_url), when libpq's own sources do not give it. Never logged or returned.
    type: str
"""
