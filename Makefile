# agent_service.platform: one entry point for building, running and testing.
# `make up` deploys on the local test bed, `make test` runs everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

include versions.env

ROOT        := $(CURDIR)
# Build caches live outside the checkout so that fresh clones (CI) reuse them.
CACHE_DIR   ?= $(HOME)/.cache/agent-service-platform
BIN_DIR     ?= $(CACHE_DIR)/bin
VENV        ?= $(ROOT)/.venv
RESULTS     ?= $(ROOT)/.results
PY          := $(VENV)/bin/python
CHECK       := python3 $(ROOT)/scripts/check.py
export CACHE_DIR BIN_DIR VENV RESULTS
export PATH := $(BIN_DIR):$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export ANSIBLE_HOME := $(ROOT)/.cache/ansible

# Stages of `make test`, in this order. Each mk/*.mk that defines a stage target
# registers it with `DEFINED_STAGES += <stage>`; only registered stages run.
ALL_STAGES  := lint unit sanity chart-test app-test monitoring-test testbed-test e2e
TEST_STAGES  = $(filter $(DEFINED_STAGES),$(ALL_STAGES))
# monitoring-test and e2e mostly wait (alert `for:` durations, Alertmanager group waits,
# rollouts, analysis windows): each runs in a lane of its own beside lint..testbed-test,
# which alone leave about half of the 2 cores idle. What the stages share is built once
# first (test-prereqs), so that no two build it at once.
TEST_BESIDE  = $(filter monitoring-test e2e,$(TEST_STAGES))

.PHONY: help test test-prereqs venv clean-results
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

test: ## run every test stage and print "N passed, N failed"
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@python3 scripts/run_stages.py --prepare test-prereqs $(addprefix --beside ,$(TEST_BESIDE)) $(TEST_STAGES)

# the prerequisites that more than one stage uses (stamps: a no-op when they are up to date)
test-prereqs: venv debs collection gotools chart-schemas integration-venv otelcol otelcol-image cluster helm-diff \
  monitoring-crds monitoring-images app-image chart-images

include $(sort $(wildcard mk/*.mk))
