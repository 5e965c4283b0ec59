#!/usr/bin/env bash
# Sourced by the scripts that put a binary built here onto the Debian base image.
#   testbed_image DOCKERFILE_DIR REF BINARY BASE_ID
# builds DOCKERFILE_DIR/Dockerfile with BINARY in its context, under the file name of REF's last
# path element without the tag (what the Dockerfile COPYs), and imports it into the test bed.
# A label with a hash of the Dockerfile, the binary and the base image ID lets a second call
# skip the build: docker's image store is the cache.
testbed_image() {
  local dir=$1 ref=$2 bin=$3 base_id=$4 lib recipe have ctx
  lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  [ -x "$bin" ] || { echo "images: $bin missing; run 'make tools'" >&2; return 1; }
  recipe=$(cat "$dir/Dockerfile" "$bin" <(echo "$base_id") | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{ index .Config.Labels "agent-testbed.recipe" }}' "$ref" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo ">> images: $ref (cached)"
    "$lib/import.sh" "$ref"
    return 0
  fi
  ctx=$(mktemp -d)
  cp "$dir/Dockerfile" "$ctx/"
  cp "$bin" "$ctx/$(basename "$ref" | cut -d: -f1)"
  "$lib/build.sh" "$ref" "$ctx" --label "agent-testbed.recipe=$recipe"
  rm -rf "$ctx"
}
