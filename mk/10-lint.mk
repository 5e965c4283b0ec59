# Static checks, one pytest case each (tests/lint): ruff (Python), yamllint, ansible-lint
# (production profile, .ansible-lint), Molecule's syntax check of the kind scenario, and
# actionlint on the GitHub workflows. Every check runs even when an earlier one fails. The
# changelog fragments are checked once, by ansible-test's `changelog` sanity test (make sanity).
LINT_PYTEST := $(PY) -m pytest -q -p no:cacheprovider tests/lint

.PHONY: lint
lint: venv collection integration-venv gotools ## ruff, yamllint, ansible-lint, molecule syntax (kind), actionlint
	@$(LINT_PYTEST) --junitxml=$(RESULTS)/lint/lint.xml
