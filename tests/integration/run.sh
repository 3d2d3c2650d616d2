#!/usr/bin/env bash
# Run integration targets against the real libvirt/QEMU of inventories/local.
#   tests/integration/run.sh [TARGET ...]      (default: every target but setup_*)
# Each target is a role run on localhost with its own fresh store; the last
# line counts targets: "N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 1
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/build/collections"
export ANSIBLE_ROLES_PATH="$repo/tests/integration/targets"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' -printf '%f\n' | sort)
fi

passed=0
failed=0
failures=()
for target in "${targets[@]}"; do
  playbook="$work/$target.yml"
  printf -- '- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n' "$target" >"$playbook"
  export NIMBUS_STORE_PATH="$work/$target-store/store.json"
  started=$(date +%s)
  if ansible-playbook -i inventories/local "$playbook" >"$work/$target.log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $target ($(($(date +%s) - started)) s)"
  else
    failed=$((failed + 1))
    failures+=("$target")
    echo "FAIL $target ($(($(date +%s) - started)) s)"
    tail -n 60 "$work/$target.log"
  fi
done
[ "${#failures[@]}" -eq 0 ] || echo "failed targets: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
