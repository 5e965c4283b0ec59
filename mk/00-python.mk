# Host Python virtualenv with every pinned tool (ansible, molecule, linters, pytest).
VENV_STAMP := $(VENV)/.stamp
VENV_REQS  := requirements-dev.txt $(wildcard app/requirements*.txt)

.PHONY: venv
venv: $(VENV_STAMP) ## create .venv with pinned requirements

$(VENV_STAMP): $(VENV_REQS)
	@echo ">> venv: installing $(VENV_REQS)"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q $(addprefix -r ,$(VENV_REQS))
	@touch $@
