# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
The stand-in kubeadm: init, join, reset, token, config (images, print, validate), version — each with
kubeadm's flags, files, output and errors, minus containers. See lab/k8s-standin/README.md for the list of
what is checked and what is not.
"""
import base64
import json
import os
import signal
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

from . import GIT_VERSION, MINOR, STANDIN, VERSION, stand_in_note
from . import preflight
from .cli import UsageError, last, listed, parse, truthy
from .client import ApiError, Client, Unreachable
from .config import (BOOTSTRAP_GROUP, ConfigError, TOKEN_RE, ca_hash_problem, decode_documents, default_init, default_join,
                     read_documents, validate_init, validate_join, validate_version)
from .decode import format_duration, parse_duration
from .pki import (PkiError, ca_cert_hash, generate_token, jws_matches, kubeconfig, new_ca, new_key_and_csr, new_leaf,
                  new_service_account_key, read_kubeconfig, sign_csr, write_kubeconfig, write_private)
from .yamlish import dump, load

KUBE_DIR = "/etc/kubernetes"
MANIFESTS = f"{KUBE_DIR}/manifests"
ADMIN_CONF = f"{KUBE_DIR}/admin.conf"
KUBELET_CONF = f"{KUBE_DIR}/kubelet.conf"
KUBELET_DIR = "/var/lib/kubelet"
KUBELET_PEM = f"{KUBELET_DIR}/pki/kubelet-client-current.pem"
APISERVER_UNIT = "kube-apiserver-standin.service"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
IMAGES = {30: {"etcd": "3.5.12-0", "coredns": "v1.11.1", "pause": "3.9"}, 31: {"etcd": "3.5.15-0", "coredns": "v1.11.3", "pause": "3.10"}}


class Fail(Exception):
    """Ends the command with kubeadm's closing lines and exit status 1."""


def out(line=""):
    print(line, flush=True)


def err(line):
    print(line, file=sys.stderr, flush=True)


