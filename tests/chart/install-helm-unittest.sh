#!/usr/bin/env bash
# Build helm-unittest at a pinned version from the Go module proxy into $BIN_DIR and install it
# as the `unittest` plugin of helm (3): our own plugin.yaml (no install hooks, no network) plus
# a symlink to the binary, in helm's plugin directory (`helm env HELM_PLUGINS`). Idempotent.
#   install-helm-unittest.sh VERSION
# helm-unittest's go.mod carries a replace directive, so `go install pkg@version` refuses it;
# we download the module with the ordinary Go client and build it as the main module instead.
set -euo pipefail
version=${1:?usage: install-helm-unittest.sh VERSION}
: "${BIN_DIR:?BIN_DIR must be set}" "${CACHE_DIR:?CACHE_DIR must be set}"
stamp="$CACHE_DIR/stamps/helm-unittest"
want="github.com/helm-unittest/helm-unittest@$version $(go version)"
if [ -x "$BIN_DIR/helm-unittest" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tools: helm-unittest $version (cached)"
else
  echo ">> tools: building helm-unittest $version from the Go module proxy"
  start=$(date +%s)
  src=$(cd / && GOFLAGS= go mod download -json "github.com/helm-unittest/helm-unittest@$version" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
  cp -r "$src/." "$tmp/src"
  chmod -R u+w "$tmp/src"
  (cd "$tmp/src" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
     nice go build -trimpath -ldflags="-s -w" -o "$tmp/untt" ./cmd/helm-unittest)
  mkdir -p "$BIN_DIR" "$(dirname "$stamp")"
  mv -f "$tmp/untt" "$BIN_DIR/helm-unittest"
  echo "$want" > "$stamp"
  echo ">> tools: helm-unittest $version built in $(( $(date +%s) - start ))s"
fi
command -v helm >/dev/null || { echo "helm-unittest: helm not found; run 'make gotools'" >&2; exit 1; }
dir="$(helm env HELM_PLUGINS | cut -d: -f1)/unittest"
mkdir -p "$dir"
cat > "$dir/plugin.yaml.new" <<YAML
name: "unittest"
version: "${version#v}"
usage: "unittest for helm charts"
description: "helm-unittest ${version}, built from the Go module proxy by make chart-test"
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
YAML
mv -f "$dir/plugin.yaml.new" "$dir/plugin.yaml"
ln -sfn "$BIN_DIR/helm-unittest" "$dir/untt"
helm unittest --help >/dev/null || { echo "helm-unittest: 'helm unittest' does not run" >&2; exit 1; }
echo ">> tools: helm-unittest $version installed for helm ($dir)"
