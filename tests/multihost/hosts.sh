#!/usr/bin/env bash
# Simulated compute hosts c1..cN on this one machine, each reached by Ansible
# over SSH like a real host (inventory: tests/multihost/inventory).
#
#   tests/multihost/hosts.sh up [N]   create hosts c1..cN (default 3, at most 9)
#   tests/multihost/hosts.sh down     stop and remove every host (idempotent)
#   tests/multihost/hosts.sh status   one line per host; exit 1 when none is up
#   tests/multihost/hosts.sh pids     every process in the hosts' namespaces
#
# Host ci is:
#   - network namespace nimbus-ci, reached through veth nmh-ci (root side
#     198.19.255.(4i+1)/30, host side eth0 198.19.255.(4i+2)/30), no default
#     route: nothing in it can reach any other address;
#   - a persistent mount namespace and UTS namespace (hostname ci), bind
#     files in /run/nimbus-multihost/, in which per-host directories under
#     /var/lib/nimbus-multihost/ci/ cover /run, /var/lib/libvirt,
#     /var/log/libvirt, /var/cache/libvirt, /var/lib/nimbus and the libvirt
#     driver state in /etc/libvirt (qemu/, storage/, secrets/, nwfilter/):
#     its own libvirt socket, pid files, domains, networks and instances
#     path /var/lib/nimbus/instances.  /etc/libvirt/qemu.conf stays shared;
#   - an sshd on 198.19.255.(4i+2):22 in all three namespaces, keys in
#     build/multihost/.
# libvirtd and virtlogd are deliberately not started here:
# playbooks/prepare_hosts.yml starts them over SSH, as on a real host.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
keys="$repo/build/multihost"
# Namespace bind files; this directory is a private bind mount of itself,
# which persistent mount namespaces need (unshare(1), --mount=file).
nsdir=/run/nimbus-multihost
state=/var/lib/nimbus-multihost
net_prefix=198.19.255
# Per-host directories bound over these paths in the host's mount namespace
# (source: $state/ci/<name>).
bind_targets=(
  run:/run
  libvirt:/var/lib/libvirt
  log-libvirt:/var/log/libvirt
  cache-libvirt:/var/cache/libvirt
  nimbus:/var/lib/nimbus
  etc-libvirt-qemu:/etc/libvirt/qemu
  etc-libvirt-storage:/etc/libvirt/storage
  etc-libvirt-secrets:/etc/libvirt/secrets
  etc-libvirt-nwfilter:/etc/libvirt/nwfilter
)