def run(*argv, check=True):
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise Fail(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def now():
    return time.time()


def rfc3339(at):
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- configuration from --config or flags ----------------------------------------------------------

INIT_FLAGS = {"config", "apiserver-advertise-address", "apiserver-bind-port", "pod-network-cidr", "service-cidr", "service-dns-domain",
              "kubernetes-version", "image-repository", "node-name", "cri-socket", "token", "token-ttl", "control-plane-endpoint",
              "apiserver-cert-extra-sans", "ignore-preflight-errors", "skip-phases", "certificate-key", "cert-dir", "feature-gates", "patches"}
MIXABLE_WITH_CONFIG = {"config", "ignore-preflight-errors", "skip-phases", "upload-certs", "skip-token-print", "dry-run", "certificate-key", "patches"}


def refuse_mixing(flags):
    mixed = sorted(name for name in flags if name not in MIXABLE_WITH_CONFIG)
    if "config" in flags and mixed:
        raise Fail(f"can not mix '--config' with arguments [{' '.join(mixed)}]")


def load_init_config(flags):
    refuse_mixing(flags)
    if "config" in flags:
        docs = read_documents(last(flags, "config"))
        decoded = decode_documents(docs, {"InitConfiguration", "ClusterConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"})
        cfg = default_init(decoded)
    else:
        init = {"_v4": False, "nodeRegistration": {}, "localAPIEndpoint": {}}
        cluster = {"_v4": False, "networking": {}, "apiServer": {}}
        if "apiserver-advertise-address" in flags:
            init["localAPIEndpoint"]["advertiseAddress"] = last(flags, "apiserver-advertise-address")
        if "apiserver-bind-port" in flags:
            init["localAPIEndpoint"]["bindPort"] = int(last(flags, "apiserver-bind-port"))
        if "node-name" in flags:
            init["nodeRegistration"]["name"] = last(flags, "node-name")
        if "cri-socket" in flags:
            init["nodeRegistration"]["criSocket"] = last(flags, "cri-socket")
        for flag, field in (("pod-network-cidr", "podSubnet"), ("service-cidr", "serviceSubnet"), ("service-dns-domain", "dnsDomain")):
            if flag in flags:
                cluster["networking"][field] = last(flags, flag)
        for flag, field in (("kubernetes-version", "kubernetesVersion"), ("image-repository", "imageRepository"), ("control-plane-endpoint", "controlPlaneEndpoint"), ("cert-dir", "certificatesDir")):
            if flag in flags:
                cluster[field] = last(flags, flag)
        if "apiserver-cert-extra-sans" in flags:
            cluster["apiServer"]["certSANs"] = listed(flags, "apiserver-cert-extra-sans")
        cfg = default_init({"InitConfiguration": init, "ClusterConfiguration": cluster}, kubeadm_token=last(flags, "token"))
        if "token-ttl" in flags:
            cfg["init"]["bootstrapTokens"][0]["ttl"] = last(flags, "token-ttl")
    cri = cfg["init"]["nodeRegistration"]["criSocket"]
    if "://" not in cri:
        err(f'W0000 initconfiguration.go:125] Usage of CRI endpoints without URL scheme is deprecated and can cause kubelet errors in the future. '
            f'Automatically prepending scheme "unix" to the "criSocket" with value "{cri}". Please update your configuration!')
        cfg["init"]["nodeRegistration"]["criSocket"] = "unix://" + cri
    validate_init(cfg)
    version = cfg["cluster"]["kubernetesVersion"]
    if validate_version(version) is None:
        err(f'W0000 version.go:104] could not fetch a Kubernetes version from the internet: unable to get URL "https://dl.k8s.io/release/{version}.txt": '
            f'Get "https://dl.k8s.io/release/{version}.txt": dial tcp: lookup dl.k8s.io: no such host (the lab has no internet)')
        err(f"W0000 version.go:105] falling back to the local client version: {GIT_VERSION}")
        cfg["cluster"]["kubernetesVersion"] = GIT_VERSION
    elif not version.startswith("v"):
        cfg["cluster"]["kubernetesVersion"] = "v" + version
    return cfg


def images(cluster):
    repo = cluster["imageRepository"]
    version = cluster["kubernetesVersion"]
    pinned = IMAGES.get(MINOR, IMAGES[31])
    coredns = f"{repo}/coredns/coredns" if repo == "registry.k8s.io" else f"{repo}/coredns"
    dns = cluster.get("dns") or {}
    return [f"{repo}/kube-apiserver:{version}", f"{repo}/kube-controller-manager:{version}", f"{repo}/kube-scheduler:{version}",
            f"{repo}/kube-proxy:{version}", f"{dns.get('imageRepository') and dns['imageRepository'] + '/coredns' or coredns}:{dns.get('imageTag') or pinned['coredns']}",
            f"{repo}/pause:{pinned['pause']}", f"{repo}/etcd:{pinned['etcd']}"]


# ---- preflight ---------------------------------------------------------------------------------------

def run_preflight(checks, ignored):
    out("[preflight] Running pre-flight checks")
    warnings, errors = preflight.evaluate(checks, {name.lower() for name in ignored})
    for line in warnings:
        err(line)
    if errors:
        raise Fail("error execution phase preflight: [preflight] Some fatal errors occurred:\n" + "\n".join(errors) +
                   "\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`")


# ---- init --------------------------------------------------------------------------------------------

def cmd_init(argv):
    _, flags = parse(argv, INIT_FLAGS, {"upload-certs", "skip-token-print", "dry-run"})
    if truthy(flags, "dry-run"):
        raise Fail(f"--dry-run is not implemented by the {STANDIN} of kubeadm")
    try:
        cfg = load_init_config(flags)
    except ConfigError as error:
        raise Fail(str(error))
    init, cluster = cfg["init"], cfg["cluster"]
    node = init["nodeRegistration"]
    name, address, port = node["name"], init["localAPIEndpoint"]["advertiseAddress"], init["localAPIEndpoint"]["bindPort"]
    version = cluster["kubernetesVersion"]
    out(f"[init] Using Kubernetes version: {version}")
    out(f"[init] {stand_in_note('kubeadm')}")
    ignored = listed(flags, "ignore-preflight-errors") + (node.get("ignorePreflightErrors") or [])
    if "preflight" not in (init.get("skipPhases") or []):
        run_preflight(preflight.init_checks(node["criSocket"], port, cluster["etcd"].get("local", {}).get("dataDir", "/var/lib/etcd"), version, GIT_VERSION), ignored)
        out("[preflight] Pulling images required for setting up a Kubernetes cluster")
        out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
        out("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
    pki_dir = cluster["certificatesDir"]
    service_ip = first_service_ip(cluster["networking"]["serviceSubnet"])
    endpoint = cluster.get("controlPlaneEndpoint") or f"{address}:{port}"
    if ":" not in endpoint.rsplit("]", 1)[-1]:
        endpoint = f"{endpoint}:{port}"
    server = f"https://{endpoint}"
    try:
        make_certificates(pki_dir, name, address, service_ip, cluster)
        ca_pem = read(f"{pki_dir}/ca.crt")
        write_kubeconfigs(pki_dir, name, server, ca_pem, cluster["clusterName"])
    except PkiError as error:
        raise Fail(f"error execution phase certs: {error}")
    write_manifests(cfg, pki_dir, address, port)
    write_kubelet_files(cfg["kubelet"], cluster, node, address)
    out("[kubelet-start] Starting the kubelet")
    run("systemctl", "restart", "kubelet")
    out(f'[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "{MANIFESTS}"')
    run("systemctl", "enable", "--now", APISERVER_UNIT)
    wait_kubelet()
    wait_api_server(port)
    admin = Client.from_kubeconfig(read_kubeconfig(ADMIN_CONF))
    for namespace in ("default", "kube-system", "kube-public", "kube-node-lease"):
        create(admin, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    create(admin, "/api/v1/namespaces/kube-system/configmaps", configmap("kube-system", "kubeadm-config", {"ClusterConfiguration": dump(public_cluster_config(cluster))}))
    out("[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster")
    create(admin, "/api/v1/namespaces/kube-system/configmaps", configmap("kube-system", "kubelet-config", {"kubelet": dump(kubelet_config(cfg["kubelet"], cluster))}))
    out("[upload-certs] Skipping phase. Please see --upload-certs")
    mark_control_plane(admin, name, node.get("taints") or [])
    for token in init["bootstrapTokens"]:
        token.setdefault("token", generate_token())
        out(f"[bootstrap-token] Using token: {token['token']}")
        store_token(admin, token, "The default bootstrap token generated by 'kubeadm init'.")
    out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    out("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes")
    out("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials")
    out("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token")
    out("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster")
    out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
    info = dump(kubeconfig(server, ca_pem, None, cluster_name="") | {"contexts": None, "current-context": "", "users": None})
    create(admin, "/api/v1/namespaces/kube-public/configmaps", configmap("kube-public", "cluster-info", {"kubeconfig": info}))
    out(f'[kubelet-finalize] Updating "{KUBELET_CONF}" to point to a rotatable kubelet client certificate and key')
    out("[addons] Applied essential addon: CoreDNS")
    create(admin, "/apis/apps/v1/namespaces/kube-system/daemonsets", kube_proxy_daemonset(cluster, cfg["proxy"]))
    create(admin, "/api/v1/namespaces/kube-system/configmaps", configmap("kube-system", "kube-proxy", {"config.conf": dump(cfg["proxy"] | {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration"})}))
    out("[addons] Applied essential addon: kube-proxy")
    out()
    out("Your Kubernetes control-plane has initialized successfully!")
    out()
    out("To start using your cluster, you need to run the following as a regular user:")
    out()
    out("  mkdir -p $HOME/.kube")
    out("  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
    out("  sudo chown $(id -u):$(id -g) $HOME/.kube/config")
    out()
    out("Alternatively, if you are the root user, you can run:")
    out()
    out("  export KUBECONFIG=/etc/kubernetes/admin.conf")
    out()
    out("You should now deploy a pod network to the cluster.")
    out('Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:')
    out("  https://kubernetes.io/docs/concepts/cluster-administration/addons/")
    out()
    out("Then you can join any number of worker nodes by running the following on each as root:")
    out()
    token = "<value withheld>" if truthy(flags, "skip-token-print") else init["bootstrapTokens"][0]["token"]
    out(f"kubeadm join {endpoint} --token {token} \\")
    out(f"\t--discovery-token-ca-cert-hash {ca_cert_hash(ca_pem)} ")
    return 0


def first_service_ip(subnets):
    import ipaddress
    net = ipaddress.ip_network(subnets.split(",")[0].strip(), strict=False)
    return str(net.network_address + 1)


def make_certificates(pki, name, address, service_ip, cluster):
    domain = cluster["networking"]["dnsDomain"]
    out(f'[certs] Using certificateDir folder "{pki}"')
    os.makedirs(f"{pki}/etcd", exist_ok=True)
    out('[certs] Generating "ca" certificate and key')
    ca_key, ca_crt = new_ca(pki, "ca", "kubernetes")
    extra = (cluster.get("apiServer") or {}).get("certSANs") or []
    dns = [name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{domain}"]
    ips = [service_ip, address]
    endpoint_host = (cluster.get("controlPlaneEndpoint") or "").rsplit(":", 1)[0]
    for value in extra + ([endpoint_host] if endpoint_host else []):
        (ips if value.replace(".", "").isdigit() or ":" in value else dns).append(value)
    out('[certs] Generating "apiserver" certificate and key')
    out(f"[certs] apiserver serving cert is signed for DNS names [{' '.join(dict.fromkeys(dns))}] and IPs [{' '.join(dict.fromkeys(ips))}]")
    new_leaf(pki, "apiserver", "/CN=kube-apiserver", ca_crt, ca_key, "server", [f"DNS:{d}" for d in dict.fromkeys(dns)] + [f"IP:{i}" for i in dict.fromkeys(ips)])
    out('[certs] Generating "apiserver-kubelet-client" certificate and key')
    new_leaf(pki, "apiserver-kubelet-client", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client", ca_crt, ca_key, "client")
    out('[certs] Generating "front-proxy-ca" certificate and key')
    fp_key, fp_crt = new_ca(pki, "front-proxy-ca", "front-proxy-ca")
    out('[certs] Generating "front-proxy-client" certificate and key')
    new_leaf(pki, "front-proxy-client", "/CN=front-proxy-client", fp_crt, fp_key, "client")
    out('[certs] Generating "etcd/ca" certificate and key')
    etcd_key, etcd_crt = new_ca(f"{pki}/etcd", "ca", "etcd-ca")
    for leaf, usage in (("server", "both"), ("peer", "both"), ("healthcheck-client", "client")):
        out(f'[certs] Generating "etcd/{leaf}" certificate and key')
        sans = [f"DNS:{name}", "DNS:localhost", f"IP:{address}", "IP:127.0.0.1", "IP:::1"] if leaf != "healthcheck-client" else []
        if sans:
            out(f"[certs] etcd/{leaf} serving cert is signed for DNS names [{name} localhost] and IPs [{address} 127.0.0.1 ::1]")
        new_leaf(f"{pki}/etcd", leaf, f"/CN={name if leaf != 'healthcheck-client' else 'kube-etcd-healthcheck-client'}", etcd_crt, etcd_key, usage, sans)
    out('[certs] Generating "apiserver-etcd-client" certificate and key')
    new_leaf(pki, "apiserver-etcd-client", "/CN=kube-apiserver-etcd-client", etcd_crt, etcd_key, "client")
    out('[certs] Generating "sa" key and public key')
    new_service_account_key(pki)


def client_credentials(pki, subject):
    key_path = f"{pki}/.standin-client.key"
    csr = new_key_and_csr(key_path, subject)
    cert = sign_csr(csr, f"{pki}/ca.crt", f"{pki}/ca.key", "client")
    key = read(key_path)
    os.remove(key_path)
    return cert, key


def write_kubeconfigs(pki, name, server, ca_pem, cluster_name):
    out(f'[kubeconfig] Using kubeconfig folder "{KUBE_DIR}"')
    for file, user, subject in (("admin.conf", "kubernetes-admin", "/O=kubeadm:cluster-admins/CN=kubernetes-admin"),
                                ("super-admin.conf", "kubernetes-super-admin", "/O=system:masters/CN=kubernetes-super-admin"),
                                ("controller-manager.conf", "system:kube-controller-manager", "/CN=system:kube-controller-manager"),
                                ("scheduler.conf", "system:kube-scheduler", "/CN=system:kube-scheduler")):
        out(f'[kubeconfig] Writing "{file}" kubeconfig file')
        cert, key = client_credentials(pki, subject)
        write_kubeconfig(f"{KUBE_DIR}/{file}", kubeconfig(server, ca_pem, user, cluster_name, cert_pem=cert, key_pem=key))
        if file == "admin.conf":
            out('[kubeconfig] Writing "kubelet.conf" kubeconfig file')
            node_cert, node_key = client_credentials(pki, f"/O=system:nodes/CN=system:node:{name}")
            install_kubelet_credentials(node_cert, node_key)
            write_kubeconfig(KUBELET_CONF, kubeconfig(server, ca_pem, "system:node:" + name, cluster_name, cert_file=KUBELET_PEM, key_file=KUBELET_PEM)
                             | {"users": [{"name": "default-auth", "user": {"client-certificate": KUBELET_PEM, "client-key": KUBELET_PEM}}],
                                "contexts": [{"context": {"cluster": cluster_name, "user": "default-auth"}, "name": "default-auth@" + cluster_name}],
                                "current-context": "default-auth@" + cluster_name})


def install_kubelet_credentials(cert, key):
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S")
    path = f"{KUBELET_DIR}/pki/kubelet-client-{stamp}.pem"
    write_private(path, cert.rstrip("\n") + "\n" + key)
    if os.path.lexists(KUBELET_PEM):
        os.remove(KUBELET_PEM)
    os.symlink(path, KUBELET_PEM)


def static_pod(component, image, command, header=True):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"labels": {"component": component, "tier": "control-plane"}, "name": component, "namespace": "kube-system"},
           "spec": {"containers": [{"command": command, "image": image, "imagePullPolicy": "IfNotPresent", "name": component}],
                    "hostNetwork": True, "priorityClassName": "system-node-critical"}}
    return (f"# Static Pod manifest written by the {STANDIN} of kubeadm: no container runs it; "
            f"{APISERVER_UNIT} reads the kube-apiserver flags from it.\n" if header else "") + dump(pod)


def write_manifests(cfg, pki, address, port):
    cluster = cfg["cluster"]
    imgs = {image.rsplit("/", 1)[1].split(":")[0]: image for image in images(cluster)}
    os.makedirs(MANIFESTS, exist_ok=True)
    data_dir = cluster["etcd"].get("local", {}).get("dataDir", "/var/lib/etcd")
    out(f'[etcd] Creating static Pod manifest for local etcd in "{MANIFESTS}"')
    write_file(f"{MANIFESTS}/etcd.yaml", static_pod("etcd", imgs["etcd"], ["etcd", f"--advertise-client-urls=https://{address}:2379", f"--data-dir={data_dir}",
                                                                          f"--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379", f"--name={cfg['init']['nodeRegistration']['name']}"]))
    out(f'[control-plane] Using manifest folder "{MANIFESTS}"')
    out('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    write_file(f"{MANIFESTS}/kube-apiserver.yaml", static_pod("kube-apiserver", imgs["kube-apiserver"], [
        "kube-apiserver", f"--advertise-address={address}", "--authorization-mode=Node,RBAC", f"--client-ca-file={pki}/ca.crt",
        "--enable-bootstrap-token-auth=true", f"--secure-port={port}", f"--service-cluster-ip-range={cluster['networking']['serviceSubnet']}",
        f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key"]))
    out('[control-plane] Creating static Pod manifest for "kube-controller-manager"')
    ccm = ["kube-controller-manager", f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key", "--controllers=*,bootstrapsigner,tokencleaner"]
    if cluster["networking"]["podSubnet"]:
        ccm += ["--allocate-node-cidrs=true", f"--cluster-cidr={cluster['networking']['podSubnet']}"]
    write_file(f"{MANIFESTS}/kube-controller-manager.yaml", static_pod("kube-controller-manager", imgs["kube-controller-manager"], ccm))
    out('[control-plane] Creating static Pod manifest for "kube-scheduler"')
    write_file(f"{MANIFESTS}/kube-scheduler.yaml", static_pod("kube-scheduler", imgs["kube-scheduler"], ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf"]))


def kubelet_config(kubelet, cluster):
    import ipaddress
    net = ipaddress.ip_network(cluster["networking"]["serviceSubnet"].split(",")[0].strip(), strict=False)
    base = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"cacheTTL": "0s", "enabled": True}, "x509": {"clientCAFile": f"{cluster['certificatesDir']}/ca.crt"}},
            "authorization": {"mode": "Webhook"}, "cgroupDriver": "systemd", "clusterDNS": [str(net.network_address + 10)],
            "clusterDomain": cluster["networking"]["dnsDomain"], "failSwapOn": True, "rotateCertificates": True, "staticPodPath": MANIFESTS}
    base.update({k: v for k, v in kubelet.items() if v is not None and k not in ("apiVersion", "kind") and not k.startswith("_")})
    return base


def write_kubelet_files(kubelet, cluster, node, address):
    from .config import kubelet_extra_args
    os.makedirs(KUBELET_DIR, exist_ok=True)
    args = [f"--container-runtime-endpoint={node['criSocket']}", f"--pod-infra-container-image={images(cluster)[5]}"]
    extra = kubelet_extra_args(node)
    if node["name"] != os.uname().nodename.lower():
        args.append(f"--hostname-override={node['name']}")
    args += [f"--{k}={v}" for k, v in extra.items()]
    out(f'[kubelet-start] Writing kubelet environment file with flags to file "{KUBELET_DIR}/kubeadm-flags.env"')
    write_file(f"{KUBELET_DIR}/kubeadm-flags.env", f'KUBELET_KUBEADM_ARGS="{" ".join(args)}"\n')
    out(f'[kubelet-start] Writing kubelet configuration to file "{KUBELET_DIR}/config.yaml"')
    write_file(f"{KUBELET_DIR}/config.yaml", dump(kubelet_config(kubelet, cluster)))


def wait_kubelet(timeout=240):
    out("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s")
    started = now()
    baseline = run("systemctl", "show", "-p", "NRestarts", "--value", "kubelet", check=False).stdout.strip()
    baseline = int(baseline) if baseline.isdigit() else 0
    while now() - started < timeout:
        try:
            with urllib.request.urlopen("http://127.0.0.1:10248/healthz", timeout=2) as response:
                if response.status == 200:
                    out(f"[kubelet-check] The kubelet is healthy after {now() - started:.6f}s".rstrip("0"))
                    return
        except OSError:
            pass
        restarts = run("systemctl", "show", "-p", "NRestarts", "--value", "kubelet", check=False).stdout.strip()
        if restarts.isdigit() and int(restarts) - baseline >= 2:
            journal = run("journalctl", "-u", "kubelet", "-n", "1", "--no-pager", "-o", "cat", check=False).stdout.strip()
            raise Fail("[kubelet-check] The kubelet is not healthy: it keeps exiting (the stand-in stops waiting after 2 restarts instead of 4m0s).\n"
                       f"Last kubelet log line: {journal}\n\nUnfortunately, an error has occurred:\n\tThe kubelet is not running\n\n"
                       "This error is likely caused by:\n\t- The kubelet is not running\n\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\n"
                       "If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n\t- 'systemctl status kubelet'\n\t- 'journalctl -xeu kubelet'")
        time.sleep(0.5)
    raise Fail("[kubelet-check] The kubelet is not healthy after 4m0s")


def wait_api_server(port, timeout=240):
    out("[api-check] Waiting for a healthy API server. This can take up to 4m0s")
    started = now()
    probe = Client(f"https://127.0.0.1:{port}", insecure=True, timeout=2)
    while now() - started < timeout:
        try:
            probe.get("/healthz")
            out(f"[api-check] The API server is healthy after {now() - started:.6f}s".rstrip("0"))
            return
        except (Unreachable, ApiError):
            time.sleep(0.3)
    journal = run("journalctl", "-u", APISERVER_UNIT, "-n", "5", "--no-pager", "-o", "cat", check=False).stdout.strip()
    raise Fail(f"[api-check] The API server is not healthy after 4m0s\n{journal}")


def configmap(namespace, name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def create(client, path, body):
    try:
        return client.post(path, body)
    except ApiError as error:
        if error.status != 409:
            raise Fail(f"error execution phase: {error}")
        return None


def public_cluster_config(cluster):
    result = {k: v for k, v in cluster.items() if not k.startswith("_")}
    return {"apiVersion": f"kubeadm.k8s.io/{'v1beta4' if cluster.get('_v4') else 'v1beta3'}", "kind": "ClusterConfiguration"} | {k: v for k, v in result.items() if k not in ("apiVersion", "kind")}


def kube_proxy_daemonset(cluster, proxy):
    image = images(cluster)[3]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"containers": [{"name": "kube-proxy", "image": image, "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf"],
                                                           "env": [{"name": "STANDIN_PROXY_MODE", "value": proxy.get("mode") or "iptables"}]}],
                                           "hostNetwork": True, "tolerations": [{"operator": "Exists"}]}}}}


def mark_control_plane(admin, name, taints):
    labels = [CONTROL_PLANE_LABEL, "node.kubernetes.io/exclude-from-external-load-balancers"]
    out(f"[mark-control-plane] Marking the node {name} as control-plane by adding the labels: [{' '.join(labels)}]")
    if taints:
        out(f"[mark-control-plane] Marking the node {name} as control-plane by adding the taints [{' '.join(t['key'] + ':' + t['effect'] for t in taints)}]")
    deadline = now() + 60
    while True:
        try:
            node = admin.get(f"/api/v1/nodes/{name}")
            break
        except ApiError as error:
            if error.status != 404 or now() > deadline:
                raise Fail(f"error execution phase mark-control-plane: {error}")
            time.sleep(0.3)
    node["metadata"].setdefault("labels", {}).update({label: "" for label in labels})
    node.setdefault("spec", {})["taints"] = [{k: v for k, v in t.items() if v is not None} for t in taints]
    admin.put(f"/api/v1/nodes/{name}", node)


def store_token(client, token, description):
    token_id, secret = token["token"].split(".")
    data = {"token-id": token_id, "token-secret": secret, "auth-extra-groups": ",".join(token.get("groups") or [BOOTSTRAP_GROUP]),
            "description": token.get("description") or description}
    for usage in token.get("usages") or ["signing", "authentication"]:
        data[f"usage-bootstrap-{usage}"] = "true"
    ttl = parse_duration(token.get("ttl") or "24h")
    if token.get("expires"):
        data["expiration"] = token["expires"]
    elif ttl > 0:
        data["expiration"] = rfc3339(now() + ttl)
    body = {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    try:
        client.post("/api/v1/namespaces/kube-system/secrets", body)
    except ApiError as error:
        if error.status != 409:
            raise Fail(str(error))
        client.put(f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token_id}", body)


def write_file(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def read(path):
    with open(path) as handle:
        return handle.read()


# ---- join ---------------------------------------------------------------------------------------------

JOIN_FLAGS = {"config", "token", "discovery-token", "tls-bootstrap-token", "discovery-token-ca-cert-hash", "discovery-file", "node-name",
              "cri-socket", "ignore-preflight-errors", "certificate-key", "apiserver-advertise-address", "apiserver-bind-port", "skip-phases", "patches"}


def load_join_config(positionals, flags):
    if "config" in flags:
        mixed = sorted(n for n in flags if n not in MIXABLE_WITH_CONFIG)
        if mixed or positionals:
            raise Fail(f"can not mix '--config' with arguments [{' '.join(mixed or positionals)}]")
        docs = read_documents(last(flags, "config"))
        decoded = decode_documents(docs, {"JoinConfiguration", "KubeletConfiguration", "KubeProxyConfiguration", "InitConfiguration", "ClusterConfiguration"})
        if "JoinConfiguration" not in decoded:
            raise ConfigError("no JoinConfiguration kind was found in the YAML file")
        return default_join(decoded)
    if not positionals and "discovery-file" not in flags:
        raise Fail("discovery: Invalid value: \"\": bootstrapToken or file must be set")
    token = last(flags, "discovery-token") or last(flags, "token") or ""
    bootstrap = {"token": token, "apiServerEndpoint": positionals[0] if positionals else "",
                 "caCertHashes": flags.get("discovery-token-ca-cert-hash", []),
                 "unsafeSkipCAVerification": truthy(flags, "discovery-token-unsafe-skip-ca-verification")}
    join = {"_v4": False, "nodeRegistration": {"name": last(flags, "node-name"), "criSocket": last(flags, "cri-socket")},
            "discovery": {"bootstrapToken": bootstrap, "tlsBootstrapToken": last(flags, "tls-bootstrap-token") or last(flags, "token") or ""}}
    if "control-plane" in flags:
        join["controlPlane"] = {}
    return default_join({"JoinConfiguration": join})


def cmd_join(argv):
    positionals, flags = parse(argv, JOIN_FLAGS, {"discovery-token-unsafe-skip-ca-verification", "control-plane", "dry-run"})
    try:
        join = load_join_config(positionals, flags)
        validate_join(join)
    except ConfigError as error:
        raise Fail(str(error))
    node = join["nodeRegistration"]
    out(f"[join] {stand_in_note('kubeadm')}")
    run_preflight(preflight.join_checks(node["criSocket"], join["caCertPath"]), listed(flags, "ignore-preflight-errors") + (node.get("ignorePreflightErrors") or []))
    bootstrap = join["discovery"]["bootstrapToken"]
    endpoint, token = bootstrap["apiServerEndpoint"], bootstrap["token"]
    ca_pem, server = discover(endpoint, token, bootstrap.get("caCertHashes") or [], parse_duration(join["_discoveryTimeout"]))
    out("[preflight] Reading configuration from the cluster...")
    out("[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'")
    bootstrap_client = Client(server, ca=ca_pem, token=join["discovery"]["tlsBootstrapToken"])
    try:
        bootstrap_client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
        kubelet_cm = bootstrap_client.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config")
    except ApiError as error:
        if error.status == 401:
            raise Fail("error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: failed to get config map: Unauthorized")
        raise Fail(f"error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: {error}")
    try:
        existing = bootstrap_client.get(f"/api/v1/nodes/{node['name']}")
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in existing.get("status", {}).get("conditions", [])):
            raise Fail(f'error execution phase kubelet-start: a Node with name "{node["name"]}" and status "Ready" already exists in the cluster. '
                       "You must delete the existing Node or change the name of this new joining Node")
    except ApiError as error:
        if error.status != 404:
            raise Fail(f"error execution phase kubelet-start: {error}")
    write_file(join["caCertPath"], ca_pem)
    write_kubelet_join_files(load(kubelet_cm["data"]["kubelet"]) or {}, node)
    out("[kubelet-start] Starting the kubelet")
    out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    key_path = f"{KUBELET_DIR}/pki/.standin-bootstrap.key"
    csr = new_key_and_csr(key_path, f"/O=system:nodes/CN=system:node:{node['name']}")
    name = f"node-csr-{base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip('=')}"
    try:
        signed = bootstrap_client.post("/apis/certificates.k8s.io/v1/certificatesigningrequests", {
            "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": base64.b64encode(csr.encode()).decode(), "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                     "usages": ["digital signature", "client auth"]}})
    except ApiError as error:
        raise Fail(f"error execution phase kubelet-start: the TLS bootstrap failed: {error}")
    install_kubelet_credentials(base64.b64decode(signed["status"]["certificate"]).decode(), read(key_path))
    os.remove(key_path)
    write_kubeconfig(KUBELET_CONF, kubeconfig(server, ca_pem, "default-auth", "default-cluster", cert_file=KUBELET_PEM, key_file=KUBELET_PEM))
    node_client = Client.from_kubeconfig(read_kubeconfig(KUBELET_CONF))
    create(node_client, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node["name"], "labels": {"kubernetes.io/hostname": node["name"], "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
                                          "spec": {"taints": node.get("taints") or []} if node.get("taints") else {}})
    run("systemctl", "restart", "kubelet")
    wait_kubelet()
    out()
    out("This node has joined the cluster:")
    out("* Certificate signing request was sent to apiserver and a response was received.")
    out("* The Kubelet was informed of the new secure connection details.")
    out()
    out("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.")
    out()
    return 0


def discover(endpoint, token, pins, timeout):
    """Token discovery as kubeadm does it: cluster-info fetched without trust, its JWS checked with the token,
    its CA checked against the pins, then fetched again trusting that CA. Returns (CA PEM, server URL)."""
    token_id, token_secret = token.split(".")
    server = f"https://{endpoint}"
    out(f'[discovery] Created cluster-info discovery client, requesting info from "{endpoint}"')
    started = now()
    last_error = None
    while now() - started < timeout:
        try:
            info = Client(server, insecure=True, timeout=5).get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
        except (Unreachable, ApiError) as error:
            last_error = str(error)
            time.sleep(1)
            continue
        content = info["data"]["kubeconfig"]
        signature = info["data"].get(f"jws-kubeconfig-{token_id}")
        if signature is None:
            last_error = f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"'
            time.sleep(1)
            continue
        if not jws_matches(signature, content, token_id, token_secret):
            raise Fail("error execution phase preflight: couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server")
        cluster = (load(content).get("clusters") or [{}])[0].get("cluster", {})
        ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        actual = ca_cert_hash(ca_pem)
        if pins and actual.lower() not in [p.lower() for p in pins]:
            raise Fail(f'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "{actual}" are pinned')
        if not pins:
            out(f"[discovery] Cluster info signature and contents are valid and no TLS pinning was specified, will use API Server \"{endpoint}\"")
        else:
            out(f'[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "{endpoint}"')
        try:
            Client(server, ca=ca_pem, timeout=5).get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
        except (Unreachable, ApiError) as error:
            raise Fail(f"error execution phase preflight: couldn't validate the identity of the API Server: {error}")
        return ca_pem, cluster.get("server") or server
    raise Fail(f"error execution phase preflight: couldn't validate the identity of the API Server: {last_error or 'timed out'}")


def write_kubelet_join_files(kubelet, node):
    from .config import kubelet_extra_args
    args = [f"--container-runtime-endpoint={node['criSocket']}"]
    if node["name"] != os.uname().nodename.lower():
        args.append(f"--hostname-override={node['name']}")
    args += [f"--{k}={v}" for k, v in kubelet_extra_args(node).items()]
    out(f'[kubelet-start] Writing kubelet configuration to file "{KUBELET_DIR}/config.yaml"')
    write_file(f"{KUBELET_DIR}/config.yaml", dump(kubelet))
    out(f'[kubelet-start] Writing kubelet environment file with flags to file "{KUBELET_DIR}/kubeadm-flags.env"')
    write_file(f"{KUBELET_DIR}/kubeadm-flags.env", f'KUBELET_KUBEADM_ARGS="{" ".join(args)}"\n')


# ---- reset --------------------------------------------------------------------------------------------

def cmd_reset(argv):
    _, flags = parse(argv, {"cri-socket", "ignore-preflight-errors", "cert-dir", "kubeconfig", "skip-phases", "config"}, {"force", "cleanup-tmp-dir", "dry-run"}, {"f": "force"})
    if not truthy(flags, "force"):
        sys.stdout.write("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.\n[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise Fail("won't proceed; the user didn't answer (Y|y) in order to continue")
    out(f"[reset] {stand_in_note('kubeadm')}")
    out("[preflight] Running pre-flight checks")
    etcd_dir = "/var/lib/etcd"
    run("systemctl", "disable", "--now", APISERVER_UNIT, check=False)
    if os.path.isdir(etcd_dir) and os.listdir(etcd_dir):
        clear_dir(etcd_dir)
        out(f"[reset] Deleted contents of the etcd data directory: {etcd_dir}")
    else:
        out("[reset] No etcd config found. Assuming external etcd")
        out("[reset] Please, manually reset etcd to prevent further issues")
    out("[reset] Stopping the kubelet service")
    run("systemctl", "stop", "kubelet", check=False)
    out(f'[reset] Unmounting mounted directories in "{KUBELET_DIR}"')
    cert_dir = last(flags, "cert-dir", f"{KUBE_DIR}/pki")
    dirs = [MANIFESTS, KUBELET_DIR, cert_dir]
    out(f"[reset] Deleting contents of directories: [{' '.join(dirs)}]")
    for directory in dirs:
        clear_dir(directory)
    files = [f"{KUBE_DIR}/{f}" for f in ("admin.conf", "super-admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf")]
    out(f"[reset] Deleting files: [{' '.join(files)}]")
    for path in files:
        if os.path.lexists(path):
            os.remove(path)
    out()
    out("The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d")
    out()
    out("The reset process does not reset or clean up iptables rules or IPVS tables.")
    out('If you wish to reset iptables, you must do so manually by using the "iptables" command.')
    out()
    out("If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)")
    out("to reset your system's IPVS tables.")
    out()
    out("The reset process does not clean your kubeconfig files and you must remove them manually.")
    out("Please, check the contents of the $HOME/.kube/config file.")
    return 0


def clear_dir(directory):
    if not os.path.isdir(directory):
        return
    for entry in os.listdir(directory):
        path = os.path.join(directory, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


# ---- token ----------------------------------------------------------------------------------------------

def admin_client(flags):
    path = last(flags, "kubeconfig", ADMIN_CONF)
    try:
        return Client.from_kubeconfig(read_kubeconfig(path))
    except FileNotFoundError:
        raise Fail(f'failed to load admin kubeconfig: open {path}: no such file or directory')


def cmd_token(argv):
    if not argv:
        raise Fail("missing subcommand; \"token\" is not meant to be run on its own")
    sub, rest = argv[0], argv[1:]
    if sub == "generate":
        out(generate_token())
        return 0
    positionals, flags = parse(rest, {"kubeconfig", "ttl", "description", "usages", "groups", "config", "output", "certificate-key"},
                               {"print-join-command", "dry-run", "allow-missing-template-keys", "show-managed-fields"}, {"o": "output"})
    client = admin_client(flags)
    try:
        if sub == "create":
            token = positionals[0] if positionals else generate_token()
            if not TOKEN_RE.match(token):
                raise Fail(f'the bootstrap token "{token}" was not of the form "^([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})$"')
            spec = {"token": token, "ttl": last(flags, "ttl", "24h0m0s"), "description": last(flags, "description"),
                    "usages": listed(flags, "usages") or ["signing", "authentication"], "groups": listed(flags, "groups") or [BOOTSTRAP_GROUP]}
            store_token(client, spec, "")
            if truthy(flags, "print-join-command"):
                info = client.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
                cluster = load(info["data"]["kubeconfig"])["clusters"][0]["cluster"]
                ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
                out(f"kubeadm join {cluster['server'][len('https://'):]} --token {token} --discovery-token-ca-cert-hash {ca_cert_hash(ca_pem)} ")
            else:
                out(token)
            return 0
        if sub == "list":
            rows = []
            for secret in client.get("/api/v1/namespaces/kube-system/secrets").get("items", []):
                if secret.get("type") != "bootstrap.kubernetes.io/token":
                    continue
                data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
                expiration = data.get("expiration")
                ttl = "<forever>" if not expiration else human_ttl(datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() - now())
                usages = ",".join(sorted(k[len("usage-bootstrap-"):] for k, v in data.items() if k.startswith("usage-bootstrap-") and v == "true"))
                rows.append([f"{data['token-id']}.{data['token-secret']}", ttl, expiration or "<never>", usages, data.get("description") or "<none>", data.get("auth-extra-groups", "")])
            if last(flags, "output") in ("json", "yaml"):
                items = [{"kind": "BootstrapToken", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "token": r[0], "ttl": r[1], "expires": r[2], "usages": r[3].split(","), "description": r[4], "groups": r[5].split(",")} for r in rows]
                for item in items:
                    out(json.dumps(item, indent=4) if last(flags, "output") == "json" else dump(item))
                return 0
            table([["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"]] + rows)
            return 0
        if sub == "delete":
            for value in positionals:
                token_id = value.split(".")[0]
                client.delete(f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{token_id}")
                out(f'bootstrap token "{token_id}" deleted')
            return 0
    except ApiError as error:
        raise Fail(str(error))
    except Unreachable as error:
        raise Fail(f"failed to list bootstrap tokens: {error}")
    raise Fail(f'unknown command "{sub}" for "kubeadm token"')


def human_ttl(seconds):
    if seconds <= 0:
        return "<invalid>"
    hours = int(seconds // 3600)
    return f"{hours}h" if hours else f"{int(seconds // 60)}m"


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("   ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


# ---- config ---------------------------------------------------------------------------------------------

def cmd_config(argv):
    if len(argv) < 1:
        raise Fail('missing subcommand; "config" is not meant to be run on its own')
    if argv[0] == "images" and len(argv) > 1 and argv[1] in ("list", "pull"):
        _, flags = parse(argv[2:], {"config", "kubernetes-version", "image-repository", "cri-socket", "feature-gates", "output"}, {"allow-missing-template-keys", "show-managed-fields"}, {"o": "output"})
        try:
            cfg = load_init_config(flags)
        except ConfigError as error:
            raise Fail(str(error))
        names = images(cfg["cluster"])
        if argv[1] == "list":
            for name in names:
                out(name)
            return 0
        check = preflight.cri(cfg["init"]["nodeRegistration"]["criSocket"])
        if check.errors:
            raise Fail(f"failed to create new CRI runtime service: {check.errors[0]}")
        for name in names:
            out(f"[config/images] Pulled {name}")
        err(f"[config/images] ({STANDIN}: nothing was downloaded; the lab has no registry)")
        return 0
    if argv[0] == "print" and len(argv) > 1 and argv[1] in ("init-defaults", "join-defaults"):
        _, flags = parse(argv[2:], {"component-configs", "kubeconfig"})
        print(print_defaults(argv[1], listed(flags, "component-configs")), end="")
        return 0
    if argv[0] == "validate":
        _, flags = parse(argv[1:], {"config", "kubeconfig"}, {"allow-experimental-api"})
        if "config" not in flags:
            raise Fail("the --config flag is mandatory")
        try:
            docs = read_documents(last(flags, "config"), strict_errors=True)
            decoded = decode_documents(docs, {"InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "KubeletConfiguration", "KubeProxyConfiguration", "ResetConfiguration"}, strict_errors=True)
            if "JoinConfiguration" in decoded:
                validate_join(default_join(decoded))
            if decoded.keys() & {"InitConfiguration", "ClusterConfiguration"}:
                validate_init(default_init(decoded), check_address=False)
        except ConfigError as error:
            raise Fail(str(error))
        out("ok")
        return 0
    raise Fail(f"the {STANDIN} of kubeadm implements config images list|pull, config print init-defaults|join-defaults and config validate, not \"config {' '.join(argv)}\"")


def print_defaults(which, components):
    api = f"kubeadm.k8s.io/{'v1beta4' if MINOR >= 31 else 'v1beta3'}"
    if which == "join-defaults":
        docs = [{"apiVersion": api, "caCertPath": "/etc/kubernetes/pki/ca.crt",
                 "discovery": {"bootstrapToken": {"apiServerEndpoint": "kube-apiserver:6443", "token": "abcdef.0123456789abcdef", "unsafeSkipCAVerification": True}, "tlsBootstrapToken": "abcdef.0123456789abcdef"}
                 | ({} if MINOR >= 31 else {"timeout": "5m0s"}),
                 "kind": "JoinConfiguration", "nodeRegistration": {"criSocket": "unix:///var/run/containerd/containerd.sock", "imagePullPolicy": "IfNotPresent", "name": "node", "taints": None}}]
    else:
        docs = [{"apiVersion": api, "bootstrapTokens": [{"groups": [BOOTSTRAP_GROUP], "token": "abcdef.0123456789abcdef", "ttl": "24h0m0s", "usages": ["signing", "authentication"]}],
                 "kind": "InitConfiguration", "localAPIEndpoint": {"advertiseAddress": "1.2.3.4", "bindPort": 6443},
                 "nodeRegistration": {"criSocket": "unix:///var/run/containerd/containerd.sock", "imagePullPolicy": "IfNotPresent", "name": "node", "taints": None}},
                {"apiServer": {} if MINOR >= 31 else {"timeoutForControlPlane": "4m0s"}, "apiVersion": api, "certificatesDir": "/etc/kubernetes/pki", "clusterName": "kubernetes",
                 "controllerManager": {}, "dns": {}, "etcd": {"local": {"dataDir": "/var/lib/etcd"}}, "imageRepository": "registry.k8s.io", "kind": "ClusterConfiguration",
                 "kubernetesVersion": f"{VERSION.rsplit('.', 1)[0]}.0", "networking": {"dnsDomain": "cluster.local", "serviceSubnet": "10.96.0.0/12"}, "scheduler": {}}]
        if "KubeletConfiguration" in components:
            docs.append(kubelet_config({}, {"networking": {"serviceSubnet": "10.96.0.0/12", "dnsDomain": "cluster.local"}, "certificatesDir": "/etc/kubernetes/pki"}))
        if "KubeProxyConfiguration" in components:
            docs.append({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "bindAddress": "0.0.0.0", "clusterCIDR": "", "mode": ""})
    return "---\n".join(dump(doc) for doc in docs)


# ---- version and dispatch ------------------------------------------------------------------------------

def cmd_version(argv):
    _, flags = parse(argv, {"output"}, set(), {"o": "output"})
    info = {"major": "1", "minor": str(MINOR), "gitVersion": GIT_VERSION, "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z", "goVersion": "python" + sys.version.split()[0], "compiler": "standin", "platform": "linux/amd64"}
    output = last(flags, "output", "")
    if output == "short":
        out(GIT_VERSION)
    elif output == "json":
        out(json.dumps({"clientVersion": info, "standIn": f"{STANDIN} — not Kubernetes"}, indent=2))
    elif output == "yaml":
        print(dump({"clientVersion": info, "standIn": f"{STANDIN} — not Kubernetes"}), end="")
    elif output == "":
        fields = ", ".join(f'{k[0].upper() + k[1:]}:"{v}"' for k, v in info.items())
        out(f"kubeadm version: &version.Info{{{fields}}} ({STANDIN}, not Kubernetes)")
    else:
        raise Fail(f'invalid output format: {output}')
    return 0


COMMANDS = {"init": cmd_init, "join": cmd_join, "reset": cmd_reset, "token": cmd_token, "config": cmd_config, "version": cmd_version}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `kubeadm … | head` ends quietly, as the real tools do
    if not argv or argv[0] in ("-h", "--help", "help"):
        out(f"kubeadm: {stand_in_note('kubeadm')}.\n\nAvailable Commands: {', '.join(COMMANDS)}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        err(f'error: the {STANDIN} of kubeadm does not implement "{argv[0]}"; it implements: {", ".join(COMMANDS)}')
        return 1
    try:
        return command(argv[1:])
    except (Fail, UsageError, PkiError) as error:
        err(str(error))
        err("To see the stack trace of this error execute with --v=5 or higher")
        return 1
    except (ApiError, Unreachable) as error:
        err(f"error execution phase: {error}")
        err("To see the stack trace of this error execute with --v=5 or higher")
        return 1
