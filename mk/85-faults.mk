# Fault matrix (issue 9): tests/faults injects one fault per case into a release on the test
# bed (namespace faults, host Prometheus on 127.0.0.1:59170, webhook on 59171) and checks the
# pipeline's outcome and that nothing is lost. Not a stage of make test (about 20 minutes).
# JUnit: $(RESULTS)/faults/faults.xml; table: bench/results/faults.{json,md}; logs, reports and
# backups: .cache/faults. One case: make faults FAULTS_K=crashloop; FAULTS_KEEP=1 keeps the
# namespace (the next run then reuses its baseline release instead of installing it again).
FAULTS_BASE_VERSION ?= 2.9.0
FAULTS_BAD_VERSION ?= 3.9.0
FAULTS_K ?=
FAULTS_KEEP ?=
FAULTS_KUBECONFIG = $${KUBECONFIG:-$(KUBECONFIG_TESTBED)}

.PHONY: faults faults-images faults-clean
faults-images: app-image cluster ## tag the app image as the fault matrix's two versions and import them
	@$(call app-image-as,$(APP_IMAGE),$(FAULTS_BASE_VERSION) $(FAULTS_BAD_VERSION))

faults: venv collection helm-diff cluster app-image chart-images faults-images ## fault matrix on the test bed (tests/faults)
	@mkdir -p $(RESULTS)/faults
	@KUBECONFIG=$(FAULTS_KUBECONFIG) FAULTS_BASE_VERSION=$(FAULTS_BASE_VERSION) \
	  FAULTS_BAD_VERSION=$(FAULTS_BAD_VERSION) $(PY) -m pytest -v -p no:cacheprovider tests/faults \
	  $(if $(FAULTS_K),-k "$(FAULTS_K)") --junitxml=$(RESULTS)/faults/faults.xml; rc=$$?; \
	[ -n "$(FAULTS_KEEP)" ] || KUBECONFIG=$(FAULTS_KUBECONFIG) kubectl delete namespace faults --ignore-not-found \
	  --wait=false; exit $$rc

faults-clean: ## remove the fault matrix's namespace
	@KUBECONFIG=$(FAULTS_KUBECONFIG) kubectl delete namespace faults --ignore-not-found --wait=false
