#!/usr/bin/env bash
# Build nimbus-debian12.qcow2, a small Debian 12 (bookworm) cloud image with
# cloud-init, offline from Debian's packages alone.  It boots like Debian's
# own genericcloud qcow2 (BIOS, its own bootloader, no kernel/initrd image
# properties): an MBR disk whose partition 1 is a FAT file system with
# SYSLINUX, the image's own vmlinuz and initrd.img, and partition 2 the ext4
# root file system, found by UUID.  cloud-init's default user is `debian`;
# it reads a NoCloud seed (cidata) or a config drive (config-2), and
# growpart/resizefs grow partition 2 to the disk nimbus gives the instance.
#
# Usage: tools/build_cloud_image.sh [OUTDIR]     (default: build/images)
#
# Writes OUTDIR/nimbus-debian12.qcow2 (virtual size 1.5 GiB, fits a flavor
# with root_gb 2) and OUTDIR/nimbus-debian12.qcow2.sha256 (hex digest only).
# Does nothing if both are newer than this script and tools/cloud_image/*.
# Works in build/cloud-image-work (kept: debs/ caches the packages between
# builds, boot/ holds the boot partition's files to look at).  No disk image
# is mounted and no loop device is used: the root file system is made with
# `mkfs.ext4 -d`, the boot partition with mkfs.vfat/syslinux/mtools on a
# file, and both are written into the raw disk at their offsets.
# tools/cloud_image/ holds what goes into the image: 95_nimbus.cfg
# (/etc/cloud/cloud.cfg.d), initramfs.conf (/etc/initramfs-tools/conf.d),
# and the fstab and syslinux.cfg templates (@ROOT@: the root's UUID=...).
#
# Needs root (mmdebstrap installs the packages into a directory as root) and
# apt's package lists for bookworm (the mirror apt already uses here is the
# one the image is built from and keeps in its sources.list).
# Tools: mmdebstrap, sfdisk (fdisk), mkfs.ext4/e2fsck (e2fsprogs), mkfs.vfat
# (dosfstools), syslinux (+ syslinux-common's mbr.bin), mtools, qemu-img.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # sfdisk, mkfs.* live in /usr/sbin

