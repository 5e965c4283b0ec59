#!/usr/bin/env bash
# `make up`: the main job on the local default. The Makefile's prerequisites built what was
# missing (venv, collection, tools, images). This script:
#   1. starts the test bed unless KUBECONFIG names a reachable cluster;
#   2. installs the monitoring stack (agent_service.platform.monitoring);
#   3. deploys the Agent Service with the dev inventory (agent_service.platform.deploy),
#      gated on the error rate measured by that Prometheus (through a port-forward);
#   4. prints how to reach the API, Prometheus, Alertmanager and Grafana, and the report.
# A second run changes nothing: the monitoring role is idempotent and the deploy finds the
# same version already running. `make down` undoes it (scripts/down.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${APP_IMAGE_TAG:?APP_IMAGE_TAG must be set (make up sets it)}" "${MONITORING_CRDS_DIR:?MONITORING_CRDS_DIR must be set (make up sets it)}"
state=$root/.cache/up
mkdir -p "$state"
ns=$(python3 -c 'import yaml; print(yaml.safe_load(open("inventories/dev/group_vars/agent_service/main.yml"))["release_namespace"])')
extra_monitoring=()
if [ -n "${KUBECONFIG:-}" ] && [ "$KUBECONFIG" != "$root/.testbed/kubeconfig" ] \
   && kubectl --kubeconfig "$KUBECONFIG" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
  echo ">> up: using the cluster named by KUBECONFIG=$KUBECONFIG"
  extra_monitoring=(-e monitoring_stack_dev_exporters_enabled=true)
else
  [ -n "${KUBECONFIG:-}" ] && [ "$KUBECONFIG" != "$root/.testbed/kubeconfig" ] \
    && echo ">> up: KUBECONFIG=$KUBECONFIG does not answer; starting the local test bed instead"
  make -s cluster
  export KUBECONFIG="$root/.testbed/kubeconfig"
  extra_monitoring=(-e "@$root/testbed/monitoring-vars.yml")
fi
echo "$KUBECONFIG" > "$state/kubeconfig"     # scripts/down.sh cleans up there
export K8S_AUTH_KUBECONFIG="$KUBECONFIG" ANSIBLE_LOCALHOST_WARNING=false
reports=$state/reports

start=$(date +%s)
# the dev exporters of the monitoring stack live in the app's namespace; the deploy adds its
# Pod Security labels later
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
echo ">> up: monitoring stack"
ansible-playbook -i inventories/dev agent_service.platform.monitoring "${extra_monitoring[@]}" -e "monitoring_stack_app_namespace=$ns" \
  -e "monitoring_stack_operator_crds_dir=$MONITORING_CRDS_DIR" -e "monitoring_stack_kubeconfig=$KUBECONFIG"

# The analysis queries Prometheus, and counts the new version's error lines in the log store,
# from this machine: a port-forward to each for the deploy's duration.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
forward() {  # forward SERVICE PORT READY_PATH LOG: a port-forward to monitoring/SERVICE that answers READY_PATH
  kubectl -n monitoring port-forward "svc/$1" "$2" >"$4" 2>&1 &
  pids+=($!)
  for _ in $(seq 30); do curl -fsS "http://127.0.0.1:${2%%:*}$3" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "up: $1 does not answer through the port-forward: $(cat "$4")" >&2
  return 1
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
port=$(free_port)
forward prometheus-operated "$port:9090" /-/ready "$state/port-forward.log"
logs_port=$(free_port)
forward victoria-logs "$logs_port:9428" /health "$state/port-forward-logs.log"

echo ">> up: deploy (dev) of localhost/agent-service:$APP_IMAGE_TAG"
ansible-playbook -i inventories/dev agent_service.platform.deploy \
  -e "release_version=$APP_IMAGE_TAG" -e "release_kubeconfig=$KUBECONFIG" \
  -e "release_prometheus_url=http://127.0.0.1:$port" -e "release_report_dir=$reports" \
  -e "release_logs_url=http://127.0.0.1:$logs_port" \
  -e @"$root/testbed/up-deploy-vars.yml" \
  -e "release_backup_dir=$root/.cache/up/backups"
echo ">> up: done in $(( $(date +%s) - start ))s"

report=$(ls -t "$reports"/*.md 2>/dev/null | head -n1 || true)
cat <<MSG

The Agent Service runs in namespace '$ns'. To reach it:
  export KUBECONFIG=$KUBECONFIG
  kubectl -n $ns port-forward svc/agent-service 8000:80              # API:          http://127.0.0.1:8000/docs
  kubectl -n monitoring port-forward svc/prometheus-operated 9090    # Prometheus:   http://127.0.0.1:9090
  kubectl -n monitoring port-forward svc/alertmanager-operated 9093  # Alertmanager: http://127.0.0.1:9093
  kubectl -n monitoring port-forward svc/victoria-logs 9428         # logs (LogsQL): http://127.0.0.1:9428/select/vmui/
  Grafana: no offline image here (README, "Air-gapped use"); the dashboards ship as ConfigMaps
  labelled grafana_dashboard=1, which a Grafana sidecar picks up (kube_prometheus_stack mode).
Deployment report: ${report:-<none found in $reports>}
MSG
