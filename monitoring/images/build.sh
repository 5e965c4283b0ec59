#!/usr/bin/env bash
# Build the operator-mode monitoring images offline and import them into the test bed:
#   monitoring/images/build.sh [NAME...]      (default: every image of images.env)
#   monitoring/images/build.sh --binaries-only NAME...   (the Go binaries only, no docker, no
#                                                        test bed: `make victoria-logs`)
# Go images (prometheus-operator, prometheus-config-reloader, kube-state-metrics, Prometheus,
# external-metrics-adapter, victoria-logs) copy a binary built here from the Go module proxy
# into $CACHE_DIR/monitoring-bin, with the go.mod/go.sum next to the Dockerfile;
# external-metrics-adapter is our own code (main.go there). The image step copies the cached
# binary, so a binary that a test ran on loopback is the one in the image.
# Debian images apt-install bookworm's package inside `docker build` and check its version.
# testbed/images/build.sh does the docker build and the containerd import. A label with a
# hash of the recipe lets a second run skip an image that is already built.
set -euo pipefail
binaries_only=false
if [ "${1:-}" = --binaries-only ]; then binaries_only=true; shift; fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${CACHE_DIR:=$HOME/.cache/agent-service-platform}"
bin="$CACHE_DIR/monitoring-bin"
mkdir -p "$bin"

declare -A tag
while IFS='=' read -r name value; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  tag[$name]=$value
done < "$here/images.env"

# One pin for the operator: versions.env, images.env and go.mod must agree.
want_op=$(sed -n 's/^PROMETHEUS_OPERATOR_VERSION=//p' "$root/versions.env")
grep -q "github.com/prometheus-operator/prometheus-operator ${want_op}$" "$here/prometheus-operator/go.mod" \
  || { echo "build.sh: prometheus-operator/go.mod does not pin $want_op (versions.env)" >&2; exit 1; }
[ "${tag[prometheus-operator]}" = "$want_op" ] && [ "${tag[prometheus-config-reloader]}" = "$want_op" ] \
  || { echo "build.sh: images.env operator tags differ from $want_op" >&2; exit 1; }
