#!/usr/bin/env bash
# Import docker images into the test bed's containerd (namespace k8s.io).
#   import.sh REF...     import these images (when the test bed's containerd runs)
#   import.sh --all      import every docker image named localhost/... that containerd
#                        does not have yet (make cluster calls this)
# A record per image (docker image ID) in containerd's root makes re-imports no-ops; the
# records live and die with containerd's image store.
set -euo pipefail
sock=/run/agent-testbed/containerd/containerd.sock
records=/var/lib/agent-testbed/containerd/agent-testbed-imports
ctr_() { ctr --address "$sock" --namespace k8s.io "$@"; }

if [ "${AGENT_TESTBED_NO_IMPORT:-0}" = 1 ]; then   # bench/cold_build.sh builds into a private docker
  echo ">> images: AGENT_TESTBED_NO_IMPORT=1, nothing imported"
  exit 0
fi

if ! [ -S "$sock" ] || ! timeout 10 ctr --address "$sock" version >/dev/null 2>&1; then
  echo ">> images: test bed containerd not running; $* will be imported at the next 'make cluster'"
  exit 0
fi
if ! timeout 10 docker info >/dev/null 2>&1; then
  echo ">> images: docker daemon not running, nothing imported (make docker-up starts it)"
  exit 0
fi
if [ "${1:-}" = --all ]; then
  mapfile -t refs < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/' | grep -v ':<none>$' | sort -u)
else
  refs=("$@")
fi
mkdir -p "$records"
todo=() ids=()
for ref in "${refs[@]}"; do
  id=$(docker image inspect -f '{{.Id}}' "$ref") || { echo "images: no docker image $ref" >&2; exit 1; }
  rec="$records/$(echo -n "$ref" | sha256sum | cut -c1-32)"
  if [ -f "$rec" ] && [ "$(cat "$rec")" = "$ref $id" ] && ctr_ images ls -q "name==$ref" | grep -qx "$ref"; then
    continue
  fi
  todo+=("$ref"); ids+=("$id")
done
[ ${#todo[@]} -gt 0 ] || { echo ">> images: containerd has all ${#refs[@]} image(s)"; exit 0; }
echo ">> images: importing ${todo[*]} into containerd (k8s.io)"
start=$(date +%s)
docker save "${todo[@]}" | ctr_ images import --digests=false - >/dev/null
for i in "${!todo[@]}"; do
  echo "${todo[$i]} ${ids[$i]}" > "$records/$(echo -n "${todo[$i]}" | sha256sum | cut -c1-32)"
done
echo ">> images: imported ${#todo[@]} image(s) in $(( $(date +%s) - start ))s"
