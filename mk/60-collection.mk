# The Ansible collection agent_service.platform: importable checkout, unit tests, sanity,
# galaxy build + install. ANSIBLE_COLLECTIONS_PATH is exported by the top Makefile.
COLLECTION_LINK  := $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/agent_service/platform
SANITY_STAGE     := $(ROOT)/.cache/sanity
SANITY_DIR       := $(SANITY_STAGE)/ansible_collections/agent_service/platform
SANITY_PYTHON    ?= 3.11
COLLECTION_PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: collection unit sanity collection-build semver-bench

collection: venv ## make the checkout importable as agent_service.platform (symlink under ANSIBLE_COLLECTIONS_PATH)
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(ROOT) $(COLLECTION_LINK)

DEFINED_STAGES += unit
unit: collection debs ## pytest for plugins: module_utils, filters, modules (real git repos, real Prometheus)
	@$(COLLECTION_PYTEST) --junitxml=$(RESULTS)/unit/collection.xml tests/unit

# DEFINED_STAGES += sanity   (registered once green)
sanity: collection ## ansible-test sanity (venv, no docker, empty ignore files), galaxy build + install + FQCN playbook
	@$(PY) tests/sanity/stage.py $(SANITY_STAGE)
	@rm -rf $(SANITY_DIR)/tests/output
	@cd $(SANITY_DIR) && $(CHECK) sanity ansible-test -- ansible-test sanity --venv --python $(SANITY_PYTHON) --junit --color no
	@mkdir -p $(RESULTS)/sanity && cp $(SANITY_DIR)/tests/output/junit/*.xml $(RESULTS)/sanity/ 2>/dev/null || true
	@$(COLLECTION_PYTEST) --junitxml=$(RESULTS)/sanity/collection-build.xml tests/collection

collection-build: venv ## build the collection tarball into build/
	@mkdir -p build && ansible-galaxy collection build --force --output-path build .

semver-bench: collection ## on demand: semver_next logic vs python-semantic-release and commitizen (10,000 commits)
	@test -x $(ROOT)/.cache/bench-venv/bin/python || python3 -m venv $(ROOT)/.cache/bench-venv
	@$(ROOT)/.cache/bench-venv/bin/python -m pip install -q -r bench/requirements.txt
	@$(ROOT)/.cache/bench-venv/bin/python bench/semver_bench.py
