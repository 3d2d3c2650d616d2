# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""store_migrate runs in-process on the controller: it talks to the PostgreSQL store, no host is involved."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, store_migrate
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = argspecs.STORE_MIGRATE
    BODY = store_migrate.store_migrate
