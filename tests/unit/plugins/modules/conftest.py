"""Session fixtures for the module tests: the exporter and a real Prometheus scraping it."""

from __future__ import annotations

import pytest
from prometheus_server import Exporter, Prometheus


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
