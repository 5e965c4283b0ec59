# Static checks: ruff (Python), yamllint, ansible-lint (production profile, .ansible-lint), the
# changelog fragments (antsibull-changelog lint).
# Every check runs even when an earlier one fails; the target fails if any did.
LINT_PY_PATHS ?= scripts tests plugins app bench helm/agent-service/hack

DEFINED_STAGES += lint
.PHONY: lint
lint: venv collection ## ruff, yamllint, ansible-lint, changelog fragments, molecule syntax of the kind scenario (it cannot run here)
	@rc=0; \
	$(CHECK) lint ruff -- ruff check $(wildcard $(LINT_PY_PATHS)) || rc=1; \
	$(CHECK) lint yamllint -- yamllint -s . || rc=1; \
	$(CHECK) lint ansible-lint -- ansible-lint --profile production -q || rc=1; \
	$(CHECK) lint changelog -- antsibull-changelog lint || rc=1; \
	$(CHECK) lint molecule-kind-syntax -- molecule syntax -s kind || rc=1; \
	exit $$rc
