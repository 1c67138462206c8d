# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
The stand-in API server (unit kube-apiserver-standin.service, started by `kubeadm init`): HTTPS on the
port of the static Pod manifest kubeadm wrote (/etc/kubernetes/manifests/kube-apiserver.yaml, 6443),
serving certificate signed by the cluster CA, clients authenticated as the real one does — a client
certificate signed by the CA (CN = user, O = groups), a bootstrap token (Bearer, checked against its
kube-system Secret: secret, expiry, usage), or anonymous — and authorized for what kubeadm's RBAC rules
allow them. It keeps objects as JSON in /var/lib/etcd (which `kubeadm reset` removes), signs kubelet client
CSRs at once (the controller-manager's auto-approver and signer), signs cluster-info with each token (the
bootstrap signer), and lists Pods it derives from nodes and DaemonSets (no container ever runs).

It never logs request bodies or headers: tokens and keys stay out of the journal.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from . import GIT_VERSION, STANDIN
from .pki import jws_detached, sign_csr
from .yamlish import load

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
STORE = "/var/lib/etcd/standin-store.json"
NODE_GRACE_SECONDS = 40
ADMIN_GROUPS = {"system:masters", "kubeadm:cluster-admins"}
BOOTSTRAP_READABLE_CONFIGMAPS = {("kube-system", "kubeadm-config"), ("kube-system", "kubelet-config"), ("kube-system", "kube-proxy"), ("kube-public", "cluster-info")}


