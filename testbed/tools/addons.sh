#!/usr/bin/env bash
# `make addon-tools`: etcd/etcdctl, crictl, CoreDNS, metrics-server, local-path-provisioner,
# kube-router (NetworkPolicy firewall) and crane (the registry mirror) into $BIN_DIR. Holds a
# lock so that several `make tools` running at once build each tool once (the others wait,
# then find it cached).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${CACHE_DIR:?}" "${ETCD_VERSION:?}" "${CRICTL_VERSION:?}" "${COREDNS_VERSION:?}" \
  "${METRICS_SERVER_VERSION:?}" "${LOCAL_PATH_PROVISIONER_VERSION:?}" "${KUBE_ROUTER_VERSION:?}" \
  "${CRANE_VERSION:?}"
mkdir -p "$CACHE_DIR/stamps" "$BIN_DIR"
exec 9>"$CACHE_DIR/stamps/addon-tools.lock"
flock -w 3600 9 || { echo "timed out waiting for another 'make addon-tools'" >&2; exit 1; }

grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$here/etcd/go.mod" \
  || { echo "testbed/tools/etcd/go.mod does not pin etcd $ETCD_VERSION (versions.env)" >&2; exit 1; }
bash "$here/gomod-build.sh" "$here/etcd" etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3
gi() { bash "$root/scripts/go-install.sh" "$@"; }
gi crictl sigs.k8s.io/cri-tools/cmd/crictl "$CRICTL_VERSION"
gi coredns github.com/coredns/coredns "$COREDNS_VERSION"
gi metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "$METRICS_SERVER_VERSION"
gi local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION"
gi kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION"
gi crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
