# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
The stand-in kubelet (kubelet.service with kubeadm's drop-in): like the real one it exits (and systemd
restarts it every 10 s) until kubeadm has written /var/lib/kubelet/config.yaml and a kubeconfig; refuses
to run with swap on unless failSwapOn is false; then serves healthz on 127.0.0.1:10248, holds port 10250,
registers its Node and posts its status every 10 s.

NodeReady follows what containerd reports to a real kubelet: the network is ready once a CNI
configuration exists in /etc/cni/net.d. No CNI plugin runs here, so the stand-in kubelet writes that
configuration itself for every DaemonSet that mounts /etc/cni/net.d and tolerates the node — what the CNI
Pod's install container does — unless the Pod could not start (Calico's IP_AUTODETECTION_METHOD
interface=REGEX matching no interface of the node, as the real calico-node then fails).
"""
import json
import os
import signal
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from . import GIT_VERSION, STANDIN
from .client import ApiError, Client, Unreachable
from .config import default_address, interface_addresses, node_name_default
from .pki import PkiError, read_kubeconfig
from .yamlish import YamlError, load

CNI_DIR = "/etc/cni/net.d"
CONFIG = "/var/lib/kubelet/config.yaml"


def parse_flags(argv):
    flags = {}
    for arg in argv:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            flags[name] = value if _ else "true"
    return flags


def log(message):
    print(f"kubelet ({STANDIN}): {message}", flush=True)


def swap_on():
    try:
        with open("/proc/swaps") as handle:
            return len(handle.read().strip().splitlines()) > 1
    except OSError:
        return False


def cni_configured():
    try:
        return any(name.endswith((".conf", ".conflist", ".json")) for name in os.listdir(CNI_DIR))
    except OSError:
        return False


def tolerates(pod_spec, taints):
    tolerations = pod_spec.get("tolerations") or []
    for taint in taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def _tolerates(toleration, taint):
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def mounts_cni_dir(pod_spec):
    return any((v.get("hostPath") or {}).get("path", "").rstrip("/") == CNI_DIR for v in pod_spec.get("volumes") or [])


def autodetect_problem(pod_spec):
    """Why calico-node's IP autodetection would fail on this node, or None."""
    for container in pod_spec.get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == "IP_AUTODETECTION_METHOD" and str(env.get("value", "")).startswith("interface="):
                pattern = env["value"][len("interface="):]
                names = list(interface_addresses())
                if not any(re.fullmatch(p.strip(), name) for p in pattern.split(",") for name in names):
                    return f"Unable to auto-detect an IPv4 address: no interface matches {pattern!r} (this node has {', '.join(names)})"
    return None


