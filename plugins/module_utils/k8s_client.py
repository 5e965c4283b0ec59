# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kubernetes API client built from the connection options of this collection's modules.

The options (kubeconfig, context, host, api_key, validate_certs, ca_cert) have the names
and environment fallbacks of kubernetes.core, so one ``module_defaults`` block serves
kubernetes.core's modules and ours. The ``kubernetes`` Python library is imported lazily:
it is a dependency of kubernetes.core, and a module that needs it says so when it is missing.
"""

import copy

from .helm import HELM_AUTH_ARG_SPEC

K8S_AUTH_ARG_SPEC = {key: copy.deepcopy(value) for key, value in HELM_AUTH_ARG_SPEC.items() if key != "binary_path"}


def k8s_arg_spec(**options):
    """The argument spec of a module of ours that talks to the API server: the connection options plus ``options``."""
    spec = copy.deepcopy(K8S_AUTH_ARG_SPEC)
    spec.update(options)
    return spec


def has_kubernetes():
    try:
        import kubernetes  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def api_client(params):
    """A kubernetes ApiClient for the options in ``params`` (kubeconfig unless host and api_key are given)."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel

    configuration = client.Configuration()
    if not (params.get("host") and params.get("api_key")):
        config.load_kube_config(config_file=params.get("kubeconfig"), context=params.get("context"),
                                client_configuration=configuration)
    if params.get("host"):
        configuration.host = params["host"]
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer " + params["api_key"]}
    configuration.verify_ssl = params.get("validate_certs", True)
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    return client.ApiClient(configuration)


class Forbidden(Exception):
    """The credentials may not read what was asked (HTTP 401 or 403)."""


def list_nodes(params):
    """The cluster's Node objects as the API returns them (dicts with camelCase keys).

    Raises Forbidden when the credentials may not list Nodes, as a namespace-scoped deployer may not.
    """
    from kubernetes import client  # pylint: disable=import-outside-toplevel
    from kubernetes.client.exceptions import ApiException  # pylint: disable=import-outside-toplevel

    api = client.CoreV1Api(api_client(params))
    try:
        return api.api_client.sanitize_for_serialization(api.list_node()).get("items", [])
    except ApiException as exc:
        if exc.status in (401, 403):
            raise Forbidden(f"these credentials may not list nodes (HTTP {exc.status})") from exc
        raise