die() { echo "build_cloud_image: error: $*" >&2; exit 1; }
say() { echo "build_cloud_image: $*"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
files="$here/cloud_image"
script="$here/$(basename "${BASH_SOURCE[0]}")"

outdir=${1:-$repo/build/images}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
image="$outdir/nimbus-debian12.qcow2"
sumfile="$image.sha256"

# Disk layout (MiB): 1 MiB for the MBR and alignment, the FAT boot partition,
# then the root file system up to the end of the disk.
disk_mib=1536
boot_start_mib=1
boot_mib=64
root_start_mib=$((boot_start_mib + boot_mib))
root_mib=$((disk_mib - root_start_mib))

packages=(
    linux-image-cloud-amd64 initramfs-tools systemd-sysv udev dbus kmod procps
    cloud-init cloud-guest-utils fdisk e2fsprogs
    openssh-server sudo python3 ca-certificates
    ifupdown isc-dhcp-client iproute2 netbase
    # cloud-init 22.4 renders routes for ifupdown as `post-up route add`:
    # without net-tools a static network's default route is silently lost.
    net-tools
)

# --- idempotence --------------------------------------------------------------
up_to_date() {
    [[ -s "$image" && -s "$sumfile" ]] || return 1
    local f
    for f in "$script" "$files"/*; do
        [[ "$image" -nt "$f" && "$sumfile" -nt "$f" ]] || return 1
    done
}
if up_to_date; then
    say "$image is up to date"
    exit 0
fi

[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap installs the packages into a directory as root)"

# One build at a time per work dir (parallel test runs); the first one wins.
mkdir -p "$repo/build"
exec 9>"$repo/build/cloud-image-work.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
    if up_to_date; then
        say "$image is up to date (built by a concurrent run)"
        exit 0
    fi
fi

# --- tools --------------------------------------------------------------------
mbr_bin=/usr/lib/syslinux/mbr/mbr.bin
missing=()
for tool in apt-get mmdebstrap sfdisk mkfs.ext4 e2fsck mkfs.vfat syslinux mcopy mdir qemu-img sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (apt-get install mmdebstrap fdisk e2fsprogs dosfstools syslinux syslinux-common mtools qemu-utils)"
[[ -f "$mbr_bin" ]] || die "no $mbr_bin (apt-get install syslinux-common)"
for f in 95_nimbus.cfg initramfs.conf syslinux.cfg fstab; do
    [[ -f "$files/$f" ]] || die "missing $files/$f"
done

# --- mirror: the Debian archive apt already uses on this machine --------------
# apt's own view of its sources (one-line or deb822 files alike); only the
# bookworm suites of Debian's main component.
# shellcheck disable=SC2016  # $(...) are apt's format fields, not the shell's
mapfile -t mirrors < <(
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(TARGET_OF)' 'Created-By: Packages' 2>/dev/null |
        awk '$4 == "deb" && $3 == "main" && $2 ~ /^bookworm(-updates|-security)?$/ { print "deb " $1 " " $2 " main" }' |
        sort -u)
printf '%s\n' "${mirrors[@]}" | grep -q ' bookworm main$' ||
    die "apt has no package list of bookworm main here (a Debian 12 source in /etc/apt/sources.list*, then apt-get update)"

work="$repo/build/cloud-image-work"
[[ "$work" != *[[:space:]]* ]] || die "the work dir $work has white space (mmdebstrap's sync-in/sync-out hooks split on it)"
debs="$work/debs"
rootfs="$work/rootfs"
mkdir -p "$debs"
# A run killed inside mmdebstrap may leave its chroot's /proc, /sys or /dev
# mounted: never delete through those.
if grep -qF " $rootfs/" /proc/self/mountinfo; then
    die "file systems are still mounted under $rootfs (a killed build?): umount them first ($(grep -oF " $rootfs/" /proc/self/mountinfo | wc -l) found)"
fi
rm -rf --one-file-system "$rootfs" "${work:?}/boot" "${work:?}"/*.raw
mkdir -p "$work/boot"
start=$SECONDS

# --- root file system ---------------------------------------------------------
say "mmdebstrap bookworm from: $(printf '%s; ' "${mirrors[@]}")"
# The .debs are cached in $debs (sync-in/sync-out, as mmdebstrap(1) shows):
# a rebuild downloads only what changed.  The chroot's own apt cache and lists
# are emptied at the end (mmdebstrap's cleanup).  The path-excludes stay in
# the image's /etc/dpkg/dpkg.cfg.d/99mmdebstrap, for later installs too.
# The initramfs-tools configuration is in place before the kernel's
# postinst makes the initrd (the essential hook runs before --include).
mmdebstrap --variant=minbase --mode=root --format=directory \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --essential-hook="install -D -m 0644 $files/initramfs.conf \"\$1\"/etc/initramfs-tools/conf.d/nimbus.conf" \
    --skip=essential/unlink \
    --setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives/" \
    --setup-hook="sync-in $debs /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $debs" \
    bookworm "$rootfs" "${mirrors[@]}" ||
    die "mmdebstrap failed"
rm -f "$debs"/lock
rm -rf "$debs"/partial
# Keep in the cache only the .debs this image has installed (their file names
# as apt names them, an epoch's colon as %3a): older versions go.
declare -A installed=()
while IFS= read -r deb; do
    installed[${deb//:/%3a}]=1
done < <(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package}_${Version}_${Architecture}.deb\n')
for deb in "$debs"/*.deb; do
    [[ -n "${installed[${deb##*/}]:-}" ]] || rm -f "$deb"
done

