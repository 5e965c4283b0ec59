#!/usr/bin/env python3
"""The test bed: a single-node Kubernetes cluster made of host processes.

    cluster.py up       start it (no-op on a running, healthy cluster)
    cluster.py down     stop every process, remove iptables chains, mounts, links, state
    cluster.py status   exit 0 when the cluster runs and is healthy
    cluster.py restart COMPONENT   kill one component and start it again (fault matrix)
    cluster.py reboot   stop every component and pod, start them again on the kept state

Components: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a dedicated
containerd (own socket and root), kubelet, kube-proxy (iptables), kube-router's NetworkPolicy
firewall (host process), and as pods CoreDNS, metrics-server and local-path-provisioner.
State lives in /var/lib/agent-testbed and /run/agent-testbed (see docs/interfaces.md),
logs in /var/log/agent-testbed. Needs root. Knobs this host forces are in README.md.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATE = Path("/var/lib/agent-testbed")
RUN = Path("/run/agent-testbed")
LOGS = Path("/var/log/agent-testbed")
PKI = STATE / "pki"
PIDS = RUN / "pids"
CONTAINERD_ROOT = STATE / "containerd"  # image store: kept by `down` as a cache
CONTAINERD_SOCK = RUN / "containerd" / "containerd.sock"
CNI_CONF_DIR = STATE / "cni" / "net.d"
CNI_BIN_DIR = Path("/usr/lib/cni")
KUBELET_DIR = STATE / "kubelet"
STORAGE_DIR = STATE / "storage"
KUBECONFIG_OUT = ROOT / ".testbed" / "kubeconfig"

SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"
CLUSTER_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"
CLUSTER_DOMAIN = "cluster.local"
BRIDGE = "tbcni0"
PAUSE_IMAGE = "localhost/testbed/pause:1.0"
# The registry mirror: containerd resolves docker.io through it (hosts.toml), so that a pod that
# pulls (imagePullPolicy Always, as for an untagged or :latest image) gets an image built here.
REGISTRY = "127.0.0.1:5001"
SYSTEM_NAMESPACES = ("kube-system", "local-path-storage")

# Ports each component listens on; checked before starting so a clash gets a clear message.
PORTS = {
    2379: "etcd (client)", 2380: "etcd (peer)", 6443: "kube-apiserver",
    10257: "kube-controller-manager", 10259: "kube-scheduler", 10250: "kubelet",
    10248: "kubelet (healthz)", 10249: "kube-proxy (metrics)", 10256: "kube-proxy (healthz)",
    20244: "kube-router (health)", 5001: "registry (docker.io mirror)",
}
# Order matters for `down`: the kubelet first (so it stops restarting pods), etcd last.
COMPONENTS = ["kubelet", "kube-router", "kube-proxy", "kube-scheduler",
              "kube-controller-manager", "kube-apiserver", "containerd", "registry", "etcd"]
# Sysctls the kubelet and kube-proxy set on start; `down` puts the old values back.
SYSCTLS = ["vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
           "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
           "net/ipv4/conf/all/route_localnet"]

T0 = time.monotonic()


class TestbedError(Exception):
    """A condition the user has to fix; printed without a traceback."""


def say(msg: str) -> None:
    print(f">> cluster [{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def run(argv, check=True, capture=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(argv, capture_output=capture, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise TestbedError(f"{' '.join(map(str, argv))} failed ({res.returncode}):\n"
                           f"{(res.stderr or '') + (res.stdout or '')}".strip())
    return res


def versions() -> dict[str, str]:
    out = {}
    for line in (ROOT / "versions.env").read_text().splitlines():
        m = re.match(r"^([A-Z0-9_]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def bin_dir() -> Path:
    cache = Path(os.environ.get("CACHE_DIR", Path.home() / ".cache" / "agent-service-platform"))
    return Path(os.environ.get("BIN_DIR", cache / "bin"))


def binary(name: str) -> str:
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        raise TestbedError(f"{path} is missing: run 'make tools'")
    return str(path)


def host_ip() -> str:
    out = run(["ip", "-4", "-o", "route", "get", "1.1.1.1"], check=False).stdout
    m = re.search(r"\bsrc (\d+\.\d+\.\d+\.\d+)", out)
    if m:
        return m.group(1)
    for line in run(["ip", "-4", "-o", "addr", "show", "scope", "global"]).stdout.splitlines():
        dev, addr = line.split()[1], line.split()[3].split("/")[0]
        if not dev.startswith(("docker", BRIDGE, "veth")):
            return addr
    raise TestbedError("no global IPv4 address on this host: the API server needs one to advertise")


def node_name() -> str:
    return socket.gethostname().split(".")[0].lower()


# --------------------------------------------------------------------------- processes

def pid_of(name: str) -> int | None:
    try:
        pid = int((PIDS / f"{name}.pid").read_text())
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return None
    # the pid must still be our component, not a recycled pid
    return pid if f"/{name}" in cmd or f"{name} " in cmd else None


# the processes this run started, so that an early exit can report its status
STARTED: dict[str, subprocess.Popen] = {}


def start(name: str, argv: list[str], env: dict | None = None, append: bool = False) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "ab" if append else "wb")
    path = f"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{bin_dir()}"
    full_env = dict(os.environ, PATH=path)
    full_env.pop("KUBECONFIG", None)
    full_env.update(env or {})
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=full_env, close_fds=True)
    (PIDS / f"{name}.pid").write_text(str(proc.pid))
    STARTED[name] = proc


def exit_status(name: str) -> str:
    proc = STARTED.get(name)
    code = proc.poll() if proc else None
    if code is None:
        return "exit status unknown"
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def log_tail(name: str, lines: int = 25) -> str:
    try:
        return "\n".join((LOGS / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for(what: str, check, timeout: float, component: str | None = None, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - any failure of a probe means "not yet"
            pass
        if component and pid_of(component) is None:
            raise TestbedError(f"{component} exited ({exit_status(component)}) while waiting for {what}; "
                               f"last lines of {LOGS / (component + '.log')}:\n{log_tail(component)}")
        time.sleep(interval)
    hint = f"; last lines of {LOGS / (component + '.log')}:\n{log_tail(component)}" if component else ""
    raise TestbedError(f"timed out after {timeout:.0f}s waiting for {what}{hint}")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (a bind succeeds; TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URLs only
        return resp.status == 200


def kubectl(*args, check=True, timeout=120, input_=None) -> subprocess.CompletedProcess:
    return run([binary("kubectl"), f"--kubeconfig={PKI / 'admin.kubeconfig'}", *args],
               check=check, timeout=timeout, input=input_)


# --------------------------------------------------------------------------- PKI

def openssl(*args, input_=None):
    run(["openssl", *args], input=input_)


def make_ca(name: str, cn: str) -> None:
    key, crt = PKI / f"{name}.key", PKI / f"{name}.crt"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    openssl("req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign", "-out", str(crt))


def make_cert(name: str, subject: str, ca: str, usage: str, sans: list[str] | None = None) -> None:
    key, crt, csr = PKI / f"{name}.key", PKI / f"{name}.crt", PKI / f"{name}.csr"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
           f"extendedKeyUsage={usage}"]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.NamedTemporaryFile("w", suffix=".ext") as f:
        f.write("\n".join(ext) + "\n")
        f.flush()
        openssl("x509", "-req", "-in", str(csr), "-CA", str(PKI / f"{ca}.crt"), "-CAkey",
                str(PKI / f"{ca}.key"), "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                "-days", "3650", "-extfile", f.name, "-out", str(crt))
    csr.unlink()


def kubeconfig(name: str, user: str, embed: bool = False, server: str = "https://127.0.0.1:6443") -> Path:
    def ref(key: str, path: Path) -> str:
        if embed:
            return f"{key}-data: {base64.b64encode(path.read_bytes()).decode()}"
        return f"{key}: {path}"
    text = f"""apiVersion: v1
