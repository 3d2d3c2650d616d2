#!/usr/bin/env bash
# Build the HTML documentation of nimbus.compute (make docs):
#   docs/site/build.sh [DEST]        (default build/docs; the pages in DEST/html)
# antsibull-docs writes the collection's RST from the plugins' and roles' own
# documentation (the collection as ANSIBLE_COLLECTIONS_PATH finds it), then
# Sphinx renders it with docs/site/conf.py. Warnings fail the build, except
# with NIMBUS_DOCS_OFFLINE=1 (no network: links into Ansible's documentation
# stay unresolved, see conf.py), where they are only printed.
set -euo pipefail
site=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=$(mkdir -p "${1:-build/docs}" && cd "${1:-build/docs}" && pwd)
rm -rf "$dest/rst"
mkdir -m 0700 "$dest/rst"  # antsibull-docs wants the directory writable by its owner only
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --use-current --dest-dir "$dest/rst" nimbus.compute
cp "$site/index.rst" "$dest/rst/index.rst"
strict=(-W --keep-going)
[ -n "${NIMBUS_DOCS_OFFLINE:-}" ] && strict=()
sphinx-build -M html "$dest/rst" "$dest" -c "$site" -q ${strict[@]+"${strict[@]}"} -w "$dest/warnings.txt"
echo "docs: $dest/html/collections/nimbus/compute/index.html"
