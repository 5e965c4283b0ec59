# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus connection options; twin of module_utils/prometheus.py PROMETHEUS_ARG_SPEC."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  prometheus_url:
    description:
      - Base URL of the Prometheus server, for example V(http://prometheus-operated.monitoring:9090).
      - The module calls C(<prometheus_url>/api/v1/query).
      - If not set, the environment variable E(PROMETHEUS_URL) is used.
    type: str
    required: true
    aliases: [url]
  prometheus_headers:
    description:
      - Extra HTTP headers sent with every query, for example C(X-Scope-OrgID) for a multi-tenant proxy.
    type: dict
    default: {}
    aliases: [headers]
  prometheus_bearer_token:
    description:
      - "Token sent as C(Authorization: Bearer <token>)."
      - If not set, the environment variable E(PROMETHEUS_BEARER_TOKEN) is used.
    type: str
    aliases: [bearer_token]
  validate_certs:
    description:
      - Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the server certificate.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for one query to answer.
    type: float
    default: 30.0
"""
