#!/usr/bin/env python
"""HTTP requests to a Service: the release role's smoke probes, analysis traffic and
blue/green watch, and the blue/green scenario's client. `python service_request.py --help`
describes the modes and options."""
import argparse
import contextlib
import json
import os
import sys
import time

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

DESCRIPTION = """\
Requests to a Service, through the API server's service proxy with the credentials of a
kubeconfig (client certificate, token, exec plugin), or straight to a URL (--url). It uses the
kubernetes Python client that kubernetes.core already requires on the controller
(`kubectl create --raw -f` does not deliver a JSON body through the service proxy).

One --path: prints {"status": <HTTP status>, "body": <text>} and exits 0 whenever the server
answered (the caller judges the status); exits 1 with a message when it could not connect.
Several --path: the requests are made in turn by this one process and a list
[{"path", "method", "status", "body"}, ...] is printed (the smoke stage's probes).

With --for, the requests repeat (the --path values in turn) at --rate per second for that long,
as Flagger's load tester does, and a summary is printed instead:
{"sent": N, "statuses": {"200": N, ...}, "no_answer": N, "seconds": S, "stopped": BOOL}."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--kubeconfig", help="send through the API server of this kubeconfig; --path is then an "
                        "API path such as /api/v1/namespaces/N/services/S:http/proxy/P")
    target.add_argument("--url", help="send straight to this base URL (e.g. http://<cluster IP>:<port>), each request "
                        "on a connection of its own and without retries, so that each one reaches whichever pods "
                        "the Service selects at that moment and each failure is seen")
    parser.add_argument("--context", help="the kubeconfig context (default: its current context)")
    parser.add_argument("--path", required=True, action="append",
                        help="repeat it for several GETs in one process: a JSON list is printed")
    parser.add_argument("--method", default="GET", choices=["GET", "POST"])
    parser.add_argument("--body", help="JSON body of the POST")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: %(default)s)")
    parser.add_argument("--client-id", help="sent as X-Client-ID: every request through the service proxy comes from "
                        "the API server's address, so without it the role's requests, the analysis traffic and "
                        "anyone else's share one rate-limit bucket of the app")
    parser.add_argument("--then-post", metavar="PATH", help="after the GETs, when every one answered 200, POST --body "
                        "to PATH and add its answer to the list (the smoke invocation, in the same process as the "
                        "probes)")
    repeat_opts = parser.add_argument_group("repeated requests")
    repeat_opts.add_argument("--for", dest="duration", type=float, default=0.0, metavar="SECONDS",
                             help="repeat the requests for this long (the analysis window's traffic)")
    repeat_opts.add_argument("--rate", type=float, default=1.0, help="requests per second (default: %(default)s)")
    repeat_opts.add_argument("--stop-file", help="stop as soon as this file exists, also between two requests (the "
                             "analysis stage stops its traffic once the check has its verdict)")
    repeat_opts.add_argument("--client-ids", type=int, default=1, metavar="N",
                             help="spread the requests over N client ids, X-Client-ID <client-id>-0 .. <client-id>-N-1 "
                             "in turn, so that a steady client stays below the app's per-client rate limit")
    repeat_opts.add_argument("--log", metavar="FILE", help="append one JSON line per request to FILE: t (epoch "
                             "seconds), path, status (0: no answer), error (unanswered or non-2xx), and the --log-key "
                             "fields of a JSON object answer")
    repeat_opts.add_argument("--log-key", action="append", default=[], metavar="KEY",
                             help="with --log: copy this key of a JSON object answer into its line (e.g. version "
                             "from /health)")
    opts = parser.parse_args(argv)
    if opts.client_ids < 1:
        parser.error("--client-ids must be at least 1")
    if opts.client_ids > 1 and not opts.client_id:
        parser.error("--client-ids needs --client-id")
    return opts


def main(argv=None):
    opts = parse_args(argv)
    cfg = client.Configuration()
    headers = {"Accept": "application/json, text/plain, */*"}
    if opts.url:
        cfg.host = opts.url.rstrip("/")
        cfg.retries = False
        headers["Connection"] = "close"
    else:
        config.load_kube_config(opts.kubeconfig, context=opts.context or None, client_configuration=cfg)
        if cfg.refresh_api_key_hook:
            cfg.refresh_api_key_hook(cfg)
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
        return repeat(api, cfg.host, opts, headers, body)
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


def repeat(api, host, opts, headers, body):
    """The requests at opts.rate per second for opts.duration seconds; counts by status."""
    statuses, no_answer, sent = {}, 0, 0
    start = time.monotonic()
    with open(opts.log, "a", encoding="utf-8") if opts.log else contextlib.nullcontext() as log:
        while time.monotonic() - start < opts.duration and not stop_requested(opts.stop_file):
            path = opts.path[sent % len(opts.path)]
            if opts.client_ids > 1:
                headers = dict(headers, **{"X-Client-ID": f"{opts.client_id}-{sent % opts.client_ids}"})
            line = {"t": round(time.time(), 3), "path": path}
            sent += 1
            try:
                status, text = request(api, host + path, opts, headers, body)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                line.update(answer_fields(status, text, opts.log_key))
            except Exception as exc:  # noqa: BLE001 - a refused or timed-out request is counted, not fatal
                no_answer += 1
                line.update(status=0, error=str(exc))
            if log:
                log.write(json.dumps(line) + "\n")
                log.flush()
            next_at = start + sent / opts.rate
            while time.monotonic() < next_at and not stop_requested(opts.stop_file):
                time.sleep(min(0.1, max(0.0, next_at - time.monotonic())))
    seconds = time.monotonic() - start
    json.dump({"sent": sent, "statuses": statuses, "no_answer": no_answer,
               "seconds": round(seconds, 1), "stopped": seconds < opts.duration}, sys.stdout)
    return 0


def answer_fields(status, text, keys):
    """The log line's fields of one answer: its status, an error for a non-2xx one, and the
    requested keys of a JSON object body (a body that is not JSON is an error when keys are asked for)."""
    fields = {"status": status}
    if not 200 <= status < 300:
        fields["error"] = text[:200]
    elif keys:
        try:
            data = json.loads(text)
        except ValueError as exc:
            fields["error"] = f"unreadable answer: {exc}"
        else:
            if isinstance(data, dict):
                fields.update({key: data[key] for key in keys if key in data})
    return fields


def stop_requested(stop_file):
    return bool(stop_file) and os.path.exists(stop_file)


if __name__ == "__main__":
    sys.exit(main())
