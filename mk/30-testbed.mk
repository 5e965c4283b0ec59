# The local Kubernetes test bed (issue 2): binaries from the Go module proxy, images built
# locally with docker, a single-node cluster of host processes. See testbed/README.md.
TESTBED     := $(ROOT)/testbed
KUBECONFIG_TESTBED := $(ROOT)/.testbed/kubeconfig
TESTBED_GOMOD := bash $(TESTBED)/tools/gomod-build.sh
export KUBERNETES_VERSION ETCD_VERSION COREDNS_VERSION METRICS_SERVER_VERSION \
  LOCAL_PATH_PROVISIONER_VERSION KUBE_ROUTER_VERSION CRICTL_VERSION CRANE_VERSION \
  HELM_DIFF_VERSION DEBIAN_SUITE TRAEFIK_VERSION CERT_MANAGER_VERSION GATEWAY_API_VERSION

.PHONY: testbed-tools k8s-tools addon-tools helm-diff images cluster cluster-down cluster-status docker-up docker-down testbed-test \
  ingress-images testbed-ingress
tools: testbed-tools

testbed-tools: k8s-tools addon-tools helm-diff ## Kubernetes, etcd, CoreDNS, ... into $(BIN_DIR)

k8s-tools: ## kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl
	@bash $(TESTBED)/k8s/build.sh

addon-tools: ## etcd, crictl, CoreDNS, metrics-server, local-path-provisioner, kube-router
	@bash $(TESTBED)/tools/addons.sh

helm-diff: gotools ## the helm-diff plugin, installed for helm 3 and helm 4
	@grep -q 'github.com/databus23/helm-diff/v3 $(HELM_DIFF_VERSION)$$' $(TESTBED)/tools/helm-diff/go.mod \
	  || { echo "testbed/tools/helm-diff/go.mod does not pin helm-diff $(HELM_DIFF_VERSION)"; exit 1; }
	@GO_LDFLAGS="-X github.com/databus23/helm-diff/v3/cmd.Version=$(HELM_DIFF_VERSION:v%=%)" $(TESTBED_GOMOD) $(TESTBED)/tools/helm-diff helm-diff=github.com/databus23/helm-diff/v3
	@bash $(TESTBED)/tools/install-helm-diff.sh

docker-up: debs ## start Debian's docker daemon unless one answers
	@bash $(TESTBED)/docker.sh up

docker-down: ## stop the docker daemon started by docker-up
	@bash $(TESTBED)/docker.sh down

images: debs testbed-tools ## Debian base image + the images the test bed runs (docker, cached)
	@bash $(TESTBED)/images/images.sh

cluster: test-ports debs testbed-tools images ## start the single-node test bed; prints export KUBECONFIG=...
	@python3 $(TESTBED)/cluster.py up

# Ingress on the test bed (testbed/ingress/README.md): Traefik for Ingresses of class nginx and
# Gateway API routes, cert-manager for their certificates. Built from the Go module proxy like
# the rest; installed on the running cluster by testbed-ingress (a no-op when it is in place).
ingress-images: debs ## Traefik and cert-manager: binaries and images
	@bash $(TESTBED)/ingress/traefik.sh build
	@bash $(TESTBED)/ingress/cert-manager.sh build

testbed-ingress: cluster ingress-images ## Traefik, the Gateway API CRDs, cert-manager and its CA issuers on the test bed
	@KUBECONFIG=$(KUBECONFIG_TESTBED) bash $(TESTBED)/ingress/traefik.sh install
	@KUBECONFIG=$(KUBECONFIG_TESTBED) bash $(TESTBED)/ingress/cert-manager.sh install

cluster-down: ## stop the test bed and remove its processes, chains, mounts, links and state
	@python3 $(TESTBED)/cluster.py down

cluster-status: ## exit 0 when the test bed runs and is healthy
	@python3 $(TESTBED)/cluster.py status

TESTBED_PYTEST := $(PY) -m pytest -q -p no:cacheprovider
testbed-test: venv cluster ## the test bed's own suite (tests/testbed) on the running cluster
	@$(TESTBED_PYTEST) --junitxml=$(RESULTS)/testbed/testbed.xml tests/testbed
