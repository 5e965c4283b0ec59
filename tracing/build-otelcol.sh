#!/usr/bin/env bash
# Build the OpenTelemetry Collector distribution of tracing/otelcol/builder.yaml into
# $BIN_DIR/otelcol-agent-service, from the Go module proxy only.
#   build-otelcol.sh            (OTELCOL_BUILDER_VERSION, OTELCOL_VERSION, OTELCOL_LOGS_VERSION from versions.env)
# A stamp records the versions and the manifest's checksum: a second run is a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN_DIR:?BIN_DIR must be set}" "${CACHE_DIR:?CACHE_DIR must be set}"
: "${OTELCOL_BUILDER_VERSION:?}" "${OTELCOL_VERSION:?}" "${OTELCOL_LOGS_VERSION:?}"
name=otelcol-agent-service
stamps="$CACHE_DIR/stamps"
stamp="$stamps/$name"
want="builder=$OTELCOL_BUILDER_VERSION collector=$OTELCOL_VERSION logs=$OTELCOL_LOGS_VERSION manifest=$(sha256sum "$here/otelcol/builder.yaml" | cut -c1-16)"
mkdir -p "$BIN_DIR" "$stamps"
if [ -x "$BIN_DIR/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tracing: $name $OTELCOL_VERSION (cached)"
  exit 0
fi
bash "$here/../scripts/go-install.sh" otelcol-builder go.opentelemetry.io/collector/cmd/builder "$OTELCOL_BUILDER_VERSION"
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|@OTELCOL_VERSION@|$OTELCOL_VERSION|g" -e "s|@OTELCOL_LOGS_VERSION@|$OTELCOL_LOGS_VERSION|g" -e "s|@OTELCOL_VERSION_NUM@|${OTELCOL_VERSION#v}|g" \
    -e "s|@OUTPUT_PATH@|$work/dist|g" "$here/otelcol/builder.yaml" > "$work/builder.yaml"
echo ">> tracing: building $name $OTELCOL_VERSION (builder $OTELCOL_BUILDER_VERSION)"
# Static binary (runs in a bare image too); the builder runs `go mod tidy` and `go build`.
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" nice "$BIN_DIR/otelcol-builder" --config "$work/builder.yaml"
mv -f "$work/dist/$name" "$BIN_DIR/$name"
echo "$want" > "$stamp"
"$BIN_DIR/$name" --version
echo ">> tracing: $name built in $(( $(date +%s) - start ))s"
