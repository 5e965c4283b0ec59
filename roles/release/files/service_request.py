#!/usr/bin/env python
"""One HTTP request to a Service through the API server's service proxy, with the
credentials of a kubeconfig (client certificate, token, exec plugin), using the kubernetes
Python client that kubernetes.core already requires on the controller.

    service_request.py --kubeconfig FILE [--context NAME] --path /api/v1/namespaces/N/services/S:http/proxy/P
                       [--method GET|POST] [--body JSON] [--timeout SECONDS]

Prints {"status": <HTTP status>, "body": <text>} and exits 0 whenever the server answered
(the caller judges the status); exits 1 with a message when it could not connect.
(`kubectl create --raw -f` does not deliver a JSON body through the service proxy.)
"""
import argparse
import json
import sys

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context")
    parser.add_argument("--path", required=True)
    parser.add_argument("--method", default="GET", choices=["GET", "POST"])
    parser.add_argument("--body")
    parser.add_argument("--timeout", type=float, default=30.0)
    opts = parser.parse_args()
    cfg = client.Configuration()
    config.load_kube_config(opts.kubeconfig, context=opts.context or None, client_configuration=cfg)
    if cfg.refresh_api_key_hook:
        cfg.refresh_api_key_hook(cfg)
    headers = {"Accept": "application/json, text/plain, */*"}
    for setting in cfg.auth_settings().values():  # bearer token of token/exec kubeconfigs
        if setting.get("in") == "header" and setting.get("value"):
            headers[setting["key"]] = setting["value"]
    body = None
    if opts.body is not None:
        headers["Content-Type"] = "application/json"
        body = json.loads(opts.body)
    api = client.ApiClient(cfg)
    try:
        resp = api.call_api(opts.method, cfg.host + opts.path, headers, body=body, _request_timeout=opts.timeout)
        status, data = resp.status, resp.read() if hasattr(resp, "read") else resp.data
    except ApiException as exc:
        status, data = exc.status, (exc.body or b"")
    except Exception as exc:  # connection refused, TLS, timeouts: no HTTP answer at all
        print(f"no answer from {cfg.host}{opts.path}: {exc}", file=sys.stderr)
        return 1
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    json.dump({"status": status, "body": text}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