kind: Config
clusters:
- name: agent-testbed
  cluster:
    server: {server}
    {ref('certificate-authority', PKI / 'ca.crt')}
users:
- name: {user}
  user:
    {ref('client-certificate', PKI / f'{name}.crt')}
    {ref('client-key', PKI / f'{name}.key')}
contexts:
- name: agent-testbed
  context: {{cluster: agent-testbed, user: {user}}}
current-context: agent-testbed
"""
    path = PKI / f"{name}.kubeconfig"
    path.write_text(text)
    path.chmod(0o600)
    return path


def make_pki(node: str, ip: str) -> None:
    PKI.mkdir(parents=True, exist_ok=True)
    make_ca("ca", "agent-testbed-ca")
    make_ca("front-proxy-ca", "agent-testbed-front-proxy-ca")
    api_sans = ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}", "DNS:localhost", f"DNS:{node}",
                "IP:127.0.0.1", f"IP:{API_SERVICE_IP}", f"IP:{ip}"]
    make_cert("apiserver", "/CN=kube-apiserver", "ca", "serverAuth", api_sans)
    make_cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "ca", "clientAuth")
    make_cert("front-proxy-client", "/CN=front-proxy-client", "front-proxy-ca", "clientAuth")
    make_cert("admin", "/O=system:masters/CN=kubernetes-admin", "ca", "clientAuth")
    make_cert("controller-manager", "/CN=system:kube-controller-manager", "ca", "clientAuth")
    make_cert("scheduler", "/CN=system:kube-scheduler", "ca", "clientAuth")
    make_cert("kube-proxy", "/CN=system:kube-proxy", "ca", "clientAuth")
    make_cert("kubelet-client", f"/O=system:nodes/CN=system:node:{node}", "ca", "clientAuth")
    make_cert("kube-router", "/CN=system:agent-testbed:kube-router", "ca", "clientAuth")
    make_cert("kubelet", f"/CN={node}", "ca", "serverAuth", [f"DNS:{node}", f"IP:{ip}", "IP:127.0.0.1"])
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(PKI / "sa.key"))
    openssl("ec", "-in", str(PKI / "sa.key"), "-pubout", "-out", str(PKI / "sa.pub"))
    for key in PKI.glob("*.key"):
        key.chmod(0o600)
    for name, user in [("admin", "kubernetes-admin"), ("controller-manager", "system:kube-controller-manager"),
                       ("scheduler", "system:kube-scheduler"), ("kube-proxy", "system:kube-proxy"),
                       ("kubelet-client", f"system:node:{node}"),
                       ("kube-router", "system:agent-testbed:kube-router")]:
        kubeconfig(name, user)


# --------------------------------------------------------------------------- configs

def write_configs(node: str, ip: str) -> None:
    (STATE / "config").mkdir(parents=True, exist_ok=True)
    CNI_CONF_DIR.mkdir(parents=True, exist_ok=True)
    (RUN / "containerd").mkdir(parents=True, exist_ok=True)
    (STATE / "config" / "containerd.toml").write_text(f"""# the test bed's own containerd (Debian 1.6 binary)
