#!/usr/bin/env bash
# Boot the tiny test image for real (QEMU, TCG, no libvirt) and check its
# NIMBUS-GUEST report line against the config drive it was given.
#
# Usage: tests/image/check_boot.sh [IMAGE]   (default: build/images/nimbus-tiny.qcow2,
#                                             built first if missing or stale)
# Variants:
#   static  config drive on IDE (hdd, like Nova), network_data.json type ipv4
#           with 198.18.2.50 (not slirp's DHCP address, so a silent DHCP
#           fallback cannot pass), 1 GiB overlay -> vda:1073741824; then the
#           ACPI power button (virsh shutdown) must power the guest off
#   dhcp    config drive as a virtio disk (vdb), type ipv4_dhcp -> 198.18.2.15
#   nonet   q35 machine, config drive as a virtio-scsi cdrom (sr0), no
#           network_data.json: the guest falls back to DHCP on eth0; 2 GiB disk
# Exit status is non-zero if any variant has no report line or a wrong one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[[ -x "$python" ]] || { echo "check_boot: no $python (make venv?)" >&2; exit 3; }

if [[ $# -ge 1 ]]; then
    image=$1
else
    "$repo/tools/build_test_image.sh"
    image=$repo/build/images/nimbus-tiny.qcow2
fi

boot=("$python" "$repo/tools/boot_test_image.py" --image "$image" --timeout "${CHECK_BOOT_TIMEOUT:-120}")
one_gib=1073741824
failed=()

run() {  # run NAME ARGS... : boot one variant, print its line, record failure
    local name=$1; shift
    echo "check_boot: --- $name"
    if "${boot[@]}" "$@"; then
        echo "check_boot: ok   $name"
    else
        echo "check_boot: FAIL $name" >&2
        failed+=("$name")
    fi
}

run static --network static --ip 198.18.2.50 --config-bus ide --disk-size 1G \
    --uuid 5c3f1f0e-1111-4a2b-9c3d-000000000001 --hostname nimbus-static \
    --expect uuid=5c3f1f0e-1111-4a2b-9c3d-000000000001 --expect hostname=nimbus-static \
    --expect ip=198.18.2.50 --expect "disks~vda:$one_gib" --expect "disks~sr0:" --powerdown 30

run dhcp --network dhcp --config-bus virtio --disk-size 1G \
    --uuid 5c3f1f0e-2222-4a2b-9c3d-000000000002 --hostname nimbus-dhcp \
    --expect uuid=5c3f1f0e-2222-4a2b-9c3d-000000000002 --expect hostname=nimbus-dhcp \
    --expect ip=198.18.2.15 --expect "disks~vda:$one_gib,vdb:"

run nonet --network none --machine q35 --config-bus scsi --disk-size 2G \
    --uuid 5c3f1f0e-3333-4a2b-9c3d-000000000003 --hostname nimbus-nonet \
    --expect uuid=5c3f1f0e-3333-4a2b-9c3d-000000000003 --expect hostname=nimbus-nonet \
    --expect ip=198.18.2.15 --expect "disks~sr0:" --expect "disks~,vda:$((2 * one_gib))"

if ((${#failed[@]})); then
    echo "check_boot: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "check_boot: all variants passed"
