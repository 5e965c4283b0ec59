#!/usr/bin/env bash
# `make down`: remove what `make up` made. On the test bed, the test bed itself (every process,
# chain, mount and state; the image store stays as a cache). On a cluster named by KUBECONFIG,
# the dev release, its namespace and the monitoring stack's namespace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=$(cat "$root/.cache/up/kubeconfig" 2>/dev/null || true)
if [ -n "$target" ] && [ "$target" != "$root/.testbed/kubeconfig" ]; then
  echo ">> down: removing the dev release and the monitoring stack from KUBECONFIG=$target"
  helm --kubeconfig "$target" uninstall agent-service -n dev --wait 2>/dev/null || true
  kubectl --kubeconfig "$target" delete namespace dev monitoring --ignore-not-found --wait=true
  # the stack's cluster-wide objects (the agents' and kube-state-metrics' RBAC, the external metrics API)
  kubectl --kubeconfig "$target" delete apiservice,clusterrolebinding,clusterrole \
    -l app.kubernetes.io/part-of=agent-service-monitoring --ignore-not-found
  kubectl --kubeconfig "$target" get crd -o name | grep monitoring.coreos.com \
    | xargs -r kubectl --kubeconfig "$target" delete --ignore-not-found
fi
python3 "$root/testbed/cluster.py" down
rm -rf "$root/.cache/up"
