#!/usr/bin/env bash
# Install the helm-diff binary ($BIN_DIR/helm-diff, built by gomod-build.sh) as the `diff`
# plugin of helm 3 and helm 4: a plugin.yaml of ours plus a symlink to the binary, in each
# helm's plugin directory (`helm env HELM_PLUGINS`). Idempotent.
set -euo pipefail
: "${BIN_DIR:?}" "${HELM_DIFF_VERSION:?}"
version=${HELM_DIFF_VERSION#v}
for helm in helm helm4; do
  command -v "$helm" >/dev/null || { echo "helm-diff: $helm not found; run 'make gotools'" >&2; exit 1; }
  dir="$("$helm" env HELM_PLUGINS | cut -d: -f1)/diff"
  mkdir -p "$dir/bin"
  cat > "$dir/plugin.yaml.new" <<YAML
name: diff
version: "$version"
usage: "Preview helm upgrade changes as a diff"
description: "helm-diff $HELM_DIFF_VERSION, built from the Go module proxy by make tools"
command: "\$HELM_PLUGIN_DIR/bin/diff"
YAML
  mv -f "$dir/plugin.yaml.new" "$dir/plugin.yaml"
  ln -sfn "$BIN_DIR/helm-diff" "$dir/bin/diff"
  got=$("$helm" diff version 2>&1 | tail -n1)
  case "$got" in
    *"$version"*) echo ">> tools: helm-diff $version installed for $helm ($dir)" ;;
    *) echo "helm-diff: '$helm diff version' printed '$got', expected $version" >&2; exit 1 ;;
  esac
done
