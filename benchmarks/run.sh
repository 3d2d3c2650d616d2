#!/usr/bin/env bash
# The create-instance benchmarks, ours against community.libvirt and kcli (make bench):
#   1. benchmarks/bench_create.py     create until the domain runs (tiny image)
#   2. benchmarks/bench_cloud_ssh.py  create until SSH answers (Debian 12 cloud image)
#   3. benchmarks/bench_kcli.py       one create and one delete against kcli's (tiny image)
#   4. benchmarks/bench_batch.py      1, 10 and 20 at once (COUNTS=...), create and delete, against
#                                     kcli's plan (and threaded plan) and a bare virsh loop
# Runs tools/install_deps.sh when community.libvirt is missing from
# build/collections (requirements.yml; bench_kcli installs kcli into
# build/kcli-venv), then runs them in
# that order, each even when one before failed; the exit status is non-zero
# when any failed.
#
#   benchmarks/run.sh [BENCH_CREATE_ARGS...] [-- BENCH_CLOUD_SSH_ARGS...]
#   BENCH=create|cloud-ssh|kcli|batch benchmarks/run.sh ...   runs only that one
#   (BENCH=kcli and BENCH=batch pass the arguments before -- to their script;
#   COUNTS=1,10,20 sets bench_batch.py's counts, e.g. make bench COUNTS=10)
#   (e.g. benchmarks/run.sh --pairs 10 -- --pairs 5 --warmup)
set -euo pipefail
cd "$(dirname "$0")/.."

create_args=()
cloud_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then
    shift
    cloud_args=("$@")
    break
  fi
  create_args+=("$1")
  shift
done
which=${BENCH:-all}
case $which in
  all | create | cloud-ssh | kcli | batch) ;;
  *) echo "run.sh: BENCH must be all, create, cloud-ssh, kcli or batch, not $which" >&2; exit 2 ;;
esac

if [ ! -f build/collections/ansible_collections/community/libvirt/MANIFEST.json ]; then
  tools/install_deps.sh
fi
link=build/collections/ansible_collections/nimbus/compute
if [ "$(readlink "$link" 2>/dev/null)" != "../../../.." ]; then
  mkdir -p "$(dirname "$link")" && ln -sfn ../../../.. "$link"
fi

# --help (before or after --): both scripts' help, and nothing run.
for arg in ${create_args[@]+"${create_args[@]}"} ${cloud_args[@]+"${cloud_args[@]}"}; do
  if [ "$arg" = --help ] || [ "$arg" = -h ]; then
    .venv/bin/python benchmarks/bench_create.py --help
    echo
    echo "After --, benchmarks/run.sh passes its arguments to benchmarks/bench_cloud_ssh.py:"
    .venv/bin/python benchmarks/bench_cloud_ssh.py --help
    exit 0
  fi
done

status=0
counts=${COUNTS:-1,10,20}
if [ "$which" = batch ]; then
  echo "===== bench_batch: $counts at once, create and delete, ours against kcli's plans, a community.libvirt loop and a virsh loop"
  .venv/bin/python benchmarks/bench_batch.py --counts "$counts" ${create_args[@]+"${create_args[@]}"} || status=$?
  exit "$status"
fi
if [ "$which" = kcli ]; then
  echo "===== bench_kcli: one create and one delete, ours against kcli (tiny image)"
  .venv/bin/python benchmarks/bench_kcli.py ${create_args[@]+"${create_args[@]}"} || status=$?
  exit "$status"
fi
if [ "$which" != cloud-ssh ]; then
  echo "===== bench_create: create until the domain runs (tiny image)"
  .venv/bin/python benchmarks/bench_create.py ${create_args[@]+"${create_args[@]}"} || status=$?
fi
if [ "$which" != create ]; then
  echo
  echo "===== bench_cloud_ssh: create until SSH answers (Debian 12 cloud image)"
  .venv/bin/python benchmarks/bench_cloud_ssh.py ${cloud_args[@]+"${cloud_args[@]}"} || status=$?
fi
if [ "$which" = all ]; then
  echo
  echo "===== bench_kcli: one create and one delete, ours against kcli (tiny image)"
  .venv/bin/python benchmarks/bench_kcli.py || status=$?
  echo
  echo "===== bench_batch: $counts at once, create and delete, ours against kcli's plans, a community.libvirt loop and a virsh loop"
  .venv/bin/python benchmarks/bench_batch.py --counts "$counts" || status=$?
fi
exit "$status"
