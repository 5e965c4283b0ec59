#!/usr/bin/env bash
# The test bed's ingress controller: Traefik $TRAEFIK_VERSION with the Gateway API CRDs.
#   traefik.sh build     the binary (into $BIN_DIR) and the image localhost/testbed/traefik
#   traefik.sh install   the Gateway API CRDs, then traefik.yaml, on $KUBECONFIG's cluster
#
# `go install` cannot build Traefik: its go.mod has replace directives. It is built from its module
# source, downloaded from the Go module proxy, with three changes the proxy forces:
# - `github.com/traefik/traefik/dynamic/ext`, a nested module of empty extension structs, is not
#   in the module zip and not on the proxy: an empty module of the same two types stands in;
# - the go-http-auth fork it pins is refused (403): the commit Traefik v3.6.12 pins stands in;
# - six DNS providers of lego (ACME DNS-01 for Akamai, Huawei, Oracle, Sakura, UCloud and Yandex
#   clouds) import SDKs the proxy refuses: they are left out of lego's provider table.
# None of them is on a path the test bed uses. A stamp (hash of the version, this script and the
# Go version) makes a second build a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${BIN_DIR:?}" "${CACHE_DIR:?}" "${TRAEFIK_VERSION:?}" "${GATEWAY_API_VERSION:?}"
export GOFLAGS=-mod=mod

# lego's DNS providers whose SDKs the Go module proxy refuses
LEGO_DROP=(edgedns huaweicloud oraclecloud sakuracloud ucloud yandexcloud)
# the go-http-auth fork at the commit Traefik v3.6.12 pins (the one v3.7 pins is refused)
HTTP_AUTH=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e

moddir() { (cd "$(mktemp -d)" && go mod download -json "$1" | jq -r .Dir); }

build() {
  local stamp want src lego start
  stamp="$CACHE_DIR/stamps/traefik"
  mkdir -p "$CACHE_DIR/stamps" "$BIN_DIR"
  exec 9>"$stamp.lock"
  flock -w 3600 9 || { echo "traefik: timed out waiting for another build" >&2; exit 1; }
  want=$(cat "$0" <(echo "$TRAEFIK_VERSION") <(go version) | sha256sum | cut -c1-16)
  if [ -x "$BIN_DIR/traefik" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo ">> traefik: $TRAEFIK_VERSION (cached)"
  else
    echo ">> traefik: building $TRAEFIK_VERSION from the Go module proxy"
    start=$(date +%s)
    work=$(mktemp -d "$CACHE_DIR/traefik-build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    src="$work/traefik" lego="$work/lego"
    cp -r "$(moddir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")" "$src"
    cp -r "$(moddir "github.com/go-acme/lego/v5@$(cd "$src" && go list -m -f '{{.Version}}' github.com/go-acme/lego/v5)")" "$lego"
    chmod -R u+w "$work"
    grep -q "sigs.k8s.io/gateway-api $GATEWAY_API_VERSION\$" "$src/go.mod" || {
      echo "traefik: $TRAEFIK_VERSION is built against $(grep -o 'sigs.k8s.io/gateway-api v[^ ]*' "$src/go.mod"), versions.env" \
           "pins GATEWAY_API_VERSION=$GATEWAY_API_VERSION: install the CRDs Traefik watches" >&2; exit 1; }
    mkdir -p "$src/pkg/config/dynamic/ext"
    printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' > "$src/pkg/config/dynamic/ext/go.mod"
    printf '%s\n' '// Package ext: the extension points of dynamic.HTTP and dynamic.Router, empty here.' \
      'package ext' '' 'type HTTP struct{}' '' 'type Router struct{}' > "$src/pkg/config/dynamic/ext/ext.go"
    python3 - "$lego/providers/dns" "${LEGO_DROP[@]}" <<'PY'
import pathlib, re, shutil, sys
dns, drop = pathlib.Path(sys.argv[1]), sys.argv[2:]
table = dns / "zz_gen_dns_providers.go"
text = table.read_text()
for name in drop:
    shutil.rmtree(dns / name)
    text, imports = re.subn(r'\n\t"github.com/go-acme/lego/v5/providers/dns/%s"' % name, "", text)
    text, cases = re.subn(r"\n\tcase [^\n]*:\n\t\treturn %s\.NewDNSProvider\(\)" % name, "", text)
    if (imports, cases) != (1, 1):
        sys.exit(f"traefik.sh: lego's provider table changed ({name}: {imports} imports, {cases} cases)")
table.write_text(text)
(dns / "dns_providers_test.go").unlink(missing_ok=True)
PY
    (cd "$src" && go mod edit -replace "github.com/go-acme/lego/v5=$lego" \
                             -replace "github.com/abbot/go-http-auth=$HTTP_AUTH" \
       && CGO_ENABLED=0 nice -n 10 go build -trimpath \
            -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
            -o "$BIN_DIR/traefik.tmp" ./cmd/traefik)
    mv -f "$BIN_DIR/traefik.tmp" "$BIN_DIR/traefik"
    echo "$want" > "$stamp"
    echo ">> traefik: built in $(( $(date +%s) - start ))s"
  fi
  "$root/testbed/docker.sh" up
  "$root/testbed/images/base.sh"
  # shellcheck source=testbed/images/image-lib.sh
  . "$root/testbed/images/image-lib.sh"
  testbed_image "$root/testbed/images/traefik" "localhost/testbed/traefik:$TRAEFIK_VERSION" "$BIN_DIR/traefik" \
    "$(docker image inspect -f '{{.Id}}' "localhost/testbed/debian-base:${DEBIAN_SUITE:-bookworm}")"
}

install() {
  : "${KUBECONFIG:?}"
  local crds
  crds="$(moddir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")/config/crd/standard"
  # the CRDs and the ValidatingAdmissionPolicy that refuses an older bundle over them
  kubectl apply --server-side --force-conflicts -f "$crds" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s \
    $(grep -l '^kind: CustomResourceDefinition' "$crds"/*.yaml | sed 's/^/-f /') >/dev/null
  sed "s/\${TRAEFIK_VERSION}/$TRAEFIK_VERSION/g" "$here/traefik.yaml" | kubectl apply -f - >/dev/null
  kubectl -n ingress-nginx rollout status deployment/traefik --timeout=120s
  echo ">> traefik: $TRAEFIK_VERSION serves class nginx and Gateway ingress-nginx/testbed (NodePorts 30080, 30443)"
}

case "${1:-}" in
  build) build ;;
  install) install ;;
  *) echo "usage: traefik.sh build|install" >&2; exit 2 ;;
esac
