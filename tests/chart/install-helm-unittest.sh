#!/usr/bin/env bash
# Build helm-unittest at a pinned version from the Go module proxy and install it as
# a helm plugin ("helm unittest").
#   install-helm-unittest.sh VERSION
# helm-unittest's go.mod carries a replace directive, so `go install pkg@version`
# refuses it; we download the module with the ordinary Go client and build it as the
# main module instead. The plugin lives in $HELM_PLUGINS (default: under $CACHE_DIR),
# with our own plugin.yaml (no install hooks, no network).
set -euo pipefail
version=${1:?usage: install-helm-unittest.sh VERSION}
: "${BIN_DIR:?BIN_DIR must be set}" "${CACHE_DIR:?CACHE_DIR must be set}"
plugins=${HELM_PLUGINS:-$CACHE_DIR/helm-plugins}
plugdir="$plugins/unittest"
stamp="$CACHE_DIR/stamps/helm-unittest"
want="github.com/helm-unittest/helm-unittest@$version $(go version)"
if [ -x "$plugdir/untt" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tools: helm-unittest $version (cached)"
  exit 0
fi
echo ">> tools: building helm-unittest $version from the Go module proxy"
start=$(date +%s)
src=$(cd /tmp && GOFLAGS= go mod download -json "github.com/helm-unittest/helm-unittest@$version" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
cp -r "$src/." "$tmp/src"
chmod -R u+w "$tmp/src"
(cd "$tmp/src" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
   nice go build -trimpath -ldflags="-s -w" -o "$tmp/untt" ./cmd/helm-unittest)
mkdir -p "$plugdir" "$(dirname "$stamp")"
mv -f "$tmp/untt" "$plugdir/untt"
cat > "$plugdir/plugin.yaml" <<YAML
name: "unittest"
version: "${version#v}"
usage: "unittest for helm charts"
description: "helm-unittest ${version}, built from the Go module proxy"
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
YAML
echo "$want" > "$stamp"
echo ">> tools: helm-unittest $version built in $(( $(date +%s) - start ))s"
