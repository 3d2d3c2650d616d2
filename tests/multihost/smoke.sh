#!/usr/bin/env bash
# End to end over SSH: three simulated compute hosts come up, the project's
# own playbooks prepare them (libvirtd, virtlogd, networks), one instance is
# built on the host the scheduler picks and one in zone az2 (so on c3), each
# checked there (store record, that host's libvirtd and no other, the guest's
# report in its console log), deleted, and everything goes down again, also
# on failure.
#   tests/multihost/smoke.sh        (root; after `make deps image`)
# The last line is PASS or FAIL.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/build/collections"
export ANSIBLE_CONFIG="$repo/ansible.cfg"
hosts=tests/multihost/hosts.sh
inventory=tests/multihost/inventory
name=mh-smoke
# c3 is the only host of zone az2.
az2_name=mh-smoke-az2

step_started=0
step() {
  step_ended
  printf '\n=== %s\n' "$*"
  step_name=$*
  step_started=$(date +%s)
}
step_ended() {
  [ "$step_started" -eq 0 ] || printf '=== %s: %s s\n' "$step_name" "$(($(date +%s) - step_started))"
}

# Someone else's hosts are left alone: this test only tears down its own.
if "$hosts" status >/dev/null 2>&1; then
  "$hosts" status
  echo "FAIL: simulated hosts are already up; run $hosts down first"
  exit 1
fi

work=$(mktemp -d)
export NIMBUS_STORE_PATH="$work/store.json"
finish() {
  local rc=$? pids stray
  trap - EXIT
  step "down"
  mapfile -t pids < <("$hosts" pids)
  "$hosts" down || rc=1
  step_ended
  # Nothing that ran in the hosts' namespaces may outlive them (zombies
  # are gone, only not yet reaped by this machine's slow pid 1).
  if [ "${#pids[@]}" -gt 0 ]; then
    stray=$(ps -o pid=,stat=,args= -p "$(IFS=,; echo "${pids[*]}")" | awk '$2 !~ /^Z/' || true)
    if [ -n "$stray" ]; then
      printf 'stray processes after down:\n%s\n' "$stray"
      rc=1
    fi
  fi
  rm -rf "$work"
  if [ "$rc" -eq 0 ]; then echo "PASS: tests/multihost/smoke.sh"; else echo "FAIL: tests/multihost/smoke.sh (see above)"; fi
  exit "$rc"
}
trap finish EXIT

step "up"
"$hosts" up 3
step "ping over SSH"
ansible -i "$inventory" compute -m ansible.builtin.ping
step "prepare_hosts.yml"
ansible-playbook -i "$inventory" playbooks/prepare_hosts.yml
step "create_instance.yml -e name=$name"
ansible-playbook -i "$inventory" playbooks/create_instance.yml -e "name=$name"
step "check $name on its host"
ansible-playbook -i "$inventory" tests/multihost/check_instance.yml -e "instance_name=$name"
step "create_instance.yml -e name=$az2_name -e availability_zone=az2"
ansible-playbook -i "$inventory" playbooks/create_instance.yml -e "name=$az2_name" -e availability_zone=az2
step "check $az2_name on c3"
ansible-playbook -i "$inventory" tests/multihost/check_instance.yml -e "instance_name=$az2_name" -e expected_host=c3
for doomed in "$name" "$az2_name"; do
  step "delete_instance.yml -e name=$doomed"
  ansible-playbook -i "$inventory" playbooks/delete_instance.yml -e "name=$doomed"
  step "check $doomed is gone"
  ansible-playbook -i "$inventory" tests/multihost/check_instance.yml -e "instance_name=$doomed" -e absent=true
done
