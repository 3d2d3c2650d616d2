# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compute driver: the body of the ``libvirt_domain`` module (Nova's LibvirtDriver.spawn/destroy).

``spawn`` plugs the VIFs (DHCP reservations), defines the firewall's filters
of its ports (virt/firewall.py: Nova's setup_basic_filtering and
prepare_instance_filter; libvirt applies them as the domain starts), defines
the domain from the spec and starts it, then waits until libvirt reports it running. A domain
that exists is recognised by the spec digest in its metadata: same digest →
nothing to define; another digest → redefined, but only while shut off.

A domain is nimbus's for an instance when its metadata carries the nimbus
instance element with that instance's uuid (written since the first domain
nimbus defined). Any other domain of the instance's uuid or name is never
redefined, destroyed or undefined: spawn and destroy fail naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    Conflict,
    InstanceNotFound,
    NimbusError,
    VirtError,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects.states import (
    LIBVIRT_POWER_STATE,
    NOSTATE,
    PAUSED,
    POWER_STATE_NAMES,
    RUNNING,
)
from ansible_collections.nimbus.compute.plugins.module_utils.virt import domain_xml, firewall, power, vif
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, lookup_or_none, virt_error

DEFINE = "define"
START = "start"
RESUME = "resume"


class InstanceInvalidState(Conflict):
    """The domain is in a state that does not allow the change (Nova's InstanceInvalidState)."""


class DomainNotOwned(Conflict):
    """A domain has the instance's uuid but nimbus did not define it for this instance: it is never touched.

    Not reschedulable: a domain with the instance's own uuid is most likely this
    instance's, redefined by hand without nimbus's metadata, and a build on
    another host would run a second guest of the same instance.
    """


class DomainNameInUse(Conflict):
    """Another domain (another uuid) has the instance's name on this host, so libvirt would refuse to define it.

    Reschedulable, as libvirt's own "domain already exists" is in Nova's spawn:
    a name is unique on one host only, and another host may not have it.
    """

    reschedulable = True


def lookup_domain(conn: Any, uuid: str) -> Any | None:
    """The domain with this UUID, None if there is none."""
    return lookup_or_none(lambda: conn.lookupByUUIDString(uuid), libvirt.VIR_ERR_NO_DOMAIN, f"look up domain {uuid}")


def lookup_domain_by_name(conn: Any, name: str) -> Any | None:
    """The domain with this name, None if there is none."""
    return lookup_or_none(lambda: conn.lookupByName(name), libvirt.VIR_ERR_NO_DOMAIN, f"look up domain {name}")


def defined_for(xml: str, uuid: str) -> bool:
    """Whether nimbus defined the domain of this XML for the instance ``uuid``."""
    return domain_xml.recorded_instance_uuid(xml) == uuid.lower()


def _definer(xml: str) -> str:
    owner = domain_xml.recorded_instance_uuid(xml)
    return "nimbus did not define it" if owner is None else f"nimbus defined it for another instance ({owner})"


