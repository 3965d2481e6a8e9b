# Everything runs from here: `make up` deploys the sample app onto a local fresh server,
# `make test` runs every test. Both set up what they need (venv, Docker engine, images).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
SUITE ?= bookworm
SERVER ?= djkit-local
export DJKIT_SSH_PORT ?= 2222
export DJKIT_HTTP_PORT ?= 8080
export DJKIT_HTTPS_PORT ?= 8443
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv host-deps docker images up down docs lint test-app molecule bench bench-smoke bench-peers test clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The controller's Python: the newest 3.11 or later on PATH (tools/find-python), or PYTHON=...
$(VENV)/.installed: requirements-dev.txt app/requirements.txt app/requirements-test.txt
	python="$$(PYTHON='$(PYTHON)' tools/find-python)" && "$$python" -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Controller virtualenv with pinned tools

host-deps: ## Host packages the tests use (PostgreSQL server binaries, Chromium)
	tools/ensure-host-packages

docker: ## Make sure a Docker engine answers (installs docker.io if missing)
	tools/ensure-docker

images: docker ## Build (or reuse) the fresh-server images for Debian 12 and 13
	tools/build-image bookworm
	tools/build-image trixie

up: venv docker ## Start a local fresh server and deploy the sample app onto it
	tools/fresh-server up $(SERVER) $(SUITE) --ssh-port $(DJKIT_SSH_PORT) \
	  --publish $(DJKIT_HTTP_PORT):80 --publish $(DJKIT_HTTPS_PORT):443
	$(BIN)/ansible-playbook -i inventories/local site.yml
	@echo
	@echo "The sample app answers on https://127.0.0.1:$(DJKIT_HTTPS_PORT)/ (self-signed certificate)"

down: ## Remove the local fresh server
	tools/fresh-server down $(SERVER)

docs: venv ## Regenerate each role's README from its argument specs
	$(BIN)/python tools/tools_readme.py

lint: venv ## yamllint, ansible-lint, syntax check, ruff, shellcheck, the fast tests
	$(BIN)/python tools/check-collections requirements.yml
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --offline
	$(BIN)/ansible-playbook -i inventories/local --syntax-check site.yml
	$(BIN)/ruff check .
	grep -lrE '^#!(/bin/sh|/bin/bash|/usr/bin/env bash)' roles tools | grep -v '\.j2$$' | xargs $(BIN)/shellcheck
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q tests

test-app: venv host-deps ## The sample app's tests against a throwaway PostgreSQL
	cd app && ../$(BIN)/pytest -q

# default and thirdparty prove the kit with Ansible's own strategy (what users run); the
# scenarios that run site.yml and deploys many times over (lifecycle, cluster, acme) use the
# Mitogen opt-in, which keeps `make test` within its hour on 2 cores and proves the opt-in.
# A scenario that fails ends the log with its failed tests and why (tools/test-failures).
scenario = rm -f artifacts/junit/$(1).xml && $(BIN)/molecule test -s $(1) \
	|| { tools/test-failures $(1); exit 1; }
molecule: venv docker host-deps images ## Every Molecule scenario
	$(call scenario,default)
	$(call scenario,thirdparty)
	eval "$$(tools/mitogen-env)" && for scenario in lifecycle cluster acme; do \
	  $(call scenario,$$scenario); done

bench: venv docker images ## Provisioning (default strategy and Mitogen) and serving against their floors (~15 min)
	$(BIN)/python tools/bench.py

bench-smoke: venv docker images ## The bench end to end, default strategy, 2 s wrk runs, one repeat: it works, no thresholds
	DJKIT_BENCH_SECONDS=2 DJKIT_BENCH_REPEATS=1 DJKIT_BENCH_STRATEGIES=default \
	  DJKIT_BENCH_OUT=artifacts/bench-smoke.json $(BIN)/python tools/bench.py

bench-peers: venv docker images ## The kit beside fujin on fresh servers of one image: first deploy, redeploy, serving (not in test)
	$(BIN)/python tools/bench_peers.py

test: lint test-app molecule bench-smoke ## Every test

clean: down ## Remove the venv and local caches (keeps images)
	rm -rf $(VENV) .cache
