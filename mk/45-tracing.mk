# Tracing (issue 10): the OpenTelemetry Collector distribution of tracing/otelcol/builder.yaml,
# built through the collector's builder from the Go module proxy into $(BIN_DIR). The app's
# trace test (app/tests/test_tracing.py) runs it on loopback; versions in versions.env.
OTELCOL := $(BIN_DIR)/otelcol-agent-service

.PHONY: otelcol
otelcol: ## tracing: build the OpenTelemetry Collector (builder, Go module proxy) into $(BIN_DIR)
	@OTELCOL_BUILDER_VERSION=$(OTELCOL_BUILDER_VERSION) OTELCOL_VERSION=$(OTELCOL_VERSION) OTELCOL_LOGS_VERSION=$(OTELCOL_LOGS_VERSION) \
	  bash $(ROOT)/tracing/build-otelcol.sh

OTELCOL_IMAGE ?= localhost/testbed/otelcol:$(OTELCOL_VERSION:v%=%)

.PHONY: otelcol-image
otelcol-image: otelcol ## tracing: the collector as an image for the test bed (tracing/otelcol/Dockerfile)
	@ctx=$$(mktemp -d) && trap 'rm -rf "$$ctx"' EXIT \
	  && cp $(OTELCOL) $(ROOT)/tracing/otelcol/Dockerfile $(ROOT)/tracing/otelcol/config.yaml "$$ctx"/ \
	  && bash $(ROOT)/testbed/images/build.sh $(OTELCOL_IMAGE) "$$ctx"

# On the test bed: the chart with tracing on, the collector in the same namespace, one
# invocation whose spans from the API pod and the worker pod share a trace ID, read back
# from the collector's file. Part of `make e2e` (a job beside the Molecule scenarios); on its
# own: make tracing-cluster-test.
.PHONY: tracing-cluster-test
TRACING_CLUSTER_TEST = KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_TESTBED)} $(PY) -m pytest -q -p no:cacheprovider \
	  tests/tracing/test_tracing_cluster.py --junitxml=$(RESULTS)/e2e/tracing_cluster.xml
tracing-cluster-test: venv cluster app-image chart-images otelcol-image ## tracing: one trace across API and worker pods, on the test bed
	@$(TRACING_CLUSTER_TEST)
