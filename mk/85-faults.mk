# Fault matrix: tests/faults injects one fault per case into a release on the test bed
# (namespace faults, host Prometheus on 127.0.0.1:59170, webhook on 59171) and checks the
# pipeline's outcome and that nothing is lost; test_04_bad_inputs.py is the bad-input catalogue.
# Two parts, two stages of `make test`:
#   faults-namespace  the cases inside the release's namespace, a lane beside the others;
#   faults-node       the cases that stop a component of the node (marker `node`: kubelet, API
#                     server, etcd, containerd, a reboot), alone on the cluster after the lanes.
# `make faults` runs both. JUnit: $(RESULTS)/faults-*.xml; table: bench/results/faults.{json,md},
# written from the rows of this run's parts only (.cache/faults/rows); logs, reports and backups:
# .cache/faults. faults-namespace leaves the namespace to faults-node, which removes it unless
# FAULTS_KEEP=1 (the next run then reuses its baseline release instead of installing it again).
# One case: make faults FAULTS_K=crashloop.
FAULTS_BASE_VERSION ?= 2.9.0
FAULTS_BAD_VERSION ?= 3.9.0
FAULTS_K ?=
FAULTS_KEEP ?=
FAULTS_KUBECONFIG = $${KUBECONFIG:-$(KUBECONFIG_TESTBED)}
FAULTS_PREREQS := venv collection helm-diff cluster app-image chart-images faults-images

# FAULTS_RUN(part, marker expression): one pytest session of the matrix
FAULTS_RUN = mkdir -p $(RESULTS) && KUBECONFIG=$(FAULTS_KUBECONFIG) FAULTS_PART=$(1) \
	  FAULTS_BASE_VERSION=$(FAULTS_BASE_VERSION) FAULTS_BAD_VERSION=$(FAULTS_BAD_VERSION) \
	  $(PY) -m pytest -v -p no:cacheprovider tests/faults -m "$(2)" $(if $(FAULTS_K),-k "$(FAULTS_K)") \
	  --junitxml=$(RESULTS)/faults-$(1).xml
FAULTS_DROP_NAMESPACE = [ -n "$(FAULTS_KEEP)" ] || KUBECONFIG=$(FAULTS_KUBECONFIG) \
	  kubectl delete namespace faults --ignore-not-found --wait=false

.PHONY: faults faults-namespace faults-node faults-images faults-clean
faults-images: app-image cluster ## tag the app image as the fault matrix's two versions and import them
	@$(call app-image-as,$(APP_IMAGE),$(FAULTS_BASE_VERSION) $(FAULTS_BAD_VERSION))

faults: $(FAULTS_PREREQS) ## the whole fault matrix and the bad-input catalogue on the test bed (tests/faults)
	@rc=0; $(MAKE) faults-namespace || rc=1; $(MAKE) faults-node || rc=1; exit $$rc

faults-namespace: $(FAULTS_PREREQS) ## the fault matrix's cases inside the release's namespace, and the bad inputs
	@rm -rf .cache/faults/rows
	@$(call FAULTS_RUN,namespace,not node)

faults-node: $(FAULTS_PREREQS) ## the fault matrix's node cases (restarts, reboot): nothing else may use the cluster
	@$(call FAULTS_RUN,node,node); rc=$$?; $(FAULTS_DROP_NAMESPACE); exit $$rc

faults-clean: ## remove the fault matrix's namespace
	@KUBECONFIG=$(FAULTS_KUBECONFIG) kubectl delete namespace faults --ignore-not-found --wait=false
