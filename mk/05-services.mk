# Host services the test stages need. .ci/run brings them up and down around `make test`.
# Stages that need the test bed or docker depend on the targets that start them, so
# a developer can also run a single stage by hand.
.PHONY: ci-services-up ci-services-down
ci-services-up: docker-up ## start every service the tests need (docker, test bed)
	@# a test bed whose processes were killed (a session that ended) leaves state behind:
	@# clear it, then start from scratch; a healthy one is kept as it is
	@python3 $(ROOT)/testbed/cluster.py status >/dev/null 2>&1 || python3 $(ROOT)/testbed/cluster.py down
	@$(MAKE) cluster

ci-services-down: ## stop every service started by ci-services-up (test bed, then docker)
	@python3 $(ROOT)/testbed/cluster.py down
	@bash $(ROOT)/testbed/docker.sh down
