#!/usr/bin/env bash
# Build nimbus-tiny.qcow2, the project's tiny BIOS-bootable test guest, offline
# from Debian packages: the cloud kernel + busybox-static in an initramfs whose
# /init (tools/guest/init) reads the config drive, configures the NIC and
# prints one NIMBUS-GUEST report line on ttyS0.
#
# Usage: tools/build_test_image.sh [OUTDIR]     (default: build/images)
#
# Writes OUTDIR/nimbus-tiny.qcow2 and OUTDIR/nimbus-tiny.qcow2.sha256 (hex
# digest only).  Does nothing if both are newer than this script and
# tools/guest/*.  Works in build/image-work (kept: it caches the .debs and
# leaves initramfs/ and boot/ to look at).
#
# Needs: apt-get (with lists), dpkg-deb, cpio, gzip, mkfs.vfat (dosfstools),
# syslinux, mtools, qemu-img.  No root needed except what apt-get download
# needs (nothing).
# Environment: NIMBUS_KERNEL_PKG=linux-image-<ver>-cloud-amd64 to pin the kernel.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # mkfs.vfat lives in /usr/sbin

die() { echo "build_test_image: error: $*" >&2; exit 1; }
say() { echo "build_test_image: $*"; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
guest="$here/guest"
script="$here/$(basename "${BASH_SOURCE[0]}")"

outdir=${1:-$repo/build/images}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
image="$outdir/nimbus-tiny.qcow2"
sumfile="$image.sha256"

# --- idempotence --------------------------------------------------------------
up_to_date() {
    [[ -s "$image" && -s "$sumfile" ]] || return 1
    local f
    for f in "$script" "$guest"/*; do
        [[ "$image" -nt "$f" && "$sumfile" -nt "$f" ]] || return 1
    done
}
if up_to_date; then
    say "$image is up to date"
    exit 0
fi

# One build at a time per work dir (parallel test runs); the first one wins.
mkdir -p "$repo/build"
exec 9>"$repo/build/image-work.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
    if up_to_date; then
        say "$image is up to date (built by a concurrent run)"
        exit 0
    fi
fi

# --- tools --------------------------------------------------------------------
missing=()
for tool in apt-get apt-cache dpkg-deb cpio gzip mkfs.vfat syslinux mcopy qemu-img sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (apt-get install busybox-static syslinux syslinux-common mtools dosfstools cpio qemu-utils)"

work="$repo/build/image-work"
debs="$work/debs"
root="$work/initramfs"
mkdir -p "$debs"
rm -rf "$root" "${work:?}/kernel" "${work:?}/busybox" "${work:?}/boot"

# --- packages -----------------------------------------------------------------
kpkg=${NIMBUS_KERNEL_PKG:-}
if [[ -z "$kpkg" ]]; then
    kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
    [[ -n "$kpkg" ]] || die "cannot resolve linux-image-cloud-amd64 to a kernel package (run apt-get update?)"
fi
kver=${kpkg#linux-image-}

apt_opts=()
# apt-get download as root drops to _apt, which cannot write here: stay root.
[[ $EUID -eq 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)

first_existing() {  # first_existing PATH... -> the first path that exists (an unmatched glob does not)
    local path
    for path in "$@"; do
        [[ -e "$path" ]] && { printf '%s\n' "$path"; return 0; }
    done
    return 0
}

fetch() {  # fetch PACKAGE -> path of its .deb in $debs (downloaded once per version)
    local pkg=$1 ver deb
    ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [[ -n "$ver" && "$ver" != "(none)" ]] || die "no installable version of $pkg (run apt-get update?)"
    deb=$(first_existing "$debs/${pkg}_${ver//:/%3a}_"*.deb)
    if [[ -z "$deb" ]]; then
        (cd "$debs" && apt-get "${apt_opts[@]}" -q download "$pkg=$ver" >&2) ||
            die "apt-get download $pkg=$ver failed"
        deb=$(first_existing "$debs/${pkg}_${ver//:/%3a}_"*.deb)
        [[ -n "$deb" ]] || die "apt-get download $pkg=$ver left no .deb in $debs"
    fi
    echo "$deb"
}

kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)
say "kernel $(basename "$kdeb"), busybox $(basename "$bdeb")"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"

vmlinuz="$work/kernel/boot/vmlinuz-$kver"
moddir="$work/kernel/lib/modules/$kver"
[[ -f "$vmlinuz" ]] || die "$kdeb has no boot/vmlinuz-$kver"
[[ -d "$moddir" ]] || die "$kdeb has no lib/modules/$kver"
busybox="$work/busybox/bin/busybox"
[[ -x "$busybox" ]] || die "$bdeb has no bin/busybox"

# --- initramfs ----------------------------------------------------------------
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,var/log,etc/nimbus,etc/acpi/PWRF,mnt/config,lib/modules}
ln -s ../run "$root/var/run"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$guest/init" "$root/init"
install -m 0755 "$guest/udhcpc.script" "$root/etc/nimbus/udhcpc.script"
install -m 0644 "$guest/jsonflat.awk" "$root/etc/nimbus/jsonflat.awk"
# busybox acpid runs /etc/acpi/PWRF/00000080 on the power button.
install -m 0755 "$guest/power-button" "$root/etc/acpi/PWRF/00000080"
echo "nimbus-tiny" >"$root/etc/hostname"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

# The modules the guest wants, in the order that worked (PLATFORM.md); their
# dependencies (modinfo "depends=") are put first.  Built-in ones are skipped.
wanted=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
        failover net_failover virtio_net cdrom isofs scsi_mod libata ata_piix sr_mod
        virtio_scsi sd_mod   # hw_scsi_model=virtio-scsi (the cloud kernel has no ahci:
                             # a SATA cdrom on q35 stays invisible)
        button evdev)   # ACPI power button -> acpid -> poweroff (virsh shutdown)
declare -A modpath=() done_mod=()
while IFS= read -r -d '' ko; do
    m=$(basename "$ko"); m=${m%%.ko*}
    modpath[$m]=$ko
done < <(find "$moddir/kernel" -name '*.ko*' -print0)

builtin() { grep -q "/$1\.ko\$" "$moddir/modules.builtin" 2>/dev/null; }
ko_file() {  # ko_file NAME -> uncompressed .ko under $work (decompressing if needed)
    local src=${modpath[$1]} tool
    case $src in
    *.ko.xz) tool=xz ;; *.ko.zst) tool=zstd ;; *.ko.gz) tool=gzip ;; *) tool= ;;
    esac
    [[ -z "$tool" ]] || command -v "$tool" >/dev/null ||
        die "$kpkg ships ${src##*.}-compressed modules: install $tool (busybox cannot load them)"
    case $src in
    *.ko) echo "$src" ;;
    *.ko.xz) xz -dc "$src" >"$work/$1.ko" && echo "$work/$1.ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$work/$1.ko" && echo "$work/$1.ko" ;;
    *.ko.gz) gzip -dc "$src" >"$work/$1.ko" && echo "$work/$1.ko" ;;
    *) die "unknown module format: $src" ;;
    esac
}
add_mod() {
    local m=$1 ko dep deps
    [[ -n "${done_mod[$m]:-}" ]] && return 0
    done_mod[$m]=1
    if builtin "$m"; then return 0; fi
    [[ -n "${modpath[$m]:-}" ]] || die "module $m is neither built in nor in $kpkg"
    ko=$(ko_file "$m")
    # modinfo's "depends=a,b" string (no binutils/kmod needed to read it)
    deps=$(grep -ao 'depends=[A-Za-z0-9_,-]*' "$ko" | head -n 1 | sed 's/^depends=//' | tr ',' ' ' || true)
    for dep in $deps; do add_mod "$dep"; done
    install -m 0644 "$ko" "$root/lib/modules/$m.ko"
    echo "$m /lib/modules/$m.ko" >>"$root/etc/nimbus/modules.load"
}
: >"$root/etc/nimbus/modules.load"
for m in "${wanted[@]}"; do add_mod "$m"; done

mkdir -p "$work/boot"
# Fixed timestamps so the same packages give the same image bytes (cpio,
# gzip -n, mkfs.vfat --invariant, and syslinux/mtools honour SOURCE_DATE_EPOCH).
epoch=${SOURCE_DATE_EPOCH:-1700000000}
export SOURCE_DATE_EPOCH=$epoch
find "$root" -exec touch -h -d "@$epoch" {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9n >"$work/boot/initrd.gz"

# --- boot disk ----------------------------------------------------------------
cp "$vmlinuz" "$work/boot/vmlinuz"
cat >"$work/boot/syslinux.cfg" <<CFG
DEFAULT nimbus
PROMPT 0
TIMEOUT 0
LABEL nimbus
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0 panic=-1
CFG
touch -d "@$epoch" "$work/boot"/*

# FAT size: contents + 2 MiB slack, in KiB.
kib=$(( ($(du -k --apparent-size -c "$work/boot"/* | tail -n 1 | cut -f1) + 2048 + 1023) / 1024 * 1024 ))
raw="$work/boot.img"
rm -f "$raw"
mkfs.vfat -C -n NIMBUS --invariant "$raw" "$kib" >/dev/null ||
    die "mkfs.vfat failed"
syslinux --install "$raw" || die "syslinux --install failed"
MTOOLS_SKIP_CHECK=1 mcopy -m -i "$raw" "$work/boot/vmlinuz" "$work/boot/initrd.gz" "$work/boot/syslinux.cfg" ::/ ||
    die "mcopy failed"

tmp="$image.tmp.$$"
trap 'rm -f "$tmp" "$tmp.sha256"' EXIT
qemu-img convert -q -f raw -O qcow2 "$raw" "$tmp" || die "qemu-img convert failed"
sha256sum "$tmp" | cut -d' ' -f1 >"$tmp.sha256"
rm -f "$sumfile"   # a crash between the two moves then means "rebuild", not a stale digest
mv -f "$tmp" "$image"
mv -f "$tmp.sha256" "$sumfile"
# Keep the .debs (cache) and the initramfs tree and boot files (to look at).
rm -rf "$raw" "$work/kernel" "$work/busybox" "$work"/*.ko
trap - EXIT

say "built $image ($(du -k "$image" | cut -f1) KiB on disk, kernel $kver, sha256 $(cat "$sumfile"))"
