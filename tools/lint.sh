#!/usr/bin/env bash
# The linters, as `make lint` and tools/run_tests.sh run them: ruff over the
# Python; ansible-lint over the playbooks, roles, integration targets and the
# molecule scenario (.ansible-lint: the production profile, nothing skipped;
# any finding fails); antsibull-docs over every plugin's and role's
# documentation (as the Ansible documentation site renders it; needs
# ANSIBLE_COLLECTIONS_PATH to reach this checkout, as the Makefile sets it);
# antsibull-changelog over the changelog fragments and
# changelogs/changelog.yaml, and CHANGELOG.rst regenerated from the latter (a
# stale one fails: run `antsibull-changelog generate` and commit it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ruff check .
ruff format --check .
# The modules' argument specs, as their documentation gives them (tools/option_specs.py).
python tools/option_specs.py --check
ansible-lint
antsibull-docs lint-collection-docs --plugin-docs .
antsibull-changelog lint
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
antsibull-changelog generate
git diff --exit-code -- CHANGELOG.rst