def now_rfc3339(at=None):
    return datetime.fromtimestamp(at if at is not None else time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def manifest_flags(path=MANIFEST):
    with open(path) as handle:
        pod = load(handle.read())
    container = pod["spec"]["containers"][0]
    flags = {}
    for arg in container.get("command", [])[1:]:
        name, _, value = arg.lstrip("-").partition("=")
        flags[name] = value
    flags["_image"] = container.get("image", "")
    return flags


class Store:
    """Objects by (api group, resource, namespace, name), saved to disk after each change."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.objects = {}
        if os.path.exists(path):
            with open(path) as handle:
                for entry in json.load(handle):
                    self.objects[tuple(entry["key"])] = entry["object"]
        self.version = max([int(o["metadata"].get("resourceVersion", "0")) for o in self.objects.values()] + [100])

    def save(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump([{"key": list(key), "object": obj} for key, obj in self.objects.items()], handle)
        os.replace(tmp, self.path)

    def put(self, key, obj, create):
        meta = obj.setdefault("metadata", {})
        existing = self.objects.get(key)
        if create and existing is not None:
            return None
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", existing["metadata"]["uid"] if existing else _uid())
        meta.setdefault("creationTimestamp", existing["metadata"]["creationTimestamp"] if existing else now_rfc3339())
        self.objects[key] = obj
        self.save()
        return obj

    def list(self, group, resource, namespace=None):
        return [o for (g, r, ns, _), o in sorted(self.objects.items()) if g == group and r == resource and (namespace is None or ns == namespace)]


def _uid():
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?:/namespaces/(?P<ns>[^/]+))?(?:/(?P<resource>[^/]+))?(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")
CLUSTER_SCOPED = {"nodes", "namespaces", "clusterroles", "clusterrolebindings", "customresourcedefinitions", "certificatesigningrequests",
                  "priorityclasses", "storageclasses", "persistentvolumes", "apiservices", "validatingwebhookconfigurations",
                  "mutatingwebhookconfigurations", "runtimeclasses", "csidrivers", "ingressclasses"}


class ApiServer:
    def __init__(self, flags):
        self.flags = flags
        self.store = Store(STORE)
        pki = os.path.dirname(flags["client-ca-file"])
        self.ca_crt, self.ca_key = flags["client-ca-file"], os.path.join(pki, "ca.key")
        tag = flags["_image"].rpartition(":")[2]
        self.version = tag if tag.startswith("v") else GIT_VERSION
        self.started = time.time()

    # ---- identity ----
    def identity(self, handler):
        header = handler.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.token_identity(header[len("Bearer "):].strip())
        cert = handler.connection.getpeercert() if hasattr(handler.connection, "getpeercert") else None
        if cert:
            subject = [value for rdn in cert.get("subject", ()) for value in rdn]
            user = next((v for k, v in subject if k == "commonName"), "")
            groups = [v for k, v in subject if k == "organizationName"]
            return {"user": user, "groups": groups + ["system:authenticated"]}
        return {"user": "system:anonymous", "groups": ["system:unauthenticated"]}

    def token_identity(self, token):
        match = re.match(r"^([a-z0-9]{6})\.([a-z0-9]{16})$", token)
        if not match:
            return None
        secret = self.store.objects.get(("", "secrets", "kube-system", f"bootstrap-token-{match.group(1)}"))
        data = decoded_secret(secret)
        if not data or not hmac.compare_digest(data.get("token-secret", ""), match.group(2)):
            return None
        if data.get("usage-bootstrap-authentication") != "true" or token_expired(data):
            return None
        extra = [g for g in data.get("auth-extra-groups", "").split(",") if g]
        return {"user": f"system:bootstrap:{match.group(1)}", "groups": ["system:bootstrappers", *extra, "system:authenticated"]}

    def allowed(self, who, verb, group, resource, namespace, name):
        groups = set(who["groups"])
        if groups & ADMIN_GROUPS:
            return True
        if resource == "configmaps" and verb == "get" and (namespace, name) == ("kube-public", "cluster-info"):
            return True
        if "system:bootstrappers" in groups:
            if resource == "certificatesigningrequests" and verb in ("create", "get"):
                return True
            if resource == "configmaps" and verb == "get" and (namespace, name) in BOOTSTRAP_READABLE_CONFIGMAPS:
                return True
            return resource == "nodes" and verb == "get"
        if "system:nodes" in groups:
            node = who["user"][len("system:node:"):]
            if resource == "nodes":
                return verb in ("get", "list") or (verb in ("create", "update") and name in (None, node))
            return verb in ("get", "list") and resource in ("daemonsets", "configmaps", "pods", "services", "namespaces")
        return False

    # ---- requests ----
    def handle(self, handler, method):
        url = urlparse(handler.path)
        if url.path in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if url.path == "/version":
            minor = self.version.split(".")[1]
            return 200, {"major": "1", "minor": minor, "gitVersion": self.version, "platform": "linux/amd64", "standIn": f"{STANDIN} — not Kubernetes"}
        who = self.identity(handler)
        if who is None:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        match = _PATH.match(url.path)
        if not match or not match.group("resource"):
            return 404, status_body(404, "NotFound", f"the server could not find the requested resource ({STANDIN})")
        group = match.group("group") or ""
        resource, namespace, name, sub = match.group("resource"), match.group("ns"), match.group("name"), match.group("sub")
        if resource == "namespaces" and namespace and not name:
            resource, name, namespace = "namespaces", namespace, None
        body = None
        if method in ("POST", "PUT"):
            length = int(handler.headers.get("Content-Length") or 0)
            try:
                body = json.loads(handler.rfile.read(length) or b"null")
            except ValueError:
                return 400, status_body(400, "BadRequest", "the request body is not JSON")
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "DELETE": "delete"}[method]
        if not self.allowed(who, verb, group, resource, namespace, name):
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            what = f'{resource} "{name}"' if name else resource
            return 403, status_body(403, "Forbidden", f'{what} is forbidden: User "{who["user"]}" cannot {verb} resource "{resource}" in API group "{group}" {scope}')
        with self.store.lock:
            return self.dispatch(method, group, resource, namespace, name, sub, body, who, parse_qs(url.query))

    def dispatch(self, method, group, resource, namespace, name, sub, body, who, query):
        if resource == "pods":
            pods = [p for p in self.derived_pods() if namespace is None or p["metadata"]["namespace"] == namespace]
            return 200, {"apiVersion": "v1", "kind": "PodList", "items": pods}
        if namespace and resource not in CLUSTER_SCOPED and ("", "namespaces", None, namespace) not in self.store.objects:
            return 404, status_body(404, "NotFound", f'namespaces "{namespace}" not found', name=namespace, kind="namespaces")
        key = (group, resource, namespace if resource not in CLUSTER_SCOPED else None, name)
        if method == "GET" and name:
            obj = self.store.objects.get(key)
            if obj is None:
                return 404, status_body(404, "NotFound", f'{resource}{"." + group if group else ""} "{name}" not found', name=name, kind=resource)
            if (resource, namespace, name) == ("configmaps", "kube-public", "cluster-info"):
                obj = self.signed_cluster_info(obj)
            if resource == "nodes":
                obj = self.node_view(obj)
            return 200, obj
        if method == "GET":
            items = self.store.list(group, resource, None if resource in CLUSTER_SCOPED else namespace)
            if resource == "nodes":
                items = [self.node_view(o) for o in items]
            return 200, {"kind": "List", "apiVersion": "v1", "items": items}
        if method == "DELETE":
            if self.store.objects.pop(key, None) is None:
                return 404, status_body(404, "NotFound", f'{resource} "{name}" not found', name=name, kind=resource)
            self.store.save()
            return 200, status_body(200, "Success", "deleted")
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict) or not body["metadata"].get("name"):
            return 422, status_body(422, "Invalid", "metadata.name: Required value: name or generateName is required")
        obj_name = body["metadata"]["name"]
        if method == "POST":
            key = key[:3] + (obj_name,)
            if resource == "certificatesigningrequests":
                return self.sign_kubelet_csr(key, body, who)
            if namespace and resource not in CLUSTER_SCOPED:
                body["metadata"]["namespace"] = namespace
            if self.store.put(key, body, create=True) is None:
                return 409, status_body(409, "AlreadyExists", f'{resource}{"." + group if group else ""} "{obj_name}" already exists', name=obj_name, kind=resource)
            return 201, body
        if method == "PUT":
            existing = self.store.objects.get(key)
            if existing is None:
                return 404, status_body(404, "NotFound", f'{resource} "{name}" not found', name=name, kind=resource)
            if resource == "nodes" and sub == "status":
                existing["status"] = body.get("status", {})
                existing["status"]["_heartbeat"] = time.time()
                annotations = (body.get("metadata") or {}).get("annotations")
                if annotations:
                    existing["metadata"].setdefault("annotations", {}).update(annotations)
                self.store.put(key, existing, create=False)
                return 200, existing
            if "system:nodes" in who["groups"] and resource == "nodes":
                body["status"] = existing.get("status", {})
            body["metadata"]["uid"] = existing["metadata"]["uid"]
            body["metadata"]["creationTimestamp"] = existing["metadata"]["creationTimestamp"]
            self.store.put(key, body, create=False)
            return 200, body
        return 405, status_body(405, "MethodNotAllowed", "method not allowed")

    # ---- controllers the real control plane runs ----
    def signed_cluster_info(self, obj):
        obj = json.loads(json.dumps(obj))
        content = obj["data"]["kubeconfig"]
        for secret in self.store.list("", "secrets", "kube-system"):
            data = decoded_secret(secret)
            if data.get("usage-bootstrap-signing") == "true" and not token_expired(data):
                obj["data"][f"jws-kubeconfig-{data['token-id']}"] = jws_detached(content, data["token-id"], data["token-secret"])
        return obj

    def sign_kubelet_csr(self, key, body, who):
        spec = body.get("spec") or {}
        try:
            csr = base64.b64decode(spec.get("request", "")).decode()
        except ValueError:
            return 422, status_body(422, "Invalid", "spec.request: Invalid value: not a base64 PEM certificate request")
        with tempfile.NamedTemporaryFile("w", suffix=".csr") as handle:
            handle.write(csr)
            handle.flush()
            subject = subprocess.run(["openssl", "req", "-noout", "-subject", "-nameopt", "RFC2253", "-in", handle.name], capture_output=True, text=True)
        match = re.match(r"^subject=(.*)$", subject.stdout.strip())
        parts = dict(p.split("=", 1) for p in match.group(1).split(",")) if match else {}
        if not parts.get("CN", "").startswith("system:node:") or parts.get("O") != "system:nodes":
            return 422, status_body(422, "Invalid", 'spec.request: Invalid value: a kubelet client CSR must have CN "system:node:<name>" and O "system:nodes"')
        certificate = sign_csr(csr, self.ca_crt, self.ca_key, "client")
        body["status"] = {
            "certificate": base64.b64encode(certificate.encode()).decode(),
            "conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved", "message": "Auto approving kubelet client certificate after SubjectAccessReview."}],
        }
        body["spec"]["username"] = who["user"]
        self.store.objects.pop(key, None)
        self.store.put(key, body, create=True)
        return 201, body

    def node_view(self, node):
        node = json.loads(json.dumps(node))
        status = node.setdefault("status", {})
        beat = status.pop("_heartbeat", None)
        conditions = status.get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if beat is None:
            ready_value = {"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status.",
                           "lastHeartbeatTime": node["metadata"]["creationTimestamp"], "lastTransitionTime": node["metadata"]["creationTimestamp"]}
            status["conditions"] = [c for c in conditions if c.get("type") != "Ready"] + [ready_value]
        elif time.time() - beat > NODE_GRACE_SECONDS and ready is not None:
            ready.update({"status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."})
        return node

    def derived_pods(self):
        """Pods as a real cluster would show them, from node and DaemonSet state (no container runs)."""
        nodes = [self.node_view(n) for n in self.store.list("", "nodes")]
        ready = {n["metadata"]["name"] for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))}
        alive = {n["metadata"]["name"] for n in nodes if not any(c["type"] == "Ready" and c["status"] == "Unknown" for c in n["status"].get("conditions", []))}
        pods = []

        def pod(namespace, name, node, phase, reason=None, owner=None):
            status = {"phase": phase, **({"reason": reason} if reason else {})}
            spec = {"nodeName": node} if node else {}
            meta = {"name": name, "namespace": namespace, **({"ownerReferences": [{"kind": "DaemonSet", "name": owner}]} if owner else {})}
            pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})

        for node in nodes:
            node_name = node["metadata"]["name"]
            suffix = hashlib.sha256(node_name.encode()).hexdigest()
            if "node-role.kubernetes.io/control-plane" in (node["metadata"].get("labels") or {}):
                for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
                    pod("kube-system", f"{component}-{node_name}", node_name, "Running")
            reported = json.loads((node["metadata"].get("annotations") or {}).get("standin.drover.invalid/daemonset-pods", "{}"))
            for ds in self.store.list("apps", "daemonsets"):
                ds_name, ds_ns = ds["metadata"]["name"], ds["metadata"].get("namespace", "default")
                state = reported.get(f"{ds_ns}/{ds_name}") if node_name in alive else None
                phase, reason = ("Running", None) if state == "Running" else ("Pending", None) if state is None else ("Running", state)
                pod(ds_ns, f"{ds_name}-{_pod_suffix(suffix, len(ds_name))}", node_name, phase, reason, owner=ds_name)
        dns_node = sorted(ready)[0] if ready else None
        for index in range(2):
            pod("kube-system", f"coredns-7db6d8ff4d-{_pod_suffix(hashlib.sha256(str(index).encode()).hexdigest(), 0)}", dns_node, "Running" if dns_node else "Pending")
        return pods


def _pod_suffix(digest, salt):
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int(digest[salt % 8: salt % 8 + 12], 16)
    return "".join(alphabet[(number >> (5 * i)) % len(alphabet)] for i in range(5))


def decoded_secret(secret):
    if not secret:
        return {}
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def token_expired(data):
    expiration = data.get("expiration")
    return bool(expiration) and parse_rfc3339(expiration) <= time.time()


def status_body(code, reason, message, name=None, kind=None):
    details = {"name": name, "kind": kind} if name else None
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success", "message": message, "reason": reason, "code": code, **({"details": details} if details else {})}


def make_handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kube-apiserver-standin"

        def respond(self, method):
            try:
                code, body = server.handle(self, method)
            except Exception as error:  # a bug in the stand-in: answer 500 and say so, keep serving
                code, body = 500, status_body(500, "InternalError", f"{STANDIN} API server error: {type(error).__name__}: {error}")
            payload = (json.dumps(body) if not isinstance(body, str) else body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            self.respond("GET")

        def do_POST(self):
            self.respond("POST")

        def do_PUT(self):
            self.respond("PUT")

        def do_DELETE(self):
            self.respond("DELETE")

        def log_message(self, fmt, *args):
            # Method, path and status only: never headers or bodies (tokens, keys, CSRs).
            sys.stdout.write(f"{self.address_string()} {self.command} {urlparse(self.path).path} {args[1] if len(args) > 1 else ''}\n")
            sys.stdout.flush()

    return Handler


def main():
    flags = manifest_flags()
    api = ApiServer(flags)
    port = int(flags.get("secure-port", "6443"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(flags["tls-cert-file"], flags["tls-private-key-file"])
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(flags["client-ca-file"])
    httpd = ThreadingHTTPServer((flags.get("bind-address", "0.0.0.0"), port), make_handler(api))
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    print(f"kube-apiserver ({STANDIN} of {api.version}, not Kubernetes) serving on :{port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
