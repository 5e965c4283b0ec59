#!/usr/bin/env python3
"""File-based service discovery for the scenarios' host Prometheus (Debian's Prometheus has
no Kubernetes SD): watch the agent-service API pods of the cluster and write them as file_sd
targets with the labels the chart's ServiceMonitor gives the series (namespace, pod,
app_kubernetes_io_version, release), each time one of them changes.
One `kubectl get --watch` stream, started again when the API server ends it: a watch costs
kubectl far less CPU than listing the pods every few seconds (bench/results/notes.md).
Usage: pod_sd.py KUBECTL KUBECONFIG OUTFILE [QUIET_SECONDS]"""
import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import time

SELECTOR = "app.kubernetes.io/name=agent-service,app.kubernetes.io/component=api"


def target(pod):
    """The file_sd group of a running pod with an IP, else None."""
    ip = pod.get("status", {}).get("podIP")
    if not ip or pod["status"].get("phase") != "Running":
        return None
    labels = pod["metadata"].get("labels", {})
    return {"targets": [f"{ip}:8000"], "labels": {
        "namespace": pod["metadata"]["namespace"], "pod": pod["metadata"]["name"],
        "app_kubernetes_io_version": labels.get("app.kubernetes.io/version", ""),
        "release": labels.get("app.kubernetes.io/instance", "")}}


def apply(event, groups):
    """Fold one watch event into {namespace/name: group}."""
    pod = event["object"]
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
    group = None if event["type"] == "DELETED" else target(pod)
    if group is None:
        groups.pop(key, None)
    else:
        groups[key] = group


def write(outfile, groups):
    tmp = outfile + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps([groups[k] for k in sorted(groups)], indent=1, sort_keys=True))
    os.replace(tmp, outfile)


def events(lines):
    """Watch events from kubectl's JSON output: one object after the other, one per line
    (kubectl's watch output) or spread over several lines."""
    decoder, buf = json.JSONDecoder(), ""
    for line in lines:
        buf = (buf + line).lstrip()
        while buf:
            try:
                event, end = decoder.raw_decode(buf)
            except ValueError:
                break  # not complete yet
            yield event
            buf = buf[end:].lstrip()


def die_with_parent():
    """In the kubectl child: the kernel kills it when pod_sd.py dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stream(kubectl, kubeconfig, outfile, quiet):
    """One watch: the API server first sends every matching pod as ADDED. The file is written
    after each event, and once after `quiet` seconds without any (no pod at all)."""
    proc = subprocess.Popen([kubectl, "--kubeconfig", kubeconfig, "get", "pods", "--all-namespaces", "-l", SELECTOR,
                             "-o", "json", "--watch", "--output-watch-events"], stdout=subprocess.PIPE,
                            preexec_fn=die_with_parent)
    groups, written, pending = {}, False, b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)

    def lines():
        nonlocal pending, written
        while True:
            if not sel.select(timeout=quiet):
                if not written:
                    write(outfile, groups)
                    written = True
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode() + "\n"

    try:
        for event in events(lines()):
            apply(event, groups)
            write(outfile, groups)
            written = True
    finally:
        proc.kill()
        proc.wait()


def main():
    kubectl, kubeconfig, outfile = sys.argv[1:4]
    quiet = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the finally of stream() stops kubectl
    while True:
        try:
            stream(kubectl, kubeconfig, outfile, quiet)
        except (OSError, ValueError, KeyError) as exc:
            print(f"pod_sd: {exc}", file=sys.stderr, flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
