# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every nimbus.compute action plugin shares.

The action plugins run on the controller: they own the store transitions
around a step (DESIGN.md), validate arguments against the same spec as the
module, and turn a NimbusError into one clear failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import option_rules
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import reports_from_facts
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import (
    error_from_result,
    unreachable_error,
)
from ansible_collections.nimbus.compute.plugins.module_utils.compute.task_store import store_for
from ansible_collections.nimbus.compute.plugins.module_utils.objects.config_drive import files_as_list
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow

CONTROLLER_ONLY = frozenset({"store_path", "store_url", "store_password", "notifications_path"})


def plain(data: Any) -> Any:
    """Task arguments as plain JSON types, safe to store and to compare."""
    return json.loads(json.dumps(data))


class NimbusAction(ActionBase):
    """Base class: subclasses set ARGUMENT_SPEC and implement ``run_step``."""

    ARGUMENT_SPEC: ClassVar[dict[str, Any]] = {}
    REQUIRED_IF: ClassVar[list] = []
    MUTUALLY_EXCLUSIVE: ClassVar[list] = []
    REQUIRED_ONE_OF: ClassVar[list] = []
    TRANSFERS_FILES = False
    # A build step on a host that cannot be reached fails (its rescue rolls
    # back and reschedules); host_facts keeps it unreachable, reported down.
    UNREACHABLE_FAILS = True

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args, refusal = option_rules.validate_arguments(
            self._load_name.rpartition(".")[2],
            self.ARGUMENT_SPEC,
            dict(self._task.args),
            required_if=self.REQUIRED_IF,
            mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
            required_one_of=self.REQUIRED_ONE_OF,
        )
        if refusal:
            # Fails in check mode too, as Ansible's own validation does.
            raise AnsibleActionFail(refusal, obj=self._task.args)
        try:
            # Before run_step: a bad option fails here, before any transition in the store.
            option_rules.check_options(self.ARGUMENT_SPEC, args)
            result.update(self.run_step(plain(args), task_vars or {}))
        except exceptions.NimbusError as error:
            result.update(failed=True, msg=error.message, fault=error.to_fault(self.host_name(task_vars)))
        return result

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @staticmethod
    def store(args: dict[str, Any]):
        return store_for(args)

    def host_name(self, task_vars: dict[str, Any] | None) -> str | None:
        """The host the module runs on: the delegated one when delegating."""
        if self._task.delegate_to:
            return str(self._task.delegate_to)
        return (task_vars or {}).get("inventory_hostname")

    def execute(self, module: str, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Run the module on its host; its failure becomes a NimbusError."""
        try:
            result = self._execute_module(
                module_name=f"nimbus.compute.{module}", module_args=self.host_args(args), task_vars=task_vars
            )
        except AnsibleConnectionFailure as error:
            if not self.UNREACHABLE_FAILS:
                raise
            raise unreachable_error(module, self.host_name(task_vars), str(error)) from error
        if result.get("failed"):
            raise error_from_result(module, result)
        return result

    @staticmethod
    def host_args(args: dict[str, Any]) -> dict[str, Any]:
        """A module's arguments as its host gets them: the store and the notifications file are the controller's,
        and injected files given as a mapping of path to text go as the module's list."""
        sent = {key: value for key, value in args.items() if key not in CONTROLLER_ONLY and value is not None}
        if "files" in sent:
            sent["files"] = files_as_list(sent["files"])
        return sent

    @staticmethod
    def now() -> str:
        return utcnow()


class ControllerAction(NimbusAction):
    """A step whose state is the store's alone: it runs in this process, on no host."""

    _requires_connection = False
    # The module's body in module_utils/compute/controller.py: (params, check_mode) -> result.
    BODY: ClassVar[Callable[[dict[str, Any], bool], dict[str, Any]]]

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        return type(self).BODY(args, self.check_mode)


class SchedulingAction(ControllerAction):
    """A controller step that schedules (host_select, reschedule) on the compute hosts' reports.

    With ``compute_hosts`` it reads them from the store, where this run's
    host_facts wrote them. Check mode writes nothing, host_facts' reports
    included, so there the reports are this run's host_facts results as the
    play holds them (host_cache.reports_from_facts).
    """

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if self.check_mode and args.get("compute_hosts") is not None:
            hostvars = task_vars.get("hostvars") or {}
            facts = {host: plain((hostvars.get(host) or {}).get("nimbus_host")) for host in args["compute_hosts"]}
            args = {**args, "hosts": reports_from_facts(facts), "compute_hosts": None}
        return super().run_step(args, task_vars)
