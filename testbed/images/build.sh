#!/usr/bin/env bash
# Build a Dockerfile into an image for the test bed.
#   testbed/images/build.sh IMAGE_REF CONTEXT_DIR [docker build args...]
# - starts Debian's docker daemon when none answers (testbed/docker.sh up);
# - builds the Debian base image first when it is missing (testbed/images/base.sh);
# - passes --build-arg BASE_IMAGE=localhost/testbed/debian-base:bookworm;
# - imports the image into the test bed's containerd (namespace k8s.io) now if the
#   cluster runs, otherwise `make cluster` imports it when it starts.
# Nothing pulls from a registry: FROM ${BASE_IMAGE} is a local image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 IMAGE_REF CONTEXT_DIR [docker build args...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
ref=$1 ctx=$2; shift 2
case "$ref" in
  localhost/*:*) ;;
  *) echo "build.sh: IMAGE_REF must look like localhost/<name>:<tag>, got '$ref'" >&2; exit 2 ;;
esac
[ -d "$ctx" ] || { echo "build.sh: context directory '$ctx' does not exist" >&2; exit 2; }
base=localhost/testbed/debian-base:${DEBIAN_SUITE:-bookworm}

"$here/../docker.sh" up
"$here/base.sh"
echo ">> images: building $ref from $ctx"
start=$(date +%s)
log_dir=/var/log/agent-testbed/builds; mkdir -p "$log_dir"
log="$log_dir/$(echo "$ref" | tr '/:' '__').log"
# The static docker client has no buildx plugin: use the daemon's classic builder.
if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$base" -t "$ref" "$@" "$ctx" >"$log" 2>&1; then
  echo "build.sh: docker build of $ref failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo ">> images: $ref built in $(( $(date +%s) - start ))s"
"$here/import.sh" "$ref"
