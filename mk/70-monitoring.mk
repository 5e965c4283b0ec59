# Monitoring: Prometheus rules (promtool), SLO rules (generated), Alertmanager routing
# (amtool), Grafana dashboard (generated), and the monitoring_stack role.
MONITORING_PYTEST := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: monitoring-generate monitoring-test monitoring-offline-test
monitoring-generate: venv ## regenerate the SLO rules (and the Grafana dashboard) from their sources
	@$(PY) monitoring/slo/generate.py
	@test ! -f monitoring/grafana/generate.py || $(PY) monitoring/grafana/generate.py

monitoring-offline-test: venv debs ## promtool/amtool checks, unit tests, dashboard and staleness checks
	@$(CHECK) monitoring promtool-check-rules -- promtool check rules --lint=all --lint-fatal monitoring/prometheus/rules.yml monitoring/prometheus/slo-rules.yml
	@$(CHECK) monitoring promtool-test-rules -- promtool test rules $(sort $(wildcard monitoring/prometheus/tests/*.test.yml))
	@$(CHECK) monitoring amtool-check-config -- amtool check-config monitoring/alertmanager.yml
	@$(MONITORING_PYTEST) --junitxml=$(RESULTS)/monitoring/offline.xml tests/monitoring -m "not live"

DEFINED_STAGES += monitoring-test
monitoring-test: monitoring-offline-test ## every monitoring check (offline now; live checks on the test bed later)
