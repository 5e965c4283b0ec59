#!/usr/bin/env bash
# `make images`: the Debian base image and the images the test bed itself runs.
# Each image is a Dockerfile of ours (testbed/images/<name>/) that copies a binary built by
# `make tools` onto the base image. A label with a hash of the Dockerfile, the binary and
# the base image ID lets a second run skip the build: docker's image store is the cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN_DIR:?BIN_DIR must be set}" "${COREDNS_VERSION:?}" "${METRICS_SERVER_VERSION:?}" \
  "${LOCAL_PATH_PROVISIONER_VERSION:?}"
"$here/../docker.sh" up
mkdir -p /run/lock
exec 9>/run/lock/agent-testbed-images.lock   # one build at a time; the others then find it cached
flock -w 1800 9
"$here/base.sh"
base_id=$(docker image inspect -f '{{.Id}}' "localhost/testbed/debian-base:${DEBIAN_SUITE:-bookworm}")

# The pause program is ours; build it here (seconds) instead of in `make tools`.
pause_bin="$BIN_DIR/testbed-pause"
pause_sum=$(cat "$here/pause/main.go" "$here/pause/go.mod" <(go version) | sha256sum | cut -c1-16)
pause_stamp="${CACHE_DIR:?}/stamps/testbed-pause"
if ! [ -x "$pause_bin" ] || [ "$(cat "$pause_stamp" 2>/dev/null)" != "$pause_sum" ]; then
  (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$pause_bin" .)
  mkdir -p "$(dirname "$pause_stamp")" && echo "$pause_sum" > "$pause_stamp"
fi

# shellcheck source=testbed/images/image-lib.sh
. "$here/image-lib.sh"
image() { testbed_image "$here/$1" "$2" "$3" "$base_id"; }
# binary file names inside the context = image name (what the Dockerfile COPYs)
image pause localhost/testbed/pause:1.0 "$pause_bin"
image coredns "localhost/testbed/coredns:$COREDNS_VERSION" "$BIN_DIR/coredns"
image metrics-server "localhost/testbed/metrics-server:$METRICS_SERVER_VERSION" "$BIN_DIR/metrics-server"
image local-path-provisioner "localhost/testbed/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" \
  "$BIN_DIR/local-path-provisioner"
# what the test bed's registry serves under a docker.io name (mirror.txt)
"$here/build.sh" localhost/testbed/curl:1.0 "$here/curl"
