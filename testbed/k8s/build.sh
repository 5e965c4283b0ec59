#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and
# kubectl from this module (k8s.io/kubernetes pinned in go.mod) into $BIN_DIR.
# One `go build` invocation for all six, so the shared packages compile once.
# A stamp (hash of go.mod, go.sum, this script, the Go version) makes a second run a no-op.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN_DIR:?BIN_DIR must be set}" "${CACHE_DIR:?CACHE_DIR must be set}"
version=${KUBERNETES_VERSION:?KUBERNETES_VERSION must be set}
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

grep -q "^require k8s.io/kubernetes $version\$" "$here/go.mod" || {
  echo "testbed/k8s/go.mod does not pin k8s.io/kubernetes $version (versions.env);" \
       "run testbed/k8s/gen-gomod.sh" >&2; exit 1; }

stamp="$CACHE_DIR/stamps/k8s"
# One build at a time (several `make tools` may run at once): wait for the other one.
mkdir -p "$CACHE_DIR/stamps" "$BIN_DIR"
exec 9>"$stamp.lock"
flock -w 3600 9 || { echo "timed out waiting for another build ($stamp.lock)" >&2; exit 1; }
want=$(cat "$here/go.mod" "$here/go.sum" "$0" <(go version) | sha256sum | cut -c1-16)
have_all=1
for c in "${cmds[@]}"; do [ -x "$BIN_DIR/$c" ] || have_all=0; done
if [ $have_all = 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo ">> tools: kubernetes $version (cached)"
  exit 0
fi

minor=${version#v1.}; minor=${minor%%.*}
pkgs=() ; for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

echo ">> tools: building kubernetes $version (${cmds[*]}); this is the long one"
start=$(date +%s)
out=$(mktemp -d "$BIN_DIR/.k8s-build.XXXXXX")
trap 'rm -rf "$out"' EXIT
cd "$here"
CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 \
  go build -trimpath -tags=notest,grpcnotrace,providerless -ldflags="$ldflags" -o "$out/" "${pkgs[@]}"
for c in "${cmds[@]}"; do mv -f "$out/$c" "$BIN_DIR/$c"; done
mkdir -p "$(dirname "$stamp")"
echo "$want" > "$stamp"
echo ">> tools: kubernetes $version built in $(( $(date +%s) - start ))s"
