#!/usr/bin/env bash
# Run integration targets against the real libvirt/QEMU of inventories/local.
#   tests/integration/run.sh [TARGET[@postgresql] ...]
# (default: every target but setup_* and PG_ONLY_TARGETS, then those of PG_TARGETS over PostgreSQL)
# Each target is a role run on localhost with its own fresh store: a JSON file,
# or with @postgresql a new database (NIMBUS_STORE_URL) on a throw-away cluster
# this run starts and stops (tests/pg_cluster.py). The last line counts
# targets: "N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 1
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/build/collections"
export ANSIBLE_ROLES_PATH="$repo/tests/integration/targets"
work=$(mktemp -d)
# The cluster's directory: the postgres user must reach it, which a mktemp -d (0700, root's) does not allow.
pg_dir=$(mktemp -u /tmp/nimbus-integration-pg.XXXXXX)
cleanup() {
  [ -e "$pg_dir" ] && python3 tests/pg_cluster.py stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

# Targets that run (again) over a PostgreSQL store, and those of them that
# make sense over PostgreSQL only: never run on a JSON store by default.
PG_TARGETS=(create_delete_instance concurrent_creates quotas security_group floating_ips awx_runner store_outage store_migrate)
PG_ONLY_TARGETS=(awx_runner store_outage store_migrate)

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  skip=(! -name 'setup_*')
  for target in "${PG_ONLY_TARGETS[@]}"; do skip+=(! -name "$target"); done
  mapfile -t targets < <(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d "${skip[@]}" -printf '%f\n' | sort)
  targets+=("${PG_TARGETS[@]/%/@postgresql}")
fi

# store_env TARGET: the store of one target run, exported; a new database for @postgresql.
store_env() {
  export NIMBUS_STORE_PATH="$work/$1-store/store.json"
  unset NIMBUS_STORE_URL
  [[ $1 == *@postgresql ]] || return 0
  if [ ! -e "$pg_dir" ]; then
    python3 tests/pg_cluster.py start "$pg_dir" >/dev/null || return 1
  fi
  NIMBUS_STORE_URL=$(python3 tests/pg_cluster.py createdb "$pg_dir" "t_${1%@postgresql}") || return 1
  # The cluster's directory, for a target that takes the server away and brings it back (store_outage).
  export NIMBUS_STORE_URL NIMBUS_TEST_PG_DIR="$pg_dir"
}

passed=0
failed=0
failures=()
for target in "${targets[@]}"; do
  playbook="$work/$target.yml"
  printf -- '- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n' "${target%@postgresql}" >"$playbook"
  started=$(date +%s)
  if store_env "$target" && ansible-playbook -i inventories/local "$playbook" >"$work/$target.log" 2>&1; then
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
