# CI/CD workflows (.github/workflows), the AWX execution environment and job templates, and
# Galaxy installs (issue 9).
#   make lint-workflows    actionlint (with shellcheck + pyflakes) on .github/workflows/*.yml; a case of `make lint`
#   make integration-test  tests/{workflows,awx,galaxy}: release outputs, ansible-builder create,
#                          awx_setup.yml definitions, galaxy build + galaxy-importer + installs in a throwaway repo
#                          (about 2.5 min; `galaxy-test` is the same target; `make sanity` runs it)
INTEGRATION_REQS  := tests/requirements-integration.txt
INTEGRATION_STAMP := $(VENV)/.stamp-integration
INTEGRATION_TESTS := tests/workflows tests/awx tests/galaxy

.PHONY: integration-venv lint-workflows integration-test galaxy-test ee-context

# ansible-builder, galaxy-importer and shellcheck on top of the pinned host tools
integration-venv: $(INTEGRATION_STAMP) ## pinned integration tools (tests/requirements-integration.txt) into .venv

$(INTEGRATION_STAMP): $(INTEGRATION_REQS) $(VENV_STAMP)
	@echo ">> venv: installing $(INTEGRATION_REQS)"
	@$(PY) -m pip install -q -r requirements-dev.txt -r $(INTEGRATION_REQS)
	@touch $@

lint-workflows: integration-venv gotools ## actionlint on the GitHub workflows
	@$(LINT_PYTEST) -k actionlint

ee-context: integration-venv ## ansible-builder create: the EE build context in build/ee (no image is built)
	@rm -rf build/ee build/collection
	@ansible-galaxy collection build --force --output-path build/collection .
	@ansible-builder create --file execution-environment.yml --context build/ee --output-filename Containerfile
	@echo ">> ee: build context in build/ee (build it with: docker build -f build/ee/Containerfile build/ee)"

integration-test: integration-venv debs ## workflows, execution environment, AWX definitions, Galaxy build/import/install
	@mkdir -p $(RESULTS)/integration
	@$(PY) -m pytest -q -p no:cacheprovider $(INTEGRATION_TESTS) --junitxml=$(RESULTS)/integration/pytest.xml

galaxy-test: integration-test

# part of `make test`: the sanity stage also runs the workflow, EE, AWX and Galaxy checks
sanity: galaxy-test
