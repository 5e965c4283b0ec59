# Static checks: ruff (Python), yamllint, ansible-lint (production profile).
LINT_PY_PATHS ?= scripts tests plugins app bench

DEFINED_STAGES += lint
.PHONY: lint
lint: venv ## ruff, yamllint, ansible-lint
	@$(CHECK) lint ruff -- ruff check $(wildcard $(LINT_PY_PATHS))
	@$(CHECK) lint yamllint -- yamllint -s .
