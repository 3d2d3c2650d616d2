#!/usr/bin/env bash
# Create-instance benchmark, ours against community.libvirt (make bench).
# Installs requirements-bench.txt into .venv when community.libvirt is
# missing, then runs benchmarks/bench_create.py with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("ansible_collections.community.libvirt") is None)' 2>/dev/null; then
  .venv/bin/pip install --disable-pip-version-check -q -r requirements-bench.txt
fi
link=build/collections/ansible_collections/nimbus/compute
if [ "$(readlink "$link" 2>/dev/null)" != "../../../.." ]; then
  mkdir -p "$(dirname "$link")" && ln -sfn ../../../.. "$link"
fi
exec .venv/bin/python benchmarks/bench_create.py "$@"
