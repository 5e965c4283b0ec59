# Small Go tools from the Go module proxy, pinned in versions.env, built into $(BIN_DIR).
# The test bed (mk/30-testbed.mk) adds the Kubernetes components to `make tools`.
GOINSTALL := bash $(ROOT)/scripts/go-install.sh

.PHONY: gotools tools
gotools: ## helm 3 + 4, kubeconform, kube-score, actionlint, helm-docs
	@$(GOINSTALL) helm helm.sh/helm/v3/cmd/helm $(HELM3_VERSION) \
	  && ln -sf helm $(BIN_DIR)/helm3
	@$(GOINSTALL) helm4 helm.sh/helm/v4/cmd/helm $(HELM4_VERSION)
	@$(GOINSTALL) kubeconform github.com/yannh/kubeconform/cmd/kubeconform $(KUBECONFORM_VERSION)
	@GO_LDFLAGS="-X main.version=$(KUBE_SCORE_VERSION:v%=%)" \
	  $(GOINSTALL) kube-score github.com/zegl/kube-score/cmd/kube-score $(KUBE_SCORE_VERSION)
	@$(GOINSTALL) actionlint github.com/rhysd/actionlint/cmd/actionlint $(ACTIONLINT_VERSION)
	@$(GOINSTALL) helm-docs github.com/norwoodj/helm-docs/cmd/helm-docs $(HELM_DOCS_VERSION)

tools: gotools ## every binary the project needs
