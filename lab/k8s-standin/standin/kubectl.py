# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
The stand-in kubectl: get (nodes, pods, namespaces, daemonsets, configmaps, … in table, wide, json, yaml
or name output), apply -f FILE|URL|-, wait --for=condition=Ready, version, cluster-info. Anything else
fails, naming the stand-in. The kubeconfig comes from --kubeconfig, $KUBECONFIG or ~/.kube/config.
"""
import json
import os
import signal
import sys
import time
import urllib.request
from datetime import datetime, timezone

from . import GIT_VERSION, MINOR, STANDIN
from .cli import UsageError, last, parse
from .client import ApiError, Client, Unreachable
from .decode import parse_duration
from .pki import PkiError, read_kubeconfig
from .yamlish import YamlError, dump, load_all

# kind → (API path prefix, plural, namespaced)
KINDS = {
    "Namespace": ("/api/v1", "namespaces", False), "Node": ("/api/v1", "nodes", False), "Pod": ("/api/v1", "pods", True),
    "ConfigMap": ("/api/v1", "configmaps", True), "Secret": ("/api/v1", "secrets", True), "Service": ("/api/v1", "services", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True), "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "Deployment": ("/apis/apps/v1", "deployments", True), "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False), "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True), "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True), "PriorityClass": ("/apis/scheduling.k8s.io/v1", "priorityclasses", False),
}
ALIASES = {"no": "nodes", "node": "nodes", "po": "pods", "pod": "pods", "ns": "namespaces", "namespace": "namespaces", "ds": "daemonsets", "daemonset": "daemonsets",
           "cm": "configmaps", "configmap": "configmaps", "deploy": "deployments", "deployment": "deployments", "svc": "services", "service": "services",
           "sa": "serviceaccounts", "secret": "secrets", "crd": "customresourcedefinitions", "crds": "customresourcedefinitions"}
RESOURCES = {plural: (prefix, namespaced, kind) for kind, (prefix, plural, namespaced) in KINDS.items()}


class Fail(Exception):
    pass


def out(line=""):
    print(line, flush=True)


def client_from(flags):
    path = last(flags, "kubeconfig") or os.environ.get("KUBECONFIG", "").split(":")[0] or os.path.expanduser("~/.kube/config")
    if not os.path.exists(path):
        raise Fail("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
    try:
        return Client.from_kubeconfig(read_kubeconfig(path))
    except (PkiError, KeyError, YamlError) as error:
        raise Fail(f"error: error loading config file \"{path}\": {error}")


def age(timestamp):
    if not timestamp:
        return "<unknown>"
    seconds = time.time() - datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    if seconds < 120:
        return f"{max(int(seconds), 0)}s"
    if seconds < 3600 * 3:
        return f"{int(seconds // 60)}m"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def node_status(node):
    ready = next((c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"), None)
    status = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    if node.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def node_roles(node):
    roles = sorted(k.split("/", 1)[1] for k in (node["metadata"].get("labels") or {}) if k.startswith("node-role.kubernetes.io/"))
    return ",".join(roles) or "<none>"


def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("   ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())


def print_items(items, resource, output, all_namespaces):
    if output in ("json", "yaml"):
        doc = items[0] if len(items) == 1 and getattr(print_items, "single", False) else {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
        print(json.dumps(doc, indent=4) if output == "json" else dump(doc), end="\n" if output == "json" else "")
        return
    if output == "name":
        singular = RESOURCES.get(resource, (None, None, resource))[2].lower()
        group = RESOURCES.get(resource, ("/api/v1",))[0].split("/")[2] if RESOURCES.get(resource, ("/api/v1",))[0].startswith("/apis/") else ""
        for item in items:
            out(f"{singular}{'.' + group if group else ''}/{item['metadata']['name']}")
        return
    if not items:
        ns = "" if all_namespaces or not RESOURCES.get(resource, (0, True))[1] else f" in {getattr(print_items, 'namespace', 'default')} namespace"
        print(f"No resources found{ns}.", file=sys.stderr)
        return
    wide = output == "wide"
    if resource == "nodes":
        head = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"] if wide else [])
        rows = []
        for n in items:
            info = n.get("status", {}).get("nodeInfo", {})
            address = next((a["address"] for a in n.get("status", {}).get("addresses", []) if a["type"] == "InternalIP"), "<none>")
            row = [n["metadata"]["name"], node_status(n), node_roles(n), age(n["metadata"].get("creationTimestamp")), info.get("kubeletVersion", "")]
            if wide:
                row += [address, "<none>", info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]
            rows.append(row)
        table([head] + rows)
        return
    if resource == "pods":
        head = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE"] if wide else [])
        rows = []
        for p in items:
            status = p["status"].get("reason") or p["status"]["phase"]
            ready = "1/1" if status == "Running" else "0/1"
            row = ([p["metadata"]["namespace"]] if all_namespaces else []) + [p["metadata"]["name"], ready, status, "0", "-"]
            if wide:
                row += ["<none>", p["spec"].get("nodeName", "<none>")]
            rows.append(row)
        table([head] + rows)
        return
    namespaced = RESOURCES.get(resource, (0, True))[1]
    head = (["NAMESPACE"] if all_namespaces and namespaced else []) + ["NAME", "AGE"]
    table([head] + [([i["metadata"].get("namespace", "")] if all_namespaces and namespaced else []) + [i["metadata"]["name"], age(i["metadata"].get("creationTimestamp"))] for i in items])


def cmd_get(argv):
    positionals, flags = parse(argv, {"output", "namespace", "kubeconfig", "selector"}, {"all-namespaces", "no-headers", "show-labels"}, {"o": "output", "n": "namespace", "A": "all-namespaces", "l": "selector"})
    if not positionals:
        raise Fail("error: You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.")
    resource = positionals[0].split(".")[0].lower()
    resource = ALIASES.get(resource, resource)
    if resource not in RESOURCES:
        raise Fail(f'error: the server doesn\'t have a resource type "{positionals[0]}" ({STANDIN} of kubectl)')
    prefix, namespaced, _ = RESOURCES[resource]
    all_ns = last(flags, "all-namespaces", "false") == "true"
    namespace = last(flags, "namespace", "default")
    client = client_from(flags)
    names = positionals[1:]
    base = f"{prefix}/namespaces/{namespace}/{resource}" if namespaced and not all_ns else f"{prefix}/{resource}"
    print_items.namespace = namespace
    if names:
        items = [client.get(f"{base}/{name}") for name in names]
        print_items.single = len(names) == 1
    else:
        items = client.get(base).get("items", [])
        print_items.single = False
    print_items(items, resource, last(flags, "output", ""), all_ns)
    return 0


def read_source(source):
    if source == "-":
        return sys.stdin.read()
    if source.startswith(("http://", "https://", "file://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                return response.read().decode()
        except OSError as error:
            raise Fail(f'error: unable to read URL "{source}", server reported {error}')
    try:
        with open(source) as handle:
            return handle.read()
    except OSError:
        raise Fail(f'error: the path "{source}" does not exist')


def cmd_apply(argv):
    _, flags = parse(argv, {"filename", "namespace", "kubeconfig", "output"}, {"server-side", "force-conflicts", "recursive"}, {"f": "filename", "n": "namespace", "o": "output"})
    if "filename" not in flags:
        raise Fail("error: must specify one of -f and -k")
    client = client_from(flags)
    failures = 0
    for source in flags["filename"]:
        try:
            docs = [d for d in load_all(read_source(source)) if d]
        except YamlError as error:
            raise Fail(f'error: error parsing {source}: error converting YAML to JSON: {error}')
        for doc in docs:
            items = doc.get("items", []) if doc.get("kind") == "List" else [doc]
            for item in items:
                failures += apply_one(client, item, source, last(flags, "namespace"))
    return 1 if failures else 0


def apply_one(client, obj, source, namespace_flag):
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    name = (obj.get("metadata") or {}).get("name")
    if not kind or not api_version:
        print(f'error: error validating "{source}": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false', file=sys.stderr)
        return 1
    if kind in KINDS:
        prefix, plural, namespaced = KINDS[kind]
    else:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        plural, namespaced = kind.lower() + ("es" if kind.endswith("s") else "s"), True
    group = prefix.split("/")[2] if prefix.startswith("/apis/") else ""
    label = f"{kind.lower()}{'.' + group.split('/')[0] if group else ''}/{name}"
    namespace = (obj["metadata"].get("namespace") or namespace_flag or "default") if namespaced else None
    if namespaced:
        obj["metadata"]["namespace"] = namespace
    collection = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    try:
        existing = client.get(f"{collection}/{name}")
    except ApiError as error:
        if error.status != 404 or "namespaces" in error.args[0] and f'"{namespace}" not found' in error.args[0]:
            print(f'Error from server (NotFound): error when creating "{source}": {error}', file=sys.stderr)
            return 1
        existing = None
    try:
        if existing is None:
            client.post(collection, obj)
            out(f"{label} created")
            return 0
        if strip_meta(existing) == strip_meta(obj):
            out(f"{label} unchanged")
            return 0
        obj["metadata"]["resourceVersion"] = existing["metadata"].get("resourceVersion")
        client.put(f"{collection}/{name}", obj)
        out(f"{label} configured")
        return 0
    except ApiError as error:
        print(f'Error from server: error when applying "{source}": {error}', file=sys.stderr)
        return 1


def strip_meta(obj):
    copy = json.loads(json.dumps(obj))
    for key in ("resourceVersion", "uid", "creationTimestamp"):
        copy.get("metadata", {}).pop(key, None)
    copy.pop("status", None)
    return copy


def cmd_wait(argv):
    positionals, flags = parse(argv, {"for", "timeout", "kubeconfig", "namespace", "selector"}, {"all", "all-namespaces"}, {"n": "namespace", "l": "selector", "A": "all-namespaces"})
    condition = last(flags, "for", "")
    if not condition.startswith("condition="):
        raise Fail(f"error: the {STANDIN} of kubectl waits only for --for=condition=NAME")
    wanted = condition[len("condition="):]
    wanted, _, value = wanted.partition("=")
    value = value or "True"
    resource = ALIASES.get((positionals[0].split("/")[0] if positionals else "").lower(), positionals[0].split("/")[0].lower() if positionals else "")
    if resource != "nodes":
        raise Fail(f"error: the {STANDIN} of kubectl waits only for nodes")
    names = [p.split("/", 1)[1] for p in positionals if "/" in p] + positionals[1:]
    client = client_from(flags)
    timeout = parse_duration(last(flags, "timeout", "30s"))
    deadline = time.time() + timeout
    while True:
        nodes = client.get("/api/v1/nodes").get("items", [])
        chosen = nodes if last(flags, "all", "false") == "true" or not names else [n for n in nodes if n["metadata"]["name"] in names]
        missing = [n for n in names if n not in {x["metadata"]["name"] for x in nodes}]
        if missing:
            raise Fail(f'Error from server (NotFound): nodes "{missing[0]}" not found')
        pending = [n for n in chosen if not any(c.get("type") == wanted and c.get("status") == value for c in n.get("status", {}).get("conditions", []))]
        if chosen and not pending:
            for n in chosen:
                out(f"node/{n['metadata']['name']} condition met")
            return 0
        if time.time() >= deadline:
            raise Fail(f"error: timed out waiting for the condition on nodes/{(pending or chosen or [{'metadata': {'name': '?'}}])[0]['metadata']['name']}")
        time.sleep(1)


def cmd_version(argv):
    _, flags = parse(argv, {"output", "kubeconfig"}, {"client", "short"}, {"o": "output"})
    client_info = {"major": "1", "minor": str(MINOR), "gitVersion": GIT_VERSION, "platform": "linux/amd64"}
    server = None
    if last(flags, "client", "false") != "true":
        try:
            server = client_from(flags).get("/version")
        except (Fail, Unreachable, ApiError) as error:
            server = error
    output = last(flags, "output", "")
    if output in ("json", "yaml"):
        doc = {"clientVersion": client_info, "kustomizeVersion": "v5.0.4-0.20230601165947-6ce0bf390ce3", "standIn": f"{STANDIN} — not Kubernetes"}
        if isinstance(server, dict):
            doc["serverVersion"] = server
        print(json.dumps(doc, indent=2) if output == "json" else dump(doc), end="\n" if output == "json" else "")
    else:
        out(f"Client Version: {GIT_VERSION}")
        out("Kustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3")
        if isinstance(server, dict):
            out(f"Server Version: {server['gitVersion']}")
        out(f"Stand-in: {STANDIN} of kubectl — not Kubernetes")
    if isinstance(server, Exception):
        print(str(server), file=sys.stderr)
        return 1
    return 0


def cmd_cluster_info(argv):
    _, flags = parse(argv, {"kubeconfig"})
    client = client_from(flags)
    client.get("/healthz")
    out(f"Kubernetes control plane is running at https://{client.host}:{client.port}")
    out(f"({STANDIN} API server: no CoreDNS runs)")
    return 0


COMMANDS = {"get": cmd_get, "apply": cmd_apply, "wait": cmd_wait, "version": cmd_version, "cluster-info": cmd_cluster_info}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `kubeadm … | head` ends quietly, as the real tools do
    if not argv or argv[0] in ("-h", "--help", "help"):
        out(f"kubectl: the {STANDIN} of kubectl {GIT_VERSION}, not Kubernetes.\n\nAvailable Commands: {', '.join(COMMANDS)}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f'error: the {STANDIN} of kubectl does not implement "{argv[0]}"; it implements: {", ".join(COMMANDS)}', file=sys.stderr)
        return 1
    try:
        return command(argv[1:])
    except (Fail, UsageError) as error:
        print(str(error), file=sys.stderr)
        return 1
    except ApiError as error:
        reason = (error.body or {}).get("reason", "") if isinstance(error.body, dict) else ""
        print(f"Error from server ({reason}): {error}" if reason else f"Error from server: {error}", file=sys.stderr)
        return 1
    except Unreachable as error:
        print(f"The connection to the server was refused - did you specify the right host or port? ({error})", file=sys.stderr)
        return 1
