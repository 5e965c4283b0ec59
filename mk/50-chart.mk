# The Helm chart helm/agent-service: lint, render + kubeconform with offline schemas,
# helm-unittest, values.schema.json negative cases, PSS restricted, kube-score (built by gotools)
# on each environment's render with the checks and accepted findings of tests/chart/kube-score.yaml,
# and the generated chart files (values.schema.json, README.md) checked against `make generate`.
# The on-cluster install test (tests/chart/test_install.py, `make chart-test-cluster`) needs the
# test bed and the images; it starts what is missing.
CHART_DIR    := helm/agent-service
CHART_KUBE   := $(KUBERNETES_VERSION:v%=%)
# kubeconform schemas generated from k8s.io/kubernetes' openapi spec and the CRDs of prometheus-operator,
# external-secrets and the Gateway API (standard channel) into the build cache, one directory per set of
# versions; their generator stays in tests/chart/ because it makes test input, no chart file
KUBE_SCHEMAS := $(CACHE_DIR)/kube-schemas/k8s-$(KUBERNETES_VERSION)-promop-$(PROMETHEUS_OPERATOR_VERSION)-eso-$(EXTERNAL_SECRETS_VERSION)-gwapi-$(GATEWAY_API_VERSION)
KUBECONFORM_SCHEMA_LOCATION := $(KUBE_SCHEMAS)/{{ .ResourceKind }}{{ .KindSuffix }}.json

.PHONY: generate generate-check chart-tools chart-schemas chart-lint chart-kubeconform chart-unittest chart-pytest chart-test chart-test-offline chart-test-cluster chart-images

# the chart's generated files: values.schema.json (hack/gen_values_schema.py) and README.md
# (helm-docs from README.md.gotmpl), both from values.yaml; tests/chart/test_generated.py runs the
# check as part of chart-pytest
generate: venv gotools ## regenerate the chart's generated files from values.yaml
	@$(PY) $(CHART_DIR)/hack/generate.py

generate-check: venv gotools ## fail, naming the file, when a generated chart file is stale
	@$(PY) $(CHART_DIR)/hack/generate.py --check

chart-tools: venv gotools ## helm-unittest (Go module proxy) as a helm plugin
	@bash tests/chart/install-helm-unittest.sh $(HELM_UNITTEST_VERSION)

chart-schemas: $(KUBE_SCHEMAS)/.stamp ## offline kubeconform schemas (built-in kinds + prometheus-operator, external-secrets, Gateway API CRDs)

$(KUBE_SCHEMAS)/.stamp: tests/chart/gen_kube_schemas.py | venv
	@$(PY) tests/chart/gen_kube_schemas.py $(KUBE_SCHEMAS) --kubernetes $(KUBERNETES_VERSION) \
	  --prometheus-operator $(PROMETHEUS_OPERATOR_VERSION) --external-secrets $(EXTERNAL_SECRETS_VERSION) \
	  --gateway-api $(GATEWAY_API_VERSION)
	@touch $@

# tests/chart/test_lint.py: helm lint --strict (helm 3 and 4) and kubeconform -strict per environment
export KUBECONFORM_SCHEMA_LOCATION
chart-lint: chart-tools
	@$(PY) -m pytest -q -p no:cacheprovider tests/chart/test_lint.py -k helm_lint

chart-kubeconform: chart-tools chart-schemas
	@$(PY) -m pytest -q -p no:cacheprovider tests/chart/test_lint.py -k kubeconform

chart-unittest: chart-tools
	@mkdir -p $(RESULTS)/chart
	@helm unittest --strict -t JUnit -o $(RESULTS)/chart/helm-unittest.xml $(CHART_DIR)

# tests/chart/ but the install: lint, kubeconform, schema, PSS, kube-score (test_manifests.py), the seed's
# snippets and the generated files
chart-pytest: chart-tools chart-schemas
	@$(PY) -m pytest -q -p no:cacheprovider tests/chart --ignore=tests/chart/test_install.py \
	  --junitxml=$(RESULTS)/chart/pytest.xml

chart-test: chart-test-offline ## lint, kubeconform, helm-unittest, schema + PSS + kube-score pytest, then the dev install on the test bed
	@$(MAKE) chart-test-cluster

chart-test-offline: chart-unittest chart-pytest ## only the checks that need no cluster and no docker (chart-pytest runs lint and kubeconform)

# dev images of the bundled Redis/PostgreSQL, built for the test bed (docker, imported into containerd)
chart-images: debs ## build localhost/testbed/{redis,postgresql} for the dev values
	@bash testbed/images/build.sh localhost/testbed/redis:$(CHART_REDIS_IMAGE_TAG) images/redis
	@bash testbed/images/build.sh localhost/testbed/postgresql:$(CHART_POSTGRESQL_IMAGE_TAG) images/postgresql

chart-test-cluster: chart-tools cluster app-image chart-images ## install the dev values on the test bed (PSS restricted)
	@KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_TESTBED)} CHART_APP_IMAGE_TAG=$(APP_IMAGE_TAG) \
	  $(PY) -m pytest -q -p no:cacheprovider tests/chart/test_install.py --junitxml=$(RESULTS)/chart/install.xml
