# Host services the test stages need. .ci/run brings them up and down around `make test`.
# Stages that need the test bed or docker depend on the targets that start them, so
# a developer can also run a single stage by hand.
.PHONY: ci-services-up ci-services-down test-ports

# Every test listens on fixed loopback ports in 58000-59999 (app 58xxx, collection and
# monitoring 59xxx). That range lies inside Linux's ephemeral range (32768-60999), so a
# long-lived outgoing connection of the test bed (apiserver -> etcd, kubelet -> apiserver)
# could take one of them first and a test would fail with EADDRINUSE. Reserving the range
# keeps the kernel from handing it out; it must happen before the test bed starts. Needs
# root; without it, a warning.
TEST_PORTS ?= 58000-59999
test-ports: ## keep the tests' fixed ports out of the kernel's ephemeral range
	@cur=$$(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null); \
	case ",$$cur," in *",$(TEST_PORTS),"*) ;; \
	*) sysctl -qw net.ipv4.ip_local_reserved_ports="$${cur:+$$cur,}$(TEST_PORTS)" 2>/dev/null \
	   && echo ">> test-ports: reserved $(TEST_PORTS) (ephemeral range $$(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range))" \
	   || echo ">> test-ports: WARNING: could not reserve $(TEST_PORTS); a test may meet EADDRINUSE" ;; esac

ci-services-up: test-ports docker-up ## start every service the tests need (docker, test bed)
	@# CI starts from an empty test bed (a warm start takes about 30 s; the image store is
	@# kept): whatever an earlier session left running there (a `make up` stack, namespaces
	@# of killed tests) would load the machine and change the timings the tests see.
	@# Outside CI a healthy test bed is kept, and one whose processes were killed is cleared.
	@if [ -n "$${CI:-}" ]; then python3 $(ROOT)/testbed/cluster.py down; \
	 else python3 $(ROOT)/testbed/cluster.py status >/dev/null 2>&1 || python3 $(ROOT)/testbed/cluster.py down; fi
	@$(MAKE) cluster

ci-services-down: ## stop every service started by ci-services-up (test bed, then docker)
	@python3 $(ROOT)/testbed/cluster.py down
	@bash $(ROOT)/testbed/docker.sh down
