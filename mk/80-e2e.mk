# End to end (issue 7): helm_rollback against the real API server (tests/e2e), then the
# Molecule scenarios default, rollback, backup_restore and bluegreen, which run the collection's
# playbooks on the test bed (or on the cluster KUBECONFIG names). Each scenario is one
# JUnit case under $(RESULTS)/e2e; logs, reports and backups stay in .cache/e2e/<scenario>.
# make test runs all four. They use their own namespaces and host ports, so they run side
# by side (E2E_JOBS at once; most of their time is spent waiting for pods and analysis
# windows); each one's output is printed when it ends. The on-cluster trace test (issue 10)
# runs beside them. They start longest first. Under `make test`, e2e runs in a lane beside
# the CPU-bound stages, with E2E_EARLY_JOBS at once until those are done: every scenario at
# once beside them crowds the 2 cores, costs more CPU and ends no sooner
# (bench/results/notes.md).
E2E_SCENARIOS ?= rollback default bluegreen backup_restore
E2E_JOBS ?= 3
E2E_EARLY_JOBS ?= 2
E2E_EARLY = $(if $(STAGES_FOREGROUND_DONE),--early-jobs $(E2E_EARLY_JOBS) --early-until $(STAGES_FOREGROUND_DONE))
E2E_APP_IMAGE ?= $(APP_IMAGE)
E2E_KUBECONFIG = $${KUBECONFIG:-$(KUBECONFIG_TESTBED)}

DEFINED_STAGES += e2e
.PHONY: e2e e2e-prereqs e2e-live e2e-scenario
e2e-prereqs: venv collection helm-diff cluster app-image chart-images

# the on-cluster trace test (mk/45-tracing.mk) runs as a fourth job of the e2e stage: it takes
# the first free slot (about a minute, while the longer scenarios still run)
e2e: otelcol-image

# A scenario killed half-way leaves Molecule's state saying "prepared", and the next `molecule
# test` would then skip prepare (no host Prometheus, no images): every run starts from a reset.
E2E_RESET = for s in $(1); do molecule reset -s $$s >/dev/null 2>&1 || true; done

e2e: e2e-prereqs ## helm_rollback on the API server + Molecule scenarios: deploy, canary, blue/green, rollback, recovery, backup/restore
	@rc=0; $(call E2E_RESET,$(E2E_SCENARIOS)); \
	KUBECONFIG=$(E2E_KUBECONFIG) $(PY) -m pytest -q -p no:cacheprovider tests/e2e \
	  --junitxml=$(RESULTS)/e2e/helm_rollback_live.xml || rc=1; \
	E2E_APP_IMAGE=$(E2E_APP_IMAGE) KUBECONFIG=$(E2E_KUBECONFIG) \
	  $(PY) scripts/parallel.py --jobs $(E2E_JOBS) $(E2E_EARLY) --log-dir $(ROOT)/.cache/e2e/logs \
	  $(foreach s,$(E2E_SCENARIOS),'$(s)=$(CHECK) e2e molecule-$(s) -- molecule test -s $(s)') \
	  'tracing=$(TRACING_CLUSTER_TEST)' || rc=1; \
	exit $$rc

e2e-live: venv collection helm-diff cluster ## helm_rollback against the real API server (tests/e2e)
	@KUBECONFIG=$(E2E_KUBECONFIG) $(PY) -m pytest -q -p no:cacheprovider tests/e2e \
	  --junitxml=$(RESULTS)/e2e/helm_rollback_live.xml

e2e-scenario: e2e-prereqs ## one scenario: make e2e-scenario S=rollback (E2E_KEEP=1 keeps its namespace)
	@$(call E2E_RESET,$(S)); E2E_APP_IMAGE=$(E2E_APP_IMAGE) KUBECONFIG=$(E2E_KUBECONFIG) molecule test -s $(S)

E2E_VERSIONS := 1.0.0 2.0.0 3.0.0 3.0.1
.PHONY: e2e-images
e2e-images: app-image ## the app image under the versions the scenarios and benches deploy, in the test bed
	@$(call app-image-as,$(E2E_APP_IMAGE),$(E2E_VERSIONS))
