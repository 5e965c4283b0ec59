#!/usr/bin/env bash
# `make up`: the main job on the local default. Builds what is missing (the Makefile's
# prerequisites did that), starts the test bed unless KUBECONFIG already names a reachable
# cluster, installs the monitoring stack, deploys the Agent Service with the dev inventory
# through agent_service.platform.deploy, and prints how to reach everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -n "${KUBECONFIG:-}" ] && kubectl --kubeconfig "$KUBECONFIG" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
  echo ">> up: using the cluster named by KUBECONFIG=$KUBECONFIG"
else
  [ -n "${KUBECONFIG:-}" ] && echo ">> up: KUBECONFIG=$KUBECONFIG does not answer; starting the local test bed instead"
  make cluster
  export KUBECONFIG="$root/.testbed/kubeconfig"
fi
export K8S_AUTH_KUBECONFIG="$KUBECONFIG"

start=$(date +%s)
echo ">> up: monitoring stack"
ansible-playbook -i inventories/dev agent_service.platform.monitoring
echo ">> up: deploy (dev)"
ansible-playbook -i inventories/dev agent_service.platform.deploy
echo ">> up: done in $(( $(date +%s) - start ))s"

ns=$(python3 - <<'PY'
import yaml
print(yaml.safe_load(open("inventories/dev/group_vars/agent_service/main.yml")).get("release_namespace", "agent-service"))
PY
)
report=$(ls -t "$HOME"/agent-service-reports/*.md 2>/dev/null | head -n1 || true)
cat <<MSG

The Agent Service runs in namespace '$ns'. To reach it:
  export KUBECONFIG=$KUBECONFIG
  kubectl -n $ns port-forward svc/agent-service 8000:80              # API:          http://127.0.0.1:8000/docs
  kubectl -n monitoring port-forward svc/prometheus-operated 9090    # Prometheus:   http://127.0.0.1:9090
  kubectl -n monitoring port-forward svc/alertmanager-operated 9093  # Alertmanager: http://127.0.0.1:9093
  Grafana: not installed offline (see README, "Monitoring"); dashboards ship as ConfigMaps labelled grafana_dashboard=1.
Deployment report: ${report:-<none found under ~/agent-service-reports>}
MSG
