# Monitoring: Prometheus rules (promtool), SLO rules (generated), Alertmanager routing
# (amtool), Grafana dashboard (generated), the monitoring_stack role, and its images.
MONITORING_PYTEST   := $(PY) -m pytest -q -p no:cacheprovider
MONITORING_CRDS_DIR := $(CACHE_DIR)/monitoring-crds/$(PROMETHEUS_OPERATOR_VERSION)
export MONITORING_CRDS_DIR
# offline kubeconform schemas of Kubernetes + the operator CRDs (mk/50-chart.mk, `make chart-schemas`)
export MONITORING_KUBE_SCHEMAS = $(KUBE_SCHEMAS)

.PHONY: monitoring-generate monitoring-test monitoring-offline-test monitoring-crds monitoring-images monitoring-live-test
monitoring-generate: venv ## regenerate the SLO rules and the Grafana dashboard from their sources
	@$(PY) monitoring/slo/generate.py
	@$(PY) monitoring/grafana/generate.py

# otelcol: the log agent's configuration is validated by the collector it runs in (offline);
# otelcol-image is the log agent, e2e-images the app under other versions (the logs test)
MONITORING_OFFLINE_PREREQS := venv debs collection gotools chart-schemas otelcol
MONITORING_LIVE_PREREQS    := venv debs collection cluster monitoring-crds monitoring-images app-image chart-images \
  otelcol-image e2e-images

monitoring-offline-test: $(MONITORING_OFFLINE_PREREQS) ## promtool/amtool checks, unit tests, dashboard, role render and staleness checks (pytest)
	@$(MONITORING_PYTEST) --junitxml=$(RESULTS)/monitoring/offline.xml tests/monitoring -m "not live"

# The prometheus-operator CRDs of the pinned version, from its module on the Go module proxy.
monitoring-crds: ## prometheus-operator CRD manifests into $(MONITORING_CRDS_DIR)
	@mkdir -p $(MONITORING_CRDS_DIR)
	@dir=$$(cd monitoring/images/prometheus-operator && go mod download -json github.com/prometheus-operator/prometheus-operator@$(PROMETHEUS_OPERATOR_VERSION) | jq -r .Dir) \
	  && cp $$dir/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml $(MONITORING_CRDS_DIR)/ \
	  && chmod 0644 $(MONITORING_CRDS_DIR)/*.yaml \
	  && echo ">> monitoring: $$(ls $(MONITORING_CRDS_DIR) | wc -l) CRDs in $(MONITORING_CRDS_DIR)"

monitoring-images: debs ## operator-mode images (operator, reloader, kube-state-metrics, Prometheus, Alertmanager, exporters, VictoriaLogs)
	@bash monitoring/images/build.sh

# VictoriaLogs (issue 22) alone: its static binary from the Go module proxy, the same cached
# build that the victoria-logs image copies (monitoring/images/build.sh --binaries-only), for
# the tests that run it on loopback. No docker, no test bed. Pin: monitoring/images/images.env.
VICTORIA_LOGS := $(CACHE_DIR)/monitoring-bin/victoria-logs
export VICTORIA_LOGS

.PHONY: victoria-logs
victoria-logs: ## VictoriaLogs binary only (no image, no cluster) into $(VICTORIA_LOGS)
	@bash monitoring/images/build.sh --binaries-only victoria-logs

monitoring-live-test: $(MONITORING_LIVE_PREREQS) ## the monitoring stack on the test bed (operator mode)
	@KUBECONFIG=$(KUBECONFIG_TESTBED) APP_IMAGE_TAG=$(APP_IMAGE_TAG) $(MONITORING_PYTEST) --junitxml=$(RESULTS)/monitoring/live.xml tests/monitoring -m live

# The two halves mostly wait (alert `for:` durations, Alertmanager group waits, rollouts) and use
# separate ports (offline 59100-59106, live 59150/59190), so they run side by side: the stage
# takes as long as the live half. Each half's output is printed when it ends (--output-sync). They
# get two job slots of their own (make warns that -j2 resets the jobserver): in the slots that
# `make test` shares, the e2e scenarios would take the second and hold back the live half.
monitoring-test: $(sort $(MONITORING_OFFLINE_PREREQS) $(MONITORING_LIVE_PREREQS)) ## offline checks beside the stack on the test bed (see monitoring/README.md)
	@+$(MAKE) -j2 --output-sync=target monitoring-offline-test monitoring-live-test
