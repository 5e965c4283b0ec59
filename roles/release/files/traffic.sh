#!/usr/bin/env bash
# Background traffic for the analysis window (what Flagger's load tester does):
# GET one path through the API server's service proxy until the duration is over.
#   traffic.sh SECONDS PROXY_PATH KUBECTL [KUBECTL ARGS...]
set -u
duration=$1 path=$2; shift 2
end=$(( $(date +%s) + duration ))
sent=0
while [ "$(date +%s)" -lt "$end" ]; do
  "$@" get --raw "$path" >/dev/null 2>&1 || true
  sent=$((sent + 1))
  sleep 0.2
done
echo "sent $sent requests"
