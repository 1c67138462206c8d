# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
Reading a kubeadm configuration file as kubeadm does: split the documents, check each apiVersion/kind,
decode strictly (schema.py), apply kubeadm's defaults, validate. Errors read as kubeadm's.

Where real kubeadm only *warns* about a mistake that silently changes the cluster (an unknown field, a
duplicate key, a document of an unknown kind, pod and service subnets that overlap), the stand-in refuses it
and says so (STANDIN_CHECK in the message): a playbook that passes here is then also right on real kubeadm.
Strict decoding errors (unknown field, duplicate key) are kubeadm's own verdict only in `kubeadm config
validate` (strict_errors=True); `init` and `join` of kubeadm 1.30/1.31 log them as warnings and go on.
"""
import ipaddress
import re
import socket

from . import GIT_VERSION, MINOR, STANDIN
from .decode import DecodeErrors, decode, json_type
from .schema import KUBE_PROXY_API, KUBEADM_GROUP, KUBELET_API, OLD_KUBEADM_APIS, kubeadm_api_versions, known_kind
from .yamlish import YamlError, load_all

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
               "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
               "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
IMAGE_REPO_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]+)?)(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
STANDIN_CHECK = f"(a {STANDIN} check: real kubeadm {GIT_VERSION} only warns or fails later)"
DEFAULT_SERVICE_SUBNET = "10.96.0.0/12"
DEFAULT_CRI_SOCKETS = ["unix:///var/run/containerd/containerd.sock", "unix:///var/run/crio/crio.sock", "unix:///var/run/cri-dockerd.sock"]
BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token"


class ConfigError(Exception):
    """A configuration kubeadm refuses; str() is kubeadm's message."""


def field_errors(errors):
    """kubeadm prints a field.ErrorList aggregate: one error alone, several in brackets."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def invalid(path, value, detail):
    shown = f'"{value}"' if isinstance(value, str) else _go_repr(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _go_repr(value):
    if isinstance(value, list):
        return "[]string{" + ", ".join(f'"{v}"' for v in value) + "}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def gvk_repr(api_version, kind):
    group, _, version = api_version.rpartition("/") if "/" in api_version else ("", "", api_version)
    return f'schema.GroupVersionKind{{Group:"{group}", Version:"{version}", Kind:"{kind}"}}'


def strict_error(message, strict_errors):
    """A strict decoding error: kubeadm's verdict in `config validate`, a stand-in refusal elsewhere."""
    return ConfigError(message if strict_errors else f"{message} {STANDIN_CHECK}")


def read_documents(path_or_text, from_text=False, strict_errors=False):
    """[(apiVersion, kind, document)] of a config file, checked as kubeadm's SplitYAMLDocuments does."""
    if from_text:
        text = path_or_text
    else:
        try:
            with open(path_or_text, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise ConfigError(f"unable to read config from \"{path_or_text}\" : open {path_or_text}: {error.strerror.lower()}")
    try:
        docs = load_all(text)
    except YamlError as error:
        if "already set in map" in str(error):
            raise strict_error(f"error converting YAML to JSON: {error}", strict_errors)
        raise ConfigError(f"error converting YAML to JSON: {error}")
    result, seen = [], set()
    for doc in docs:
        if not isinstance(doc, dict):
            raise ConfigError(f"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {json_type(doc)} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}")
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            raise ConfigError(f"invalid configuration for GroupVersionKind {api_version or ''}, Kind={kind or ''}: kind and apiVersion is mandatory information that must be specified")
        if (api_version, kind) in seen:
            raise ConfigError(f'invalid configuration: GroupVersionKind {api_version}, Kind={kind} is specified twice in YAML file')
        seen.add((api_version, kind))
        result.append((api_version, kind, doc))
    return result


def decode_documents(documents, allowed_kinds, strict_errors=False):
    """Strictly decodes each document; returns {kind: decoded}. Raises ConfigError in kubeadm's words."""
    decoded = {}
    for api_version, kind, doc in documents:
        if api_version in OLD_KUBEADM_APIS:
            raise ConfigError(
                f'your configuration file uses an old API spec: "{api_version}" (kind: "{kind}"). Please use kubeadm '
                f"{OLD_KUBEADM_APIS[api_version]} instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', "
                "which will write the new, similar spec using a newer API version.")
        struct = known_kind(api_version, kind, MINOR)
        group = api_version.partition("/")[0]
        if struct is None:
            if group == KUBEADM_GROUP and kind in ("InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "ResetConfiguration", "UpgradeConfiguration"):
                raise ConfigError(f'no kind "{kind}" is registered for version "{api_version}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"'
                                  + (f" (kubeadm {GIT_VERSION} reads {', '.join(KUBEADM_GROUP + '/' + v for v in kubeadm_api_versions(MINOR))})" if group == KUBEADM_GROUP else ""))
            if kind == "KubeletConfiguration" or kind == "KubeProxyConfiguration":
                want = KUBELET_API if kind == "KubeletConfiguration" else KUBE_PROXY_API
                raise ConfigError(f'no kind "{kind}" is registered for version "{api_version}": use apiVersion {want} {STANDIN_CHECK}')
            raise ConfigError(f"[config] WARNING: Ignored YAML document with GroupVersionKind {api_version}, Kind={kind} "
                              f"— refused {STANDIN_CHECK}; expected one of {', '.join(sorted(allowed_kinds))}")
        if kind not in allowed_kinds:
            raise ConfigError(f"[config] WARNING: Ignored YAML document with GroupVersionKind {api_version}, Kind={kind} "
                              f"— refused {STANDIN_CHECK}: this command reads {', '.join(sorted(allowed_kinds))}")
        errors = DecodeErrors()
        value = decode(doc, struct, errors)
        if errors.unknown:
            unknown = ", ".join(f'unknown field "{name}"' for name in errors.unknown)
            raise strict_error(f"error unmarshaling configuration {gvk_repr(api_version, kind)}: strict decoding error: {unknown}", strict_errors)
        if errors.type_errors:
            raise ConfigError(f"error unmarshaling configuration {gvk_repr(api_version, kind)}: error unmarshaling JSON: while decoding JSON: {errors.type_errors[0]}")
        value["_v4"] = api_version.endswith("/v1beta4")
        decoded[kind] = value
    return decoded


# ---- defaults --------------------------------------------------------------------------------------

def default_address():
    """The address of the interface holding the default route, as kubeadm picks it."""
    try:
        with open("/proc/net/route") as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[1] == "00000000":
                    return interface_addresses().get(fields[0], [None])[0]
    except OSError:
        pass
    return None


def interface_addresses():
    """{interface: [IPv4 addresses]} from `ip -o -4 addr` (no psutil in the standard library)."""
    import subprocess
    result = {}
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return result
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            result.setdefault(parts[1], []).append(parts[3].split("/")[0])
    return result


def host_addresses():
    return {address for addresses in interface_addresses().values() for address in addresses}


def node_name_default():
    return socket.gethostname().lower()


def detect_cri_socket():
    import os
    found = [s for s in DEFAULT_CRI_SOCKETS if os.path.exists(s[len("unix://"):])]
    return found[0] if found else DEFAULT_CRI_SOCKETS[0]


def kubelet_extra_args(node_registration):
    """kubeletExtraArgs as a dict whatever the API version (v1beta4 made it a list of name/value)."""
    raw = node_registration.get("kubeletExtraArgs") or {}
    if isinstance(raw, list):
        return {item.get("name"): item.get("value", "") for item in raw if item}
    return dict(raw)


def default_init(decoded, kubeadm_token=None):
    """InitConfiguration + ClusterConfiguration + component configs with kubeadm's defaults applied."""
    init = decoded.get("InitConfiguration") or {"_v4": False}
    cluster = decoded.get("ClusterConfiguration") or {"_v4": init.get("_v4", False)}
    node = init.setdefault("nodeRegistration", {}) or {}
    init["nodeRegistration"] = node
    node.setdefault("name", None)
    node["name"] = node.get("name") or node_name_default()
    node["criSocket"] = node.get("criSocket") or detect_cri_socket()
    if node.get("taints") is None:
        node["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    endpoint = init.get("localAPIEndpoint") or {}
    init["localAPIEndpoint"] = endpoint
    endpoint["advertiseAddress"] = endpoint.get("advertiseAddress") or default_address() or ""
    endpoint["bindPort"] = endpoint.get("bindPort") or 6443
    tokens = init.get("bootstrapTokens")
    if not tokens:
        tokens = [{"token": kubeadm_token}] if kubeadm_token else [{}]
    for token in tokens:
        token.setdefault("ttl", "24h0m0s")
        if not token.get("usages"):
            token["usages"] = ["signing", "authentication"]
        if not token.get("groups"):
            token["groups"] = [BOOTSTRAP_GROUP]
    init["bootstrapTokens"] = tokens
    networking = cluster.get("networking") or {}
    cluster["networking"] = networking
    networking["serviceSubnet"] = networking.get("serviceSubnet") or DEFAULT_SERVICE_SUBNET
    networking["dnsDomain"] = networking.get("dnsDomain") or "cluster.local"
    networking["podSubnet"] = networking.get("podSubnet") or ""
    cluster["certificatesDir"] = cluster.get("certificatesDir") or "/etc/kubernetes/pki"
    cluster["imageRepository"] = cluster.get("imageRepository") or "registry.k8s.io"
    cluster["clusterName"] = cluster.get("clusterName") or "kubernetes"
    cluster["kubernetesVersion"] = cluster.get("kubernetesVersion") or "stable-1"
    etcd = cluster.get("etcd") or {}
    cluster["etcd"] = etcd
    if not etcd.get("external"):
        local = etcd.get("local") or {}
        local["dataDir"] = local.get("dataDir") or "/var/lib/etcd"
        etcd["local"] = local
    kubelet = decoded.get("KubeletConfiguration") or {}
    kubelet.setdefault("cgroupDriver", "systemd")
    kubelet.setdefault("failSwapOn", True)
    kubelet.setdefault("staticPodPath", "/etc/kubernetes/manifests")
    kubelet.setdefault("clusterDomain", networking["dnsDomain"])
    proxy = decoded.get("KubeProxyConfiguration") or {}
    proxy.setdefault("mode", "")
    if networking["podSubnet"]:
        proxy.setdefault("clusterCIDR", networking["podSubnet"])
    return {"init": init, "cluster": cluster, "kubelet": kubelet, "proxy": proxy}


def default_join(decoded):
    join = decoded["JoinConfiguration"]
    node = join.get("nodeRegistration") or {}
    join["nodeRegistration"] = node
    node["name"] = node.get("name") or node_name_default()
    node["criSocket"] = node.get("criSocket") or detect_cri_socket()
    node["taints"] = node.get("taints") or []
    join["caCertPath"] = join.get("caCertPath") or "/etc/kubernetes/pki/ca.crt"
    discovery = join.get("discovery") or {}
    join["discovery"] = discovery
    bootstrap = discovery.get("bootstrapToken")
    if bootstrap and not discovery.get("tlsBootstrapToken"):
        discovery["tlsBootstrapToken"] = bootstrap.get("token") or ""
    timeout = (join.get("timeouts") or {}).get("discovery") if join.get("_v4") else discovery.get("timeout")
    join["_discoveryTimeout"] = timeout or "5m0s"
    return join


# ---- validation -------------------------------------------------------------------------------------

def parse_cidrs(path, value, errors):
    nets = []
    for part in [p for p in (value or "").split(",") if p != ""]:
        try:
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
            if "/" not in part:
                raise ValueError
        except ValueError:
            errors.append(invalid(path, part, "couldn't parse subnet"))
    if len(nets) > 2 or (len(nets) == 2 and nets[0].version == nets[1].version):
        errors.append(invalid(path, value, "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking"))
    return nets


def validate_node_registration(node, errors, path="nodeRegistration"):
    name = node.get("name") or ""
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errors.append(invalid(f"{path}.name", name, DNS1123_MSG))
    validate_cri_socket(node.get("criSocket") or "", f"{path}.criSocket", errors)
    for index, taint in enumerate(node.get("taints") or []):
        effect = taint.get("effect") or ""
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.append(f'{path}.taints[{index}].effect: Unsupported value: "{effect}": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"')
        if not taint.get("key"):
            errors.append(f"{path}.taints[{index}].key: Required value")
    policy = node.get("imagePullPolicy")
    if policy and policy not in ("Always", "IfNotPresent", "Never"):
        errors.append(f'{path}.imagePullPolicy: Unsupported value: "{policy}": supported values: "Always", "IfNotPresent", "Never"')


def validate_cri_socket(value, path, errors):
    if not value:
        errors.append(f"{path}: Required value")
        return
    if "://" not in value:
        if not value.startswith("/"):
            errors.append(invalid(path, value, "path is not absolute"))
        return
    scheme, _, rest = value.partition("://")
    if scheme != "unix":
        errors.append(invalid(path, value, f'only URL scheme "unix" is supported, got "{scheme}"'))
    elif not rest.startswith("/"):
        errors.append(invalid(path, value, "path is not absolute"))


def validate_token(path, token, errors):
    if not TOKEN_RE.match(token or ""):
        errors.append(invalid(path, token or "", f'the bootstrap token "{token or ""}" was not of the form "^([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})$"'))


def validate_version(text):
    """(major, minor, patch) of a kubernetesVersion, or a ConfigError as kubeadm reports it."""
    if re.match(r"^(stable|latest|ci)(-\d+(\.\d+)?)?$", text or ""):
        return None
    match = VERSION_RE.match(text or "")
    if not match:
        raise ConfigError(f'couldn\'t parse kubernetes version "{text}": could not parse "{text}" as version')
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def validate_init(cfg, check_address=True):
    """Raises ConfigError listing every invalid field of an init configuration (defaults applied)."""
    init, cluster, kubelet, proxy = cfg["init"], cfg["cluster"], cfg["kubelet"], cfg["proxy"]
    errors = []
    for index, token in enumerate(init["bootstrapTokens"]):
        if token.get("token"):
            validate_token(f"bootstrapTokens[{index}].token", token["token"], errors)
        bad = [u for u in token.get("usages") or [] if u not in ("signing", "authentication")]
        if bad:
            errors.append(invalid(f"bootstrapTokens[{index}].usages", token["usages"], f"invalid bootstrap token usage string: {bad[0]}, valid usage options: signing,authentication"))
        for group in token.get("groups") or []:
            if not re.match(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$", group):
                errors.append(invalid(f"bootstrapTokens[{index}].groups", token["groups"], f'bootstrap group "{group}" is invalid (must match ^system:bootstrappers:[a-z0-9:-]{{0,255}}[a-z0-9]$)'))
    validate_node_registration(init["nodeRegistration"], errors)
    endpoint = init["localAPIEndpoint"]
    address = endpoint.get("advertiseAddress") or ""
    try:
        ipaddress.ip_address(address)
        if check_address and address not in host_addresses():
            errors.append(invalid("localAPIEndpoint.advertiseAddress", address,
                                  f"not an address of this host (it has {', '.join(sorted(host_addresses())) or 'none'}); etcd and the API server could not listen on it {STANDIN_CHECK}"))
    except ValueError:
        errors.append(invalid("localAPIEndpoint.advertiseAddress", address, f'couldn\'t use "{address}" as "apiserver-advertise-address", must be ipv4 or ipv6 address'))
    port = endpoint.get("bindPort")
    if not 1 <= port <= 65535:
        errors.append(invalid("localAPIEndpoint.bindPort", port, "must be between 1 and 65535, inclusive"))
    key = init.get("certificateKey")
    if key and not re.match(r"^[0-9a-f]{64}$", key):
        errors.append(invalid("certificateKey", "<redacted>", "the certificate key must be 32 bytes, encoded as 64 hex characters"))

    networking = cluster["networking"]
    services = parse_cidrs("networking.serviceSubnet", networking["serviceSubnet"], errors)
    pods = parse_cidrs("networking.podSubnet", networking["podSubnet"], errors)
    for net in services:
        if net.version == 4 and net.prefixlen < 12:
            errors.append(invalid("networking.serviceSubnet", networking["serviceSubnet"], "specified service subnet is too large; for 32-bit addresses, the mask must be >= 12"))
    for net in pods:
        if net.version == 4 and net.prefixlen > 24:
            errors.append(invalid("networking.podSubnet", networking["podSubnet"], f"the size of pod subnet with mask {net.prefixlen} is smaller than the size of node subnet with mask 24"))
    for pod in pods:
        for service in services:
            if pod.version == service.version and pod.overlaps(service):
                errors.append(invalid("networking.podSubnet", networking["podSubnet"], f'overlaps networking.serviceSubnet "{networking["serviceSubnet"]}" {STANDIN_CHECK}'))
    if not DNS1123_SUBDOMAIN.match(networking["dnsDomain"]):
        errors.append(invalid("networking.dnsDomain", networking["dnsDomain"], DNS1123_MSG))
    repo = cluster["imageRepository"]
    if not IMAGE_REPO_RE.match(repo):
        errors.append(invalid("imageRepository", repo, f"not a valid image repository (host[:port][/path], lower case) {STANDIN_CHECK}"))
    for index, san in enumerate((cluster.get("apiServer") or {}).get("certSANs") or []):
        if not _valid_san(san):
            errors.append(invalid(f"apiServer.certSANs[{index}]", san, "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards"))
    endpoint_value = cluster.get("controlPlaneEndpoint")
    if endpoint_value and not _host_port_ok(endpoint_value, port_required=False):
        errors.append(invalid("controlPlaneEndpoint", endpoint_value, "must be a valid IP address or DNS name, with an optional port"))
    if cluster["_v4"] and cluster.get("encryptionAlgorithm") and cluster["encryptionAlgorithm"] not in ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"):
        errors.append(f'encryptionAlgorithm: Unsupported value: "{cluster["encryptionAlgorithm"]}": supported values: "ECDSA-P256", "RSA-2048", "RSA-3072", "RSA-4096"')
    if cluster["etcd"].get("local") and cluster["etcd"].get("external"):
        errors.append(invalid("etcd", "local and external", "either .Etcd.Local or .Etcd.External is required, not both"))

    driver = kubelet.get("cgroupDriver")
    if driver not in ("systemd", "cgroupfs"):
        errors.append(invalid("KubeletConfiguration.cgroupDriver", driver, f'must be "systemd" or "cgroupfs" {STANDIN_CHECK}'))
    mode = proxy.get("mode") or ""
    if mode not in ("", "iptables", "ipvs", "nftables"):
        errors.append(invalid("KubeProxyConfiguration.mode", mode, f"must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables]) {STANDIN_CHECK}"))
    scheduler = (proxy.get("ipvs") or {}).get("scheduler") or ""
    if scheduler not in ("", "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "mh"):
        errors.append(invalid("KubeProxyConfiguration.ipvs.scheduler", scheduler, f"must be one of rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh {STANDIN_CHECK}"))
    if proxy.get("clusterCIDR") and pods:
        inside = [p for p in parse_cidrs("KubeProxyConfiguration.clusterCIDR", proxy["clusterCIDR"], errors)]
        if any(not any(c.version == p.version and c.subnet_of(p) for p in pods) for c in inside):
            errors.append(invalid("KubeProxyConfiguration.clusterCIDR", proxy["clusterCIDR"], f'not within networking.podSubnet "{networking["podSubnet"]}" {STANDIN_CHECK}'))
    if errors:
        raise ConfigError(field_errors(errors))
    version = validate_version(cluster["kubernetesVersion"])
    if version and (version[0] != 1 or version[1] < MINOR - 1):
        raise ConfigError(f"this version of kubeadm only supports deploying clusters with the control plane version >= 1.{MINOR - 1}.0. Current version: {cluster['kubernetesVersion']}")


def validate_join(join):
    errors = []
    validate_node_registration(join["nodeRegistration"], errors)
    discovery = join["discovery"]
    bootstrap, file = discovery.get("bootstrapToken"), discovery.get("file")
    if not bootstrap and not file:
        errors.append(invalid("discovery", "", "bootstrapToken or file must be set"))
    if bootstrap and file:
        errors.append(invalid("discovery", "", "bootstrapToken and file cannot both be set"))
    if bootstrap:
        validate_token("discovery.bootstrapToken.token", bootstrap.get("token") or "", errors)
        endpoint = bootstrap.get("apiServerEndpoint") or ""
        if not endpoint:
            errors.append("discovery.bootstrapToken.apiServerEndpoint: Required value")
        elif not _host_port_ok(endpoint, port_required=True):
            errors.append(invalid("discovery.bootstrapToken.apiServerEndpoint", endpoint, f"address {endpoint}: missing port in address"))
        hashes = bootstrap.get("caCertHashes") or []
        if not hashes and not bootstrap.get("unsafeSkipCAVerification"):
            errors.append(invalid("discovery.bootstrapToken.caCertHashes", [],
                                  "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue"))
        for value in hashes:
            problem = ca_hash_problem(value)
            if problem:
                errors.append(invalid("discovery.bootstrapToken.caCertHashes", hashes, problem))
    if discovery.get("tlsBootstrapToken") and bootstrap:
        validate_token("discovery.tlsBootstrapToken", discovery["tlsBootstrapToken"], errors)
    if join.get("controlPlane"):
        errors.append(invalid("controlPlane", "set", f"joining another control-plane node is not implemented by the {STANDIN} (workers only)"))
    if errors:
        raise ConfigError(field_errors(errors))


def ca_hash_problem(value):
    kind, sep, digest = value.partition(":")
    if not sep:
        return f'invalid hash "{value}", expected "format:hex-value". Known format(s) are: sha256'
    if kind != "sha256":
        return f'unsupported hash format "{kind}". Known format(s) are: sha256'
    if not re.match(r"^[0-9a-fA-F]*$", digest) or len(digest) % 2:
        return f'invalid hash "{value}": encoding/hex: invalid byte'
    if len(digest) != 64:
        return f'invalid hash "{value}", expected a 32 byte SHA-256 hash, found {len(digest) // 2} bytes'
    return None


def _valid_san(value):
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(re.match(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", value))


def split_host_port(value):
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port
    return value, None


def _host_port_ok(value, port_required):
    host, port = split_host_port(value)
    if port is None:
        return not port_required and (_valid_san(host))
    return bool(host) and port.isdigit() and 0 < int(port) < 65536 and _valid_san(host)
