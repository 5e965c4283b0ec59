#!/usr/bin/env bash
# Build commands from one of our pinning modules (testbed/tools/<dir>/go.mod) into $BIN_DIR.
#   gomod-build.sh MODULE_DIR NAME=PACKAGE...
# A stamp (hash of
# go.mod, go.sum, the names, this script and the Go version) makes a second run a no-op.
set -euo pipefail
: "${BIN_DIR:?BIN_DIR must be set}" "${CACHE_DIR:?CACHE_DIR must be set}"
dir=$(cd "$1" && pwd); shift
label=$(basename "$dir")
names=() pkgs=()
for spec in "$@"; do names+=("${spec%%=*}"); pkgs+=("${spec#*=}"); done
stamp="$CACHE_DIR/stamps/gomod-$label"
# One build at a time (several `make tools` may run at once): wait for the other one.
mkdir -p "$CACHE_DIR/stamps"
exec 9>"$stamp.lock"
flock -w 3600 9 || { echo "timed out waiting for another build ($stamp.lock)" >&2; exit 1; }
want=$(cat "$dir/go.mod" "$dir/go.sum" "$0" <(echo "$* ${GO_LDFLAGS:-}") <(go version) | sha256sum | cut -c1-16)
ok=1; for n in "${names[@]}"; do [ -x "$BIN_DIR/$n" ] || ok=0; done
if [ $ok = 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tools: ${names[*]} (cached)"; exit 0
fi
echo ">> tools: building ${names[*]} from testbed/tools/$label"
start=$(date +%s)
mkdir -p "$BIN_DIR" "$(dirname "$stamp")"
out=$(mktemp -d "$BIN_DIR/.build-$label.XXXXXX")
trap 'rm -rf "$out"' EXIT
cd "$dir"
# One package at a time (binary names are ours); the build cache shares common packages.
for i in "${!pkgs[@]}"; do
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 \
    go build -trimpath -ldflags="-s -w ${GO_LDFLAGS:-}" -o "$out/${names[$i]}" "${pkgs[$i]}"
done
for i in "${!names[@]}"; do mv -f "$out/${names[$i]}" "$BIN_DIR/${names[$i]}"; done
echo "$want" > "$stamp"
echo ">> tools: ${names[*]} built in $(( $(date +%s) - start ))s"
