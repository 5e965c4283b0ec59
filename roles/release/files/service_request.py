#!/usr/bin/env python
"""One HTTP request to a Service through the API server's service proxy, with the
credentials of a kubeconfig (client certificate, token, exec plugin), using the kubernetes
Python client that kubernetes.core already requires on the controller.

    service_request.py --kubeconfig FILE [--context NAME] --path /api/v1/namespaces/N/services/S:http/proxy/P
                       [--method GET|POST] [--body JSON] [--timeout SECONDS] [--client-id ID]
                       [--then-post PATH] [--for SECONDS --rate PER_SECOND [--stop-file FILE]]

Prints {"status": <HTTP status>, "body": <text>} and exits 0 whenever the server answered
(the caller judges the status); exits 1 with a message when it could not connect. With
--path given several times, the requests are made in turn by this one process and a list
[{"path", "status", "body"}, ...] is printed (the smoke stage's probes). --then-post
sends --body to PATH after those GETs, only when every one answered 200, and adds its
answer to the list (the smoke invocation, in the same process as the probes).
--client-id sends X-Client-ID: every request through the proxy comes from the API server's
address, so without it the role's requests, the analysis traffic and anyone else's share
one rate-limit bucket of the app. --for repeats the request at --rate per second for that
long (the analysis window's traffic, what Flagger's load tester does) and prints
{"sent": N, "statuses": {"200": N, ...}, "no_answer": N, "seconds": S, "stopped": BOOL} instead;
--stop-file ends it early once that file exists (the analysis stage stops its traffic when
the check has its verdict, instead of leaving it to run past the window).
(`kubectl create --raw -f` does not deliver a JSON body through the service proxy.)
"""
import argparse
import json
import os
import sys
import time

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context")
    parser.add_argument("--path", required=True, action="append",
                        help="repeat it for several GETs in one process: a JSON list is printed")
    parser.add_argument("--method", default="GET", choices=["GET", "POST"])
    parser.add_argument("--body")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--client-id")
    parser.add_argument("--then-post", help="after the GETs, when all answered 200, POST --body to this path")
    parser.add_argument("--for", dest="duration", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--stop-file", help="with --for: stop as soon as this file exists")
    opts = parser.parse_args()
    cfg = client.Configuration()
    config.load_kube_config(opts.kubeconfig, context=opts.context or None, client_configuration=cfg)
    if cfg.refresh_api_key_hook:
        cfg.refresh_api_key_hook(cfg)
    headers = {"Accept": "application/json, text/plain, */*"}
    for setting in cfg.auth_settings().values():  # bearer token of token/exec kubeconfigs
        if setting.get("in") == "header" and setting.get("value"):
            headers[setting["key"]] = setting["value"]
    if opts.client_id:
        headers["X-Client-ID"] = opts.client_id
    body = None
    if opts.body is not None:
        headers["Content-Type"] = "application/json"
        body = json.loads(opts.body)
    api = client.ApiClient(cfg)
    if opts.duration > 0:
        return repeat(api, cfg.host + opts.path[0], opts, headers, body)
    steps = [(opts.method, path) for path in opts.path]
    if opts.then_post:
        steps.append(("POST", opts.then_post))
    answers = []
    for method, path in steps:
        if method == "POST" and opts.then_post and any(a["status"] != 200 for a in answers):
            break  # the probes failed: no invocation on a release that is not serving
        try:
            status, text = request(api, cfg.host + path, opts, headers, body, method)
        except Exception as exc:  # connection refused, TLS, timeouts: no HTTP answer at all
            print(f"no answer from {cfg.host}{path}: {exc}", file=sys.stderr)
            return 1
        answers.append({"path": path, "method": method, "status": status, "body": text})
    json.dump(answers if len(steps) > 1 else {"status": answers[0]["status"], "body": answers[0]["body"]},
              sys.stdout)
    return 0


def request(api, url, opts, headers, body, method=None):
    """(status, text) of one request; raises when the server did not answer."""
    method = method or opts.method
    try:
        resp = api.call_api(method, url, headers, body=body if method == "POST" else None,
                            _request_timeout=opts.timeout)
        status, data = resp.status, resp.read() if hasattr(resp, "read") else resp.data
    except ApiException as exc:
        status, data = exc.status, (exc.body or b"")
    return status, data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def repeat(api, url, opts, headers, body):
    """The request at opts.rate per second for opts.duration seconds; counts by status."""
    statuses, no_answer, sent = {}, 0, 0
    start = time.monotonic()
    while time.monotonic() - start < opts.duration and not stop_requested(opts.stop_file):
        sent += 1
        try:
            status, _text = request(api, url, opts, headers, body)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        except Exception:  # noqa: BLE001 - a refused or timed-out request is counted, not fatal
            no_answer += 1
        next_at = start + sent / opts.rate
        while time.monotonic() < next_at and not stop_requested(opts.stop_file):
            time.sleep(min(0.1, max(0.0, next_at - time.monotonic())))
    seconds = time.monotonic() - start
    json.dump({"sent": sent, "statuses": statuses, "no_answer": no_answer,
               "seconds": round(seconds, 1), "stopped": seconds < opts.duration}, sys.stdout)
    return 0


def stop_requested(stop_file):
    return bool(stop_file) and os.path.exists(stop_file)


if __name__ == "__main__":
    sys.exit(main())
