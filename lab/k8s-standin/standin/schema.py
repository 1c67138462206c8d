# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
The configuration API kubeadm reads, as data: kubeadm.k8s.io v1beta3 (kubeadm 1.22+) and v1beta4 (1.31+)
InitConfiguration, ClusterConfiguration, JoinConfiguration (and v1beta4 ResetConfiguration), with the
component configs kubeadm accepts beside them: kubelet.config.k8s.io/v1beta1 KubeletConfiguration and
kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration. Field names and Go types follow the published
API reference (kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta3/ and .v1beta4/,
kubelet-config.v1beta1/, kube-proxy-config.v1alpha1/). The kubelet and kube-proxy field lists were checked
field by field against the types those pages are generated from, k8s.io/kubelet config/v1beta1/types.go and
k8s.io/kube-proxy config/v1alpha1/types.go at tags v0.30.13 and v0.31.9: every field of each release is here,
and a field a release does not have (failCgroupV1 and windowsRunAsService arrived in 1.31) is unknown to it.

Decoding follows sigs.k8s.io/yaml + encoding/json: a value of the wrong JSON type is
`json: cannot unmarshal <type> into Go struct field <Struct>.<path> of type <go type>`; a key the type
does not have is `unknown field "<path>"` (strict decoding).
"""


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields

    go = property(lambda self: self.name)


class ListOf:
    def __init__(self, item):
        self.item = item

    @property
    def go(self):
        return "[]" + _go(self.item)


class MapOf:
    def __init__(self, value):
        self.value = value

    @property
    def go(self):
        return "map[string]" + _go(self.value)


_SCALAR_GO = {
    "string": "string", "int32": "int32", "int64": "int64", "uint32": "uint32", "bool": "bool", "float": "float64",
    "duration": "string", "time": "string", "quantity": "resource.Quantity", "intorstring": "intstr.IntOrString", "any": "interface {}",
}


def _go(kind):
    return kind.go if isinstance(kind, (Struct, ListOf, MapOf)) else _SCALAR_GO[kind]


S, I32, I64, U32, B, F, D, T = "string", "int32", "int64", "uint32", "bool", "float", "duration", "time"
Q, IOS, ANY = "quantity", "intorstring", "any"

# ---- kubeadm, shared pieces ------------------------------------------------------------------------
BOOTSTRAP_TOKEN = Struct("BootstrapToken", {"token": S, "description": S, "ttl": D, "expires": T, "usages": ListOf(S), "groups": ListOf(S)})
TAINT = Struct("Taint", {"key": S, "value": S, "effect": S, "timeAdded": T})
API_ENDPOINT = Struct("APIEndpoint", {"advertiseAddress": S, "bindPort": I32})
PATCHES = Struct("Patches", {"directory": S})
HOST_PATH_MOUNT = Struct("HostPathMount", {"name": S, "hostPath": S, "mountPath": S, "readOnly": B, "pathType": S})
IMAGE_META = {"imageRepository": S, "imageTag": S}
ARG = Struct("Arg", {"name": S, "value": S})
ENV_VAR = Struct("EnvVar", {"name": S, "value": S, "valueFrom": ANY})


def _node_registration(v4):
    fields = {"name": S, "criSocket": S, "taints": ListOf(TAINT), "kubeletExtraArgs": ListOf(ARG) if v4 else MapOf(S), "ignorePreflightErrors": ListOf(S), "imagePullPolicy": S}
    if v4:
        fields["imagePullSerial"] = B
    return Struct("NodeRegistrationOptions", fields)


def _control_plane_component(v4):
    fields = {"extraArgs": ListOf(ARG) if v4 else MapOf(S), "extraVolumes": ListOf(HOST_PATH_MOUNT)}
    if v4:
        fields["extraEnvs"] = ListOf(ENV_VAR)
    return fields


def _etcd(v4):
    local = {**IMAGE_META, "dataDir": S, "extraArgs": ListOf(ARG) if v4 else MapOf(S), "serverCertSANs": ListOf(S), "peerCertSANs": ListOf(S)}
    if v4:
        local["extraEnvs"] = ListOf(ENV_VAR)
    return Struct("Etcd", {
        "local": Struct("LocalEtcd", local),
        "external": Struct("ExternalEtcd", {"endpoints": ListOf(S), "caFile": S, "certFile": S, "keyFile": S}),
    })


TIMEOUTS = Struct("Timeouts", {n: D for n in ("controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall", "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests")})


def kubeadm_kinds(v4):
    api_server = {**_control_plane_component(v4), "certSANs": ListOf(S)}
    if not v4:
        api_server["timeoutForControlPlane"] = D
    dns = {**IMAGE_META}
    if v4:
        dns["disabled"] = B
    cluster = {
        "apiVersion": S, "kind": S,
        "etcd": _etcd(v4),
        "networking": Struct("Networking", {"serviceSubnet": S, "podSubnet": S, "dnsDomain": S}),
        "kubernetesVersion": S,
        "controlPlaneEndpoint": S,
        "apiServer": Struct("APIServer", api_server),
        "controllerManager": Struct("ControlPlaneComponent", _control_plane_component(v4)),
        "scheduler": Struct("ControlPlaneComponent", _control_plane_component(v4)),
        "dns": Struct("DNS", dns),
        "certificatesDir": S,
        "imageRepository": S,
        "featureGates": MapOf(B),
        "clusterName": S,
    }
    if v4:
        cluster.update({"proxy": Struct("Proxy", {"disabled": B}), "encryptionAlgorithm": S, "certificateValidityPeriod": D, "caCertificateValidityPeriod": D})
    init = {
        "apiVersion": S, "kind": S,
        "bootstrapTokens": ListOf(BOOTSTRAP_TOKEN),
        "nodeRegistration": _node_registration(v4),
        "localAPIEndpoint": API_ENDPOINT,
        "certificateKey": S,
        "skipPhases": ListOf(S),
        "patches": PATCHES,
    }
    bootstrap_discovery = Struct("BootstrapTokenDiscovery", {"token": S, "apiServerEndpoint": S, "caCertHashes": ListOf(S), "unsafeSkipCAVerification": B})
    discovery = {"bootstrapToken": bootstrap_discovery, "file": Struct("FileDiscovery", {"kubeConfigPath": S}), "tlsBootstrapToken": S}
    if not v4:
        discovery["timeout"] = D
    join = {
        "apiVersion": S, "kind": S,
        "nodeRegistration": _node_registration(v4),
        "caCertPath": S,
        "discovery": Struct("Discovery", discovery),
        "controlPlane": Struct("JoinControlPlane", {"localAPIEndpoint": API_ENDPOINT, "certificateKey": S}),
        "skipPhases": ListOf(S),
        "patches": PATCHES,
    }
    kinds = {
        "InitConfiguration": Struct("InitConfiguration", init),
        "ClusterConfiguration": Struct("ClusterConfiguration", cluster),
        "JoinConfiguration": Struct("JoinConfiguration", join),
    }
    if v4:
        init["dryRun"] = B
        init["timeouts"] = TIMEOUTS
        join["dryRun"] = B
        join["timeouts"] = TIMEOUTS
        kinds["ResetConfiguration"] = Struct("ResetConfiguration", {
            "apiVersion": S, "kind": S, "cleanupTmpDir": B, "certificatesDir": S, "criSocket": S, "dryRun": B,
            "force": B, "ignorePreflightErrors": ListOf(S), "skipPhases": ListOf(S), "unmountFlags": ListOf(S),
        })
    return kinds


# ---- kubelet.config.k8s.io/v1beta1 -----------------------------------------------------------------
_X509 = Struct("KubeletX509Authentication", {"clientCAFile": S})
_WEBHOOK_AUTHN = Struct("KubeletWebhookAuthentication", {"enabled": B, "cacheTTL": D})
_ANON = Struct("KubeletAnonymousAuthentication", {"enabled": B})
_WEBHOOK_AUTHZ = Struct("KubeletWebhookAuthorization", {"cacheAuthorizedTTL": D, "cacheUnauthorizedTTL": D})
_LOGGING = Struct("LoggingConfiguration", {
    "format": S, "flushFrequency": ANY, "verbosity": U32, "vmodule": ListOf(Struct("VModuleItem", {"filePattern": S, "verbosity": U32})),
    "options": Struct("FormatOptions", {"text": Struct("TextOptions", {"splitStream": B, "infoBufferSize": Q}), "json": Struct("JSONOptions", {"splitStream": B, "infoBufferSize": Q})}),
})
_TRACING = Struct("TracingConfiguration", {"endpoint": S, "samplingRatePerMillion": I32})

def kubelet_configuration(minor):
    """KubeletConfiguration as kubelet 1.<minor> decodes it."""
    return Struct("KubeletConfiguration", {**_KUBELET_FIELDS, **({"failCgroupV1": B} if minor >= 31 else {})})


_KUBELET_FIELDS = {
    "apiVersion": S, "kind": S,
    "enableServer": B, "staticPodPath": S, "podLogsDir": S, "syncFrequency": D, "fileCheckFrequency": D, "httpCheckFrequency": D,
    "staticPodURL": S, "staticPodURLHeader": MapOf(ListOf(S)), "address": S, "port": I32, "readOnlyPort": I32,
    "tlsCertFile": S, "tlsPrivateKeyFile": S, "tlsCipherSuites": ListOf(S), "tlsMinVersion": S, "rotateCertificates": B,
    "serverTLSBootstrap": B,
    "authentication": Struct("KubeletAuthentication", {"x509": _X509, "webhook": _WEBHOOK_AUTHN, "anonymous": _ANON}),
    "authorization": Struct("KubeletAuthorization", {"mode": S, "webhook": _WEBHOOK_AUTHZ}),
    "registryPullQPS": I32, "registryBurst": I32, "eventRecordQPS": I32, "eventBurst": I32, "enableDebuggingHandlers": B,
    "enableContentionProfiling": B, "healthzPort": I32, "healthzBindAddress": S, "oomScoreAdj": I32, "clusterDomain": S,
    "clusterDNS": ListOf(S), "streamingConnectionIdleTimeout": D, "nodeStatusUpdateFrequency": D, "nodeStatusReportFrequency": D,
    "nodeLeaseDurationSeconds": I32, "imageMinimumGCAge": D, "imageMaximumGCAge": D, "imageGCHighThresholdPercent": I32,
    "imageGCLowThresholdPercent": I32, "volumeStatsAggPeriod": D, "kubeletCgroups": S, "systemCgroups": S, "cgroupRoot": S,
    "cgroupsPerQOS": B, "cgroupDriver": S, "cpuManagerPolicy": S, "cpuManagerPolicyOptions": MapOf(S), "cpuManagerReconcilePeriod": D,
    "memoryManagerPolicy": S, "topologyManagerPolicy": S, "topologyManagerScope": S, "topologyManagerPolicyOptions": MapOf(S),
    "qosReserved": MapOf(S), "runtimeRequestTimeout": D, "hairpinMode": S, "maxPods": I32, "podCIDR": S, "podPidsLimit": I64,
    "resolvConf": S, "runOnce": B, "cpuCFSQuota": B, "cpuCFSQuotaPeriod": D, "nodeStatusMaxImages": I32, "maxOpenFiles": I64,
    "contentType": S, "kubeAPIQPS": I32, "kubeAPIBurst": I32, "serializeImagePulls": B, "maxParallelImagePulls": I32,
    "evictionHard": MapOf(S), "evictionSoft": MapOf(S), "evictionSoftGracePeriod": MapOf(S), "evictionPressureTransitionPeriod": D,
    "evictionMaxPodGracePeriod": I32, "evictionMinimumReclaim": MapOf(S), "podsPerCore": I32, "enableControllerAttachDetach": B,
    "protectKernelDefaults": B, "makeIPTablesUtilChains": B, "iptablesMasqueradeBit": I32, "iptablesDropBit": I32,
    "featureGates": MapOf(B), "failSwapOn": B, "memorySwap": Struct("MemorySwapConfiguration", {"swapBehavior": S}),
    "containerLogMaxSize": S, "containerLogMaxFiles": I32, "containerLogMaxWorkers": I32, "containerLogMonitorInterval": D,
    "configMapAndSecretChangeDetectionStrategy": S, "systemReserved": MapOf(S), "kubeReserved": MapOf(S),
    "reservedSystemCPUs": S, "showHiddenMetricsForVersion": S, "systemReservedCgroup": S, "kubeReservedCgroup": S,
    "enforceNodeAllocatable": ListOf(S), "allowedUnsafeSysctls": ListOf(S), "volumePluginDir": S, "providerID": S,
    "kernelMemcgNotification": B, "logging": _LOGGING, "enableSystemLogHandler": B, "enableSystemLogQuery": B,
    "shutdownGracePeriod": D, "shutdownGracePeriodCriticalPods": D,
    "shutdownGracePeriodByPodPriority": ListOf(Struct("ShutdownGracePeriodByPodPriority", {"priority": I32, "shutdownGracePeriodSeconds": I64})),
    "reservedMemory": ListOf(Struct("MemoryReservation", {"numaNode": I32, "limits": MapOf(Q)})),
    "enableProfilingHandler": B, "enableDebugFlagsHandler": B, "seccompDefault": B, "memoryThrottlingFactor": F,
    "registerWithTaints": ListOf(TAINT), "registerNode": B, "tracing": _TRACING, "localStorageCapacityIsolation": B,
    "containerRuntimeEndpoint": S, "imageServiceEndpoint": S,
}

# ---- kubeproxy.config.k8s.io/v1alpha1 --------------------------------------------------------------
def kube_proxy_configuration(minor):
    """KubeProxyConfiguration as kube-proxy 1.<minor> decodes it."""
    return Struct("KubeProxyConfiguration", {**_KUBE_PROXY_FIELDS, **({"windowsRunAsService": B} if minor >= 31 else {})})


_KUBE_PROXY_FIELDS = {
    "apiVersion": S, "kind": S,
    "featureGates": MapOf(B),
    "clientConnection": Struct("ClientConnectionConfiguration", {"kubeconfig": S, "acceptContentTypes": S, "contentType": S, "qps": F, "burst": I32}),
    "hostnameOverride": S, "bindAddress": S, "healthzBindAddress": S, "metricsBindAddress": S, "bindAddressHardFail": B,
    "enableProfiling": B, "showHiddenMetricsForVersion": S, "mode": S,
    "iptables": Struct("KubeProxyIPTablesConfiguration", {"masqueradeBit": I32, "masqueradeAll": B, "localhostNodePorts": B, "syncPeriod": D, "minSyncPeriod": D}),
    "ipvs": Struct("KubeProxyIPVSConfiguration", {"syncPeriod": D, "minSyncPeriod": D, "scheduler": S, "excludeCIDRs": ListOf(S), "strictARP": B, "tcpTimeout": D, "tcpFinTimeout": D, "udpTimeout": D}),
    "nftables": Struct("KubeProxyNFTablesConfiguration", {"masqueradeBit": I32, "masqueradeAll": B, "syncPeriod": D, "minSyncPeriod": D}),
    "winkernel": Struct("KubeProxyWinkernelConfiguration", {"networkName": S, "sourceVip": S, "enableDSR": B, "rootHnsEndpointName": S, "forwardHealthCheckVip": B}),
    "detectLocalMode": S,
    "detectLocal": Struct("DetectLocalConfiguration", {"bridgeInterface": S, "interfaceNamePrefix": S}),
    "clusterCIDR": S, "nodePortAddresses": ListOf(S), "oomScoreAdj": I32,
    "conntrack": Struct("KubeProxyConntrackConfiguration", {"maxPerCore": I32, "min": I32, "tcpEstablishedTimeout": D, "tcpCloseWaitTimeout": D, "tcpBeLiberal": B, "udpTimeout": D, "udpStreamTimeout": D}),
    "configSyncPeriod": D, "portRange": S, "logging": _LOGGING,
}

KUBEADM_GROUP = "kubeadm.k8s.io"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API = "kubeproxy.config.k8s.io/v1alpha1"

# kubeadm's validateSupportedVersion: API versions of older kubeadm releases, and the kubeadm to use them.
OLD_KUBEADM_APIS = {"kubeadm.k8s.io/v1alpha1": "v1.11", "kubeadm.k8s.io/v1alpha2": "v1.12", "kubeadm.k8s.io/v1alpha3": "v1.14", "kubeadm.k8s.io/v1beta1": "v1.15", "kubeadm.k8s.io/v1beta2": "v1.22"}


def kubeadm_api_versions(minor):
    """The kubeadm.k8s.io versions a kubeadm of this minor release decodes: v1beta4 arrived in 1.31."""
    return ["v1beta3", "v1beta4"] if minor >= 31 else ["v1beta3"]


def known_kind(api_version, kind, minor):
    """The Struct for (apiVersion, kind), or None when this kubeadm release does not know it."""
    if api_version == KUBELET_API and kind == "KubeletConfiguration":
        return kubelet_configuration(minor)
    if api_version == KUBE_PROXY_API and kind == "KubeProxyConfiguration":
        return kube_proxy_configuration(minor)
    group, _, version = api_version.partition("/")
    if group == KUBEADM_GROUP and version in kubeadm_api_versions(minor):
        return kubeadm_kinds(version == "v1beta4").get(kind)
    return None
