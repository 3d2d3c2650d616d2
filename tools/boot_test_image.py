#!/usr/bin/env python
"""Boot the nimbus tiny test image under QEMU (TCG) and read its report line.

Builds an OpenStack config drive (ISO 9660, label config-2, Rock Ridge and
Joliet names) with openstack/latest/meta_data.json and network_data.json,
puts a qcow2 overlay with a larger virtual size on the image, boots it with
qemu-system-x86_64 directly (no libvirt) on a restricted user-mode network in
198.18.0.0/15, waits for

    NIMBUS-GUEST uuid=<uuid> hostname=<hostname> ip=<addr> disks=<dev:bytes,...>

on the serial console, kills QEMU (by pid) and prints the line as JSON.

    .venv/bin/python tools/boot_test_image.py --network static --ip 198.18.2.50 \
        --expect ip=198.18.2.50 --expect disks~vda:1073741824

Exit status: 0 line seen (and every --expect holds), 1 an expectation failed,
2 no report line before the timeout (or QEMU died), 3 bad usage or setup.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = REPO / "build" / "images" / "nimbus-tiny.qcow2"
REPORT_RE = re.compile(r"NIMBUS-GUEST uuid=(\S+) hostname=(\S+) ip=(\S+) disks=(\S+)")
SLIRP_NET = "198.18.2.0/24"  # QEMU user networking: gateway .2, DNS .3, DHCP from .15
MAC = "fa:16:3e:00:00:01"


def meta_data(instance_uuid: str, hostname: str) -> dict:
    """Nova's meta_data.json, trimmed to what a guest reads."""
    return {
        "uuid": instance_uuid,
        "name": hostname,
        "hostname": hostname,
        "launch_index": 0,
        "availability_zone": "nova",
        "meta": {},
        "public_keys": {},
        "keys": [],
        "project_id": "nimbus",
        "devices": [],
    }


def network_data(mode: str, address: str) -> dict:
    """Nova's network_data.json for one port; mode 'static' or 'dhcp'."""
    link = "tap0a1b2c3d-4e"
    net: dict = {"id": "network0", "link": link, "network_id": "5e0c6a0e-0000-4000-8000-000000000001"}
    if mode == "static":
        net.update(
            type="ipv4",
            ip_address=address,
            netmask="255.255.255.0",
            routes=[{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.18.2.2"}],
        )
    else:
        net.update(type="ipv4_dhcp")
    return {
        "links": [{"id": link, "vif_id": "0a1b2c3d-4e", "type": "phy", "ethernet_mac_address": MAC, "mtu": 1500}],
        "networks": [net],
        "services": [{"type": "dns", "address": "198.18.2.3"}],
    }


def build_config_drive(path: Path, files: dict[str, bytes]) -> None:
    """Write an ISO 9660 config drive like Nova's (label config-2)."""
    import pycdlib  # noqa: PLC0415 - only this function needs it

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident="config-2")
    made: set[str] = set()
    for name, data in sorted(files.items()):
        parts = name.split("/")
        for depth in range(1, len(parts)):
            sub = "/".join(parts[:depth])
            if sub not in made:
                iso.add_directory("/" + sub.upper().replace("-", "_"), rr_name=parts[depth - 1], joliet_path="/" + sub)
                made.add(sub)
        iso_name = "/" + "/".join(parts[:-1]).upper().replace("-", "_") + "/"
        iso_name += parts[-1].upper().replace("-", "_") + ";1"
        iso.add_fp(io.BytesIO(data), len(data), iso_name.replace("//", "/"), rr_name=parts[-1], joliet_path="/" + name)
    iso.write(str(path))
    iso.close()


def qemu_command(args: argparse.Namespace, work: Path) -> list[str]:
    """Config drive, overlay and the QEMU command line that boots them."""
    files = {
        "openstack/latest/meta_data.json": json.dumps(meta_data(args.uuid, args.hostname)).encode(),
    }
    if args.network != "none":
        files["openstack/latest/network_data.json"] = json.dumps(network_data(args.network, args.ip)).encode()
    iso = work / "config.iso"
    build_config_drive(iso, files)

    overlay = work / "disk.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(args.image), str(overlay), args.disk_size],
        check=True,
    )
    cmd = [
        "qemu-system-x86_64", "-machine", f"{args.machine},accel=tcg", "-m", "256", "-smp", "1",
        "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{work / 'console.log'}", "-qmp", f"unix:{work / 'qmp.sock'},server=on,wait=off",
        "-drive", f"file={overlay},if=virtio,format=qcow2",
        "-netdev", f"user,id=n0,restrict=on,net={SLIRP_NET}",
        "-device", f"virtio-net-pci,netdev=n0,mac={MAC}",
    ]  # fmt: skip
    if args.config_bus == "ide":  # where Nova/libvirt put it: hdd, IDE bus 1 unit 1 (SATA on q35)
        cmd += ["-drive", f"file={iso},if=ide,index=3,media=cdrom,format=raw,readonly=on"]
    elif args.config_bus == "virtio":
        cmd += ["-drive", f"file={iso},if=virtio,format=raw,readonly=on"]
    elif args.config_bus == "scsi":  # hw_scsi_model=virtio-scsi: a cdrom on a virtio-scsi controller
        cmd += ["-device", "virtio-scsi-pci,id=scsi0",
                "-drive", f"file={iso},if=none,id=cd0,media=cdrom,format=raw,readonly=on",
                "-device", "scsi-cd,drive=cd0,bus=scsi0.0"]  # fmt: skip
    return cmd