def _domain_xml_of(domain: Any) -> str:
    return _run(f"read domain {domain.UUIDString()}", lambda: domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def _refusal(error: type[Conflict], domain: Any, xml: str, uuid: str, holds: str, consequence: str) -> Conflict:
    """``error`` naming a domain that is not nimbus's for instance ``uuid`` but ``holds`` its uuid or name."""
    name = domain.name()
    return error(
        f"domain {name} ({domain.UUIDString()}) on this host has the {holds} of instance {uuid}, but {_definer(xml)}: "
        f"nimbus never redefines, destroys or undefines it; {consequence}",
        domain_name=name,
        domain_uuid=domain.UUIDString(),
        instance_uuid=uuid,
    )


def check_name_free(conn: Any, name: str, uuid: str) -> None:
    """DomainNameInUse when a domain other than the instance's (``uuid``) holds ``name`` on this host."""
    other = lookup_domain_by_name(conn, name)
    if other is None or other.UUIDString().lower() == uuid.lower():
        return
    raise _refusal(
        DomainNameInUse,
        other,
        _domain_xml_of(other),
        uuid,
        "name",
        "the instance cannot be defined under that name here, and may be on another host",
    )


def _domain_power_state(domain: Any) -> int:
    try:
        return LIBVIRT_POWER_STATE.get(domain.state()[0], NOSTATE)
    except libvirt.libvirtError as exc:
        raise virt_error(exc, f"read the state of domain {domain.UUIDString()}") from exc


def power_state(conn: Any, uuid: str) -> int:
    """Nova's power_state of the instance's domain; InstanceNotFound if there is none."""
    domain = lookup_domain(conn, uuid)
    if domain is None:
        raise InstanceNotFound(uuid)
    return _domain_power_state(domain)


def spawn_actions(exists: bool, same_definition: bool, active: bool, state: int) -> list[str]:
    """What spawn must do to the domain, in order: DEFINE, START, RESUME (pure, truth-tabled)."""
    if not exists:
        return [DEFINE, START]
    if not same_definition:
        if active:
            raise InstanceInvalidState(
                "the domain runs with another definition; stop it before it can be redefined",
                power_state=POWER_STATE_NAMES.get(state, state),
            )
        return [DEFINE, START]
    if not active:
        return [START]
    if state == PAUSED:
        return [RESUME]
    return []


def undefine_flags(xml: str) -> int:
    """Flags that let undefine succeed whatever the domain carries (NVRAM only when it has one)."""
    flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    if domain_xml.has_nvram(xml):
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    return flags


def _run(action: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except libvirt.libvirtError as exc:
        raise virt_error(exc, action) from exc


def _macs_by_network(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for network, mac in pairs:
        grouped.setdefault(network, []).append(mac)
    return grouped


def _rollback(
    conn: Any,
    uuid: str,
    previous_xml: str | None,
    defined: bool,
    plugged: list[tuple[str, str]],
    filters: list[str],
) -> list[str]:
    """Undo what spawn did; the errors of the undo, as messages (the original error is what counts).

    Only a domain nimbus defined for the instance is undone: spawn refuses any
    other before it defines anything, and one that took the uuid since is left alone.
    """
    errors: list[str] = []
    if defined:
        try:
            domain = lookup_domain(conn, uuid)
            if domain is not None and not defined_for(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), uuid):
                errors.append(
                    f"undo domain {uuid}: domain {domain.name()} is not nimbus's for the instance; left alone"
                )
            elif domain is not None:
                if domain.isActive():
                    domain.destroy()
                if previous_xml is None:
                    domain.undefineFlags(undefine_flags(domain.XMLDesc(0)))
                else:
                    conn.defineXML(previous_xml)
        except (libvirt.libvirtError, NimbusError) as exc:
            errors.append(f"undo domain {uuid}: {exc}")
    if plugged:
        try:
            vif.unplug_vifs(conn, _macs_by_network(plugged), check_mode=False)
        except (libvirt.libvirtError, NimbusError) as exc:
            errors.append(f"undo DHCP entries: {exc}")
    if filters:
        try:
            firewall.undefine_filters(conn, filters, check_mode=False)
        except NimbusError as exc:
            errors.append(f"undo network filters: {exc}")
    return errors


def spawn(
    conn: Any,
    spec: dict[str, Any],
    network_info: list[dict[str, Any]],
    hostname: str,
    check_mode: bool,
    timeout: float = 60,
    reserved: Iterable[tuple[str, str]] | None = None,
    filters: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Make the instance's domain defined as ``spec`` says and running: {changed, power_state, domain_xml, diff}.

    ``reserved``: when the caller already made the DHCP reservations of
    ``network_info`` (vif.plug_vif_entries), the (network, MAC) entries that
    added, undone with the rest when the spawn fails; None: spawn makes them.
    ``filters``: the (name, XML) network filters its interfaces reference
    (steps.port_filters), defined before the domain, or redefined when their
    rules changed (a running guest gets them at once); the port filters this
    spawn created go when it fails.
    """
    xml = domain_xml.build_domain_xml(spec)
    uuid = domain_xml.canonical_spec(spec)["uuid"]
    plugged: list[tuple[str, str]] = list(reserved or [])
    defined = False
    before = None
    filters_changed: list[str] = []
    filters_created: list[str] = []
    try:
        domain = lookup_domain(conn, uuid)
        before = _domain_xml_of(domain) if domain else None
        if before is not None and not defined_for(before, uuid):
            raise _refusal(
                DomainNotOwned,
                domain,
                before,
                uuid,
                "uuid",
                "the build stops here, and not for another host, where it would be a second guest",
            )
        check_name_free(conn, spec["name"], uuid)
        same = before is not None and domain_xml.recorded_spec_digest(before) == domain_xml.domain_spec_digest(spec)
        state = _domain_power_state(domain) if domain else NOSTATE
        actions = spawn_actions(domain is not None, same, bool(domain and domain.isActive()), state)
        if reserved is None:
            plugged += vif.plug_vif_entries(conn, network_info, hostname, check_mode)
        filters_changed, filters_created = firewall.define_filters(conn, filters, check_mode)
        if not check_mode:
            if DEFINE in actions:
                domain = _run(f"define domain {spec['name']}", lambda: conn.defineXML(xml))
                defined = True
            if START in actions:
                _run(f"start domain {spec['name']}", domain.create)
            if RESUME in actions:
                _run(f"resume domain {spec['name']}", domain.resume)
            if not power.wait_for(lambda: _domain_power_state(domain) == RUNNING, timeout):
                raise VirtError(
                    f"domain {spec['name']} did not reach running within {timeout} s",
                    power_state=_domain_power_state(domain),
                )
            state = _domain_power_state(domain)
    except BaseException as exc:
        # A port filter is the domain's: it goes with a domain this spawn defined, not from one that was there.
        created = filters_created if not check_mode and before is None else []
        errors = _rollback(conn, uuid, before, defined, plugged, created)
        if errors and isinstance(exc, NimbusError):
            exc.details["cleanup_errors"] = errors
        raise
    return {
        "changed": bool(actions or plugged or filters_changed),
        "power_state": state,
        "domain_xml": xml,
        # Same digest: libvirt's normalised XML would only show noise, not a change.
        "diff": {"before": xml, "after": xml} if same else domain_xml.diff_xml(before, xml),
    }


def _record_leftovers(network_info: list[dict[str, Any]]) -> tuple[dict[str, list[str]], list[str]]:
    """What the instance's ports may have on the host, by its record: DHCP entries (MACs by libvirt network) and
    port filters (names)."""
    macs = {name: [entry["mac"] for entry in entries] for name, entries in vif.wanted_hosts(network_info, "").items()}
    return macs, [firewall.port_filter_name(port["id"]) for port in network_info]


def destroy(conn: Any, uuid: str, check_mode: bool, network_info: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Stop and undefine the instance's domain, drop its DHCP entries and undefine its ports' filters:
    {changed, diff}.

    ``network_info``: the instance's ports, as its record has them; their DHCP entries and filters go with those
    the domain names - also when there is no domain (a spawn that stopped before it, or a domain undefined by
    hand), as they are the instance's (its MACs and port ids are unique in the store).

    A domain of the uuid that nimbus did not define for the instance fails the
    delete (DomainNotOwned) rather than letting it report the domain gone while
    a guest with the instance's uuid still runs: it is most likely the instance,
    redefined by hand, and a person must decide.
    """
    record_macs, record_filters = _record_leftovers(network_info or [])
    domain = lookup_domain(conn, uuid)
    if domain is None:
        unplugged = vif.unplug_vifs(conn, record_macs, check_mode)
        gone = firewall.undefine_filters(conn, record_filters, check_mode)
        return {"changed": unplugged or bool(gone), "diff": {"before": "", "after": ""}}
    xml = _run(f"read domain {uuid}", lambda: domain.XMLDesc(0))
    if not defined_for(xml, uuid):
        raise _refusal(
            DomainNotOwned,
            domain,
            xml,
            uuid,
            "uuid",
            "the delete stops here with nothing removed; undefine that domain yourself if it is the instance's, "
            "then delete again",
        )
    if not check_mode:
        if domain.isActive():
            _run(f"destroy domain {uuid}", domain.destroy)
        if domain.isPersistent():
            _run(f"undefine domain {uuid}", lambda: domain.undefineFlags(undefine_flags(xml)))
        macs = {name: list(found) for name, found in record_macs.items()}
        for mac, network in domain_xml.network_interfaces(xml):
            macs.setdefault(network, []).append(mac)
        vif.unplug_vifs(conn, macs, check_mode=False)
        filters = dict.fromkeys([*domain_xml.interface_filters(xml), *record_filters])
        firewall.undefine_filters(conn, filters, check_mode=False)
    return {"changed": True, "diff": domain_xml.diff_xml(xml, "")}


def refresh_instance_filters(conn: Any, uuid: str, filters: Iterable[tuple[str, str]], check_mode: bool) -> list[str]:
    """Redefine the filters the instance's domain references (Nova's refresh_instance_security_rules): the names
    changed. A running guest gets the new rules at once.

    Nothing is done for an instance whose domain is not on this host, or not nimbus's for it, or that references no
    filter (built without security groups): only filters its domain uses are ever redefined.
    """
    domain = lookup_domain(conn, uuid)
    if domain is None:
        return []
    xml = _domain_xml_of(domain)
    referenced = set(domain_xml.interface_filters(xml))
    if not defined_for(xml, uuid) or not referenced:
        return []
    bases = dict(firewall.base_filters())
    wanted = [(name, filter_xml) for name, filter_xml in filters if name in referenced or name in bases]
    return firewall.define_filters(conn, wanted, check_mode)[0]
