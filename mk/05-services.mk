# Host services the test stages need. .ci/run brings them up and down around `make test`.
# Stages that need the test bed or docker depend on the targets that start them, so
# a developer can also run a single stage by hand.
.PHONY: ci-services-up ci-services-down
ci-services-up: docker-up cluster ## start every service the tests need (docker, test bed)

ci-services-down: ## stop every service started by ci-services-up (test bed, then docker)
	@python3 $(ROOT)/testbed/cluster.py down
	@bash $(ROOT)/testbed/docker.sh down