def wait_for_line(proc: subprocess.Popen, log: Path, timeout: float) -> re.Match | None:
    """Poll the serial log until the report line shows, QEMU exits or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        time.sleep(0.2)
        found = REPORT_RE.search(log.read_text(errors="replace")) if log.exists() else None
        if found or proc.poll() is not None:
            return found
    return None


def stop(proc: subprocess.Popen) -> str:
    """Terminate QEMU (by its pid) if it still runs; return its stderr."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""


def boot(args: argparse.Namespace, work: Path) -> tuple[re.Match | None, float, float | None, str]:
    """Boot once: (report line match, seconds to it, seconds to power off, console text)."""
    cmd = qemu_command(args, work)
    log = work / "console.log"
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    powerdown = None
    try:
        found = wait_for_line(proc, log, args.timeout)
        elapsed = time.monotonic() - start
        if found and args.powerdown:
            # The ACPI power button, as `virsh shutdown` presses it: the guest must power off.
            pressed = time.monotonic()
            qmp(work / "qmp.sock", "system_powerdown")
            try:
                proc.wait(timeout=args.powerdown)
                powerdown = time.monotonic() - pressed
            except subprocess.TimeoutExpired:
                pass
    finally:
        err = stop(proc)
    text = log.read_text(errors="replace") if log.exists() else ""
    if found is None and err.strip():
        text += "\n[qemu stderr]\n" + err
    return found, elapsed, powerdown, text


def qmp(sock_path: Path, command: str) -> dict:
    """Run one QMP command on QEMU's monitor socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(sock_path))
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply


def check(report: dict, expects: list[str]) -> list[str]:
    """'key=value' must be equal, 'key~text' must contain text."""
    failures = []
    for exp in expects:
        m = re.match(r"^(\w+)([=~])(.*)$", exp)
        if not m:
            failures.append(f"bad --expect {exp!r}")
            continue
        key, op, want = m.groups()
        got = report.get(key)
        ok = got == want if op == "=" else (got is not None and want in got)
        if not ok:
            failures.append(f"{key}: expected {'' if op == '=' else 'to contain '}{want!r}, got {got!r}")
    return failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    p.add_argument("--uuid", default=str(uuidlib.uuid4()))
    p.add_argument("--hostname", default="nimbus-test-0")
    p.add_argument(
        "--network",
        choices=["static", "dhcp", "none"],
        default="static",
        help="network_data.json: static address, ipv4_dhcp, or no file at all (guest uses DHCP)",
    )
    p.add_argument("--ip", default="198.18.2.50", help=f"static address (inside {SLIRP_NET})")
    p.add_argument("--machine", default="pc", help="QEMU machine type (pc: IDE cdrom, q35: SATA cdrom)")
    p.add_argument("--config-bus", choices=["ide", "virtio", "scsi", "none"], default="ide")
    p.add_argument("--disk-size", default="1G", help="virtual size of the overlay")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="KEY=VALUE|KEY~TEXT",
        help="uuid, hostname, ip or disks; repeatable",
    )
    p.add_argument(
        "--powerdown",
        type=float,
        metavar="SECONDS",
        help="after the report line press the ACPI power button and require QEMU to exit within SECONDS",
    )
    p.add_argument("--keep", type=Path, help="copy the console log here")
    args = p.parse_args()

    args.image = args.image.resolve()
    if not args.image.is_file():
        print(f"boot_test_image: no image {args.image} (run tools/build_test_image.sh)", file=sys.stderr)
        return 3
    for tool in ("qemu-img", "qemu-system-x86_64"):
        if shutil.which(tool) is None:
            print(f"boot_test_image: {tool} not found (apt-get install qemu-system-x86 qemu-utils)", file=sys.stderr)
            return 3

    scratch = REPO / "build"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="image-check.", dir=scratch) as tmp:
        found, elapsed, powerdown, console = boot(args, Path(tmp))
        if args.keep:
            args.keep.write_text(console)
    if found is None:
        tail = console[-4000:]
        print(f"boot_test_image: no NIMBUS-GUEST line after {elapsed:.1f} s; console:\n{tail}", file=sys.stderr)
        return 2
    report = dict(zip(("uuid", "hostname", "ip", "disks"), found.groups(), strict=True))
    report.update(line=found.group(0), seconds=round(elapsed, 1))
    if args.powerdown:
        report["powerdown_seconds"] = None if powerdown is None else round(powerdown, 1)
    print(json.dumps(report))
    failures = check(report, args.expect)
    if args.powerdown and powerdown is None:
        failures.append(f"guest did not power off within {args.powerdown} s of the ACPI power button")
    for f in failures:
        print(f"boot_test_image: FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
