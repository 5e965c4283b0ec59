# Static checks, one pytest case each (tests/lint): ruff (Python), yamllint, ansible-lint
# (production profile, .ansible-lint), the changelog fragments (antsibull-changelog lint),
# Molecule's syntax check of the kind scenario, and actionlint on the GitHub workflows.
# Every check runs even when an earlier one fails.
LINT_PYTEST := $(PY) -m pytest -q -p no:cacheprovider tests/lint

.PHONY: lint
lint: venv collection integration-venv gotools ## ruff, yamllint, ansible-lint, changelog fragments, molecule syntax (kind), actionlint
	@$(LINT_PYTEST) --junitxml=$(RESULTS)/lint/lint.xml
