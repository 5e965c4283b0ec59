#!/usr/bin/env bash
# Push the images of mirror.txt into the test bed's registry, under their upstream names.
#   mirror.sh REGISTRY_ADDRESS
# The registry is the docker.io mirror containerd uses (testbed/cluster.py writes hosts.toml),
# so a pod that must pull an image of docker.io gets the local image named beside it. The
# registry keeps its manifests in memory: `make cluster` calls this each time it starts one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
registry=${1:?usage: mirror.sh REGISTRY_ADDRESS}
: "${BIN_DIR:?BIN_DIR must be set}"
crane=$BIN_DIR/crane
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while read -r upstream local_ref; do
  case "$upstream" in ''|'#'*) continue ;; esac
  path=${upstream#docker.io/}
  [ "$path" != "$upstream" ] || { echo "mirror.sh: only docker.io is mirrored, got $upstream" >&2; exit 1; }
  docker image inspect "$local_ref" >/dev/null 2>&1 \
    || { echo "mirror.sh: no docker image $local_ref for $upstream; run 'make images'" >&2; exit 1; }
  docker save "$local_ref" -o "$tmp/image.tar"
  out=$("$crane" push --insecure "$tmp/image.tar" "$registry/$path" 2>&1) || { echo "$out" >&2; exit 1; }
  echo ">> images: $upstream served by the test bed's registry ($local_ref)"
done < "$here/mirror.txt"
