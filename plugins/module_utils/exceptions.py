# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of nimbus.compute, in Nova's vocabulary.

Every error a user can cause or meet is a NimbusError: modules turn it into
``fail_json(msg=..., fault=...)`` in one place, and the build flow records
``to_fault()`` on the instance.
"""

from __future__ import annotations

from typing import Any

# How much of a refused value a message quotes.
SHOWN_LEN = 80


def shown(value: Any, limit: int = SHOWN_LEN) -> str:
    """``repr(value)`` for a message, cut short when long: a refused 200 KB value must not fill the log."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters as written"
    return f"{text[:limit]}... ({size})"


class NimbusError(Exception):
    """Base of every expected failure; ``code`` follows Nova's fault codes."""

    code = 500
    # Whether another host could succeed where this one failed (Nova's
    # RescheduledException versus BuildAbortException).
    reschedulable = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_fault(self, host: str | None = None) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "host": host,
            # Carried through a module's failure so the controller can tell.
            "reschedulable": self.reschedulable,
        }


class InvalidInput(NimbusError):
    """A request field breaks a rule: the message names both."""

    code = 400

    def __init__(self, field: str, rule: str, **details: Any) -> None:
        super().__init__(f"{field}: {rule}", field=field, **details)
        self.field = field


class NotFound(NimbusError):
    code = 404


class InstanceNotFound(NotFound):
    def __init__(self, instance: str) -> None:
        super().__init__(f"instance {instance} not found", instance=instance)


class Conflict(NimbusError):
    code = 409


class UnexpectedTaskStateError(Conflict):
    """Compare-and-swap on task_state lost: somebody else changed the instance."""

    def __init__(self, instance_uuid: str, expected: Any, actual: Any) -> None:
        super().__init__(
            f"instance {instance_uuid}: expected task_state {expected!r}, found {actual!r}",
            instance_uuid=instance_uuid,
            expected=expected,
            actual=actual,
        )


class InstanceDeletedDuringBuild(Conflict):
    """A delete took the instance while a build step ran (Nova's UnexpectedDeletingTaskStateError).

    Not reschedulable: the build stops, removes what it made on its host and
    leaves the record, which the delete owns, alone.
    """

    def __init__(self, instance: dict[str, Any], step: str, host: str | None, cause: str | None = None) -> None:
        name, uuid = instance.get("name") or instance["uuid"], instance["uuid"]
        where = f" on {host}" if host else ""
        because = f" (the step itself reported: {cause})" if cause else ""
        super().__init__(
            f"Instance {name} ({uuid}) was deleted while it was being built: "
            f"the build stops in step {step}{where}{because}",
            instance_uuid=uuid,
            instance_name=name,
            step=step,
            host=host,
            deleted_during_build=True,
        )


class NoValidHost(NimbusError):
    """No host passed the filters; ``details['hosts']`` says why per host."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(f"No valid host was found. {message}".rstrip(), **details)


class FixedIpInvalid(InvalidInput):
    pass


class FixedIpAlreadyInUse(Conflict):
    pass


class NoMoreFixedIps(NimbusError):
    pass


class ImageError(NimbusError):
    """The image cannot be used anywhere (checksum, format, size): no reschedule."""

    code = 400


class VirtError(NimbusError):
    """The hypervisor failed; another host may do better."""

    reschedulable = True


class StoreError(NimbusError):
    """The state store cannot be read or written."""


class StoreRetry(StoreError):
    """Another writer changed what this transaction read (a host's claims, an address, a name); it was rolled
    back and is run again from the start (``store.base.retry_on_conflict``), as Nova's placement retries
    on a resource provider's generation conflict."""
