# The Ansible collection agent_service.platform: importable checkout, unit tests, sanity,
# galaxy build + install. ANSIBLE_COLLECTIONS_PATH is exported by the top Makefile.
COLLECTION_LINK  := $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/agent_service/platform
SANITY_STAGE     := $(ROOT)/.cache/sanity
SANITY_PYTHON    ?= 3.11
COLLECTION_PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: collection unit sanity semver-bench

collection: venv ## make the checkout importable as agent_service.platform (symlink under ANSIBLE_COLLECTIONS_PATH)
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(ROOT) $(COLLECTION_LINK)

unit: collection debs victoria-logs ## pytest for plugins: module_utils, filters, modules (real git repos, real Prometheus, real VictoriaLogs)
	@$(COLLECTION_PYTEST) --junitxml=$(RESULTS)/unit/collection.xml tests/unit

sanity: collection ## ansible-test sanity (venv, no docker, empty ignore files), galaxy build + install + FQCN playbook
	@rc=0; tests/sanity/run.sh $(SANITY_STAGE) $(RESULTS)/sanity || rc=1; \
	$(COLLECTION_PYTEST) --junitxml=$(RESULTS)/sanity/collection-build.xml tests/collection || rc=1; \
	exit $$rc

semver-bench: collection ## on demand: semver_next logic vs python-semantic-release and commitizen (10,000 commits)
	@test -x $(ROOT)/.cache/bench-venv/bin/python || python3 -m venv $(ROOT)/.cache/bench-venv
	@$(ROOT)/.cache/bench-venv/bin/python -m pip install -q -r bench/requirements-semver.txt
	@$(ROOT)/.cache/bench-venv/bin/python bench/semver_bench.py
