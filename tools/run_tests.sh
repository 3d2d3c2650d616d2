#!/usr/bin/env bash
# Every test suite of nimbus.compute, in order, as `make test` and CI run them:
#   lint (tools/lint.sh: ruff, ansible-lint, antsibull-docs, antsibull-changelog), unit
#   (pytest), sanity (ansible-test), hosts (bring up the hypervisor with
#   playbooks/prepare_hosts.yml), integration, molecule, multihost (three compute hosts over
#   SSH, tests/multihost/run.sh).
# A failed suite does not stop the run, so one run shows every failure.  The
# libvirtd/virtlogd this run starts (and only those) are stopped at the end;
# daemons that were already running are left alone.
#
# Usage: tools/run_tests.sh [SUITE ...]   (after `make deps image`; default: all)
# Logs: build/tests/<suite>.log
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/build/collections"
export ANSIBLE_CONFIG="$repo/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0

work=$(mktemp -d -t nimbus-tests.XXXXXX)
# A store of its own, so tests never see (or damage) the user's instances.
export NIMBUS_STORE_PATH="$work/store.json"
logs="$repo/build/tests"
mkdir -p "$logs"

uri=qemu:///system
netns=$(sed -n 's/^nimbus_netns: *//p' inventories/local/group_vars/all.yml | tr -d '"'"'" | head -n 1)
daemons=(virtlogd libvirtd)

passed=()
failed=()
only=("$@")

# wanted NAME: whether the command line asked for this suite (or for all).
wanted() {
  [ "${#only[@]}" -eq 0 ] && return 0
  local name
  for name in "${only[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

# daemon_pid NAME: the pid in /run/NAME.pid when that process is NAME, else nothing.
daemon_pid() {
  local pid comm
  pid=$(cat "/run/$1.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
  [ "$comm" = "$1" ] && echo "$pid"
  return 0
}

declare -A running_before=()
for daemon in "${daemons[@]}"; do
  running_before[$daemon]=$(daemon_pid "$daemon")
done
netns_before=no
[ -n "$netns" ] && [ -e "/run/netns/$netns" ] && netns_before=yes

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 i
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 0
    sleep 0.1
  done
  echo "run_tests: $name ($pid) ignored SIGTERM, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local pid name dom net f
  pid=$(daemon_pid libvirtd)
  if [ -n "$pid" ] && [ -z "${running_before[libvirtd]}" ]; then
    echo "run_tests: stopping the libvirtd this run started ($pid)"
    # Everything this libvirtd runs is this run's: guests and network dnsmasqs
    # would outlive it, so stop them through it first.
    for dom in $(virsh -q -c "$uri" list --name 2>/dev/null); do
      virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 || true
    done
    for net in $(virsh -q -c "$uri" net-list --name 2>/dev/null); do
      virsh -q -c "$uri" net-destroy "$net" >/dev/null 2>&1 || true
    done
    stop_pid "$pid" libvirtd
    for f in /run/libvirt/network/*.pid; do
      [ "$(basename "$f")" = driver.pid ] && continue
      [ -f "$f" ] && stop_pid "$(cat "$f")" dnsmasq
    done
  fi
  pid=$(daemon_pid virtlogd)
  if [ -n "$pid" ] && [ -z "${running_before[virtlogd]}" ]; then
    echo "run_tests: stopping the virtlogd this run started ($pid)"
    stop_pid "$pid" virtlogd
  fi
  if [ -n "$netns" ] && [ "$netns_before" = no ] && [ -e "/run/netns/$netns" ] \
     && [ -z "$(daemon_pid libvirtd)" ]; then
    ip netns delete "$netns" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# suite NAME COMMAND...: run it, log it, count it.
suite() {
  local name=$1 start rc
  shift
  wanted "$name" || return 0
  printf '\n===== %s: %s\n' "$name" "$*"
  start=$SECONDS
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    passed+=("$name")
    printf '===== %s: PASS (%d s)\n' "$name" $((SECONDS - start))
  else
    failed+=("$name")
    printf '===== %s: FAIL (exit %d, %d s, log build/tests/%s.log)\n' "$name" "$rc" $((SECONDS - start)) "$name"
  fi
  return "$rc"
}

# not_run NAME REASON: a suite that could not run counts as failed.
not_run() {
  wanted "$1" || return 0
  failed+=("$1")
  printf '\n===== %s: FAIL (not run: %s)\n' "$1" "$2"
}

molecule_default() { (cd extensions && molecule test -s default); }

suite lint tools/lint.sh
suite unit pytest tests/unit
suite sanity tools/ansible_test_sanity.sh

hypervisor=ok
# integration and molecule need the hypervisor: prepare it whenever they run.
if wanted hosts || wanted integration || wanted molecule; then
  only_hosts=("${only[@]}")
  [ "${#only[@]}" -gt 0 ] && only+=(hosts)
  suite hosts ansible-playbook -i inventories/local playbooks/prepare_hosts.yml || hypervisor=failed
  only=("${only_hosts[@]}")
fi

if [ -x tests/integration/run.sh ]; then
  if [ "$hypervisor" = ok ]; then
    suite integration tests/integration/run.sh
  else
    not_run integration "the hypervisor did not come up"
  fi
elif wanted integration; then
  printf '\n===== integration: no tests/integration/run.sh yet\n'
fi

if [ -f extensions/molecule/default/molecule.yml ]; then
  if [ "$hypervisor" = ok ]; then
    suite molecule molecule_default
  else
    not_run molecule "the hypervisor did not come up"
  fi
elif wanted molecule; then
  printf '\n===== molecule: no extensions/molecule/default/molecule.yml yet\n'
fi

# Three simulated compute hosts reached over SSH, each with the libvirtd that
# prepare_hosts.yml starts in it; the suite takes them down itself.
suite multihost tests/multihost/run.sh

# Stop this run's daemons now, so the count below is the run's last line.
cleanup
trap - EXIT

printf '\n===== summary\n'
for name in "${passed[@]}"; do printf 'PASS %s\n' "$name"; done
for name in "${failed[@]}"; do printf 'FAIL %s\n' "$name"; done
echo "${#passed[@]} passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
