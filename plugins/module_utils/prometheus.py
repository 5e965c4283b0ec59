# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus HTTP API client and the shared connection options.

``PROMETHEUS_ARG_SPEC`` has a documentation twin in
``plugins/doc_fragments/prometheus.py``; change both together
(tests/unit/plugins/test_doc_fragments.py checks they agree).

The transport is ansible.module_utils.urls.open_url (TLS options, proxies);
parsing lives in promql.py and has no Ansible import.
"""

from __future__ import annotations

import json
import math
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import open_url

from .promql import PrometheusError, PrometheusUnreachable, parse_response

PROMETHEUS_ARG_SPEC = dict(
    prometheus_url=dict(type="str", required=True, aliases=["url"], fallback=(env_fallback, ["PROMETHEUS_URL"])),
    prometheus_headers=dict(type="dict", default={}, aliases=["headers"]),
    prometheus_bearer_token=dict(type="str", no_log=True, aliases=["bearer_token"],
                                 fallback=(env_fallback, ["PROMETHEUS_BEARER_TOKEN"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    timeout=dict(type="float", default=30.0),
)


class PrometheusClient:
    """Instant queries against ``<url>/api/v1/query``."""

    def __init__(self, url, headers=None, bearer_token=None, validate_certs=True, ca_path=None,
                 client_cert=None, client_key=None, timeout=30.0):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"prometheus_url must start with http:// or https://, got {url!r}")
        if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.url = url.rstrip("/")
        self.headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        self.headers.update(headers or {})
        if bearer_token:
            self.headers["Authorization"] = f"Bearer {bearer_token}"
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = timeout

    @classmethod
    def from_params(cls, params):
        return cls(params["prometheus_url"], params.get("prometheus_headers"), params.get("prometheus_bearer_token"),
                   params.get("validate_certs", True), params.get("ca_path"), params.get("client_cert"),
                   params.get("client_key"), params.get("timeout", 30.0))

    def query(self, promql, at=None):
        """Run an instant query; returns promql.parse_response() plus ``timestamp`` of the request."""
        form = {"query": promql}
        if at is not None:
            form["time"] = f"{at:.3f}"
        endpoint = f"{self.url}/api/v1/query"
        try:
            response = open_url(endpoint, data=urlencode(form), method="POST", headers=self.headers,
                                validate_certs=self.validate_certs, ca_path=self.ca_path,
                                client_cert=self.client_cert, client_key=self.client_key,
                                timeout=self.timeout, follow_redirects="safe")
            status, body = response.getcode(), response.read()
        except HTTPError as exc:
            status, body = exc.code, exc.read() if exc.fp else b""
            if status not in (400, 422, 503):  # the API's own error codes carry a JSON body
                raise PrometheusUnreachable(f"Prometheus at {self.url} answered HTTP {status}: {_text(body)[:300]}") \
                    from exc
        except (URLError, OSError) as exc:
            raise PrometheusUnreachable(f"cannot reach Prometheus at {self.url}: {getattr(exc, 'reason', exc)}") \
                from exc
        try:
            payload = json.loads(_text(body))
        except ValueError as exc:
            raise PrometheusError(f"Prometheus at {self.url} answered HTTP {status} with non-JSON: {_text(body)[:300]}",
                                  status=status) from exc
        result = parse_response(payload, status)
        result["timestamp"] = time.time()
        return result


def _text(body):
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
