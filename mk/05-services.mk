# Host services the test stages need. .ci/run brings them up and down around `make test`.
# Stages that need the test bed or docker depend on the targets that start them, so
# a developer can also run a single stage by hand.
.PHONY: ci-services-up ci-services-down
ci-services-up: ## start every service the tests need (docker, test bed)
	@echo ">> services: nothing to start yet"

ci-services-down: ## stop every service started by ci-services-up
	@echo ">> services: nothing to stop yet"
