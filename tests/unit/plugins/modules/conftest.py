"""Session fixtures for the module tests: the exporter and a real Prometheus scraping it, and a real
VictoriaLogs (each test file writes its own log lines, in namespaces of its own)."""

from __future__ import annotations

import pytest
from prometheus_server import Exporter, Prometheus
from victoria_logs_server import VictoriaLogs


@pytest.fixture(scope="session")
def exporter():
    exp = Exporter().start()
    yield exp
    exp.stop()


@pytest.fixture(scope="session")
def prometheus(exporter, tmp_path_factory):
    prom = Prometheus(tmp_path_factory.mktemp("prometheus")).start()
    try:
        # rate() needs two scrapes in the window; wait until every scenario has them.
        prom.wait_for('sum(rate(http_requests_total{namespace="below"}[30s]))')
        prom.wait_for('count(count_over_time(http_requests_total{namespace="below"}[30s]) >= 3)')
        yield prom
    finally:
        prom.stop()


@pytest.fixture(scope="session")
def victoria_logs(tmp_path_factory):
    store = VictoriaLogs(tmp_path_factory.mktemp("victoria-logs")).start()
    try:
        yield store
    finally:
        store.stop()