kernels=("$rootfs"/boot/vmlinuz-*)
if ((${#kernels[@]} != 1)) || [[ ! -f "${kernels[0]}" ]]; then
    die "expected one kernel in $rootfs/boot, found: ${kernels[*]}"
fi
kver=${kernels[0]##*/vmlinuz-}
[[ -f "$rootfs/boot/initrd.img-$kver" ]] || die "no $rootfs/boot/initrd.img-$kver (initramfs-tools did not run?)"

# The root file system's UUID: in fstab and on the kernel command line.
root_uuid=$(cat /proc/sys/kernel/random/uuid)
root_spec="UUID=$root_uuid"

# Known pitfalls of this image (PLATFORM.md) and their fixes:
# cloud-init's locale step fails without a locale (status error).
echo 'LANG=C.UTF-8' >"$rootfs/etc/default/locale"
# mmdebstrap copied the build machine's resolv.conf and hostname.
: >"$rootfs/etc/resolv.conf"
echo localhost >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' \
    >"$rootfs/etc/hosts"
# A new machine-id on each first boot (systemd makes one into the empty file).
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
# cloud-init makes the instance's own SSH host keys.
rm -f "$rootfs"/etc/ssh/ssh_host_*
sed "s|@ROOT@|$root_spec|" "$files/fstab" >"$rootfs/etc/fstab"
install -m 0644 "$files/95_nimbus.cfg" "$rootfs/etc/cloud/cloud.cfg.d/95_nimbus.cfg"
# Leftovers of the build, not of the image.
rm -f "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
grep -qs '^source /etc/network/interfaces.d/' "$rootfs/etc/network/interfaces" ||
    die "$rootfs/etc/network/interfaces does not source interfaces.d (cloud-init writes its network config there)"

# --- partitions: ext4 root, FAT boot ------------------------------------------
used_mib=$(( $(du -sxm "$rootfs" | cut -f1) ))
((used_mib * 10 < root_mib * 8)) || die "root file system ($used_mib MiB) does not fit $root_mib MiB with 20% to spare"
say "root file system: $used_mib MiB, kernel $kver"

root_raw="$work/root.raw"
mkfs.ext4 -q -F -E root_owner=0:0 -L rootfs -U "$root_uuid" -d "$rootfs" "$root_raw" "${root_mib}M" >/dev/null ||
    die "mkfs.ext4 -d failed"
fsck_out=$(e2fsck -fn "$root_raw" 2>&1) || die "e2fsck finds errors in the new root file system: $fsck_out"

cp "${kernels[0]}" "$work/boot/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$work/boot/initrd.img"
sed "s|@ROOT@|$root_spec|" "$files/syslinux.cfg" >"$work/boot/syslinux.cfg"
boot_raw="$work/boot.raw"
# -h: the sectors before the partition (the boot sector's "hidden sectors").
mkfs.vfat -C -F 16 -n BOOT -h $((boot_start_mib * 2048)) --invariant "$boot_raw" $((boot_mib * 1024)) >/dev/null ||
    die "mkfs.vfat failed"
syslinux --install "$boot_raw" || die "syslinux --install failed"
MTOOLS_SKIP_CHECK=1 mcopy -m -i "$boot_raw" "$work/boot/vmlinuz" "$work/boot/initrd.img" "$work/boot/syslinux.cfg" ::/ ||
    die "mcopy failed (boot partition too small?)"

# --- disk: MBR + partition table, partitions at their offsets ------------------
disk_raw="$work/disk.raw"
truncate -s "${disk_mib}M" "$disk_raw"
sfdisk -q "$disk_raw" <<SFDISK || die "sfdisk failed"
label: dos
unit: sectors
start=$((boot_start_mib * 2048)), size=$((boot_mib * 2048)), type=e, bootable
start=$((root_start_mib * 2048)), size=$((root_mib * 2048)), type=83
SFDISK
# SYSLINUX's MBR code: the first 440 bytes, before the disk id and the table.
dd if="$mbr_bin" of="$disk_raw" bs=440 count=1 conv=notrunc status=none
dd if="$boot_raw" of="$disk_raw" bs=1M seek="$boot_start_mib" conv=notrunc,sparse status=none
dd if="$root_raw" of="$disk_raw" bs=1M seek="$root_start_mib" conv=notrunc,sparse status=none
[[ $(stat -c %s "$disk_raw") -eq $((disk_mib * 1024 * 1024)) ]] || die "$disk_raw grew past ${disk_mib} MiB"

# --- qcow2 ----------------------------------------------------------------------
tmp="$image.tmp.$$"
trap 'rm -f "$tmp" "$tmp.sha256"' EXIT
qemu-img convert -q -c -f raw -O qcow2 "$disk_raw" "$tmp" || die "qemu-img convert failed"
sha256sum "$tmp" | cut -d' ' -f1 >"$tmp.sha256"
rm -f "$sumfile"   # a crash between the two moves then means "rebuild", not a stale digest
mv -f "$tmp" "$image"
mv -f "$tmp.sha256" "$sumfile"
# Keep the .debs (cache) and the boot files (to look at); the root tree and
# the raw images are large and rebuilt every time.
rm -rf --one-file-system "$rootfs" "$root_raw" "$boot_raw" "$disk_raw"
trap - EXIT

say "built $image in $((SECONDS - start)) s ($(du -m "$image" | cut -f1) MiB on disk, ${disk_mib} MiB virtual, kernel $kver, root $root_spec, sha256 $(cat "$sumfile"))"
