#!/usr/bin/env bash
# cert-manager on the test bed, built from the Go module proxy.
#   testbed/ingress/cert-manager.sh build     controller binary into $BIN_DIR + image
#   testbed/ingress/cert-manager.sh install   CRDs, controller, issuers (needs KUBECONFIG)
# Both are idempotent: a second build finds the binary (gomod-build.sh's stamp) and the
# image (a label with a hash of Dockerfile + binary + base image) cached; a second install
# changes nothing and returns once everything is Ready.
# Environment: CERT_MANAGER_VERSION (from versions.env; must match
# testbed/tools/cert-manager/go.mod), BIN_DIR and CACHE_DIR (default
# ~/.cache/agent-service-platform{/bin,}), KUBECONFIG for install, TIMEOUT (seconds per wait).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mod_dir=$root/testbed/tools/cert-manager
: "${CACHE_DIR:=$HOME/.cache/agent-service-platform}" "${BIN_DIR:=$CACHE_DIR/bin}"
export CACHE_DIR BIN_DIR
timeout_s=${TIMEOUT:-180}
binary=$BIN_DIR/cert-manager-controller

usage() { echo "usage: $0 build|install" >&2; exit 2; }
die() { echo "cert-manager.sh: $*" >&2; exit 1; }

# The version lives in two places: versions.env (exported by make) and the go.mod that pins
# the module we compile. They must agree, or the image tag would lie about its content.
check_version() {
  [ -n "${CERT_MANAGER_VERSION:-}" ] ||
    die "CERT_MANAGER_VERSION is not set (run through make, which exports versions.env, or set it)"
  local pinned
  pinned=$(awk '$1 == "github.com/cert-manager/cert-manager" { print $2; exit }' "$mod_dir/go.mod")
  [ "$pinned" = "$CERT_MANAGER_VERSION" ] ||
    die "versions.env has CERT_MANAGER_VERSION=$CERT_MANAGER_VERSION but testbed/tools/cert-manager/go.mod requires github.com/cert-manager/cert-manager ${pinned:-<none>}; update go.mod (go get github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION && go mod tidy in that directory) or versions.env"
}

build() {
  # gomod-build.sh's stamp covers go.mod, go.sum and GO_LDFLAGS but not main.go: passing
  # main.go's hash as a linker flag makes an edit of main.go rebuild the binary (and the
  # controller logs it at start). AppVersion is what cert-manager reports (user agent, logs).
  local src_sum ldflags
  src_sum=$(sha256sum "$mod_dir/main.go" | cut -c1-16)
  ldflags="-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION -X main.sourceSum=$src_sum"
  GO_LDFLAGS=$ldflags bash "$root/testbed/tools/gomod-build.sh" "$mod_dir" cert-manager-controller=.

  # The image (testbed/images/image-lib.sh: skipped when docker has one of the same recipe)
  "$root/testbed/docker.sh" up
  "$root/testbed/images/base.sh"
  # shellcheck source=testbed/images/image-lib.sh
  . "$root/testbed/images/image-lib.sh"
  testbed_image "$root/testbed/images/cert-manager" "localhost/testbed/cert-manager:$CERT_MANAGER_VERSION" \
    "$binary" "$(docker image inspect -f '{{.Id}}' "localhost/testbed/debian-base:${DEBIAN_SUITE:-bookworm}")"
}

install() {
  if [ -z "${KUBECONFIG:-}" ] || [ ! -f "$KUBECONFIG" ]; then
    die "KUBECONFIG must name the test bed's kubeconfig (make cluster prints it: .testbed/kubeconfig)"
  fi
  local kubectl=$BIN_DIR/kubectl
  [ -x "$kubectl" ] || die "$kubectl missing: run 'make tools'"
  local start; start=$(date +%s)
  k() { "$kubectl" "$@"; }

  # CRDs: the module's deploy/crds (not committed here), at the pinned version.
  local mod_json mod_root crds
  mod_json=$(cd "$mod_dir" && GOFLAGS=-mod=mod go mod download -json \
    "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION") ||
    die "go mod download github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION failed: $(jq -r '.Error // empty' <<<"$mod_json")"
  mod_root=$(jq -r '.Dir // empty' <<<"$mod_json")
  crds=$mod_root/deploy/crds
  compgen -G "$crds/*.yaml" >/dev/null || die "no CRDs in '$crds'"
  echo ">> cert-manager: CRDs from $crds"
  # Server-side: the Issuer/ClusterIssuer CRDs exceed the 256 KiB last-applied annotation
  # that a client-side apply would write.
  k apply --server-side --field-manager=agent-testbed -f "$crds"
  k wait --for=condition=Established --timeout="${timeout_s}s" \
    crd/certificates.cert-manager.io crd/certificaterequests.cert-manager.io \
    crd/issuers.cert-manager.io crd/clusterissuers.cert-manager.io \
    crd/orders.acme.cert-manager.io crd/challenges.acme.cert-manager.io

  echo ">> cert-manager: controller ${CERT_MANAGER_VERSION}"
  sed "s/\${CERT_MANAGER_VERSION}/$CERT_MANAGER_VERSION/g" "$here/cert-manager.yaml" |
    k apply --server-side --field-manager=agent-testbed -f -
  # A rebuilt image keeps its tag (imagePullPolicy Never): record the image ID in the pod
  # template so that a new image rolls the Deployment and an unchanged one does not.
  local image_id
  if image_id=$(docker image inspect -f '{{.Id}}' "localhost/testbed/cert-manager:$CERT_MANAGER_VERSION" 2>/dev/null); then
    k -n cert-manager patch deployment cert-manager --type=merge --field-manager=agent-testbed-image \
      -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"agent-testbed/image-id\":\"$image_id\"}}}}}"
  fi
  k -n cert-manager rollout status deployment/cert-manager --timeout="${timeout_s}s"

  echo ">> cert-manager: issuers"
  k apply --server-side --field-manager=agent-testbed -f "$here/issuers.yaml"
  k wait --for=condition=Ready --timeout="${timeout_s}s" clusterissuer/selfsigned
  k -n cert-manager wait --for=condition=Ready --timeout="${timeout_s}s" certificate/testbed-ca
  k wait --for=condition=Ready --timeout="${timeout_s}s" \
    clusterissuer/testbed-ca clusterissuer/letsencrypt-staging clusterissuer/letsencrypt-prod
  echo ">> cert-manager: ready in $(( $(date +%s) - start ))s"
}

[ $# -eq 1 ] || usage
case "$1" in
  build) check_version; build ;;
  install) check_version; install ;;
  *) usage ;;
esac