grep -q "github.com/prometheus/prometheus v0.$(echo "${tag[prometheus]#v}" | awk -F. '{printf "%d%02d.%d", $1, $2, $3}')$" \
  "$here/prometheus/go.mod" || { echo "build.sh: prometheus/go.mod does not pin Prometheus ${tag[prometheus]}" >&2; exit 1; }
grep -q "k8s.io/kube-state-metrics/v2 ${tag[kube-state-metrics]}$" "$here/kube-state-metrics/go.mod" \
  || { echo "build.sh: kube-state-metrics/go.mod does not pin ${tag[kube-state-metrics]}" >&2; exit 1; }
grep -q "github.com/VictoriaMetrics/VictoriaLogs ${tag[victoria-logs]}$" "$here/victoria-logs/go.mod" \
  || { echo "build.sh: victoria-logs/go.mod does not pin ${tag[victoria-logs]}" >&2; exit 1; }

# The -X flag that stamps the version into a binary (printf format, %s = version without the v):
# prometheus/common's variable unless named here. VictoriaLogs reads its short version from
# VictoriaMetrics' buildinfo.Version (`-version`, the vm_app_version metric) by `vX.Y.Z`.
declare -A version_x=(
  [victoria-logs]='github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-v%s'
)

gobuild() {  # gobuild MODULE_DIR OUTPUT PACKAGE VERSION [SOURCE_FILE...] (sources of a package of our own)
  local dir=$1 out=$2 pkg=$3 version=${4#v} sum xflag
  shift 4
  # shellcheck disable=SC2059  # the format comes from version_x above
  printf -v xflag "${version_x[$out]:-github.com/prometheus/common/version.Version=%s}" "$version"
  sum=$(cat "$dir/go.mod" "$dir/go.sum" "$@" <(go version) <(echo "$pkg $version${version_x[$out]:+ $xflag}") \
        | sha256sum | cut -c1-16)
  if [ -x "$bin/$out" ] && [ "$(cat "$bin/$out.sum" 2>/dev/null)" = "$sum" ]; then
    echo ">> monitoring images: $out binary (cached)"; return 0
  fi
  echo ">> monitoring images: building $out from $pkg"
  local start; start=$(date +%s)
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice go build -trimpath \
     -ldflags="-s -w -X $xflag" -o "$bin/$out.tmp" "$pkg")
  mv -f "$bin/$out.tmp" "$bin/$out"
  echo "$sum" > "$bin/$out.sum"
  echo ">> monitoring images: $out built in $(( $(date +%s) - start ))s"
}

base_id=
if ! $binaries_only; then
  "$root/testbed/docker.sh" up
  "$root/testbed/images/base.sh"
  base_id=$(docker image inspect -f '{{.Id}}' "localhost/testbed/debian-base:${DEBIAN_SUITE:-bookworm}")
fi

image() {  # image NAME [BINARY]    (nothing with --binaries-only)
  local name=$1 binary=${2:-} ref recipe have ctx
  $binaries_only && return 0
  ref="localhost/testbed/$name:${tag[$name]}"
  recipe=$(cat "$here/$name/Dockerfile" ${binary:+"$bin/$binary"} <(echo "$base_id ${tag[$name]}") | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{ index .Config.Labels "agent-testbed.recipe" }}' "$ref" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo ">> monitoring images: $ref (cached)"
    "$root/testbed/images/import.sh" "$ref"
    return 0
  fi
  ctx=$(mktemp -d)
  cp "$here/$name/Dockerfile" "$ctx/"
  [ -z "$binary" ] || cp "$bin/$binary" "$ctx/$binary"
  "$root/testbed/images/build.sh" "$ref" "$ctx" --label "agent-testbed.recipe=$recipe" \
    --build-arg "UPSTREAM_VERSION=${tag[$name]#v}"
  rm -rf "$ctx"
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(prometheus-operator prometheus-config-reloader kube-state-metrics prometheus alertmanager
                                 node-exporter redis-exporter postgres-exporter external-metrics-adapter victoria-logs)
for name in "${names[@]}"; do
  case "$name" in
    prometheus-operator)
      gobuild "$here/prometheus-operator" operator github.com/prometheus-operator/prometheus-operator/cmd/operator "$want_op"
      image "$name" operator ;;
    prometheus-config-reloader)
      gobuild "$here/prometheus-operator" prometheus-config-reloader \
        github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader "$want_op"
      image "$name" prometheus-config-reloader ;;
    kube-state-metrics)
      gobuild "$here/kube-state-metrics" kube-state-metrics k8s.io/kube-state-metrics/v2 "${tag[kube-state-metrics]}"
      image "$name" kube-state-metrics ;;
    prometheus)
      gobuild "$here/prometheus" prometheus github.com/prometheus/prometheus/cmd/prometheus "${tag[prometheus]}"
      image "$name" prometheus ;;
    external-metrics-adapter)
      # the unit tests gate the image (same flags as gobuild: the dependencies compile once)
      (cd "$here/external-metrics-adapter" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice go test -trimpath ./...)
      gobuild "$here/external-metrics-adapter" external-metrics-adapter . "${tag[external-metrics-adapter]}" \
        "$here"/external-metrics-adapter/*.go
      image "$name" external-metrics-adapter ;;
    victoria-logs)
      gobuild "$here/victoria-logs" victoria-logs github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs \
        "${tag[victoria-logs]}"
      image "$name" victoria-logs ;;
    alertmanager|node-exporter|redis-exporter|postgres-exporter)
      $binaries_only && echo ">> monitoring images: $name is a Debian image, no binary to build"
      image "$name" ;;
    *) echo "build.sh: unknown image '$name' (see images.env)" >&2; exit 2 ;;
  esac
done
