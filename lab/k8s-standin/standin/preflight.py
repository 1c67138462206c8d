# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""kubeadm's preflight checks that a lab host can show, named and worded as kubeadm names them."""
import os
import shutil
import socket
import subprocess

from . import MINOR


class Check:
    def __init__(self, name, errors=(), warnings=()):
        self.name = name
        self.errors = list(errors)
        self.warnings = list(warnings)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def file_content(path, want="1"):
    name = "FileContent-" + path.replace("/", "-")
    content = _read(path)
    if content is None:
        return Check(name, [f"{path} does not exist"])
    if content.strip() != want:
        return Check(name, [f"{path} contents are not set to {want}"])
    return Check(name)


def port_free(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("0.0.0.0", port))
        return Check(f"Port-{port}")
    except OSError:
        return Check(f"Port-{port}", [f"Port {port} is in use"])
    finally:
        sock.close()


def file_available(path):
    name = "FileAvailable-" + path.replace("/", "-")
    return Check(name, [f"{path} already exists"] if os.path.exists(path) else [])


def dir_available(path):
    name = "DirAvailable-" + path.replace("/", "-")
    try:
        empty = not os.listdir(path)
    except FileNotFoundError:
        empty = True
    return Check(name, [] if empty else [f"{path} is not empty"])


def swap():
    lines = (_read("/proc/swaps") or "").strip().splitlines()
    if len(lines) > 1:
        return Check("Swap", warnings=["swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node"])
    return Check("Swap")


def cri(socket_url):
    path = socket_url[len("unix://"):] if socket_url.startswith("unix://") else socket_url
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2)
        sock.connect(path)
        return Check("CRI")
    except OSError as error:
        reason = "no such file or directory" if isinstance(error, FileNotFoundError) else (error.strerror or str(error)).lower()
        return Check("CRI", [f'container runtime is not running: output: time="" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"{socket_url}\\": '
                             f'rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix {path}: connect: {reason}\\""\n, error: exit status 1'])
    finally:
        sock.close()


def executables():
    checks = []
    for program, required in (("crictl", True), ("conntrack", True), ("ip", True), ("iptables", True), ("mount", True), ("nsenter", True),
                              ("ethtool", False), ("socat", False), ("tc", False), ("touch", False)):
        if shutil.which(program) is None:
            message = f"{program} not found in system path"
            checks.append(Check(f"FileExisting-{program}", [message] if required else [], [] if required else [message]))
    return checks


def kubelet_service():
    result = subprocess.run(["systemctl", "is-enabled", "kubelet.service"], capture_output=True, text=True)
    if result.stdout.strip() != "enabled":
        return Check("Service-Kubelet", warnings=["kubelet service is not enabled, please run 'systemctl enable kubelet.service'"])
    return Check("Service-Kubelet")


def privileged():
    return Check("IsPrivilegedUser", [] if os.geteuid() == 0 else ["user is not running as root"])


def resources(control_plane):
    checks = []
    if control_plane:
        cpus = os.cpu_count() or 1
        if cpus < 2:
            checks.append(Check("NumCPU", [f"the number of available CPUs {cpus} is less than the required 2"]))
        mem_kib = int(((_read("/proc/meminfo") or "MemTotal: 0 kB").split("\n")[0]).split()[1])
        if mem_kib // 1024 < 1700:
            checks.append(Check("Mem", [f"the system RAM ({mem_kib // 1024} MB) is less than the minimum 1700 MB"]))
    return checks


def kubernetes_version(requested, kubeadm_version):
    try:
        major, minor = (int(x) for x in requested.lstrip("v").split(".")[:2])
    except ValueError:
        return Check("KubernetesVersion")
    if (major, minor) > (1, MINOR):
        return Check("KubernetesVersion", warnings=[f"Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: {requested.lstrip('v')}. Kubeadm version: {kubeadm_version.lstrip('v').rsplit('.', 1)[0]}.x"])
    return Check("KubernetesVersion")


def common(cri_socket):
    checks = [privileged(), cri(cri_socket), swap(),
              file_content("/proc/sys/net/bridge/bridge-nf-call-iptables"), file_content("/proc/sys/net/ipv4/ip_forward")]
    checks += executables()
    checks.append(kubelet_service())
    return checks


def init_checks(cri_socket, bind_port, etcd_dir, requested_version, kubeadm_version):
    checks = resources(True) + [kubernetes_version(requested_version, kubeadm_version)]
    checks += [port_free(bind_port), port_free(10259), port_free(10257)]
    checks += [file_available(f"/etc/kubernetes/manifests/{c}.yaml") for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")]
    checks += [port_free(10250), port_free(2379), port_free(2380), dir_available(etcd_dir)]
    checks += common(cri_socket)
    return checks


def join_checks(cri_socket, ca_path):
    return [dir_available("/etc/kubernetes/manifests"), file_available("/etc/kubernetes/kubelet.conf"),
            file_available("/etc/kubernetes/bootstrap-kubelet.conf"), port_free(10250), file_available(ca_path)] + common(cri_socket)


def evaluate(checks, ignored):
    """(warnings, errors) as printed lines; ignored errors become warnings, as --ignore-preflight-errors does."""
    ignore_all = "all" in ignored
    warnings, errors = [], []
    for check in checks:
        for message in check.warnings:
            warnings.append(f"\t[WARNING {check.name}]: {message}")
        for message in check.errors:
            if ignore_all or check.name.lower() in ignored:
                warnings.append(f"\t[WARNING {check.name}]: {message}")
            else:
                errors.append(f"\t[ERROR {check.name}]: {message}")
    return warnings, errors