version = 2
root = "{CONTAINERD_ROOT}"
state = "{RUN / 'containerd-state'}"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{CONTAINERD_SOCK}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{STATE / 'containerd-opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # this host refuses negative oom_score_adj (no CAP_SYS_RESOURCE): clamp to ours (0)
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "{RUN / 'runc'}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{CNI_CONF_DIR}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    # images are imported locally; docker.io resolves through the test bed's mirror only
    config_path = "{STATE / 'config' / 'certs.d'}"
""")
    hosts = STATE / "config" / "certs.d" / "docker.io" / "hosts.toml"
    hosts.parent.mkdir(parents=True, exist_ok=True)
    # containerd 1.6 refuses a hosts.toml without a [host] table ("invalid `host` tree"); the
    # server is the fallback after the mirror, and unreachable from here
    hosts.write_text(f"""# docker.io through the test bed's registry (plain HTTP on loopback)
server = "https://registry-1.docker.io"

[host."http://{REGISTRY}"]
  capabilities = ["pull", "resolve"]
""")
    conflist = {
        "cniVersion": "1.0.0",
        "name": "agent-testbed",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": NODE_POD_CIDR}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(STATE / "cni" / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            # docker sets the FORWARD policy to DROP; the firewall plugin admits pod traffic
            {"type": "firewall", "backend": "iptables"},
        ],
    }
    (CNI_CONF_DIR / "10-agent-testbed.conflist").write_text(json.dumps(conflist, indent=2) + "\n")
    (STATE / "config" / "kubelet.yaml").write_text(f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {PKI / 'ca.crt'}}}
authorization: {{mode: Webhook}}
tlsCertFile: {PKI / 'kubelet.crt'}
tlsPrivateKeyFile: {PKI / 'kubelet.key'}
containerRuntimeEndpoint: unix://{CONTAINERD_SOCK}
cgroupDriver: cgroupfs
failSwapOn: false
maxOpenFiles: 16384
oomScoreAdj: 0
clusterDNS: [{DNS_IP}]
clusterDomain: {CLUSTER_DOMAIN}
resolvConf: /etc/resolv.conf
podLogsDir: {STATE / 'pod-logs'}
evictionHard: {{memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
volumePluginDir: {STATE / 'kubelet-plugins' / 'volume' / 'exec'}
""")
    (STATE / "config" / "kube-proxy.yaml").write_text(f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {PKI / 'kube-proxy.kubeconfig'}}}
