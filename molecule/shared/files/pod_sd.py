#!/usr/bin/env python3
"""File-based service discovery for the scenarios' host Prometheus (Debian's Prometheus has
no Kubernetes SD): every INTERVAL seconds, list the agent-service API pods of the cluster
and write them as file_sd targets with the labels the chart's ServiceMonitor gives the
series (namespace, pod, app_kubernetes_io_version, release).
Usage: pod_sd.py KUBECTL KUBECONFIG OUTFILE [INTERVAL]"""
import json
import os
import subprocess
import sys
import time


def targets(kubectl, kubeconfig):
    out = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "pods", "--all-namespaces", "-o", "json",
                          "-l", "app.kubernetes.io/name=agent-service,app.kubernetes.io/component=api"],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    groups = []
    for pod in json.loads(out)["items"]:
        ip = pod.get("status", {}).get("podIP")
        if not ip or pod["status"].get("phase") != "Running":
            continue
        labels = pod["metadata"].get("labels", {})
        groups.append({"targets": [f"{ip}:8000"], "labels": {
            "namespace": pod["metadata"]["namespace"], "pod": pod["metadata"]["name"],
            "app_kubernetes_io_version": labels.get("app.kubernetes.io/version", ""),
            "release": labels.get("app.kubernetes.io/instance", "")}})
    return groups


def main():
    kubectl, kubeconfig, outfile = sys.argv[1:4]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    while True:
        try:
            data = json.dumps(targets(kubectl, kubeconfig), indent=1, sort_keys=True)
            tmp = outfile + ".tmp"
            with open(tmp, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(tmp, outfile)
        except (subprocess.SubprocessError, ValueError, KeyError) as exc:
            print(f"pod_sd: {exc}", file=sys.stderr, flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main()
