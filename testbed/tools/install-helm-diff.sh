#!/usr/bin/env bash
# Install the helm-diff binary ($BIN_DIR/helm-diff, built by gomod-build.sh) as the `diff`
# plugin of helm 3 and helm 4: a plugin.yaml of ours plus a symlink to the binary, in each
# helm's plugin directory (`helm env HELM_PLUGINS`). Idempotent, and safe to run concurrently.
set -euo pipefail
: "${BIN_DIR:?}" "${HELM_DIFF_VERSION:?}"
version=${HELM_DIFF_VERSION#v}
for helm in helm helm4; do
  command -v "$helm" >/dev/null || { echo "helm-diff: $helm not found; run 'make gotools'" >&2; exit 1; }
  dir="$("$helm" env HELM_PLUGINS | cut -d: -f1)/diff"
  mkdir -p "$dir/bin"
  want=$(cat <<YAML
name: diff
version: "$version"
usage: "Preview helm upgrade changes as a diff"
description: "helm-diff $HELM_DIFF_VERSION, built from the Go module proxy by make tools"
command: "\$HELM_PLUGIN_DIR/bin/diff"
YAML
)
  # several Molecule prepares run this at once: write only what differs, through a temp
  # file of its own, so that a concurrent run never sees a half-written or missing file
  if [ "$(cat "$dir/plugin.yaml" 2>/dev/null)" != "$want" ]; then
    tmp=$(mktemp "$dir/plugin.yaml.XXXXXX")
    printf '%s\n' "$want" > "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$dir/plugin.yaml"
  fi
  if [ "$(readlink "$dir/bin/diff" 2>/dev/null)" != "$BIN_DIR/helm-diff" ]; then
    ln -sfn "$BIN_DIR/helm-diff" "$dir/bin/diff" || [ "$(readlink "$dir/bin/diff")" = "$BIN_DIR/helm-diff" ]
  fi
  got=$("$helm" diff version 2>&1 | tail -n1)
  case "$got" in
    *"$version"*) echo ">> tools: helm-diff $version installed for $helm ($dir)" ;;
    *) echo "helm-diff: '$helm diff version' printed '$got', expected $version" >&2; exit 1 ;;
  esac
done