hostnameOverride: {node}
mode: iptables
clusterCIDR: {CLUSTER_CIDR}
oomScoreAdj: 0
bindAddress: 0.0.0.0
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [primary]
conntrack: {{maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}}
iptables: {{syncPeriod: 30s, minSyncPeriod: 1s}}
""")


def addons_manifest(v: dict[str, str]) -> str:
    values = {
        "COREDNS_VERSION": v["COREDNS_VERSION"], "METRICS_SERVER_VERSION": v["METRICS_SERVER_VERSION"],
        "LOCAL_PATH_PROVISIONER_VERSION": v["LOCAL_PATH_PROVISIONER_VERSION"],
        "COREDNS_IMAGE": f"localhost/testbed/coredns:{v['COREDNS_VERSION']}",
        "METRICS_SERVER_IMAGE": f"localhost/testbed/metrics-server:{v['METRICS_SERVER_VERSION']}",
        "LOCAL_PATH_PROVISIONER_IMAGE":
            f"localhost/testbed/local-path-provisioner:{v['LOCAL_PATH_PROVISIONER_VERSION']}",
        "BASE_IMAGE": f"localhost/testbed/debian-base:{v.get('DEBIAN_SUITE', 'bookworm')}",
        "DNS_IP": DNS_IP, "CLUSTER_DOMAIN": CLUSTER_DOMAIN, "STORAGE_DIR": str(STORAGE_DIR),
    }
    docs = []
    for path in sorted((HERE / "addons").glob("*.yaml")):
        docs.append(string.Template(path.read_text()).safe_substitute(values))
    return "\n---\n".join(docs)


# --------------------------------------------------------------------------- up

def component_argv(node: str, ip: str) -> dict[str, list[str]]:
    etcd_url = "http://127.0.0.1:2379"
    return {
        "etcd": [binary("etcd"), "--name=testbed", f"--data-dir={STATE / 'etcd'}",
                 f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                 "--listen-peer-urls=http://127.0.0.1:2380",
                 "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                 "--initial-cluster=testbed=http://127.0.0.1:2380",
                 "--unsafe-no-fsync=true", "--log-level=warn"],
        "containerd": ["/usr/bin/containerd", f"--config={STATE / 'config' / 'containerd.toml'}"],
        "registry": [binary("crane"), "registry", "serve", f"--address={REGISTRY}",
                     f"--disk={STATE / 'registry'}"],
        "kube-apiserver": [
            binary("kube-apiserver"), f"--advertise-address={ip}", "--bind-address=0.0.0.0",
            "--secure-port=6443", f"--etcd-servers={etcd_url}",
            f"--tls-cert-file={PKI / 'apiserver.crt'}", f"--tls-private-key-file={PKI / 'apiserver.key'}",
            f"--client-ca-file={PKI / 'ca.crt'}",
            f"--kubelet-client-certificate={PKI / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={PKI / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={PKI / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            f"--service-account-key-file={PKI / 'sa.pub'}",
            f"--service-account-signing-key-file={PKI / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--requestheader-client-ca-file={PKI / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            f"--proxy-client-cert-file={PKI / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={PKI / 'front-proxy-client.key'}",
            "--enable-aggregator-routing=true", "--profiling=false", "--v=1"],
        "kube-controller-manager": [
            binary("kube-controller-manager"),
            f"--kubeconfig={PKI / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={PKI / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={PKI / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1", "--secure-port=10257", "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={PKI / 'sa.key'}", f"--root-ca-file={PKI / 'ca.crt'}",
            f"--cluster-signing-cert-file={PKI / 'ca.crt'}", f"--cluster-signing-key-file={PKI / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", f"--cluster-cidr={CLUSTER_CIDR}",
            "--allocate-node-cidrs=true", "--node-cidr-mask-size=24",
            "--controllers=*,bootstrapsigner,tokencleaner",
            "--profiling=false", "--v=1"],
        "kube-scheduler": [
            binary("kube-scheduler"), f"--kubeconfig={PKI / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={PKI / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={PKI / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1", "--secure-port=10259", "--leader-elect=false",
            "--profiling=false", "--v=1"],
        "kubelet": [
            binary("kubelet"), f"--config={STATE / 'config' / 'kubelet.yaml'}",
            f"--kubeconfig={PKI / 'kubelet-client.kubeconfig'}", f"--root-dir={KUBELET_DIR}",
            f"--hostname-override={node}", f"--node-ip={ip}", "--v=1"],
        "kube-proxy": [binary("kube-proxy"), f"--config={STATE / 'config' / 'kube-proxy.yaml'}", "--v=1"],
        # NetworkPolicy enforcement only: no BGP routing, no service proxy (kube-proxy does it)
        "kube-router": [
            binary("kube-router"), "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
            "--run-loadbalancer=false", "--enable-cni=false", f"--kubeconfig={PKI / 'kube-router.kubeconfig'}",
            f"--hostname-override={node}", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--health-port=20244", "--metrics-port=0", "--v=1"],
    }


def service_guard() -> None:
    """Drop forwarded packets that still go to a service IP after kube-proxy's DNAT: until
    kube-proxy has programmed a new Service they would follow the default route out of the
    VM (here an egress proxy answers them with HTTP 404). The CNI firewall plugin accepts
    pod traffic in FORWARD before kube-proxy's REJECT rules, so this sits in mangle."""
    chain = "KUBE-TESTBED-SVC-GUARD"
    run(["iptables", "-w", "-t", "mangle", "-N", chain], check=False)
    run(["iptables", "-w", "-t", "mangle", "-F", chain])
    run(["iptables", "-w", "-t", "mangle", "-A", chain, "-d", SERVICE_CIDR, "-m", "comment", "--comment",
         "agent-testbed: service IP not translated by kube-proxy", "-j", "DROP"])
    if run(["iptables", "-w", "-t", "mangle", "-C", "FORWARD", "-j", chain], check=False).returncode != 0:
        run(["iptables", "-w", "-t", "mangle", "-I", "FORWARD", "1", "-j", chain])


