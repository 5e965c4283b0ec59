#!/usr/bin/env bash
# Build one Go tool at a pinned version from the Go module proxy into $BIN_DIR.
#   go-install.sh NAME PACKAGE VERSION [extra go build flags...]
# A stamp file records name+package+version, so a second run is a no-op.
# The binary is built with `go install pkg@version` in a throwaway GOBIN, then moved
# into place, so a failed build never leaves a half-written binary.
set -euo pipefail
name=$1 pkg=$2 version=$3; shift 3
: "${BIN_DIR:?BIN_DIR must be set}"
stamps="${CACHE_DIR:?}/stamps"
stamp="$stamps/go-$name"
want="$pkg@$version $*"
mkdir -p "$BIN_DIR" "$stamps"
if [ -x "$BIN_DIR/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tools: $name $version (cached)"
  exit 0
fi
echo ">> tools: building $name from $pkg@$version"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
GOBIN="$tmp" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED="${CGO_ENABLED:-0}" \
  nice go install -trimpath -ldflags="-s -w ${GO_LDFLAGS:-}" "$@" "$pkg@$version"
built=$(find "$tmp" -maxdepth 1 -type f | head -n1)
[ -n "$built" ] || { echo "go install produced no binary for $pkg" >&2; exit 1; }
mv -f "$built" "$BIN_DIR/$name"
echo "$want" > "$stamp"
echo ">> tools: $name $version built in $(( $(date +%s) - start ))s"
