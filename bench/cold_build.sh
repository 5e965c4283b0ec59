#!/usr/bin/env bash
# Cold build time of `make tools images`, measured with empty caches, beside the caches in use:
# a fresh clone of HEAD, its own CACHE_DIR/BIN_DIR, Go build and module caches, helm plugin
# directory and a private docker daemon (its own data root and socket) for the images. The
# images are not imported into the running test bed. Writes bench/results/cold_build.{txt,json}.
#   bench/cold_build.sh            (as root; ~1 h on 2 cores; `nice` it beside other work)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${COLD_ROOT:-/var/tmp/agent-cold-build}
out=$repo/bench/results
mkdir -p "$out"
rm -rf "$root" && mkdir -p "$root"
git clone -q "$repo" "$root/src"
export CACHE_DIR=$root/cache GOCACHE=$root/gocache GOMODCACHE=$root/gomodcache GOPATH=$root/gopath \
  HELM_PLUGINS=$root/helm-plugins HELM_CONFIG_HOME=$root/helm-config HELM_CACHE_HOME=$root/helm-cache \
  DOCKER_HOST=unix://$root/docker.sock AGENT_TESTBED_NO_IMPORT=1
export PATH=$CACHE_DIR/bin:$PATH

dockerd --data-root "$root/docker" --exec-root "$root/docker-exec" --pidfile "$root/dockerd.pid" \
  --host "$DOCKER_HOST" --bridge=none --iptables=false --ip-masq=false >"$root/dockerd.log" 2>&1 &
trap 'kill "$(cat "$root/dockerd.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null

steps=(gotools k8s-tools addon-tools helm-diff images)
declare -A secs
total_start=$(date +%s)
for step in "${steps[@]}"; do
  start=$(date +%s)
  make -s -C "$root/src" CACHE_DIR="$CACHE_DIR" "$step" 2>&1 | sed "s/^/[$step] /"
  secs[$step]=$(( $(date +%s) - start ))
  echo "== $step: ${secs[$step]} s"
done
total=$(( $(date +%s) - total_start ))
start=$(date +%s); make -s -C "$root/src" CACHE_DIR="$CACHE_DIR" tools images >/dev/null 2>&1; warm=$(( $(date +%s) - start ))

{
  echo "cold make tools images, empty caches, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for step in "${steps[@]}"; do printf '%-12s %6d s\n' "$step" "${secs[$step]}"; done
  printf '%-12s %6d s\n' total "$total" "second run" "$warm"
  echo "go build cache $(du -sh "$GOCACHE" | cut -f1), module cache $(du -sh "$GOMODCACHE" | cut -f1)"
} | tee "$out/cold_build.txt"
python3 - "$out/cold_build.json" "$total" "$warm" "${steps[@]}" <<PY
import json, sys
path, total, warm, *steps = sys.argv[1:]
secs = {$(for s in "${steps[@]}"; do printf '"%s": %s, ' "$s" "${secs[$s]}"; done)}
json.dump({"steps_s": secs, "total_s": int(total), "second_run_s": int(warm)}, open(path, "w"), indent=2)
PY
