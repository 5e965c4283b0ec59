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
export CACHE_DIR BIN_DIR VENV RESULTS
export PATH := $(BIN_DIR):$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export ANSIBLE_HOME := $(ROOT)/.cache/ansible

# Stages of `make test`. The chain runs one stage after the other; the lanes start with the
# first stage of the chain, since they mostly wait (alert `for:` durations, Alertmanager group
# waits, rollouts, analysis windows) and the chain alone leaves about half of the 2 cores idle.
# Make's graph runs them (`-j TEST_JOBS`, `--output-sync`): the stages' sub-makes share its job
# slots, so a lane takes up the slots the chain leaves once it is done. What the stages share is
# built once first (test-prereqs), so that no two build it at once.
TEST_CHAIN  := lint unit sanity chart-test app-test testbed-test
TEST_LANES  := monitoring-test e2e
TEST_STAGES := $(TEST_CHAIN) $(TEST_LANES)
TEST_JOBS   ?= 5
TEST_PREREQS ?= test-prereqs

.PHONY: help test test-stages test-prereqs venv clean-results
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

test: ## run every test stage and print "N passed, N failed"
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)/logs
	@$(MAKE) -k -j$(TEST_JOBS) --output-sync=target test-stages || true
	@$(PY) scripts/results_total.py $(RESULTS) $(TEST_STAGES)

test-stages: $(addprefix test-stage-,$(TEST_STAGES))

# test-stage-<stage>: `make <stage>` with its JUnit files under $(RESULTS)/<stage> and its
# output in $(RESULTS)/logs/<stage>.log; <stage>.stage records its exit code, start and end.
# It always succeeds, so the chain goes on after a failed stage; scripts/results_total.py counts.
# The shared prerequisites run the same way as test-stage-prepare.
RUN_STAGE = start=$$(date +%s.%N); rc=0; \
	$(MAKE) $(1) RESULTS=$(RESULTS)/$(2) 2>&1 | tee $(RESULTS)/logs/$(2).log || rc=$$?; \
	echo "$$rc $$start $$(date +%s.%N)" > $(RESULTS)/$(2).stage; \
	echo "==> make $(1): rc=$$rc"

.PHONY: test-stage-prepare $(addprefix test-stage-,$(TEST_STAGES))
test-stage-prepare:
	@+$(call RUN_STAGE,$(TEST_PREREQS),prepare)

$(addprefix test-stage-,$(TEST_STAGES)): test-stage-%: test-stage-prepare
	@+$(call RUN_STAGE,$*,$*)

# each stage of the chain waits for the one before it
TEST_ORDER = $(if $(word 2,$(1)),$(eval test-stage-$(word 2,$(1)): | test-stage-$(word 1,$(1)))$(call TEST_ORDER,$(wordlist 2,$(words $(1)),$(1))))
$(call TEST_ORDER,$(TEST_CHAIN))

# Runs the targets $(2) side by side: in the job slots of `make -j` when there are any, else
# $(1) at once.
SIDE_BY_SIDE = $(MAKE) $(if $(findstring --jobserver,$(MAKEFLAGS)),,-j$(1) --output-sync=target) $(2)

# the prerequisites that more than one stage uses (stamps: a no-op when they are up to date)
test-prereqs: venv debs collection gotools chart-schemas integration-venv otelcol otelcol-image cluster helm-diff \
  monitoring-crds monitoring-images app-image chart-images

include $(sort $(wildcard mk/*.mk))
