#!/usr/bin/env python3
"""A client of the live Service, from outside the pods, through its ClusterIP (kube-proxy).

Sends GET /health (which answers the serving pod's version) and GET /v1/agents (the app's
rate-limited, fault-injected path; each request under its own X-Client-ID) in turn, at --rate
requests per second, until --stop-file exists or --max-seconds pass. Writes one JSON line per
request: t (epoch seconds), path, status (0: no answer), version (from /health), error.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.error
import urllib.request


def one(url, path, client_id, timeout):
    req = urllib.request.Request(url + path, headers={"X-Client-ID": client_id})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - a ClusterIP URL we built
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "error": exc.reason}
    except (OSError, ValueError) as exc:
        return {"status": 0, "error": str(exc)}
    line = {"status": status}
    if path == "/health":
        try:
            line["version"] = json.loads(body)["version"]
        except (ValueError, KeyError) as exc:
            line["error"] = f"unreadable /health: {exc}"
    return line


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="http://<cluster IP>:<port>")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    opts = parser.parse_args()
    start = time.monotonic()
    sent = 0
    with open(opts.out, "a", encoding="utf-8") as out:
        while not os.path.exists(opts.stop_file) and time.monotonic() - start < opts.max_seconds:
            path = "/health" if sent % 2 == 0 else "/v1/agents"
            line = {"t": round(time.time(), 3), "path": path}
            line.update(one(opts.url.rstrip("/"), path, f"bluegreen-loop-{sent % 997}", opts.timeout))
            out.write(json.dumps(line) + "\n")
            out.flush()
            sent += 1
            time.sleep(max(0.0, start + sent / opts.rate - time.monotonic()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