class Kubelet:
    def __init__(self, flags):
        self.flags = flags
        self.name = (flags.get("hostname-override") or node_name_default()).lower()
        self.healthy = False

    def run(self):
        config_path = self.flags.get("config", CONFIG)
        if not os.path.exists(config_path):
            log(f'"command failed" err="failed to load kubelet config file, path: {config_path}, error: failed to load Kubelet config file {config_path}, '
                f'error failed to read kubelet config file \\"{config_path}\\", error: open {config_path}: no such file or directory"')
            return 1
        try:
            with open(config_path) as handle:
                self.config = load(handle.read()) or {}
        except (OSError, YamlError) as error:
            log(f"failed to load kubelet config file {config_path}: {error}")
            return 1
        kubeconfig = self.flags.get("kubeconfig", "/etc/kubernetes/kubelet.conf")
        if not os.path.exists(kubeconfig):
            log(f'"command failed" err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat {kubeconfig}: no such file or directory"')
            return 1
        if self.config.get("failSwapOn", True) and swap_on():
            log('"command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"')
            return 1
        try:
            self.client = Client.from_kubeconfig(read_kubeconfig(kubeconfig))
        except (PkiError, OSError, KeyError) as error:
            log(f"failed to load {kubeconfig}: {error}")
            return 1
        try:
            self.ports = [self.listen("0.0.0.0", int(self.config.get("port") or 10250))]
        except OSError as error:
            log(f'"command failed" err="failed to listen on 0.0.0.0:10250: {error.strerror}"')
            return 1
        self.serve_healthz()
        log(f"started ({GIT_VERSION}); node {self.name}; posting status every 10s")
        while True:
            try:
                self.sync()
                self.healthy = True
            except (Unreachable, ApiError) as error:
                log(f'"Error updating node status, will retry" err="{error}"')
            time.sleep(float(os.environ.get("STANDIN_KUBELET_SYNC_SECONDS", "10")))

    def listen(self, address, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(16)
        threading.Thread(target=lambda: [c.close() for c, _ in iter(sock.accept, None)], daemon=True).start()
        return sock

    def serve_healthz(self):
        kubelet = self

        class Health(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"ok" if self.path == "/healthz" else b"not found"
                self.send_response(200 if self.path == "/healthz" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = HTTPServer((self.config.get("healthzBindAddress") or "127.0.0.1", int(self.config.get("healthzPort") or 10248)), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return kubelet

    def node_ip(self):
        return self.flags.get("node-ip") or default_address() or "127.0.0.1"

    def sync(self):
        path = f"/api/v1/nodes/{self.name}"
        try:
            node = self.client.get(path)
        except ApiError as error:
            if error.status != 404:
                raise
            node = self.client.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "labels": node_labels(self.name)}, "spec": {}})
        taints = (node.get("spec") or {}).get("taints") or []
        reports = {}
        for ds in self.client.get("/apis/apps/v1/daemonsets").get("items", []):
            spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
            if not tolerates(spec, taints):
                continue
            key = f"{ds['metadata'].get('namespace', 'default')}/{ds['metadata']['name']}"
            problem = autodetect_problem(spec)
            if problem:
                reports[key] = "CrashLoopBackOff"
                log(f"pod {key} on {self.name}: {problem}")
                continue
            reports[key] = "Running"
            if mounts_cni_dir(spec):
                write_cni_config(ds["metadata"]["name"])
        network = cni_configured()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ready = {"type": "Ready", "status": "True" if network else "False", "lastHeartbeatTime": now, "lastTransitionTime": now,
                 "reason": "KubeletReady" if network else "KubeletNotReady",
                 "message": "kubelet is posting ready status" if network else
                 "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}
        status = {
            "conditions": [{"type": t, "status": "False", "reason": f"KubeletHasSufficient{t[:-8] if t.endswith('Pressure') else t}", "lastHeartbeatTime": now, "lastTransitionTime": now}
                           for t in ("MemoryPressure", "DiskPressure", "PIDPressure")] + [ready],
            "addresses": [{"type": "InternalIP", "address": self.node_ip()}, {"type": "Hostname", "address": self.name}],
            "nodeInfo": node_info(),
            "capacity": capacity(),
        }
        annotations = {"standin.drover.invalid/daemonset-pods": json.dumps(reports, sort_keys=True)}
        self.client.put(f"{path}/status", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "annotations": annotations}, "status": status})


def write_cni_config(ds_name):
    os.makedirs(CNI_DIR, exist_ok=True)
    path = os.path.join(CNI_DIR, f"10-{ds_name}.conflist")
    if os.path.exists(path):
        return
    config = {"cniVersion": "0.3.1", "name": "k8s-pod-network",
              "plugins": [{"type": "drover-standin", "comment": f"written by the {STANDIN} kubelet in place of the {ds_name} Pod; no CNI plugin runs"}]}
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2)


def node_labels(name):
    return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}


def node_info():
    os_image = "Linux"
    try:
        with open("/etc/os-release") as handle:
            os_image = next((line.split("=", 1)[1].strip().strip('"') for line in handle if line.startswith("PRETTY_NAME=")), os_image)
    except OSError:
        pass
    runtime = "containerd://unknown"
    try:
        import subprocess
        out = subprocess.run(["containerd", "--version"], capture_output=True, text=True).stdout.split()
        runtime = f"containerd://{out[2]}" if len(out) > 2 else runtime
    except OSError:
        pass
    return {"kubeletVersion": GIT_VERSION, "kubeProxyVersion": GIT_VERSION, "osImage": os_image, "kernelVersion": os.uname().release,
            "containerRuntimeVersion": runtime, "operatingSystem": "linux", "architecture": "amd64"}


def capacity():
    memory = "0Ki"
    try:
        with open("/proc/meminfo") as handle:
            memory = handle.readline().split()[1] + "Ki"
    except OSError:
        pass
    return {"cpu": str(os.cpu_count() or 1), "memory": memory, "pods": "110"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `kubeadm … | head` ends quietly, as the real tools do
    if "--version" in argv or "version" in argv[:1]:
        print(f"Kubernetes {GIT_VERSION} ({STANDIN}, not Kubernetes)")
        return 0
    if "-h" in argv or "--help" in argv:
        print(f"kubelet: the {STANDIN} of the kubelet. Run by kubelet.service; see /usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf.")
        return 0
    return Kubelet(parse_flags(argv)).run()
