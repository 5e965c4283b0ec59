# Runbooks (issue 10): monitoring/runbooks/<alertname>.md for every alert of every rule file
# Prometheus loads; tests/runbooks checks the set, the sections, the quoted expressions, the
# Alertmanager receivers (amtool), the commands (chart objects via helm template, playbooks,
# inventories, make targets, promtool/amtool/jq) and the PromQL (promtool).
.PHONY: runbooks-test
runbooks-test: venv debs gotools collection ## runbook per alert, commands and PromQL in them exist and parse
	@mkdir -p $(RESULTS)/runbooks
	@$(PY) -m pytest -q -p no:cacheprovider --junitxml=$(RESULTS)/runbooks/pytest.xml tests/runbooks

# part of the monitoring stage of `make test`
monitoring-test: runbooks-test
