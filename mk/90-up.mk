# The newcomer's path: `make up` (deploy on the local default), `make down` (remove it all).
.PHONY: up down
up: venv collection tools images app-image chart-images ## test bed + monitoring + dev deploy, then print how to reach it
	@bash scripts/up.sh

down: ## remove the deployment and the test bed
	@python3 testbed/cluster.py down