def running() -> dict[str, int | None]:
    return {name: pid_of(name) for name in COMPONENTS}


def healthy() -> bool:
    if not all(running().values()):
        return False
    res = kubectl("get", "--raw=/readyz", check=False, timeout=15)
    if res.returncode != 0:
        return False
    res = kubectl("get", "node", node_name(), "-o",
                  "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False, timeout=15)
    return res.stdout.strip() == "True"


def port_owner(port: int) -> str:
    out = run(["ss", "-Hltnp", f"sport = :{port}"], check=False).stdout.strip()
    m = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    return f"{m.group(1)} (pid {m.group(2)})" if m else (out or "unknown process")


def preflight() -> None:
    if os.geteuid() != 0:
        raise TestbedError("the test bed needs root (it starts containerd, kubelet and kube-proxy)")
    for tool in ["openssl", "iptables", "ipset", "ss", "ip", "nft", "/usr/bin/containerd", "/usr/sbin/runc"]:
        if not shutil.which(tool):
            raise TestbedError(f"{tool} not found: run 'make debs'")
    for plugin in ["bridge", "host-local", "loopback", "portmap", "firewall"]:
        if not (CNI_BIN_DIR / plugin).exists():
            raise TestbedError(f"CNI plugin {CNI_BIN_DIR / plugin} missing: "
                               "run 'make debs' (containernetworking-plugins)")
    for name in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
                 "kube-proxy", "kubectl", "kube-router", "crictl", "crane"]:
        binary(name)
    taken = []
    for port, owner in PORTS.items():
        for addr in ("0.0.0.0", "127.0.0.1"):
            s = socket.socket()
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
            except OSError:
                taken.append(f"  port {port} ({owner}) is in use by {port_owner(port)}")
                break
            finally:
                s.close()
    if taken:
        raise TestbedError("cannot start the test bed, ports are taken:\n" + "\n".join(taken) +
                           "\nStop those processes (or 'make cluster-down' if they are an old test bed).")


def save_sysctls() -> None:
    saved = {}
    for key in SYSCTLS:
        try:
            saved[key] = Path("/proc/sys", key).read_text().strip()
        except OSError:
            pass
    (STATE / "sysctl-saved.json").write_text(json.dumps(saved))
    if shutil.which("nft"):
        (STATE / "nft-tables-before.json").write_text(json.dumps(nft_tables()))


def up(args) -> int:
    v = versions()
    alive = {n: p for n, p in running().items() if p}
    if alive:
        if healthy():
            say("test bed already running and healthy")
            KUBECONFIG_OUT.parent.mkdir(parents=True, exist_ok=True)
            kubeconfig("admin", "kubernetes-admin", embed=True)
            shutil.copyfile(PKI / "admin.kubeconfig", KUBECONFIG_OUT)
            print(f"export KUBECONFIG={KUBECONFIG_OUT}")
            return 0
        dead = [n for n in COMPONENTS if n not in alive]
        raise TestbedError(
            "a half-started test bed is here: running " + ", ".join(alive) +
            ("; not running " + ", ".join(dead) if dead else "; but it is not healthy") +
            f". Logs are in {LOGS}. Run 'make cluster-down', then 'make cluster'.")
    if PIDS.exists() or (STATE / "pki").exists():
        raise TestbedError(f"leftovers of a test bed that was killed are in {STATE} / {RUN} "
                           "(no component is running). Run 'make cluster-down', then 'make cluster'.")
    preflight()
    node, ip = node_name(), host_ip()
    say(f"starting a single-node cluster: node {node}, {ip}, Kubernetes {v['KUBERNETES_VERSION']}")
    for d in (STATE, RUN, PIDS, LOGS, KUBELET_DIR, STORAGE_DIR):
        d.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()
    save_sysctls()
    make_pki(node, ip)
    write_configs(node, ip)
    boot(node, args.timeout)
    KUBECONFIG_OUT.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig("admin", "kubernetes-admin", embed=True)
    shutil.copyfile(PKI / "admin.kubeconfig", KUBECONFIG_OUT)
    KUBECONFIG_OUT.chmod(0o600)
    say(f"all Ready in {time.monotonic() - T0:.1f}s; logs in {LOGS}")
    print(f"export KUBECONFIG={KUBECONFIG_OUT}")
    return 0


