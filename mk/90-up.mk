# The newcomer's path: `make up` (deploy on the local default), `make down` (remove it all).
.PHONY: up down
up: venv collection tools images helm-diff app-image chart-images monitoring-crds monitoring-images ## test bed + monitoring + dev deploy, then print how to reach it
	@APP_IMAGE_TAG=$(APP_IMAGE_TAG) ANSIBLE_COLLECTIONS_PATH=$(ROOT)/.cache/collections bash scripts/up.sh

down: ## remove what make up made (the test bed, or the release and monitoring on KUBECONFIG's cluster)
	@bash scripts/down.sh
