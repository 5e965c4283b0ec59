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

# Stages of `make test`. The chain runs one stage after the other; the lanes start with it, since
# they mostly wait (alert `for:` durations, Alertmanager group waits, rollouts, analysis windows)
# and the chain alone leaves about half of the 2 cores idle. Make's graph runs them with
# TEST_JOBS job slots (--output-sync: each target's output whole when it ends): one for the
# chain, one for each lane, and the rest for the e2e scenarios, which also take the chain's slot
# once it is done (monitoring-test has its own two). The tail starts when the chain and every
# lane have ended and runs one stage after the other, alone on the machine. What the stages
# share is built once first (test-prereqs), so that no two build it at once.
TEST_CHAIN  := lint unit sanity chart-test app-test testbed-test
TEST_LANES  := monitoring-test e2e faults-namespace
# after the chain and every lane: the rollback scenario, whose verify holds P2's time guard (a
# machine loaded by the other stages doubles it), then what stops components of the node
TEST_TAIL   := e2e-rollback faults-node
# the scenarios that a stage of the tail runs (e2e-<scenario>), which the e2e lane then leaves out
TEST_E2E_APART = $(patsubst e2e-%,%,$(filter e2e-%,$(TEST_TAIL)))
TEST_STAGES := $(TEST_CHAIN) $(TEST_LANES) $(TEST_TAIL)
TEST_JOBS   ?= 5
TEST_PREREQS ?= test-prereqs

.PHONY: help test test-stages test-chain test-prereqs venv clean-results
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

test: ## run every test stage and print "N passed, N failed"
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)/logs
	@$(MAKE) -k -j$(TEST_JOBS) --output-sync=target test-stages E2E_APART="$(TEST_E2E_APART)" || true
	@$(PY) scripts/results_total.py $(RESULTS) $(TEST_STAGES)

test-stages: test-chain $(addprefix test-stage-,$(TEST_LANES)) test-tail

# RUN_STAGE(target, name): `make <target>` with its JUnit files under $(RESULTS)/<name>, its
# output in $(RESULTS)/logs/<name>.log and <name>.stage recording its exit code, start and end.
# It always succeeds, so the chain goes on after a failed stage; scripts/results_total.py counts.
RUN_STAGE = start=$$(date +%s.%N); rc=0; \
	$(MAKE) $(1) RESULTS=$(RESULTS)/$(2) 2>&1 | tee $(RESULTS)/logs/$(2).log || rc=$$?; \
	echo "$$rc $$start $$(date +%s.%N)" > $(RESULTS)/$(2).stage; \
	echo "==> make $(1): rc=$$rc"

.PHONY: test-stage-prepare test-tail $(addprefix test-stage-,$(TEST_LANES))
test-stage-prepare:
	@+$(call RUN_STAGE,$(TEST_PREREQS),prepare)

# The chain is one recipe, so it keeps its job slot from one stage to the next: between two
# targets of the graph, a scenario of the e2e lane would take the slot and the chain would wait.
test-chain: test-stage-prepare
	@+for stage in $(TEST_CHAIN); do $(call RUN_STAGE,$$stage,$$stage); done

$(addprefix test-stage-,$(TEST_LANES)): test-stage-%: test-stage-prepare
	@+$(call RUN_STAGE,$*,$*)

test-tail: test-chain $(addprefix test-stage-,$(TEST_LANES))
	@+for stage in $(TEST_TAIL); do $(call RUN_STAGE,$$stage,$$stage); done

# Runs the targets $(2) side by side: in the job slots of `make -j` when there are any, else
# $(1) at once.
SIDE_BY_SIDE = $(MAKE) $(if $(findstring --jobserver,$(MAKEFLAGS)),,-j$(1) --output-sync=target) $(2)

# the prerequisites that more than one stage uses (stamps: a no-op when they are up to date)
test-prereqs: venv debs collection gotools chart-schemas integration-venv otelcol otelcol-image cluster testbed-ingress helm-diff \
  monitoring-crds monitoring-images app-image chart-images faults-images

include $(sort $(wildcard mk/*.mk))