def boot(node: str, timeout: float) -> None:
    """Start every component in order on the PKI and configs in STATE; wait until the node and
    the system pods are Ready. `up` calls it on a fresh STATE, `reboot` on the one it kept."""
    v = versions()
    argv = component_argv(node, host_ip())

    # an etcd of a test bed stopped a moment ago can still hold its ports
    wait_for("etcd's ports 2379 and 2380 to be free", lambda: port_free(2379) and port_free(2380), 20)
    start("etcd", argv["etcd"])
    start("containerd", argv["containerd"])
    (STATE / "registry").mkdir(exist_ok=True)
    start("registry", argv["registry"])
    try:
        wait_for("etcd", lambda: http_ok("http://127.0.0.1:2379/health"), 30, "etcd")
    except TestbedError as exc:
        # seen once right after a killed session (etcd gone with no message): one more try
        say(f"etcd did not come up ({exc}); starting it once more")
        start("etcd", argv["etcd"])
        wait_for("etcd", lambda: http_ok("http://127.0.0.1:2379/health"), 30, "etcd")
    start("kube-apiserver", argv["kube-apiserver"])
    say("etcd up; API server starting")

    crictl = [binary("crictl"), f"--runtime-endpoint=unix://{CONTAINERD_SOCK}",
              f"--image-endpoint=unix://{CONTAINERD_SOCK}", "--timeout=30s"]
    wait_for("containerd", lambda: run(crictl + ["info"], timeout=10).returncode == 0, 30, "containerd")
    # pods left in the kept image store by a killed run would confuse the kubelet
    run(crictl + ["rmp", "--all", "--force"], check=False, timeout=60)
    res = run(["bash", str(HERE / "images" / "import.sh"), "--all"], capture=False, check=False, timeout=600)
    if res.returncode != 0:
        raise TestbedError("importing images into containerd failed (see above)")
    if not run(crictl + ["inspecti", PAUSE_IMAGE], check=False).returncode == 0:
        raise TestbedError(f"{PAUSE_IMAGE} is not in containerd: run 'make images'")
    wait_for("the registry", lambda: http_ok(f"http://{REGISTRY}/v2/"), 30, "registry")
    res = run(["bash", str(HERE / "images" / "mirror.sh"), REGISTRY], capture=False, check=False, timeout=600,
              env=dict(os.environ, BIN_DIR=str(bin_dir())))
    if res.returncode != 0:
        raise TestbedError("pushing the mirrored images into the registry failed (see above)")
    for name in ("kubelet", "kube-proxy"):
        start(name, argv[name])
    service_guard()
    say("containerd up with images; kubelet and kube-proxy starting")

    wait_for("the API server (/readyz)",
             lambda: kubectl("get", "--raw=/readyz", check=False, timeout=10).returncode == 0,
             90, "kube-apiserver", interval=0.5)
    # they exit when they start before the API server's RBAC bootstrap is complete
    for name in ("kube-controller-manager", "kube-scheduler"):
        start(name, argv[name])
    say("API server ready; controller-manager and scheduler starting; applying add-ons")
    kubectl("apply", "-f", "-", input_=addons_manifest(v), timeout=120)
    start("kube-router", argv["kube-router"])

    def node_ready() -> bool:
        out = kubectl("get", "node", node, "-o",
                      "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False, timeout=10)
        return out.stdout.strip() == "True"
    wait_for(f"node {node} to be Ready", node_ready, 90, "kubelet", interval=0.5)
    say(f"node {node} Ready; waiting for the system pods")

    def deployments_ready() -> bool:
        items = []
        for ns in SYSTEM_NAMESPACES:
            out = kubectl("-n", ns, "get", "deploy", "-o", "json", check=False, timeout=10)
            items += json.loads(out.stdout)["items"]
        return len(items) >= 3 and all(d["status"].get("readyReplicas", 0) >= d["spec"].get("replicas", 1)
                                       for d in items)
    wait_for("CoreDNS, metrics-server and local-path-provisioner to be Ready", deployments_ready,
             timeout, "kubelet", interval=0.5)
    wait_for("the metrics API (v1beta1.metrics.k8s.io) to be Available",
             lambda: kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "-o",
                             "jsonpath={.status.conditions[?(@.type=='Available')].status}",
                             check=False).stdout.strip() == "True", 60, "kube-apiserver", interval=0.5)
    for name in COMPONENTS:
        if pid_of(name) is None:
            raise TestbedError(f"{name} exited; last lines of its log:\n{log_tail(name)}")


# --------------------------------------------------------------------------- down

def our_pids() -> set[int]:
    """Processes that belong to the test bed: by path in their command line, or in its cgroups."""
    pids: set[int] = set()
    me = os.getpid()
    markers = (str(STATE).encode(), str(RUN).encode())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmd for m in markers):
            pids.add(int(entry.name))
    for procs in Path("/sys/fs/cgroup").glob("*/kubepods/**/cgroup.procs"):
        try:
            pids.update(int(p) for p in procs.read_text().split())
        except OSError:
            pass
    pids.discard(me)
    return pids


