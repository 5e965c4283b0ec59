# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options; twin of module_utils/k8s_client.py K8S_AUTH_ARG_SPEC."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of a kubeconfig file. Falls back to E(K8S_AUTH_KUBECONFIG), then the default of helm or of the
        kubernetes client.
    type: path
    aliases: [kubeconfig_path]
  context:
    description: Kubeconfig context to use. Falls back to E(K8S_AUTH_CONTEXT).
    type: str
    aliases: [kube_context]
  host:
    description: URL of the Kubernetes API server. Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description: Bearer token for the API server. Falls back to E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description: Verify the API server's certificate. Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    default: true
    aliases: [verify_ssl]
  ca_cert:
    description: CA bundle that signs the API server's certificate. Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
"""
