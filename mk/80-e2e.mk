# End to end (issue 7): helm_rollback and the release modules against the real API server
# (tests/e2e), then the Molecule scenarios default, rollback, backup_restore, bluegreen, staging and
# production (inventories/staging and inventories/prod as shipped, behind the test bed's ingress,
# against data stores outside the chart), which
# run the collection's playbooks on the test bed (or on the cluster KUBECONFIG names), each one
# pytest case (tests/scenarios/test_molecule.py) with its JUnit file under $(RESULTS)/e2e; logs,
# reports and backups stay in .cache/e2e/<scenario>. The on-cluster trace test (issue 10) runs
# beside them. They use their own namespaces and host ports, so they run side by side, the
# longest (production) first and staging, whose pods request the most CPU after production's,
# last, so that the two do not hold the node's CPU requests together while chart-test installs
# (most of their time is spent waiting for pods and analysis windows): E2E_JOBS at once
# on their own, or in the job slots of `make test`, which they share with the other stages
# until those are done: every scenario at once beside the CPU-bound stages crowds the 2 cores,
# costs more CPU and ends no sooner (bench/results/notes.md).
E2E_SCENARIOS ?= production rollback default bluegreen backup_restore staging
# scenarios `make e2e` leaves out: `make test` runs them as stages of their own (TEST_E2E_APART)
E2E_APART ?=
E2E_JOBS ?= 3
E2E_APP_IMAGE ?= $(APP_IMAGE)
E2E_KUBECONFIG = $${KUBECONFIG:-$(KUBECONFIG_TESTBED)}
E2E_PYTEST = KUBECONFIG=$(E2E_KUBECONFIG) $(PY) -m pytest -q -p no:cacheprovider
E2E_LANE = $(filter-out $(E2E_APART),$(E2E_SCENARIOS))
E2E_RUNS = $(addprefix e2e-run-,$(E2E_LANE)) e2e-run-modules e2e-run-tracing

.PHONY: e2e e2e-prereqs e2e-live e2e-scenario e2e-run-modules e2e-run-tracing $(addprefix e2e-run-,$(E2E_SCENARIOS))
e2e-prereqs: venv collection helm-diff cluster testbed-ingress app-image chart-images otelcol-image

E2E_RESULTS = $(addprefix $(RESULTS)/e2e/,$(addsuffix .xml,$(addprefix molecule-,$(E2E_LANE)) release_modules_live tracing_cluster))

# every run must leave its JUnit file: a run that did nothing fails the stage.
# E2E_REQUIRE(files): sets rc=1 for each of the JUnit files that is missing or empty
E2E_REQUIRE = for xml in $(1); do [ -s "$$xml" ] || { echo "e2e: no result in $$xml" >&2; rc=1; }; done
e2e: e2e-prereqs ## helm_rollback on the API server + Molecule scenarios: deploy, canary, blue/green, rollback, recovery, backup/restore
	@+rc=0; $(call SIDE_BY_SIDE,$(E2E_JOBS),$(E2E_RUNS)) || rc=$$?; \
	$(call E2E_REQUIRE,$(E2E_RESULTS)); exit $$rc

# the run targets have no prerequisites: `e2e` has built them, once, before they start
e2e-run-modules:
	@E2E_APP_IMAGE=$(E2E_APP_IMAGE) $(E2E_PYTEST) tests/e2e --junitxml=$(RESULTS)/e2e/release_modules_live.xml

e2e-run-tracing:
	@$(TRACING_CLUSTER_TEST)

$(addprefix e2e-run-,$(E2E_SCENARIOS)): e2e-run-%:
	@E2E_APP_IMAGE=$(E2E_APP_IMAGE) $(E2E_PYTEST) -s "tests/scenarios/test_molecule.py::test_scenario[$*]" \
	  --junitxml=$(RESULTS)/e2e/molecule-$*.xml

e2e-live: venv collection helm-diff cluster testbed-ingress app-image ## helm_rollback, the release modules and the chart's Ingress/HTTPRoute on the real API server (tests/e2e)
	@$(MAKE) e2e-run-modules

e2e-scenario: e2e-prereqs ## one scenario: make e2e-scenario S=rollback (E2E_KEEP=1 keeps its namespace)
	@$(MAKE) e2e-run-$(S)

# a stage of make test's tail: the rollback scenario alone on the machine, so that its verify's
# time guard (P2) measures the pipeline, not the other stages' load
.PHONY: e2e-rollback
e2e-rollback: e2e-prereqs ## the rollback scenario alone (make test runs it after the lanes)
	@rc=0; $(MAKE) e2e-run-rollback || rc=$$?; $(call E2E_REQUIRE,$(RESULTS)/e2e/molecule-rollback.xml); exit $$rc

E2E_VERSIONS := 1.0.0 2.0.0 3.0.0 3.0.1
.PHONY: e2e-images
e2e-images: app-image ## the app image under the versions the scenarios and benches deploy, in the test bed
	@$(call app-image-as,$(E2E_APP_IMAGE),$(E2E_VERSIONS))