def kill_all(pids: set[int], sig=signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(name: str, timeout: float = 10) -> None:
    pid = pid_of(name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_of(name) == pid:
        time.sleep(0.1)
    if pid_of(name) == pid:
        os.kill(pid, signal.SIGKILL)


def unmount_ours() -> None:
    for _ in range(5):
        mounts = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mp = line.split()[4].replace("\\040", " ")
            if mp.startswith((str(STATE) + "/", str(RUN) + "/", str(RUN))):
                mounts.append(mp)
        if not mounts:
            return
        for mp in sorted(set(mounts), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)


def remove_cgroups() -> None:
    for top in Path("/sys/fs/cgroup").glob("*/kubepods"):
        dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for d in [*dirs, top]:
            try:
                d.rmdir()
            except OSError:
                pass


def clean_iptables() -> int:
    """Remove every KUBE-* and CNI-* chain and the rules that jump to them."""
    removed = 0
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool):
            continue
        for table in ("filter", "nat", "mangle", "raw"):
            res = run([tool, "-w", "-t", table, "-S"], check=False)
            if res.returncode != 0:
                continue
            ours = re.compile(r"(KUBE-|CNI-)")
            chains = []
            for line in res.stdout.splitlines():
                parts = shlex.split(line)
                if parts[0] == "-N" and ours.match(parts[1]):
                    chains.append(parts[1])
                elif parts[0] == "-A" and "-j" in parts and ours.match(parts[parts.index("-j") + 1]) \
                        and not ours.match(parts[1]):
                    run([tool, "-w", "-t", table, "-D", *parts[1:]], check=False)
                    removed += 1
            for chain in chains:
                run([tool, "-w", "-t", table, "-F", chain], check=False)
            for chain in chains:
                run([tool, "-w", "-t", table, "-X", chain], check=False)
                removed += 1
    return removed


def nft_tables() -> list[tuple[str, str]]:
    out = run(["nft", "list", "tables"], check=False).stdout
    return [(p[1], p[2]) for p in (line.split() for line in out.splitlines()) if len(p) == 3]


def clean_ipsets() -> None:
    """kube-router's ipsets (after the iptables rules that used them are gone)."""
    if not shutil.which("ipset"):
        return
    names = run(["ipset", "list", "-n"], check=False).stdout.split()
    for name in names:
        if name.startswith(("KUBE-", "kube-router")):
            run(["ipset", "destroy", name], check=False)


def clean_nftables() -> None:
    """Drop kube-proxy's nftables table, and the (then empty) iptables-nft tables that
    did not exist before `up` (e.g. ip6 nat created by the kubelet)."""
    if not shutil.which("nft"):
        return
    try:
        before = {tuple(t) for t in json.loads((STATE / "nft-tables-before.json").read_text())}
    except (OSError, ValueError):
        before = None
    for family, name in nft_tables():
        if name == "kube-proxy":
            run(["nft", "delete", "table", family, name], check=False)
        elif before is not None and (family, name) not in before:
            listing = run(["nft", "-j", "list", "table", family, name], check=False).stdout
            if listing and '"rule"' not in listing:
                run(["nft", "delete", "table", family, name], check=False)


def down(args) -> int:
    if os.geteuid() != 0:
        raise TestbedError("cluster-down needs root")
    if not (STATE.exists() or RUN.exists() or our_pids()):
        say("no test bed here; nothing to do")
        return 0
    say("stopping the test bed")
    halt()
    try:
        for key, value in json.loads((STATE / "sysctl-saved.json").read_text()).items():
            Path("/proc/sys", key).write_text(value)
    except (OSError, ValueError):
        pass
    keep = set() if args.purge else {CONTAINERD_ROOT.name}
    if STATE.exists():
        for entry in STATE.iterdir():
            if entry.name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
    if args.purge:
        shutil.rmtree(STATE, ignore_errors=True)
    KUBECONFIG_OUT.unlink(missing_ok=True)
    leftovers = our_pids()
    if leftovers:
        raise TestbedError(f"processes of the test bed survived: {sorted(leftovers)}")
    say(f"test bed removed ({'image store purged' if args.purge else f'image store kept in {CONTAINERD_ROOT}'})")
    return 0


def halt() -> None:
    """What a power-off does to the test bed: every process stopped, pods and their mounts,
    cgroups, iptables chains, the bridge and /run gone. STATE (PKI, etcd, volumes, images) stays."""
    stop("kubelet")
    if pid_of("containerd") and (bin_dir() / "crictl").exists():
        run([str(bin_dir() / "crictl"), f"--runtime-endpoint=unix://{CONTAINERD_SOCK}", "--timeout=30s",
             "rmp", "--all", "--force"], check=False, timeout=90)
    for name in COMPONENTS:
        stop(name)
    for _ in range(3):  # shims, pod processes, anything else of ours
        pids = our_pids()
        if not pids:
            break
        kill_all(pids)
        time.sleep(0.5)
    unmount_ours()
    remove_cgroups()
    clean_iptables()
    clean_nftables()
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        run(["ip", "link", "delete", BRIDGE], check=False)
    clean_ipsets()
    # the kubelet's /var/log/containers symlinks that point into our pod logs
    for link in Path("/var/log/containers").glob("*.log") if Path("/var/log/containers").exists() else []:
        try:
            if str(STATE) in os.readlink(link):
                link.unlink()
        except OSError:
            pass
    shutil.rmtree(RUN, ignore_errors=True)


# --------------------------------------------------------------------------- faults

# how each component shows it serves again after a restart
def _serves(name: str) -> bool:
    if name == "etcd":
        return http_ok("http://127.0.0.1:2379/health")
    if name == "kube-apiserver":
        return kubectl("get", "--raw=/readyz", check=False, timeout=10).returncode == 0
    if name == "containerd":
        return run([binary("crictl"), f"--runtime-endpoint=unix://{CONTAINERD_SOCK}", "--timeout=5s", "info"],
                   check=False, timeout=10).returncode == 0
    if name == "kubelet":
        return http_ok("http://127.0.0.1:10248/healthz")
    if name == "registry":
        return http_ok(f"http://{REGISTRY}/v2/")
    return True


def restart(args) -> int:
    """Kill one component (SIGKILL, as a crash) and start it again as `up` does; wait until it
    serves. The fault matrix uses it; what runs on the node (pods, other components) stays."""
    if args.component not in COMPONENTS:
        raise TestbedError(f"unknown component {args.component!r}; one of: {', '.join(COMPONENTS)}")
    if not PIDS.exists():
        raise TestbedError("no test bed here; 'make cluster' first")
    node = node_name()
    argv = component_argv(node, host_ip())[args.component]
    pid = pid_of(args.component)
    if pid is not None:  # a component that is not running is only started
        os.kill(pid, signal.SIGKILL)
        wait_for(f"{args.component} (pid {pid}) to exit", lambda: not Path(f"/proc/{pid}/fd").exists()
                 or not any(Path(f"/proc/{pid}/fd").iterdir()), 30)
    ports = [port for port, owner in PORTS.items() if owner.split(" (")[0] == args.component]
    wait_for(f"the ports of {args.component} {ports} to be free", lambda: all(port_free(p) for p in ports), 30)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{args.component}.log", "ab") as log:
        log.write(f"\n--- cluster.py restart at {time.strftime('%H:%M:%S')} ---\n".encode())
    start(args.component, argv, append=True)
    wait_for(f"{args.component} to serve", lambda: _serves(args.component), args.timeout, args.component, 0.25)
    wait_for(f"node {node} to be Ready", lambda: healthy(), args.timeout, args.component, 0.5)
    say(f"{args.component} restarted (pid {pid} -> {pid_of(args.component)}) and serving; node Ready")
    return 0


def reboot(args) -> int:
    """Every component and pod stopped, then started again on the state kept in STATE (PKI,
    etcd's data, volumes, images), as after a reboot of the node."""
    if not healthy():
        raise TestbedError("the test bed is not running and healthy; 'make cluster' first")
    say("stopping every component and pod (STATE is kept)")
    halt()
    leftovers = our_pids()
    if leftovers:
        raise TestbedError(f"processes of the test bed survived the halt: {sorted(leftovers)}")
    for d in (RUN, PIDS):
        d.mkdir(parents=True, exist_ok=True)
    say("starting it again")
    boot(node_name(), args.timeout)
    say(f"rebooted in {time.monotonic() - T0:.1f}s")
    return 0


def status(_args) -> int:
    state = running()
    for name, pid in state.items():
        print(f"{name:24} {f'running (pid {pid})' if pid else 'not running'}")
    ok = all(state.values()) and healthy()
    print("healthy" if ok else "not healthy")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start the cluster")
    p_up.add_argument("--timeout", type=float, default=180, help="seconds to wait for the system pods")
    p_down = sub.add_parser("down", help="remove the cluster")
    p_down.add_argument("--purge", action="store_true", help="also remove containerd's image store")
    sub.add_parser("status", help="exit 0 when the cluster runs and is healthy")
    p_restart = sub.add_parser("restart", help="kill one component and start it again (fault matrix)")
    p_restart.add_argument("component", help="one of: " + ", ".join(COMPONENTS))
    p_restart.add_argument("--timeout", type=float, default=120, help="seconds to wait until it serves")
    p_reboot = sub.add_parser("reboot", help="stop every component and pod, start them again (fault matrix)")
    p_reboot.add_argument("--timeout", type=float, default=300, help="seconds to wait for the system pods")
    args = parser.parse_args()
    # one `up`/`down` at a time: several stages (or helpers) may ask for the cluster at once;
    # the second `up` waits and then finds a healthy cluster
    lock = open("/run/agent-testbed.lock", "w")  # noqa: SIM115 - held until exit
    if args.cmd != "status":
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        return {"up": up, "down": down, "status": status, "restart": restart, "reboot": reboot}[args.cmd](args)
    except TestbedError as err:
        print(f"cluster: error: {err}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as err:
        print(f"cluster: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