log() { printf 'hosts.sh: [%3d s] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

root_addr() { echo "$net_prefix.$((4 * $1 + 1))"; }
host_addr() { echo "$net_prefix.$((4 * $1 + 2))"; }

# Run a command inside host $1's network, mount and UTS namespaces.
in_host() {
  local i=$1
  shift
  nsenter --net="/run/netns/nimbus-c$i" --mount="$nsdir/c$i.mnt" --uts="$nsdir/c$i.uts" -- "$@"
}

host_ready() {
  [ -e "/run/netns/nimbus-c$1" ] && mountpoint -q "$nsdir/c$1.mnt" 2>/dev/null && mountpoint -q "$nsdir/c$1.uts" 2>/dev/null
}

# Indices of every host that left any trace: netns, veth, ns files, state.
present_hosts() {
  {
    ip netns list | awk '{print $1}' | sed -n 's/^nimbus-c\([0-9]\)$/\1/p'
    ip -o link show | awk -F': ' '{print $2}' | sed -n 's/^nmh-c\([0-9]\)\(@.*\)\{0,1\}$/\1/p'
    find "$nsdir" "$state" -maxdepth 1 -name 'c[0-9]*' -printf '%f\n' 2>/dev/null || true
  } | sed -n 's/^c\{0,1\}\([0-9]\)\([.].*\)\{0,1\}$/\1/p' | sort -un
}

# Zombies count as gone: this machine's pid 1 reaps orphans only every
# second or two.
any_alive() {
  local pid proc_state
  for pid in "$@"; do
    proc_state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$proc_state" ] && [ "${proc_state%% *}" != Z ] && return 0
  done
  return 1
}

# Live pid named by pid file $1 if its command is $2 (a stale pid file or a
# reused pid names something else and is left alone).
pid_from_file() {
  local pid
  pid=$(tr -dc 0-9 2>/dev/null <"$1" || true)
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$2" ] && any_alive "$pid" && echo "$pid"
  return 0
}

# TERM, wait up to 10 s, then KILL.
stop_pids() {
  local tries
  [ "$#" -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for tries in $(seq 50); do
    any_alive "$@" || return 0
    sleep 0.2
  done
  log "still running after $((tries / 5)) s, killing: $*"
  kill -KILL "$@" 2>/dev/null || true
  for tries in $(seq 50); do
    any_alive "$@" || return 0
    sleep 0.2
  done
  die "cannot stop: $*"
}

stop_pidfile() {
  local pid
  pid=$(pid_from_file "$1" "$2")
  if [ -n "$pid" ]; then
    log "stopping $2 (pid $pid)"
    stop_pids "$pid"
  fi
}

# Every process still inside host $1's namespaces: ssh sessions that Ansible's
# ControlPersist keeps open, QEMU, helpers.  Found by namespace, not by name.
namespace_pids() {
  local i=$1 mnt="" pid
  if mountpoint -q "$nsdir/c$i.mnt" 2>/dev/null; then
    mnt="mnt:[$(stat -L -c %i "$nsdir/c$i.mnt")]"
  fi
  {
    [ -e "/run/netns/nimbus-c$i" ] && ip netns pids "nimbus-c$i" 2>/dev/null
    if [ -n "$mnt" ]; then
      for pid in /proc/[0-9]*; do
        [ "$(readlink "$pid/ns/mnt" 2>/dev/null || true)" = "$mnt" ] && echo "${pid#/proc/}"
      done
    fi
  } | sort -un | grep -vx "$$" || true
}

host_down() {
  local i=$1
  local run="$state/c$i/run" pidfile doomed name
  log "c$i: down"
  if host_ready "$i" && [ -n "$(pid_from_file "$run/libvirtd.pid" libvirtd)" ]; then
    # Through the host's own libvirtd, so it tears down bridges and dnsmasq.
    for name in $(in_host "$i" timeout 20 virsh -q -c qemu:///system list --name 2>/dev/null || true); do
      log "c$i: destroying domain $name"
      in_host "$i" timeout 30 virsh -q -c qemu:///system destroy "$name" >/dev/null || true
    done
    for name in $(in_host "$i" timeout 20 virsh -q -c qemu:///system net-list --name 2>/dev/null || true); do
      log "c$i: destroying network $name"
      in_host "$i" timeout 30 virsh -q -c qemu:///system net-destroy "$name" >/dev/null || true
    done
  fi
  stop_pidfile "$run/libvirtd.pid" libvirtd
  stop_pidfile "$run/virtlogd.pid" virtlogd
  for pidfile in "$run"/libvirt/network/*.pid; do
    [ -e "$pidfile" ] && stop_pidfile "$pidfile" dnsmasq
  done
  for pidfile in "$run"/libvirt/qemu/*.pid; do
    [ -e "$pidfile" ] && stop_pidfile "$pidfile" qemu-system-x86
  done
  stop_pidfile "$run/sshd.pid" sshd
  mapfile -t doomed < <(namespace_pids "$i")
  if [ "${#doomed[@]}" -gt 0 ]; then
    log "c$i: stopping what is left in its namespaces: ${doomed[*]}"
    stop_pids "${doomed[@]}"
  fi
  # The mount namespace, and with it every bind mount in it, goes away with
  # its last process and its last bind file.
  for name in mnt uts; do
    if mountpoint -q "$nsdir/c$i.$name" 2>/dev/null; then
      umount "$nsdir/c$i.$name"
    fi
    rm -f "$nsdir/c$i.$name"
  done
  if ip link show "nmh-c$i" >/dev/null 2>&1; then
    ip link del "nmh-c$i"
  fi
  if [ -e "/run/netns/nimbus-c$i" ]; then
    ip netns del "nimbus-c$i"
  fi
}

down() {
  local i
  for i in $(present_hosts); do
    host_down "$i"
  done
  if mountpoint -q "$nsdir"; then
    umount "$nsdir"
  fi
  [ ! -d "$nsdir" ] || rmdir "$nsdir"
  rm -rf "$state"
  log "down"
}

# Inside the new mount/UTS namespaces, already in the host's netns (nsenter):
# drop inherited mounts under /run (other hosts' ns files, the root
# namespace's netns files: they would keep those namespaces alive), give
# /sys this netns's view as `ip netns exec` does, bind the per-host
# directories, set the hostname.
setup_mount_ns() {
  local i=$1 base=$2 pair mnt
  shift 2
  findmnt -rn -o TARGET | { grep '^/run/' || true; } | sort -r | while read -r mnt; do
    umount -l "$mnt"
  done
  umount -l /sys
  mount -t sysfs sysfs /sys
  for pair in "$@"; do
    mkdir -p "$base/${pair%%:*}" "${pair#*:}"
    mount --bind "$base/${pair%%:*}" "${pair#*:}"
  done
  # libvirt's own network filters, as libvirt-daemon-config-nwfilter puts them on a
  # host: the firewall's base filters build on them (virt/firewall.py).
  cp -n /usr/share/libvirt/nwfilter/*.xml /etc/libvirt/nwfilter/
  # sshd's privilege separation directory.
  mkdir -p /run/sshd
  hostname "c$i"
}

write_sshd_config() {
  local i=$1
  cat >"$keys/c$i/sshd_config" <<EOF
# Written by tests/multihost/hosts.sh for host c$i.
ListenAddress $(host_addr "$i"):22
HostKey $keys/c$i/ssh_host_ed25519_key
AuthorizedKeysFile $keys/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# No PAM stack or login records needed; the keys live in the repository
# checkout, whose modes sshd would otherwise judge.
UsePAM no
StrictModes no
PidFile /run/sshd.pid
PrintMotd no
X11Forwarding no
Subsystem sftp internal-sftp
EOF
}

host_up() {
  local i=$1
  local base="$state/c$i"
  log "c$i: up at $(host_addr "$i")"
  mkdir -p "$base" "$keys/c$i"
  [ -f "$keys/c$i/ssh_host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C "nimbus-multihost-c$i" -f "$keys/c$i/ssh_host_ed25519_key"
  write_sshd_config "$i"

  ip netns add "nimbus-c$i"
  ip link add "nmh-c$i" type veth peer name eth0 netns "nimbus-c$i"
  # IPv4 only: no IPv6 link-local chatter on the veth.
  sysctl -q -w "net.ipv6.conf.nmh-c$i.disable_ipv6=1"
  ip netns exec "nimbus-c$i" sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1
  ip addr add "$(root_addr "$i")/30" dev "nmh-c$i"
  ip link set "nmh-c$i" up
  ip -n "nimbus-c$i" link set lo up
  ip -n "nimbus-c$i" addr add "$(host_addr "$i")/30" dev eth0
  ip -n "nimbus-c$i" link set eth0 up

  touch "$nsdir/c$i.mnt" "$nsdir/c$i.uts"
  unshare --mount="$nsdir/c$i.mnt" --uts="$nsdir/c$i.uts" --propagation private \
    nsenter --net="/run/netns/nimbus-c$i" -- \
    bash -c "set -euo pipefail; $(declare -f setup_mount_ns); setup_mount_ns \"\$@\"" \
    setup "$i" "$base" "${bind_targets[@]}"

  if ! in_host "$i" /usr/sbin/sshd -f "$keys/c$i/sshd_config" -E "$base/sshd.log"; then
    # down removes the log: show it first.
    cat "$base/sshd.log" >&2 || true
    die "c$i: sshd did not start"
  fi
}

wait_for_ssh() {
  local i=$1 tries
  for tries in $(seq 50); do
    if ssh -q -i "$keys/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \
      -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 "root@$(host_addr "$i")" \
      "test \"\$(hostname)\" = c$i" </dev/null; then
      return 0
    fi
    sleep 0.2
  done
  die "c$i: no ssh answer after $tries tries (see $state/c$i/sshd.log)"
}

up() {
  local n=${1:-3} i
  [[ "$n" =~ ^[1-9]$ ]] || die "N must be 1..9, got '$n'"
  [ "$(id -u)" -eq 0 ] || die "run as root"
  command -v /usr/sbin/sshd >/dev/null || die "no /usr/sbin/sshd: run tools/install_deps.sh (bindep: openssh-server)"
  if [ -n "$(present_hosts)" ]; then
    die "hosts are already (partly) up: run '$0 down' first"
  fi
  # Anything failing from here leaves partial hosts: take them down again.
  trap 'log "up failed, taking everything down"; down' EXIT
  mkdir -p "$keys" "$nsdir" "$state"
  [ -f "$keys/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C nimbus-multihost -f "$keys/id_ed25519"
  cp "$keys/id_ed25519.pub" "$keys/authorized_keys"
  mount --bind "$nsdir" "$nsdir"
  mount --make-private "$nsdir"
  for i in $(seq "$n"); do
    host_up "$i"
  done
  for i in $(seq "$n"); do
    wait_for_ssh "$i"
  done
  trap - EXIT
  log "up: c1..c$n (inventory: tests/multihost/inventory)"
}

status() {
  local i any=1 sshd libvirtd
  for i in $(present_hosts); do
    sshd=$(pid_from_file "$state/c$i/run/sshd.pid" sshd)
    libvirtd=$(pid_from_file "$state/c$i/run/libvirtd.pid" libvirtd)
    printf 'c%s %s sshd=%s libvirtd=%s\n' "$i" "$(host_addr "$i")" "${sshd:-none}" "${libvirtd:-none}"
    any=0
  done
  [ "$any" -eq 0 ] || echo "no hosts up"
  return "$any"
}

pids() {
  local i
  for i in $(present_hosts); do
    namespace_pids "$i"
  done
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  status) status ;;
  pids) pids ;;
  *)
    echo "usage: $0 up [N] | down | status | pids" >&2
    exit 2
    ;;
esac
