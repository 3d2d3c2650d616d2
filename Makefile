# nimbus.compute: install, prepare this machine, demo and test.
#   make demo            boot one instance (NAME=demo) on this machine
#   make delete          delete it again (NAME=demo)
#   make test            every suite, as CI runs it (.ci/run)
SHELL := /bin/bash
.DEFAULT_GOAL := help

NAME ?= demo
# make bench COUNTS=10: the instances per run of benchmarks/bench_batch.py.
COUNTS ?= 1,10,20
VENV := $(CURDIR)/.venv
COLLECTION_LINK := build/collections/ansible_collections/nimbus/compute
INVENTORY := inventories/local

# Every recipe sees the virtualenv first on PATH and this checkout as the
# collection nimbus.compute.
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

PLAYBOOK := ansible-playbook -i $(INVENTORY)

.PHONY: help deps image cloud-image hosts demo delete test docs lint unit sanity integration molecule multihost bench bench-scheduler bench-ipam bench-store clean

help:
	@echo "make demo [NAME=demo]    install, build the test image, prepare this host, boot an instance"
	@echo "make delete [NAME=demo]  delete that instance"
	@echo "make test                lint, unit, sanity, integration and molecule (what CI runs)"
	@echo "make cloud-image         build the Debian 12 cloud-init image build/images/nimbus-debian12.qcow2 (as root)"
	@echo "make bench [COUNTS=1,10,20]  the benchmarks (benchmarks/README.md); COUNTS for bench_batch.py"
	@echo "make docs [DOCS_OFFLINE=]   the HTML documentation of every module, filter and role in build/docs/html"
	@echo "make deps | image | cloud-image | hosts | docs | lint | unit | sanity | integration | molecule | multihost | bench | bench-scheduler | bench-ipam | bench-store | clean"

deps:
	tools/install_deps.sh
	@if [ "$$(readlink $(COLLECTION_LINK))" != "../../../.." ]; then \
	  mkdir -p $(dir $(COLLECTION_LINK)) && ln -sfn ../../../.. $(COLLECTION_LINK); fi

image: deps
	tools/build_test_image.sh build/images

cloud-image: deps
	tools/build_cloud_image.sh build/images

hosts: deps
	$(PLAYBOOK) playbooks/prepare_hosts.yml

demo: deps image hosts
	$(PLAYBOOK) playbooks/create_instance.yml -e instance_name=$(NAME)

delete: deps
	$(PLAYBOOK) playbooks/delete_instance.yml -e instance_name=$(NAME)

test: deps image cloud-image
	tools/run_tests.sh

lint: deps
	tools/lint.sh

# The HTML documentation (docs/site/). Offline by default: no network reaches
# Ansible's documentation here; DOCS_OFFLINE= builds strictly, with its links.
DOCS_OFFLINE ?= 1
docs: deps
	NIMBUS_DOCS_OFFLINE=$(DOCS_OFFLINE) docs/site/build.sh build/docs

unit: deps
	pytest tests/unit

sanity: deps
	tools/ansible_test_sanity.sh

integration: deps image cloud-image hosts
	tests/integration/run.sh

molecule: deps image hosts
	cd extensions && molecule test -s default

multihost: deps image
	tests/multihost/run.sh

bench: deps image cloud-image hosts
	COUNTS=$(COUNTS) benchmarks/run.sh

bench-scheduler: deps
	$(VENV)/bin/python benchmarks/bench_scheduler.py

bench-ipam: deps
	$(VENV)/bin/python benchmarks/bench_ipam.py

bench-store: deps
	$(VENV)/bin/python benchmarks/bench_store.py

# Keeps .venv (slow to rebuild) and leaves running daemons alone.
clean:
	rm -rf build/images build/sanity build/stamps build/tests tests/output .pytest_cache .ruff_cache
